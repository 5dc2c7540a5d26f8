"""Writes Tests/Fixtures/shapes/: the held-out prompts of the default model's acceptance test and a parity set for
the Swift port of shapes_checker.py (Tests/TestSupport/ShapesChecker.swift).

Output:
  heldout.json   {"provenance", "single": 120 pairs, "two": 40 pairs}: exactly what
                 `shapes_data.py --heldout 120` and `--heldout 40 --objects 2` write (prompt, seed, truth =
                 parse_caption(prompt), scene index), with the dataset seed 0 that train_default_model.py uses.
  checker/NN-variant.png   64×64 RGB images: held-out scenes rendered by shapes_data (45 single-object, 15
                 two-object) and degraded (blurred, noised, colour-shifted, warped, …; seeded, see VARIANTS) so
                 that the checker's verdicts are sometimes wrong.
  checker.json   {"provenance", "images": [{"file", "variant", "scene", "prompt", "truth", "describe" (describe,
                 max_objects 2), "check" (check_image against truth)}], "summary": summarize(checks)}.

Run: /work/venv/bin/python Weights/tools/make_checker_fixtures.py
"""
import json
import pathlib
import platform
import sys

import numpy as np
import PIL
from PIL import Image

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import shapes_data  # noqa: E402
from lcm_reference import write_fixtures_readme_section  # noqa: E402
from shapes_checker import check_image, describe, summarize  # noqa: E402

SCRIPT = "Weights/tools/make_checker_fixtures.py"
ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "Tests" / "Fixtures" / "shapes"
SEED = 0  # train_default_model.py --seed default: the dataset seed of the eval stage
SINGLE, TWO = 120, 40  # shapes_eval.py --count / --two defaults


def box_blur(image: np.ndarray, radius: int) -> np.ndarray:
    size = 2 * radius + 1
    padded = np.pad(image.astype(np.float32), ((radius, radius), (radius, radius), (0, 0)), mode="edge")
    h, w = image.shape[:2]
    return sum(padded[dy:dy + h, dx:dx + w] for dy in range(size) for dx in range(size)) / size ** 2


def to_uint8(image: np.ndarray) -> np.ndarray:
    return np.clip(np.round(image), 0, 255).astype(np.uint8)


