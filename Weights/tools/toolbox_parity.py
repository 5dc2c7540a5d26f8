#!/usr/bin/env python3
"""Full-size parity of the SD-1.5 toolbox: `lcm generate` against diffusers on random-weight SD-1.5 models.

    toolbox_parity.py --model DIR --work-dir DIR [--size 512] [--steps 4] [--seed 42] [--cases lora_cfg,img2img,controlnet]
                      [--lcm .build/release/lcm] [--min-psnr 45]

DIR is a full-size SD-1.5 LCM folder from `parity.py --make-sd15 DIR`. The first run also writes, into the
work dir, what the cases need (random weights, fixed seeds): a plain SD-1.5 UNet (no time_cond_proj, as LCM-LoRA is
used on), a rank-64 LoRA in kohya keys over the LCM-LoRA target modules of that UNet and the text encoder, a
full-size ControlNet for the UNet, and a SIZE×SIZE test image. Cases:
  lora_cfg    StableDiffusionPipeline + LCMScheduler, plain UNet with the LoRA fused, guidance 1.5 and a negative
              prompt (classifier-free guidance, two UNet passes per step)  vs  lcm --unet --lora --negative-prompt
  img2img     LatentConsistencyModelImg2ImgPipeline, strength 0.6         vs  lcm --init-image --strength
  controlnet  StableDiffusionControlNetPipeline with the LCM UNet, scale 0.8 vs  lcm --controlnet --control-image
Each prints the max abs error (uint8) and PSNR of the images and the wall time of both sides; exits 1 if a PSNR
is below --min-psnr.
"""

import argparse
import gc
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from diffusers import (ControlNetModel, LatentConsistencyModelImg2ImgPipeline, LCMScheduler,
                       StableDiffusionControlNetPipeline, StableDiffusionPipeline, UNet2DConditionModel)
from PIL import Image
from safetensors.torch import save_file

from lcm_reference import load_pipeline, perturb_
from parity import SD15_UNET, psnr

PROMPT = "a photo of a cat"
NEGATIVE = "blurry, low quality"
RANK, ALPHA = 64, 8.0
UNET_TARGETS = ("to_q", "to_k", "to_v", "to_out.0", "proj_in", "proj_out", "ff.net.0.proj", "ff.net.2", "conv1",
                "conv2", "conv_shortcut", "downsamplers.0.conv", "upsamplers.0.conv", "time_emb_proj")
TEXT_TARGETS = ("q_proj", "k_proj", "v_proj", "out_proj", "fc1", "fc2")


