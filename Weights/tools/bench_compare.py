#!/usr/bin/env python3
"""Times the reference (diffusers on PyTorch CPU) and `lcm bench` on the same model and settings, in one run,
alternating the two, and prints per-stage medians and their ratios.

    bench_compare.py --model DIR | --arch sd15  [--width 512 --height 512 --steps 4 --repeats 3 --threads 2]
                     [--lcm .build/release/lcm] [--stages text,unet,vae]

Stages: text (text encoder, 77 tokens), unet (one UNet step, batch 1, with the LCM w-embedding when the UNet
has time_cond_proj_dim), vae (decode). The whole-image time is text + steps × unet + vae for both sides.
With --arch sd15 both sides use random weights of the SD1.5-LCM architecture (lcm makes its own in memory).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

SD15_UNET = dict(act_fn="silu", attention_head_dim=8, block_out_channels=[320, 640, 1280, 1280], cross_attention_dim=768,
                 down_block_types=["CrossAttnDownBlock2D"] * 3 + ["DownBlock2D"],
                 up_block_types=["UpBlock2D"] + ["CrossAttnUpBlock2D"] * 3, layers_per_block=2, norm_num_groups=32,
                 sample_size=64, time_cond_proj_dim=256, in_channels=4, out_channels=4)
SD15_VAE = dict(block_out_channels=[128, 256, 512, 512], layers_per_block=2, latent_channels=4, norm_num_groups=32,
                down_block_types=["DownEncoderBlock2D"] * 4, up_block_types=["UpDecoderBlock2D"] * 4)
SD15_TEXT = dict(vocab_size=49408, hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                 num_attention_heads=12, max_position_embeddings=77, hidden_act="quick_gelu")


def reference_modules(args):
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    if args.model:
        root = Path(args.model)
        kw = {"variant": args.variant} if args.variant else {}
        text = CLIPTextModel.from_pretrained(root / "text_encoder", **kw)
        unet = UNet2DConditionModel.from_pretrained(root / "unet", **kw)
        vae = AutoencoderKL.from_pretrained(root / "vae", **kw)
    else:
        text = CLIPTextModel(CLIPTextConfig(**SD15_TEXT))
        unet = UNet2DConditionModel(**SD15_UNET)
        vae = AutoencoderKL(**SD15_VAE)
    return text.float().eval(), unet.float().eval(), vae.float().eval()


def guidance_embedding(w: float, dim: int) -> torch.Tensor:
    half = dim // 2
    freqs = torch.exp(torch.arange(half, dtype=torch.float32) * -(torch.log(torch.tensor(10000.0)) / (half - 1)))
    a = torch.tensor([w * 1000.0])[:, None] * freqs[None, :]
    return torch.cat([torch.sin(a), torch.cos(a)], dim=1)


def time_reference(stage, modules, args) -> float:
    text, unet, vae = modules
    f = 2 ** (len(vae.config.block_out_channels) - 1)
    latents = torch.randn(1, unet.config.in_channels, args.height // f, args.width // f)
    with torch.no_grad():
        t0 = time.perf_counter()
        if stage == "text":
            text(torch.full((1, 77), 49407, dtype=torch.long))
        elif stage == "unet":
            cond = guidance_embedding(7.0, unet.config.time_cond_proj_dim) if unet.config.time_cond_proj_dim else None
            unet(latents, 999, encoder_hidden_states=torch.randn(1, 77, text.config.hidden_size), timestep_cond=cond)
        else:
            vae.decode(latents)
        return time.perf_counter() - t0


def time_lcm(stage, args) -> tuple[float, int]:
    source = ["--model", args.model] if args.model else ["--arch", args.arch]
    cmd = [args.lcm, "bench", *source, "--stage", stage, "--width", str(args.width), "--height", str(args.height),
           "--warmup", "1", "--repeats", "1", "--threads", str(args.threads), "--json"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    report = json.loads(out)
    return report["stages"][0]["medianSeconds"], report["peakRSSBytes"]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model")
    p.add_argument("--arch", default="sd15")
    p.add_argument("--variant")
    p.add_argument("--width", type=int, default=512)
    p.add_argument("--height", type=int, default=512)
    p.add_argument("--steps", type=int, default=4)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--stages", default="text,unet,vae")
    p.add_argument("--lcm", default=str(Path(__file__).resolve().parents[2] / ".build" / "release" / "lcm"))
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads, {args.width}×{args.height}, "
          f"{args.model or 'random ' + args.arch}", flush=True)
    modules = reference_modules(args)
    stages = args.stages.split(",")
    ref = {s: [] for s in stages}
    ours = {s: [] for s in stages}
    rss = 0
    for s in stages:
        time_reference(s, modules, args)  # warm-up
    for r in range(args.repeats):
        for s in stages:
            ref[s].append(time_reference(s, modules, args))
            seconds, peak = time_lcm(s, args)
            ours[s].append(seconds)
            rss = max(rss, peak)
            print(f"  round {r + 1} {s:5s} reference {ref[s][-1]:8.3f} s   lcm {seconds:8.3f} s", flush=True)
    med = {s: (statistics.median(ref[s]), statistics.median(ours[s])) for s in stages}
    print(f"\n{'stage':8s} {'reference':>10s} {'lcm':>10s} {'lcm/ref':>8s}")
    for s in stages:
        print(f"{s:8s} {med[s][0]:9.3f}s {med[s][1]:9.3f}s {med[s][1] / med[s][0]:8.2f}")
    if set(stages) >= {"text", "unet", "vae"}:
        whole = [m[0] + args.steps * m[1] + m[2] for m in zip(*[med[s] for s in ("text", "unet", "vae")])]
        print(f"{'image':8s} {whole[0]:9.3f}s {whole[1]:9.3f}s {whole[1] / whole[0]:8.2f}   "
              f"(text + {args.steps} × unet + vae)")
    print(f"lcm peak RSS {rss / 1e9:.2f} GB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
