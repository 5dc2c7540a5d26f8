#!/usr/bin/env python3
"""Captioned 64×64 "shapes" scenes for training and evaluating the default model (lcm-shapes).

A scene is one or two objects (circle, square, triangle; big or small; at the left, right, top, bottom or
center) in one of 8 colours on a background of another colour. Everything is derived from a seed: scene i of a
split is drawn from numpy's PCG64 seeded with SeedSequence([base_seed, split id, i]), so the "train" and
"heldout" splits never share a scene draw, and a caption paraphrase is drawn from a second such stream.
The ground truth (`truth`) of a caption is what the caption asks for (parse_caption reads it back from the
text), which is what shapes_checker.py verifies on a generated image.

    python Weights/tools/shapes_data.py --preview /tmp/shapes.png     # a grid of samples + their captions
    python Weights/tools/shapes_data.py --heldout 120 --out prompts.json  # held-out prompt/seed pairs
"""

import argparse
import json
import re
import time

import numpy as np

SIZE = 64
COLORS = {
    "red": (220, 30, 30), "green": (40, 170, 60), "blue": (40, 70, 220), "yellow": (245, 220, 40),
    "orange": (250, 140, 20), "purple": (140, 50, 180), "white": (240, 240, 240), "black": (20, 20, 20),
}
COLOR_NAMES = tuple(COLORS)
SHAPES = ("circle", "square", "triangle")
SIZES = ("big", "small")
POSITIONS = ("left", "right", "top", "bottom", "center")
ANCHORS = {"left": (17, 32), "right": (47, 32), "top": (32, 17), "bottom": (32, 47), "center": (32, 32)}
# Two big objects at opposite anchors keep a gap of at least 2 px, and every object 3 px from the border.
HALF_SIZE = {"big": (10.5, 12.5), "small": (6.5, 8.0)}
JITTER = 1.5
PAIRS = (("left", "right"), ("top", "bottom"))
SPLITS = {"train": 0, "heldout": 1}
TWO_OBJECT_FRACTION = 0.25
COLOR_JITTER = 10
SUPERSAMPLE = 4

POSITION_PHRASES = {
    "left": ("on the left", "at the left", "on the left side"),
    "right": ("on the right", "at the right", "on the right side"),
    "top": ("at the top", "on the top"),
    "bottom": ("at the bottom", "on the bottom"),
    "center": ("in the center", "in the middle"),
}
BACKGROUND_TEMPLATES = (
    "{objects} on {a} {bg} background", "{objects} on {a} {bg} background", "{objects} with {a} {bg} background",
    "{objects}, {bg} background", "{a} {bg} background with {objects}", "on {a} {bg} background, {objects}",
    "{objects} in front of {a} {bg} background",
)


def rng_for(split: str, index: int, seed: int, stream: int = 0) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, SPLITS[split], index, stream]))


def sample_scene(rng: np.random.Generator) -> dict:
    """Full description of one image: background, and each object's colour, shape, size, position,
    exact centre, half size and RGB values (with a little colour jitter)."""
    two = rng.random() < TWO_OBJECT_FRACTION
    positions = list(PAIRS[rng.integers(len(PAIRS))]) if two else [POSITIONS[rng.integers(len(POSITIONS))]]
    colors = rng.choice(len(COLOR_NAMES), size=len(positions) + 1, replace=False)
    background = COLOR_NAMES[colors[0]]
    objects = []
    for position, color in zip(positions, colors[1:]):
        size = SIZES[rng.integers(2)]
        low, high = HALF_SIZE[size]
        ax, ay = ANCHORS[position]
        objects.append({
            "color": COLOR_NAMES[color], "shape": SHAPES[rng.integers(3)], "size": size, "position": position,
            "center": (ax + rng.uniform(-JITTER, JITTER), ay + rng.uniform(-JITTER, JITTER)),
            "half": rng.uniform(low, high),
            "rgb": jittered(COLOR_NAMES[color], rng),
        })
    return {"background": background, "background_rgb": jittered(background, rng), "objects": objects}


def sample_clutter(rng: np.random.Generator) -> dict:
    """An uncaptioned busier scene for autoencoder training: 2 to 5 objects of any size between small and big,
    anywhere (they may overlap), so that a batch holds many edges and colour pairs."""
    background = COLOR_NAMES[rng.integers(len(COLOR_NAMES))]
    objects = []
    for _ in range(rng.integers(2, 6)):
        color = COLOR_NAMES[rng.choice([i for i, name in enumerate(COLOR_NAMES) if name != background])]
        half = rng.uniform(HALF_SIZE["small"][0] - 2, HALF_SIZE["big"][1])
        objects.append({"color": color, "shape": SHAPES[rng.integers(3)], "half": half,
                        "center": tuple(rng.uniform(half / 2, SIZE - half / 2, size=2)), "rgb": jittered(color, rng)})
    return {"background": background, "background_rgb": jittered(background, rng), "objects": objects}