def make_inputs(model: Path, work: Path, size: int) -> None:
    """Plain UNet, LoRA, ControlNet and test image, once per work dir."""
    plain = work / "plain-unet"
    if not plain.exists():
        torch.manual_seed(1100)
        unet = UNet2DConditionModel(**{**SD15_UNET, "time_cond_proj_dim": None}).eval()
        perturb_(unet, torch.Generator().manual_seed(1101))
        unet.save_pretrained(str(plain))
        del unet
        gc.collect()
    lora = work / "lora-rank64.safetensors"
    if not lora.exists():
        unet = UNet2DConditionModel.from_pretrained(plain)
        text = load_pipeline(model).text_encoder
        g = torch.Generator().manual_seed(1200)
        state = {}
        for head, net, targets in (("lora_unet_", unet, UNET_TARGETS), ("lora_te_", text, TEXT_TARGETS)):
            for path, module in net.named_modules():
                if not isinstance(module, (torch.nn.Linear, torch.nn.Conv2d)):
                    continue
                if not any(path == t or path.endswith("." + t) for t in targets):
                    continue
                if head == "lora_te_" and not path.startswith("text_model."):
                    path = "text_model." + path
                if isinstance(module, torch.nn.Conv2d):
                    k = module.kernel_size[0]
                    down = torch.randn(RANK, module.in_channels, k, k, generator=g) / (module.in_channels * k * k) ** 0.5
                    up = torch.randn(module.out_channels, RANK, 1, 1, generator=g) * 0.05
                else:
                    down = torch.randn(RANK, module.in_features, generator=g) / module.in_features ** 0.5
                    up = torch.randn(module.out_features, RANK, generator=g) * 0.05
                flat = head + path.replace(".", "_")
                state[f"{flat}.lora_down.weight"] = down.contiguous()
                state[f"{flat}.lora_up.weight"] = up.contiguous()
                state[f"{flat}.alpha"] = torch.tensor(ALPHA)
        save_file(state, str(lora))
        print(f"LoRA: {len(state) // 3} modules, rank {RANK}, alpha {ALPHA}", flush=True)
        del unet, text
        gc.collect()
    controlnet = work / "controlnet"
    if not controlnet.exists():
        config = {k: v for k, v in SD15_UNET.items()
                  if k not in ("time_cond_proj_dim", "up_block_types", "out_channels", "center_input_sample",
                               "mid_block_scale_factor", "sample_size")}
        torch.manual_seed(1300)
        net = ControlNetModel(**config).eval()
        perturb_(net, torch.Generator().manual_seed(1301))
        g = torch.Generator().manual_seed(1302)
        with torch.no_grad():  # the zero-initialised convs, made non-zero so that the residuals matter
            for name, param in net.named_parameters():
                if ("controlnet_" in name or "conv_out" in name) and name.endswith("weight"):
                    param.normal_(0, 0.02, generator=g)
        net.save_pretrained(str(controlnet))
        del net
        gc.collect()
    image = work / f"image-{size}.png"
    if not image.exists():
        y, x = np.mgrid[0:size, 0:size].astype(np.float32) / (size - 1)
        rgb = np.stack([x, y, 0.5 + 0.5 * np.sin(12 * x * y)], axis=-1)
        rgb[size // 4:size // 2, size // 3:2 * size // 3] = [0.9, 0.2, 0.1]
        Image.fromarray((rgb * 255).round().astype(np.uint8), "RGB").save(image)


def reference(case: str, model: Path, work: Path, args) -> tuple[np.ndarray, float]:
    lcm = load_pipeline(model)
    image = Image.open(work / f"image-{args.size}.png").convert("RGB")
    common = {"prompt": PROMPT, "num_inference_steps": args.steps, "output_type": "np",
              "generator": torch.Generator("cpu").manual_seed(args.seed)}
    if case == "lora_cfg":
        unet = UNet2DConditionModel.from_pretrained(work / "plain-unet")
        pipe = StableDiffusionPipeline(vae=lcm.vae, text_encoder=lcm.text_encoder, tokenizer=lcm.tokenizer, unet=unet,
                                       scheduler=LCMScheduler.from_config(lcm.scheduler.config), safety_checker=None,
                                       feature_extractor=None, requires_safety_checker=False)
        pipe.load_lora_weights(str(work / "lora-rank64.safetensors"))
        pipe.fuse_lora()
        call = lambda: pipe(negative_prompt=NEGATIVE, guidance_scale=1.5, width=args.size, height=args.size, **common)
    elif case == "img2img":
        pipe = LatentConsistencyModelImg2ImgPipeline(**lcm.components)
        call = lambda: pipe(image=image, strength=0.6, guidance_scale=8.0, **common)
    else:
        controlnet = ControlNetModel.from_pretrained(work / "controlnet")
        pipe = StableDiffusionControlNetPipeline(vae=lcm.vae, text_encoder=lcm.text_encoder, tokenizer=lcm.tokenizer,
                                                 unet=lcm.unet, controlnet=controlnet, scheduler=lcm.scheduler,
                                                 safety_checker=None, feature_extractor=None,
                                                 requires_safety_checker=False)
        call = lambda: pipe(image=image, controlnet_conditioning_scale=0.8, guidance_scale=8.0, width=args.size,
                            height=args.size, **common)
    start = time.perf_counter()
    with torch.no_grad():
        out = call().images[0]
    seconds = time.perf_counter() - start
    return (np.clip(out * 255, 0, 255)).round().astype(np.uint8), seconds


def candidate(case: str, model: Path, work: Path, args) -> tuple[np.ndarray, float]:
    out = work / f"lcm-{case}.png"
    image = str(work / f"image-{args.size}.png")
    command = [str(args.lcm), "generate", PROMPT, "--model", str(model), "--steps", str(args.steps),
               "--seed", str(args.seed), "-o", str(out), "--json"]
    command += {
        "lora_cfg": ["--unet", str(work / "plain-unet"), "--lora", str(work / "lora-rank64.safetensors"),
                     "--guidance", "1.5", "--negative-prompt", NEGATIVE, "--width", str(args.size),
                     "--height", str(args.size)],
        "img2img": ["--init-image", image, "--strength", "0.6", "--guidance", "8"],
        "controlnet": ["--controlnet", str(work / "controlnet"), "--control-image", image, "--control-scale", "0.8",
                       "--guidance", "8", "--width", str(args.size), "--height", str(args.size)],
    }[case]
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"lcm failed: {' '.join(command)}\n{result.stderr}")
    return np.asarray(Image.open(out).convert("RGB")), seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--model", type=Path, required=True, help="full-size SD-1.5 LCM folder (parity.py --make-sd15)")
    parser.add_argument("--work-dir", type=Path, required=True)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--cases", default="lora_cfg,img2img,controlnet")
    parser.add_argument("--lcm", type=Path, default=Path(".build/release/lcm"))
    parser.add_argument("--min-psnr", type=float, default=45.0)
    args = parser.parse_args()
    args.work_dir.mkdir(parents=True, exist_ok=True)
    torch.set_grad_enabled(False)
    make_inputs(args.model, args.work_dir, args.size)
    results, worst = {}, float("inf")
    for case in args.cases.split(","):
        want, ref_seconds = reference(case, args.model, args.work_dir, args)
        gc.collect()
        got, lcm_seconds = candidate(case, args.model, args.work_dir, args)
        max_error, value = psnr(want, got)
        worst = min(worst, value)
        results[case] = {"max_abs_uint8": max_error, "psnr_db": round(value, 2), "diffusers_s": round(ref_seconds, 1),
                         "lcm_s": round(lcm_seconds, 1)}
        print(f"{case}: max abs err {max_error} (uint8), PSNR {value:.2f} dB; diffusers {ref_seconds:.1f} s, "
              f"lcm {lcm_seconds:.1f} s (process, incl. load)", flush=True)
    print(json.dumps({"size": args.size, "steps": args.steps, "seed": args.seed, "results": results}))
    return 0 if worst >= args.min_psnr else 1


if __name__ == "__main__":
    sys.exit(main())
