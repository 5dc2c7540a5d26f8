#!/usr/bin/env python3
"""Draws the loss curves of the default-model training stages (their log.csv files) into one PNG, with PIL only.

    plot_training.py --stage vae=DIR/vae/log.csv:val_psnr --stage teacher=DIR/teacher/log.csv:loss ... --out curves.png

Each --stage is NAME=CSV:COLUMN; the panel shows COLUMN against the step (a moving average over 20 rows as a line,
the raw values as dots), on a log scale for losses and a linear one for PSNR/accuracies (columns ending in
_psnr or _acc).
"""

import argparse
import csv
import math

from PIL import Image, ImageDraw

PANEL_W, PANEL_H, MARGIN = 420, 240, 48


def read(path: str, column: str) -> tuple[list[float], list[float]]:
    steps, values = [], []
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            if row.get(column) not in (None, ""):
                steps.append(float(row["step"]))
                values.append(float(row[column]))
    return steps, values


def panel(draw: ImageDraw.ImageDraw, x0: int, y0: int, title: str, steps: list, values: list, log: bool) -> None:
    f = (lambda v: math.log10(max(v, 1e-12))) if log else (lambda v: v)
    ys = [f(v) for v in values]
    lo, hi = min(ys), max(ys)
    hi = hi if hi > lo else lo + 1
    sx = (PANEL_W - 2 * MARGIN) / max(max(steps) - min(steps), 1)
    sy = (PANEL_H - 2 * MARGIN) / (hi - lo)

    def point(step, y):
        return x0 + MARGIN + (step - min(steps)) * sx, y0 + PANEL_H - MARGIN - (y - lo) * sy

    draw.rectangle([x0 + MARGIN, y0 + MARGIN, x0 + PANEL_W - MARGIN, y0 + PANEL_H - MARGIN], outline=(160, 160, 160))
    for step, y in zip(steps, ys):
        px, py = point(step, y)
        draw.point((px, py), fill=(170, 190, 230))
    window = 20
    smooth = [sum(ys[max(0, i - window + 1):i + 1]) / len(ys[max(0, i - window + 1):i + 1]) for i in range(len(ys))]
    draw.line([point(s, y) for s, y in zip(steps, smooth)], fill=(20, 60, 160), width=2)
    label = (lambda y: f"{10 ** y:.3g}") if log else (lambda y: f"{y:.3g}")
    draw.text((x0 + 4, y0 + MARGIN - 6), label(hi), fill=(0, 0, 0))
    draw.text((x0 + 4, y0 + PANEL_H - MARGIN - 6), label(lo), fill=(0, 0, 0))
    draw.text((x0 + MARGIN, y0 + PANEL_H - MARGIN + 6), f"{min(steps):.0f}", fill=(0, 0, 0))
    draw.text((x0 + PANEL_W - MARGIN - 30, y0 + PANEL_H - MARGIN + 6), f"{max(steps):.0f} steps", fill=(0, 0, 0))
    draw.text((x0 + MARGIN, y0 + 14), title + (" (log scale)" if log else ""), fill=(0, 0, 0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--stage", action="append", required=True, help="NAME=CSV:COLUMN")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    columns = 2
    rows = math.ceil(len(args.stage) / columns)
    image = Image.new("RGB", (columns * PANEL_W, rows * PANEL_H), "white")
    draw = ImageDraw.Draw(image)
    for i, spec in enumerate(args.stage):
        name, rest = spec.split("=", 1)
        path, column = rest.rsplit(":", 1)
        steps, values = read(path, column)
        log = not column.endswith(("_psnr", "_acc"))
        panel(draw, (i % columns) * PANEL_W, (i // columns) * PANEL_H, f"{name}: {column}", steps, values, log)
    image.save(args.out)
    print(args.out)


if __name__ == "__main__":
    main()
