"""The `eval` stage of train_default_model.py: held-out prompt/seed pairs (shapes_data.heldout_pairs) through
diffusers' LatentConsistencyModelPipeline at several step counts, scored by shapes_checker.py. With --teacher,
the teacher instead, through StableDiffusionPipeline with DDIM and classifier-free guidance.

Writes <out>/eval/<name>/results.json (accuracies and per-image verdicts) and sheet.png (the first 16
single-object prompts, one column per step count)."""

import json
import time
from pathlib import Path

import numpy as np
import torch

import shapes_data
from shapes_checker import check_image, summarize
from shapes_training import SCHEDULE

TARGETS = {"color": 0.90, "background": 0.90, "shape": 0.75}
ONE_STEP_COLOR_TARGET = 0.75


def add_eval_parser(stages, default_model: Path) -> None:
    parser = stages.add_parser("eval", help="score held-out prompts generated with the diffusers pipeline")
    parser.add_argument("--model", type=Path, default=default_model, help=f"diffusers folder (default {default_model})")
    parser.add_argument("--teacher", action="store_true", help="evaluate <out>/teacher with DDIM + CFG instead")
    parser.add_argument("--steps", help="comma-separated step counts (default 1,2,4; teacher 25)")
    parser.add_argument("--guidance", type=float, default=2.0, help="guidance_scale (default 2.0)")
    parser.add_argument("--count", type=int, default=120, help="single-object held-out pairs (default 120)")
    parser.add_argument("--two", type=int, default=40, help="two-object held-out pairs, reported apart (default 40)")
    parser.add_argument("--batch", type=int, default=20, help="prompts per pipeline call (default 20)")
    parser.add_argument("--name", help="results subfolder (default: model folder name, or teacher)")
    parser.set_defaults(func=stage_eval)


def build_pipeline(args):
    if not args.teacher:
        from diffusers import LatentConsistencyModelPipeline

        return LatentConsistencyModelPipeline.from_pretrained(str(args.model), safety_checker=None)
    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTokenizer

    return StableDiffusionPipeline(
        vae=AutoencoderKL.from_pretrained(str(args.out / "vae" / "model")),
        text_encoder=CLIPTextModel.from_pretrained(str(args.out / "teacher" / "model" / "text_encoder")),
        tokenizer=CLIPTokenizer.from_pretrained(str(args.out / "text" / "tokenizer")),
        unet=UNet2DConditionModel.from_pretrained(str(args.out / "teacher" / "model" / "unet")),
        scheduler=DDIMScheduler(**SCHEDULE, clip_sample=False, set_alpha_to_one=False, steps_offset=1),
        safety_checker=None, feature_extractor=None, requires_safety_checker=False)


@torch.no_grad()
def generate(pipe, pairs: list[dict], steps: int, guidance: float, batch: int) -> list[np.ndarray]:
    """uint8 RGB images, exactly the pixels of the pipeline's PIL output; one generator per prompt, so each
    image is what a single-prompt call with that seed gives."""
    images = []
    for first in range(0, len(pairs), batch):
        chunk = pairs[first:first + batch]
        result = pipe([p["prompt"] for p in chunk], num_inference_steps=steps, guidance_scale=guidance,
                      generator=[torch.Generator().manual_seed(p["seed"]) for p in chunk], output_type="pil")
        images += [np.asarray(image.convert("RGB")) for image in result.images]
    return images


def contact_sheet(path: Path, columns: list[list[np.ndarray]]) -> None:
    from PIL import Image

    rows, gap = min(16, len(columns[0])), 2
    size = columns[0][0].shape[0]
    sheet = np.full((rows * (size + gap), len(columns) * (size + gap), 3), 255, np.uint8)
    for c, images in enumerate(columns):
        for r in range(rows):
            sheet[r * (size + gap):r * (size + gap) + size, c * (size + gap):c * (size + gap) + size] = images[r]
    Image.fromarray(sheet).save(path)


def verdicts(by_steps: dict) -> list[tuple[str, bool]]:
    four, one = by_steps.get(4), by_steps.get(1)
    checks = []
    if four:
        checks += [(f"4 steps: {k} ≥ {v:.0%} ({four[k]:.1%})", four[k] >= v) for k, v in TARGETS.items()]
    if one:
        checks += [(f"1 step: {k} ≥ {ONE_STEP_COLOR_TARGET:.0%} ({one[k]:.1%})", one[k] >= ONE_STEP_COLOR_TARGET)
                   for k in ("color", "background")]
    if four and one:
        mean = {s: np.mean([by_steps[s][k] for k in TARGETS]) for s in (1, 4)}
        checks.append((f"4 steps beat 1 step (mean {mean[4]:.1%} vs {mean[1]:.1%})", mean[4] > mean[1]))
    return checks


def stage_eval(args) -> None:
    steps_list = [int(s) for s in (args.steps or ("25" if args.teacher else "1,2,4")).split(",")]
    name = args.name or ("teacher" if args.teacher else args.model.name)
    directory = args.out / "eval" / name
    directory.mkdir(parents=True, exist_ok=True)
    pipe = build_pipeline(args)
    pipe.set_progress_bar_config(disable=True)
    sets = {"single": shapes_data.heldout_pairs(args.count, args.seed, 1),
            "two": shapes_data.heldout_pairs(args.two, args.seed, 2) if args.two else []}
    report = {"model": str(args.model), "teacher": args.teacher, "guidance": args.guidance, "seed": args.seed,
              "results": {}}
    columns = []
    for steps in steps_list:
        for set_name, pairs in sets.items():
            if not pairs:
                continue
            start = time.perf_counter()
            images = generate(pipe, pairs, steps, args.guidance, args.batch)
            seconds = time.perf_counter() - start
            checks = [check_image(image, pair["truth"]) for image, pair in zip(images, pairs)]
            summary = {**summarize(checks), "seconds_per_image": round(seconds / len(pairs), 4)}
            report["results"][f"{set_name}/{steps}"] = {
                "summary": summary,
                "images": [{"prompt": p["prompt"], "seed": p["seed"], "check": {k: c[k] for k in ("background",
                           "objects", "count")}, "seen": c["seen"]} for p, c in zip(pairs, checks)]}
            print(f"{set_name:6s} {steps:2d} steps: colour {summary['color']:.1%}  shape {summary['shape']:.1%}  "
                  f"background {summary['background']:.1%}  position {summary['position'] or 0:.1%}  "
                  f"count {summary['count']:.1%}  ({summary['seconds_per_image'] * 1000:.0f} ms/image)", flush=True)
            if set_name == "single":
                columns.append(images)
    if not args.teacher:
        by_steps = {s: report["results"][f"single/{s}"]["summary"] for s in steps_list}
        report["acceptance"] = [{"check": text, "passed": bool(ok)} for text, ok in verdicts(by_steps)]
        for item in report["acceptance"]:
            print(f"{'PASS' if item['passed'] else 'FAIL'}  {item['check']}")
    (directory / "results.json").write_text(json.dumps(report, indent=1) + "\n")
    contact_sheet(directory / "sheet.png", columns)
    print(f"wrote {directory / 'results.json'} and {directory / 'sheet.png'}")
