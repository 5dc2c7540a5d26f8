#!/usr/bin/env python3
"""Compares `lcm generate` against diffusers' LatentConsistencyModelPipeline on a diffusers folder.

    parity.py --model DIR [--prompt P] [--seed S] [--steps N] [--guidance G] [--width W] [--height H]
              [--variant fp16] [--lcm .build/release/lcm] [--min-psnr 45] [--work-dir DIR] [--reference-only]
    parity.py --make-sd15 DIR [--dtype fp32|fp16]

The reference run (safety_checker=None, fp32; `--variant` selects e.g. the fp16 weight files, upcast to
fp32, for both runs) records input_ids, prompt_embeds, latents, timesteps, w_embedding, noise.{k}, model_output.{k},
denoised.{k}, decoded and image into <work-dir>/reference.safetensors. Then
`lcm generate PROMPT --model DIR --steps N --guidance G --seed S --width W --height H --output OUT.png
--save-intermediates OUT.safetensors --json [--variant V]` runs, and every key present in both files is compared
(max abs error; integer keys exactly), as is the PNG against the reference image (max abs error in
uint8 steps, PSNR in dB). Exits 1 if the PSNR is below --min-psnr.

--make-sd15 writes a full-size SD-1.5/LCM_Dreamshaper_v7-architecture folder with random weights
(UNet sample_size 64, i.e. 512 px by default) for full-size parity and speed runs.
"""

import argparse
import gc
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors import safe_open

from lcm_reference import (load_pipeline, perturb_, provenance, record_pipeline_run, save_tensors,
                           write_pipeline_metadata, write_text_encoder, write_tokenizer)

SCRIPT = "Weights/tools/parity.py"

# LCM_Dreamshaper_v7 unet/config.json (sample_size 64 instead of 96, so the default output is 512 px).
SD15_UNET = {
    "act_fn": "silu", "attention_head_dim": 8, "block_out_channels": [320, 640, 1280, 1280],
    "center_input_sample": False, "cross_attention_dim": 768,
    "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
    "downsample_padding": 1, "flip_sin_to_cos": True, "freq_shift": 0, "in_channels": 4, "layers_per_block": 2,
    "mid_block_scale_factor": 1, "norm_eps": 1e-05, "norm_num_groups": 32, "out_channels": 4, "sample_size": 64,
    "time_cond_proj_dim": 256,
    "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
    "use_linear_projection": False,
}
SD15_VAE = {
    "act_fn": "silu", "block_out_channels": [128, 256, 512, 512],
    "down_block_types": ["DownEncoderBlock2D"] * 4, "up_block_types": ["UpDecoderBlock2D"] * 4,
    "force_upcast": True, "in_channels": 3, "out_channels": 3, "latent_channels": 4, "layers_per_block": 2,
    "norm_num_groups": 32, "sample_size": 768, "scaling_factor": 0.18215,
}
SD15_CLIP = {
    "vocab_size": 49408, "hidden_size": 768, "intermediate_size": 3072, "num_hidden_layers": 12,
    "num_attention_heads": 12, "max_position_embeddings": 77, "hidden_act": "quick_gelu", "layer_norm_eps": 1e-5,
    "projection_dim": 768, "bos_token_id": 0, "eos_token_id": 2, "pad_token_id": 1,
}


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def make_sd15(root: Path, dtype_name: str) -> None:
    """Random-weight SD-1.5 LCM folder, one component in memory at a time."""
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    dtype = {"fp32": torch.float32, "fp16": torch.float16}[dtype_name]
    variant = "fp16" if dtype_name == "fp16" else None
    write_pipeline_metadata(root)
    write_tokenizer(root / "tokenizer")
    builders = [
        ("unet", lambda: UNet2DConditionModel(**SD15_UNET), 1000),
        ("vae", lambda: AutoencoderKL(**SD15_VAE), 2000),
        ("text_encoder", lambda: CLIPTextModel(CLIPTextConfig(**SD15_CLIP)), 3000),
    ]
    for name, factory, seed in builders:
        start = time.perf_counter()
        torch.manual_seed(seed)
        model = factory().eval()
        perturb_(model, torch.Generator().manual_seed(seed + 1))
        model.to(dtype)
        if name == "text_encoder":
            write_text_encoder(model, root / name, dtype, variant=variant, name_or_path="random-sd15/text_encoder")
        else:
            model.save_pretrained(str(root / name), variant=variant)
        count = sum(p.numel() for p in model.parameters())
        del model
        gc.collect()
        print(f"{name}: {count:,} parameters, {time.perf_counter() - start:.1f} s, "
              f"peak RSS so far {peak_rss_gib():.2f} GiB", flush=True)
    files = sorted(p for p in root.rglob("*.safetensors"))
    for path in files:
        print(f"  {path.relative_to(root)}: {path.stat().st_size / 2**20:,.1f} MiB")


def default_size(model: Path) -> int:
    unet = json.loads((model / "unet" / "config.json").read_text())
    vae = json.loads((model / "vae" / "config.json").read_text())
    return unet["sample_size"] * 2 ** (len(vae["block_out_channels"]) - 1)


def run_reference(args) -> tuple[dict, dict]:
    start = time.perf_counter()
    pipe = load_pipeline(args.model, variant=args.variant)
    load_seconds = time.perf_counter() - start
    tensors, timings = record_pipeline_run(pipe, args.prompt, args.steps, args.guidance, args.seed,
                                           args.width, args.height)
    timings["load"] = load_seconds
    settings = {"model": str(args.model), "prompt": args.prompt, "seed": args.seed, "steps": args.steps,
                "guidance": args.guidance, "width": args.width, "height": args.height,
                "variant": args.variant or "", "batch": 1}
    save_tensors(args.work_dir / "reference.safetensors", tensors, provenance(SCRIPT, settings))
    return tensors, timings


