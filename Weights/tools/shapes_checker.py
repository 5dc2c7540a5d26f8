#!/usr/bin/env python3
"""Analytic checker for shapes images (no learned model): does an RGB image show what its caption asks for?

* background: the majority palette colour of the 2-pixel border frame;
* objects: 4-connected components of the pixels whose nearest palette colour is not the background, largest
  first; an object's colour is the majority palette colour of its interior (the component eroded by one pixel);
* shape: each pixel near the component gets a coverage in [0, 1] (where its colour lies between the background
  colour and the object's); a circle (ellipse), a square and an upright triangle are drawn anti-aliased into
  the bounding box of the half-coverage pixels, and the best soft intersection-over-union wins (a fill-ratio
  test, 0.785 / 1 / 0.5, that also looks at where the coverage lies);
* position (reported, not part of the acceptance figures): the centroid's offset from the image centre.

Works on any image, e.g. PNGs written by another program:

    python Weights/tools/shapes_checker.py --manifest runs.json   # [{"image": "a.png", "prompt": "..."}, ...]
    python Weights/tools/shapes_checker.py a.png --prompt "a big red circle on the left on a blue background"
"""

import argparse
import itertools
import json
from collections import deque

import numpy as np

from shapes_data import COLOR_NAMES, COLORS, SHAPES, parse_caption

PALETTE = np.array([COLORS[name] for name in COLOR_NAMES], np.float32)
BORDER = 2
MIN_AREA = 6


def palette_labels(rgb: np.ndarray) -> np.ndarray:
    """Index of the nearest palette colour of every pixel, [H, W]."""
    distances = ((rgb.astype(np.float32)[:, :, None, :] - PALETTE) ** 2).sum(-1)
    return distances.argmin(-1)


def border_label(labels: np.ndarray) -> int:
    frame = np.concatenate([labels[:BORDER].ravel(), labels[-BORDER:].ravel(),
                            labels[BORDER:-BORDER, :BORDER].ravel(), labels[BORDER:-BORDER, -BORDER:].ravel()])
    return int(np.bincount(frame, minlength=len(PALETTE)).argmax())


def components(mask: np.ndarray) -> list[np.ndarray]:
    """4-connected components of a boolean mask as boolean masks, largest first."""
    seen = np.zeros_like(mask)
    height, width = mask.shape
    found = []
    for y, x in zip(*np.nonzero(mask)):
        if seen[y, x]:
            continue
        component = np.zeros_like(mask)
        queue = deque([(y, x)])
        seen[y, x] = True
        while queue:
            cy, cx = queue.popleft()
            component[cy, cx] = True
            for ny, nx in ((cy - 1, cx), (cy + 1, cx), (cy, cx - 1), (cy, cx + 1)):
                if 0 <= ny < height and 0 <= nx < width and mask[ny, nx] and not seen[ny, nx]:
                    seen[ny, nx] = True
                    queue.append((ny, nx))
        found.append(component)
    return sorted(found, key=lambda c: -int(c.sum()))


def eroded(mask: np.ndarray) -> np.ndarray:
    inner = mask.copy()
    inner[1:] &= mask[:-1]
    inner[:-1] &= mask[1:]
    inner[:, 1:] &= mask[:, :-1]
    inner[:, :-1] &= mask[:, 1:]
    return inner


def dilated(mask: np.ndarray) -> np.ndarray:
    return ~eroded(~mask)


def object_alpha(rgb: np.ndarray, component: np.ndarray, inner: np.ndarray, background: np.ndarray):
    """Coverage estimate in [0, 1] of one object near its component (where each pixel lies between the
    background colour and the object's, the median of its interior), and its half-coverage mask."""
    pixels = rgb.astype(np.float32)
    color = np.median(pixels[inner], axis=0)
    direction = color - background
    alpha = ((pixels - background) @ direction) / max(float(direction @ direction), 1.0)
    alpha = np.clip(alpha, 0, 1) * dilated(dilated(component))
    parts = components(alpha >= 0.5)
    mask = parts[0] if parts and parts[0].sum() >= MIN_AREA else component
    return alpha * dilated(mask), mask


def box_blurred(image: np.ndarray, radius: int) -> np.ndarray:
    padded = np.pad(image, radius)
    size = 2 * radius + 1
    h, w = image.shape
    return sum(padded[dy:dy + h, dx:dx + w] for dy in range(size) for dx in range(size)) / size ** 2


def shape_scores(alpha: np.ndarray, mask: np.ndarray) -> dict:
    """Soft IoU (sum of minima over sum of maxima) of the coverage with each template, drawn anti-aliased
    (4×4 supersampling) into the bounding box of the half-coverage mask; each template is also tried
    box-blurred (3×3, 5×5) since decoders soften edges, and its best score counts."""
    ys, xs = np.nonzero(mask)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    h, w, sub = y1 - y0, x1 - x0, 4
    y = ((np.arange(h * sub) + 0.5) / sub)[:, None]
    x = ((np.arange(w * sub) + 0.5) / sub)[None, :]
    drawn = {
        "circle": ((x - w / 2) / (w / 2)) ** 2 + ((y - h / 2) / (h / 2)) ** 2 <= 1,
        "square": np.ones((h * sub, w * sub), bool),
        "triangle": np.abs(x - w / 2) <= (w / 2) * y / h,
    }
    scores = {}
    for name, inside in drawn.items():
        sharp = np.zeros_like(alpha)
        sharp[y0:y1, x0:x1] = inside.reshape(h, sub, w, sub).mean(axis=(1, 3))
        scores[name] = max(float(np.minimum(alpha, t).sum() / np.maximum(alpha, t).sum())
                           for t in (sharp, box_blurred(sharp, 1), box_blurred(sharp, 2)))
    return scores