def autoencoder_batch(start: int, count: int, seed: int, clutter: float) -> np.ndarray:
    """Images start … start+count−1 of the autoencoder's training stream: a fraction `clutter` of busier scenes
    (sample_clutter), the rest the captioned training scenes of the same indices."""
    images = []
    for i in range(start, start + count):
        rng = rng_for("train", i, seed, stream=2)
        images.append(render(sample_clutter(rng) if rng.random() < clutter else scene_for("train", i, seed)))
    return np.stack(images)


def jittered(color: str, rng: np.random.Generator) -> tuple:
    base = np.array(COLORS[color]) + rng.integers(-COLOR_JITTER, COLOR_JITTER + 1, size=3)
    return tuple(int(v) for v in np.clip(base, 0, 255))


_SUB = (np.arange(SIZE * SUPERSAMPLE) + 0.5) / SUPERSAMPLE


def coverage(shape: str, center: tuple, half: float) -> np.ndarray:
    """Fraction of each pixel covered by the shape (4×4 supersampling), float32 [64, 64]."""
    s = SUPERSAMPLE
    x0, x1 = max(0, int(center[0] - half) - 1), min(SIZE, int(center[0] + half) + 2)
    y0, y1 = max(0, int(center[1] - half) - 1), min(SIZE, int(center[1] + half) + 2)
    x, y = _SUB[None, x0 * s:x1 * s] - center[0], _SUB[y0 * s:y1 * s, None] - center[1]
    if shape == "circle":
        inside = x * x + y * y <= half * half
    elif shape == "square":
        side = 0.9 * half
        inside = (np.abs(x) <= side) & (np.abs(y) <= side)
    else:  # upright triangle: apex at the top, base of width 2·half at the bottom, height 2·half
        inside = (y >= -half) & (y <= half) & (np.abs(x) <= (y + half) / 2)
    result = np.zeros((SIZE, SIZE), np.float32)
    result[y0:y1, x0:x1] = inside.reshape(y1 - y0, s, x1 - x0, s).mean(axis=(1, 3), dtype=np.float32)
    return result


def render(scene: dict) -> np.ndarray:
    """RGB uint8 [64, 64, 3]."""
    image = np.empty((SIZE, SIZE, 3), np.float32)
    image[:] = scene["background_rgb"]
    for obj in scene["objects"]:
        alpha = coverage(obj["shape"], obj["center"], obj["half"])[..., None]
        image = image * (1 - alpha) + np.array(obj["rgb"], np.float32) * alpha
    return np.round(image).astype(np.uint8)


def article(word: str, rng: np.random.Generator | None) -> str:
    if rng is not None and rng.random() < 0.25:
        return "one"
    return "an" if word[0] in "aeiou" else "a"


def object_phrase(obj: dict, rng: np.random.Generator | None) -> str:
    """"a big red circle on the left"; with rng, the size and/or position are sometimes left out and the
    wording varies."""
    keep_size = rng is None or rng.random() >= 0.3
    keep_position = rng is None or rng.random() >= 0.3
    words = [obj["size"]] if keep_size else []
    words += [obj["color"], obj["shape"]]
    text = f"{article(words[0], rng)} {' '.join(words)}"
    if keep_position:
        phrases = POSITION_PHRASES[obj["position"]]
        text += " " + (phrases[0] if rng is None else phrases[rng.integers(len(phrases))])
    return text


def caption(scene: dict, rng: np.random.Generator | None = None) -> str:
    """The canonical caption without rng ("a big red circle on the left on a blue background"), a random
    paraphrase with it."""
    objects = list(scene["objects"])
    if rng is not None and len(objects) == 2 and rng.random() < 0.5:
        objects.reverse()
    text = " and ".join(object_phrase(obj, rng) for obj in objects)
    template = BACKGROUND_TEMPLATES[0] if rng is None else BACKGROUND_TEMPLATES[rng.integers(len(BACKGROUND_TEMPLATES))]
    bg = scene["background"]
    return template.format(objects=text, bg=bg, a=article(bg, None))


_COLOR = "|".join(COLOR_NAMES)
_OBJECT = re.compile(rf"\b(?:(big|small) )?({_COLOR}) (circle|square|triangle)"
                     rf"(?: (?:on|at|in) the (left|right|top|bottom|center|middle)(?: side)?)?")
_BACKGROUND = re.compile(rf"\b({_COLOR}) background\b")