def run_cli(args) -> tuple[dict, np.ndarray, float, str]:
    out_png = args.work_dir / "lcm.png"
    out_tensors = args.work_dir / "lcm.safetensors"
    command = [str(args.lcm), "generate", args.prompt, "--model", str(args.model), "--steps", str(args.steps),
               "--guidance", str(args.guidance), "--seed", str(args.seed), "--width", str(args.width),
               "--height", str(args.height), "--output", str(out_png), "--save-intermediates", str(out_tensors),
               "--json"]
    if args.variant:
        command += ["--variant", args.variant]
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"lcm failed (exit {result.returncode}): {' '.join(command)}\n{result.stderr}")
    with safe_open(str(out_tensors), "pt") as file:
        tensors = {key: file.get_tensor(key) for key in file.keys()}
    image = np.asarray(Image.open(out_png).convert("RGB"))
    return tensors, image, seconds, result.stdout.strip()


def compare(reference: dict, candidate: dict) -> list[str]:
    lines, missing = [], []
    for key, expected in reference.items():
        if key == "image":
            continue
        if key not in candidate:
            missing.append(key)
            continue
        found = candidate[key]
        if tuple(found.shape) != tuple(expected.shape):
            lines.append(f"  {key:<18} shape {list(found.shape)} != reference {list(expected.shape)}")
        elif expected.dtype.is_floating_point:
            error = (found.double() - expected.double()).abs().max().item() if expected.numel() else 0.0
            scale = expected.double().abs().max().item()
            lines.append(f"  {key:<18} max abs err {error:.3e}  (max |ref| {scale:.3e})")
        else:
            mismatches = int((found.to(torch.int64) != expected.to(torch.int64)).sum())
            lines.append(f"  {key:<18} {'exact' if mismatches == 0 else f'{mismatches} mismatches'}")
    if missing:
        lines.append(f"  not in lcm output: {', '.join(missing)}")
    return lines


def psnr(reference: np.ndarray, image: np.ndarray) -> tuple[int, float]:
    difference = reference.astype(np.float64) - image.astype(np.float64)
    mse = float(np.mean(difference**2))
    return int(np.abs(difference).max()), (math.inf if mse == 0 else 10 * math.log10(255**2 / mse))


def format_timings(timings: dict) -> str:
    unet = timings["unet"]
    return (f"load {timings['load']:.2f} s, text encoder {timings['text_encoder']:.3f} s, "
            f"unet {len(unet)} × {np.mean(unet):.3f} s, vae decode {timings['vae_decode']:.3f} s, "
            f"pipeline total {timings['total']:.2f} s")


def parity(args) -> int:
    if not args.reference_only and not (args.lcm.is_file() and os.access(args.lcm, os.X_OK)):
        sys.exit(f"lcm binary not found or not executable: {args.lcm} (build it, or pass --lcm PATH)")
    args.width = args.width or default_size(args.model)
    args.height = args.height or default_size(args.model)
    args.work_dir.mkdir(parents=True, exist_ok=True)
    torch.set_grad_enabled(False)
    reference, timings = run_reference(args)
    print(f"reference: {args.model} {args.width}x{args.height}, {args.steps} steps, guidance {args.guidance}, "
          f"seed {args.seed}, timesteps {reference['timesteps'].tolist()}")
    print(f"reference timings: {format_timings(timings)}")
    print(f"reference tensors: {args.work_dir / 'reference.safetensors'}")
    if args.reference_only:
        return 0
    candidate, image, seconds, report = run_cli(args)
    print(f"lcm wall time: {seconds:.2f} s (process, including load)")
    if report:
        print(f"lcm --json: {report}")
    print("per-stage errors (lcm vs reference):")
    print("\n".join(compare(reference, candidate)))
    expected = reference["image"][0].numpy()
    if image.shape != expected.shape:
        print(f"image shape {image.shape} != reference {expected.shape}")
        return 1
    max_error, value = psnr(expected, image)
    print(f"image: max abs err {max_error} (uint8), PSNR {value:.2f} dB (minimum {args.min_psnr} dB)")
    return 0 if value >= args.min_psnr else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--model", type=Path, help="diffusers LatentConsistencyModelPipeline folder")
    parser.add_argument("--prompt", default="a photo of a cat")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--guidance", type=float, default=8.0)
    parser.add_argument("--width", type=int, help="pixels (default: unet sample_size × VAE scale factor)")
    parser.add_argument("--height", type=int, help="pixels (default: unet sample_size × VAE scale factor)")
    parser.add_argument("--variant", help="weight file variant for both runs, e.g. fp16 (upcast to fp32)")
    parser.add_argument("--lcm", type=Path, default=Path(".build/release/lcm"), help="path of the lcm binary")
    parser.add_argument("--min-psnr", type=float, default=45.0)
    parser.add_argument("--work-dir", type=Path, help="where outputs go (default: a new temporary folder)")
    parser.add_argument("--reference-only", action="store_true", help="run and save the reference only")
    parser.add_argument("--make-sd15", type=Path, metavar="DIR", help="write a random-weight SD-1.5 LCM folder")
    parser.add_argument("--dtype", choices=["fp32", "fp16"], default="fp32", help="weights of --make-sd15")
    args = parser.parse_args()
    if args.make_sd15:
        make_sd15(args.make_sd15, args.dtype)
        return 0
    if not args.model:
        parser.error("--model or --make-sd15 is required")
    args.work_dir = args.work_dir or Path(tempfile.mkdtemp(prefix="lcm-parity-"))
    return parity(args)


if __name__ == "__main__":
    sys.exit(main())