def position_of(mask: np.ndarray) -> str:
    ys, xs = np.nonzero(mask)
    size = mask.shape[0]
    dx, dy = xs.mean() + 0.5 - size / 2, ys.mean() + 0.5 - size / 2
    if max(abs(dx), abs(dy)) < size / 8:
        return "center"
    if abs(dx) >= abs(dy):
        return "left" if dx < 0 else "right"
    return "top" if dy < 0 else "bottom"


def describe(rgb: np.ndarray, max_objects: int = 2) -> dict:
    """What the image shows: background colour and up to max_objects objects (largest first)."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected an RGB uint8 array [H, W, 3], got {rgb.dtype} {list(rgb.shape)}")
    labels = palette_labels(rgb)
    background = border_label(labels)
    frame = np.ones(labels.shape, bool)
    frame[BORDER:-BORDER, BORDER:-BORDER] = False
    background_rgb = np.median(rgb[frame & (labels == background)].astype(np.float32), axis=0)
    found = [c for c in components(labels != background) if c.sum() >= MIN_AREA]
    objects = []
    for component in found[:max_objects]:
        inner = eroded(component)
        inner = inner if inner.sum() >= MIN_AREA else component
        votes = labels[inner]
        scores = shape_scores(*object_alpha(rgb, component, inner, background_rgb))
        objects.append({"color": COLOR_NAMES[int(np.bincount(votes, minlength=len(PALETTE)).argmax())],
                        "shape": max(SHAPES, key=scores.get), "position": position_of(component),
                        "area": int(component.sum()), "iou": {k: round(v, 3) for k, v in scores.items()}})
    return {"background": COLOR_NAMES[background], "objects": objects, "components": len(found)}


def check_image(rgb: np.ndarray, truth: dict) -> dict:
    """Compares an RGB uint8 [H, W, 3] image with a ground truth as parse_caption returns it. Found objects are
    matched to the asked ones by the assignment with most agreements; a missing object fails every test."""
    seen = describe(rgb, max_objects=len(truth["objects"]))
    asked = truth["objects"]
    best = None
    for order in itertools.permutations(range(len(asked))):
        rows = []
        for slot, index in enumerate(order):
            want = asked[index]
            got = seen["objects"][slot] if slot < len(seen["objects"]) else None
            rows.append({
                "color": got is not None and got["color"] == want["color"],
                "shape": got is not None and got["shape"] == want["shape"],
                "position": None if want.get("position") is None else
                got is not None and got["position"] == want["position"],
            })
        score = sum(r["color"] + r["shape"] + bool(r["position"]) for r in rows)
        if best is None or score > best[0]:
            best = (score, rows)
    return {"background": seen["background"] == truth["background"], "objects": best[1],
            "count": seen["components"] == len(asked), "seen": seen}


def summarize(results: list[dict]) -> dict:
    """Accuracies over check_image results: background per image, colour/shape/position per object."""
    objects = [row for r in results for row in r["objects"]]
    positioned = [row["position"] for row in objects if row["position"] is not None]
    return {
        "images": len(results),
        "color": float(np.mean([row["color"] for row in objects])),
        "shape": float(np.mean([row["shape"] for row in objects])),
        "background": float(np.mean([r["background"] for r in results])),
        "position": float(np.mean(positioned)) if positioned else None,
        "count": float(np.mean([r["count"] for r in results])),
    }


def load_png(path: str) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("images", nargs="*", help="PNG files (with --prompt)")
    parser.add_argument("--prompt", help="the caption the images were generated from")
    parser.add_argument("--manifest", help='JSON list of {"image": path, "prompt": caption} (paths relative to it)')
    parser.add_argument("--verbose", action="store_true", help="print what was seen in every image")
    args = parser.parse_args()
    runs = [{"image": path, "prompt": args.prompt} for path in args.images]
    if args.images and not args.prompt:
        parser.error("--prompt is required with image files")
    if args.manifest:
        from pathlib import Path

        base = Path(args.manifest).parent
        runs += [{"image": str(base / run["image"]), "prompt": run["prompt"]}
                 for run in json.loads(Path(args.manifest).read_text())]
    if not runs:
        parser.error("give image files with --prompt, or --manifest")
    results = []
    for run in runs:
        result = check_image(load_png(run["image"]), parse_caption(run["prompt"]))
        results.append(result)
        if args.verbose:
            print(f"{run['image']}: {run['prompt']!r} -> {json.dumps(result)}")
    print(json.dumps(summarize(results)))


if __name__ == "__main__":
    main()