def parse_caption(text: str) -> dict:
    """Ground truth asked for by a caption: {"background": colour, "objects": [{"color", "shape",
    "size" (or None), "position" (or None)}]}. Raises ValueError when the text is not a shapes caption."""
    lowered = text.lower()
    background = _BACKGROUND.findall(lowered)
    objects = [{"color": color, "shape": shape, "size": size or None,
                "position": {"middle": "center"}.get(position, position) or None}
               for size, color, shape, position in _OBJECT.findall(lowered)]
    if len(background) != 1 or not 1 <= len(objects) <= 2:
        raise ValueError(f"not a shapes caption (need one background and one or two objects): {text!r}")
    return {"background": background[0], "objects": objects}


def truth_of(scene: dict) -> dict:
    """Ground truth of a scene's image (every attribute, as parse_caption's format)."""
    return {"background": scene["background"],
            "objects": [{key: obj[key] for key in ("color", "shape", "size", "position")}
                        for obj in scene["objects"]]}


def scene_for(split: str, index: int, seed: int) -> dict:
    return sample_scene(rng_for(split, index, seed))


def caption_rng(split: str, index: int, seed: int) -> np.random.Generator:
    return rng_for(split, index, seed, stream=1)


def render_split(split: str, start: int, count: int, seed: int) -> tuple[np.ndarray, list[dict]]:
    scenes = [scene_for(split, i, seed) for i in range(start, start + count)]
    return np.stack([render(scene) for scene in scenes]), scenes


def heldout_pairs(count: int, seed: int, objects: int | None = 1) -> list[dict]:
    """Held-out evaluation pairs: a paraphrased caption of a held-out scene, its ground truth, and a noise
    seed for the pipeline. `objects` keeps only scenes with that many objects (None: any)."""
    pairs, index = [], 0
    while len(pairs) < count:
        scene = scene_for("heldout", index, seed)
        if objects is None or len(scene["objects"]) == objects:
            prompt = caption(scene, caption_rng("heldout", index, seed))
            pairs.append({"prompt": prompt, "seed": 1000 + index, "truth": parse_caption(prompt),
                          "scene": index})
        index += 1
    return pairs


def preview(path: str, count: int, seed: int) -> None:
    from PIL import Image

    images, scenes = render_split("train", 0, count, seed)
    columns = 8
    rows = (count + columns - 1) // columns
    sheet = np.zeros((rows * (SIZE + 2), columns * (SIZE + 2), 3), np.uint8)
    for i, image in enumerate(images):
        r, c = divmod(i, columns)
        sheet[r * (SIZE + 2):r * (SIZE + 2) + SIZE, c * (SIZE + 2):c * (SIZE + 2) + SIZE] = image
        print(f"{i:3d}: {caption(scenes[i], caption_rng('train', i, seed))}")
    Image.fromarray(sheet).resize((sheet.shape[1] * 2, sheet.shape[0] * 2), Image.NEAREST).save(path)
    print(f"wrote {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=0, help="dataset seed (default 0)")
    parser.add_argument("--preview", help="write a PNG grid of training samples and print their captions")
    parser.add_argument("--count", type=int, default=32, help="samples in the preview")
    parser.add_argument("--heldout", type=int, help="number of held-out prompt/seed pairs to write")
    parser.add_argument("--objects", type=int, default=1, help="objects per held-out scene (0: any)")
    parser.add_argument("--out", help="JSON file for --heldout (default: stdout)")
    parser.add_argument("--benchmark", action="store_true", help="time rendering and caption round trips")
    args = parser.parse_args()
    if args.preview:
        preview(args.preview, args.count, args.seed)
    if args.heldout:
        pairs = heldout_pairs(args.heldout, args.seed, args.objects or None)
        text = json.dumps(pairs, indent=1)
        if args.out:
            with open(args.out, "w") as file:
                file.write(text + "\n")
        else:
            print(text)
    if args.benchmark:
        start = time.perf_counter()
        images, scenes = render_split("train", 0, 2000, args.seed)
        elapsed = time.perf_counter() - start
        for i, scene in enumerate(scenes):
            for text in (caption(scene), caption(scene, caption_rng("train", i, args.seed))):
                asked, full = parse_caption(text), truth_of(scene)
                for got, want in zip(sorted(asked["objects"], key=lambda o: o["color"]),
                                     sorted(full["objects"], key=lambda o: o["color"])):
                    assert all(got[k] in (None, want[k]) for k in got), (text, got, want)
                assert asked["background"] == full["background"] and len(asked["objects"]) == len(full["objects"])
        print(f"rendered 2000 scenes in {elapsed:.2f} s ({elapsed / 2:.2f} ms each); captions parse back; "
              f"pixel mean {images.mean():.1f}, two-object fraction "
              f"{np.mean([len(s['objects']) == 2 for s in scenes]):.3f}")


if __name__ == "__main__":
    main()
