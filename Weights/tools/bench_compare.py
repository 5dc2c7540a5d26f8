#!/usr/bin/env python3
"""Times the reference (diffusers on PyTorch CPU), OpenVINO (the same modules converted, when the `openvino`
package is installed) and `lcm bench` on the same model and settings, in one run, alternating them, and prints
per-stage medians and their ratios.

    bench_compare.py --model DIR | --arch sd15  [--width 512 --height 512 --steps 4 --repeats 3 --threads 2]
                     [--lcm .build/release/lcm] [--stages text,unet,vae] [--no-openvino]

OpenVINO: each module is converted with `openvino.convert_model` (static shapes of this run) and compiled for
the CPU with the f32 precision hint and the same thread count; the conversion time is printed apart.

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


class OpenVINOStages:
    """The text encoder, UNet and VAE decoder of `modules` compiled by OpenVINO for this run's shapes."""

    def __init__(self, modules, args, stages):
        import openvino as ov

        text, unet, vae = modules
        f = 2 ** (len(vae.config.block_out_channels) - 1)
        latents = torch.randn(1, unet.config.in_channels, args.height // f, args.width // f)
        context = torch.randn(1, 77, text.config.hidden_size)
        cond = guidance_embedding(7.0, unet.config.time_cond_proj_dim) if unet.config.time_cond_proj_dim else None

        class Wrap(torch.nn.Module):
            """`net` as a submodule (so that tracing sees its weights as parameters) called through `fn`."""

            def __init__(self, net, fn):
                super().__init__()
                self.net, self.fn = net, fn

            def forward(self, *inputs):
                return self.fn(self.net, *inputs)

        specs = {
            "text": (Wrap(text, lambda m, ids: m(ids, return_dict=False)[0]),
                     (torch.full((1, 77), 49407, dtype=torch.long),)),
            "unet": (Wrap(unet, lambda m, x, t, c, *w: m(x, t, encoder_hidden_states=c, timestep_cond=w[0] if w else None,
                                                          return_dict=False)[0]),
                     (latents, torch.tensor(999), context) + ((cond,) if cond is not None else ())),
            "vae": (Wrap(vae, lambda m, z: m.decode(z, return_dict=False)[0]), (latents,)),
        }
        core = ov.Core()
        config = {"INFERENCE_PRECISION_HINT": "f32", "INFERENCE_NUM_THREADS": str(args.threads)}
        self.compiled, self.inputs, self.convert_seconds = {}, {}, {}
        for stage in stages:
            module, example = specs[stage]
            start = time.perf_counter()
            with torch.no_grad():
                model = ov.convert_model(module, example_input=example)
            self.compiled[stage] = core.compile_model(model, "CPU", config)
            self.inputs[stage] = [x.numpy() for x in example]
            self.convert_seconds[stage] = time.perf_counter() - start

    def time(self, stage) -> float:
        start = time.perf_counter()
        self.compiled[stage](self.inputs[stage])
        return time.perf_counter() - start


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
    p.add_argument("--no-openvino", action="store_true", help="skip OpenVINO even when it is installed")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads, {args.width}×{args.height}, "
          f"{args.model or 'random ' + args.arch}", flush=True)
    modules = reference_modules(args)
    stages = args.stages.split(",")
    openvino = None
    if not args.no_openvino:
        try:
            import openvino  # noqa: F401
        except ImportError:
            print("openvino not installed: skipped (pip install openvino)", flush=True)
        else:
            openvino = OpenVINOStages(modules, args, stages)
            print("OpenVINO conversion + compilation: "
                  + ", ".join(f"{s} {t:.1f} s" for s, t in openvino.convert_seconds.items()), flush=True)
    times = {"reference": {s: [] for s in stages}, "lcm": {s: [] for s in stages}}
    if openvino:
        times["openvino"] = {s: [] for s in stages}
    rss = 0
    for s in stages:  # warm-up
        time_reference(s, modules, args)
        if openvino:
            openvino.time(s)
    for r in range(args.repeats):
        for s in stages:
            times["reference"][s].append(time_reference(s, modules, args))
            if openvino:
                times["openvino"][s].append(openvino.time(s))
            seconds, peak = time_lcm(s, args)
            times["lcm"][s].append(seconds)
            rss = max(rss, peak)
            print(f"  round {r + 1} {s:5s} " + "   ".join(f"{k} {v[s][-1]:8.3f} s" for k, v in times.items()),
                  flush=True)
    med = {k: {s: statistics.median(v[s]) for s in stages} for k, v in times.items()}
    if set(stages) >= {"text", "unet", "vae"}:
        for k in med:
            med[k]["image"] = med[k]["text"] + args.steps * med[k]["unet"] + med[k]["vae"]
        stages = stages + ["image"]
    others = [k for k in med if k != "lcm"]
    print("\n" + f"{'stage':8s}" + "".join(f"{k:>11s}" for k in med) + "".join(f"{'lcm/' + k[:4]:>10s}" for k in others))
    for s in stages:
        print(f"{s:8s}" + "".join(f"{med[k][s]:10.3f}s" for k in med)
              + "".join(f"{med['lcm'][s] / med[k][s]:10.2f}" for k in others))
    if "image" in stages:
        print(f"(image = text + {args.steps} × unet + vae)")
    print(f"lcm peak RSS {rss / 1e9:.2f} GB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