def warped(image: np.ndarray, rng: np.random.Generator, amplitude: float) -> np.ndarray:
    """Nearest-neighbour resampling along a smooth random displacement field (a coarse 8-pixel grid of normal
    offsets, bilinearly interpolated; wobbly outlines), then a 3×3 blur."""
    h, w = image.shape[:2]
    coarse = rng.normal(0, 1, (2, h // 8 + 2, w // 8 + 2))
    ys, xs = np.mgrid[:h, :w]
    y0, x0 = ys // 8, xs // 8
    fy, fx = (ys % 8) / 8, (xs % 8) / 8
    field = (coarse[:, y0, x0] * (1 - fy) * (1 - fx) + coarse[:, y0 + 1, x0] * fy * (1 - fx)
             + coarse[:, y0, x0 + 1] * (1 - fy) * fx + coarse[:, y0 + 1, x0 + 1] * fy * fx)
    sy = np.clip(np.round(ys + amplitude * field[0]), 0, h - 1).astype(int)
    sx = np.clip(np.round(xs + amplitude * field[1]), 0, w - 1).astype(int)
    return box_blur(image[sy, sx], 1)


def blocky(image: np.ndarray, factor: int) -> np.ndarray:
    h, w = image.shape[:2]
    means = image.astype(np.float32).reshape(h // factor, factor, w // factor, factor, 3).mean(axis=(1, 3))
    return means.repeat(factor, 0).repeat(factor, 1)


def speckled(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Small blobs (1×1 to 4×4) of random palette colours: extra components, some below MIN_AREA."""
    out = image.copy()
    for _ in range(rng.integers(4, 9)):
        side = rng.integers(1, 5)
        y, x = rng.integers(0, 64 - side, size=2)
        out[y:y + side, x:x + side] = shapes_data.COLORS[shapes_data.COLOR_NAMES[rng.integers(8)]]
    return out


def faded(scene: dict, amount: float) -> np.ndarray:
    """The objects blended towards the background colour (low contrast)."""
    background = np.array(scene["background_rgb"], np.float32)
    objects = [{**obj, "rgb": tuple(np.round(np.array(obj["rgb"]) * (1 - amount) + background * amount))}
               for obj in scene["objects"]]
    return shapes_data.render({**scene, "objects": objects})


# name → image from (scene, rendered image, rng); applied cyclically to the scenes.
VARIANTS = {
    "clean": lambda s, im, rng: im,
    "blur3": lambda s, im, rng: box_blur(im, 1),
    "blur5x2": lambda s, im, rng: box_blur(box_blur(im, 2), 2),
    "noise12": lambda s, im, rng: im + rng.normal(0, 12, im.shape),
    "noise40": lambda s, im, rng: box_blur(im, 1) + rng.normal(0, 40, im.shape),
    "shift": lambda s, im, rng: im + rng.normal(0, 50, 3),
    "contrast": lambda s, im, rng: im * 0.55 + rng.uniform(20, 100),
    "warp": lambda s, im, rng: warped(im, rng, 4.0),
    "blocky": lambda s, im, rng: blocky(im, 4),
    "speckle": lambda s, im, rng: speckled(im, rng),
    "fade": lambda s, im, rng: faded(s, 0.6),
    "empty": lambda s, im, rng: shapes_data.render({**s, "objects": []}),
}


def provenance() -> dict:
    return {"script": "Weights/tools/make_checker_fixtures.py", "python": platform.python_version(),
            "numpy": np.__version__, "pillow": PIL.__version__, "dataset_seed": SEED}


def parity_set(single: list[dict], two: list[dict]) -> list[dict]:
    """45 single-object and 15 two-object held-out scenes, each degraded by one variant; every 7th image is checked
    against the caption of the next scene of its kind (a mismatched caption)."""
    (OUT / "checker").mkdir(parents=True, exist_ok=True)
    for stale in (OUT / "checker").glob("*.png"):
        stale.unlink()
    pairs = single[:45] + two[:15]
    names = list(VARIANTS)
    entries = []
    for k, pair in enumerate(pairs):
        variant = names[k % len(names)]
        scene = shapes_data.scene_for("heldout", pair["scene"], SEED)
        rng = np.random.default_rng([SEED, 7, k])
        rgb = to_uint8(VARIANTS[variant](scene, shapes_data.render(scene).astype(np.float32), rng))
        index = pair["scene"]
        if k % 7 == 6:
            group = single if k < 45 else two
            pair = group[group.index(pair) + 1]
            variant += "+mismatch"
        file = f"checker/{k:02d}-{variant}.png"
        Image.fromarray(rgb).save(OUT / file, optimize=True)
        entries.append({"file": file, "variant": variant, "scene": index,
                        "prompt": pair["prompt"], "truth": pair["truth"], "describe": describe(rgb),
                        "check": check_image(rgb, pair["truth"])})
    return entries


def write_readme(entries: list[dict], summary: dict) -> None:
    files = sorted(p for p in OUT.rglob("*") if p.is_file())
    total = sum(p.stat().st_size for p in files)
    text = f"""## Shapes checker and held-out prompts

Written by `Weights/tools/make_checker_fixtures.py` with numpy {np.__version__}, Pillow {PIL.__version__}
(deterministic). Do not edit by hand.

* `shapes/heldout.json`: the default model's held-out prompts, as `shapes_data.py --heldout` writes them
  (dataset seed {SEED}): {SINGLE} single-object (`single`) and {TWO} two-object (`two`) prompts, each with its
  pipeline seed, ground truth (`parse_caption`) and scene index. DefaultModelTests generates them.
* `shapes/checker/*.png`: {len(entries)} 64×64 held-out scenes rendered by `shapes_data.render`, each degraded by one of
  {", ".join(VARIANTS)}
  (every 7th is checked against another scene's caption). `shapes/checker.json`: each image's prompt, truth,
  and `describe` and `check_image` output of `shapes_checker.py`; `summarize` of all checks (colour
  {summary['color']:.3f}, shape {summary['shape']:.3f}, background {summary['background']:.3f}, count {summary['count']:.3f}).
  ShapesCheckerTests compares the Swift port (Tests/TestSupport/ShapesChecker.swift) with them.

Total: {total:,} bytes in {len(files)} files.
"""
    write_fixtures_readme_section(SCRIPT, text)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    single = shapes_data.heldout_pairs(SINGLE, SEED, 1)
    two = shapes_data.heldout_pairs(TWO, SEED, 2)
    (OUT / "heldout.json").write_text(json.dumps(
        {"provenance": {**provenance(), "made_as": f"shapes_data.heldout_pairs({SINGLE}, {SEED}, 1) and "
                                                  f"heldout_pairs({TWO}, {SEED}, 2)"},
         "single": single, "two": two}, indent=1) + "\n")
    entries = parity_set(single, two)
    summary = summarize([e["check"] for e in entries])
    (OUT / "checker.json").write_text(json.dumps(
        {"provenance": provenance(), "images": entries, "summary": summary}, indent=1) + "\n")
    write_readme(entries, summary)
    total = sum(p.stat().st_size for p in OUT.rglob("*") if p.is_file())
    print(f"wrote {OUT}: {len(entries)} checker images, {total:,} bytes; summary {json.dumps(summary)}")


if __name__ == "__main__":
    main()
