#!/usr/bin/env python3
"""Trains lcm-shapes, the repository's default model: a small latent consistency model for 64×64 images of
captioned shapes (shapes_data.py), on the CPU, in stages that each run alone, resume from their checkpoint
(--resume) and stop at a time budget (--minutes, counted over all sessions of the stage):

    vae      AutoencoderKL 64×64×3 ↔ 4×16×16 (L1 + L2 + tiny KL); sets scaling_factor from the latent std
    text     CLIPTextModel initialisation + the CLIP tokenizer files (trained jointly in `teacher`)
    teacher  UNet2DConditionModel (epsilon, DDPM scaled_linear) + text encoder, 10 % empty captions
    distill  latent consistency distillation of the teacher into a UNet with a guidance embedding
    export   writes the diffusers folder (fp16 safetensors) and checks that diffusers loads and runs it
    eval     held-out prompts through LatentConsistencyModelPipeline at 1, 2 and 4 steps, scored by
             shapes_checker.py (or the teacher with DDIM + CFG, --teacher)

Outputs go to --out (default: ../train next to the checkout); see Weights/README.md for the full recipe.
"""

import argparse
import json
import os
import shutil
import time
from pathlib import Path

# Sleeping rather than spinning OpenMP workers: on a machine shared with other jobs, spinning threads made
# 2-thread steps 3–15× slower than 1-thread ones. Must be set before torch starts its thread pool.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

# ruff: noqa: E402
import numpy as np
import torch
import torch.nn.functional as F

import shapes_data
from lcm_reference import REPO_ROOT, versions, write_pipeline_metadata, write_text_encoder, write_tokenizer
from shapes_training import (TEXT_CONFIG, UNET_CONFIG, VAE_CONFIG, CaptionBatcher, TrainingRun, ema_copy,
                             ema_update, images_to_tensor, load_tokenizer, noise_schedule, parse_channels, psnr,
                             sample_captions)

SCRIPT = "Weights/tools/train_default_model.py"
DEFAULT_EXPORT = REPO_ROOT / "Weights" / "lcm-shapes"
SIZE_LIMIT = 20 * 1000 * 1000


def scheduled_lr(run: TrainingRun, optimizer, args) -> float:
    """Sets and returns the learning rate of the current step (TrainingRun.learning_rate)."""
    rate = run.learning_rate(args.lr, args.warmup, args.decay)
    for group in optimizer.param_groups:
        group["lr"] = rate
    return rate


def snapshot(modules: dict, rng: np.random.Generator) -> dict:
    return {**{name: m.state_dict() for name, m in modules.items()}, "numpy_rng": rng.bit_generator.state}


def restore(state: dict | None, modules: dict, rng: np.random.Generator) -> None:
    if state:
        for name, module in modules.items():
            module.load_state_dict(state[name])
        rng.bit_generator.state = state["numpy_rng"]


# ---------------------------------------------------------------------------------------------------- vae

def stage_vae(args) -> None:
    from diffusers import AutoencoderKL

    run = TrainingRun(args.out / "vae", args, ["loss", "l1", "mse", "kl", "lr", "val_psnr"])
    channels = parse_channels(args.channels)
    config = {**VAE_CONFIG, "block_out_channels": channels, "down_block_types": ["DownEncoderBlock2D"] * len(channels),
              "up_block_types": ["UpDecoderBlock2D"] * len(channels)}
    torch.manual_seed(args.seed)
    vae = AutoencoderKL(**config)
    with torch.no_grad():  # posterior σ starts at e^(logvar/2) ≈ 0.05 instead of 1: informative latents from step 1
        vae.quant_conv.bias[config["latent_channels"]:] = args.initial_logvar
    optimizer = torch.optim.AdamW(vae.parameters(), lr=args.lr, weight_decay=0.0)
    state = run.load()
    if state:
        vae.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
    validation = images_to_tensor(shapes_data.render_split("heldout", 0, 64, args.seed)[0])

    for step in run.steps(lambda: {"model": vae.state_dict(), "optimizer": optimizer.state_dict()}):
        lr = scheduled_lr(run, optimizer, args)
        x = images_to_tensor(shapes_data.autoencoder_batch(step * args.batch, args.batch, args.seed, args.clutter))
        posterior = vae.encode(x).latent_dist
        y = vae.decode(posterior.sample()).sample
        l1, mse = (y - x).abs().mean(), F.mse_loss(y, x)
        kl = posterior.kl().mean() / x[0].numel()
        loss = l1 + mse + args.kl_weight * kl
        loss.backward()
        torch.nn.utils.clip_grad_norm_(vae.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        run.record(loss=loss.item(), l1=l1.item(), mse=mse.item(), kl=kl.item(), lr=lr)
        if (step + 1) % args.val_every == 0:
            run.record(force=True, val_psnr=reconstruction_psnr(vae, validation))

    vae.eval()
    report = vae_report(vae, args)
    vae.register_to_config(scaling_factor=report["scaling_factor"])
    vae.save_pretrained(str(args.out / "vae" / "model"))
    report.update(steps=run.step, minutes=round(run.elapsed / 60, 2), config=config)
    (args.out / "vae" / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report))


@torch.no_grad()
def reconstruction_psnr(vae, images: torch.Tensor) -> float:
    return psnr(vae.decode(vae.encode(images).latent_dist.mode()).sample, images)


@torch.no_grad()
def vae_report(vae, args) -> dict:
    """PSNR and checker accuracy of reconstructions of 256 held-out images, and the latent statistics of
    1024 training images (scaling_factor = 1 / std, as SD's 0.18215 was chosen)."""
    from shapes_checker import check_image, summarize

    images, scenes = shapes_data.render_split("heldout", 0, 256, args.seed)
    x = images_to_tensor(images)
    y = torch.cat([vae.decode(vae.encode(x[i:i + 64]).latent_dist.mode()).sample for i in range(0, 256, 64)])
    decoded = ((y.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()
    checks = summarize([check_image(d, shapes_data.truth_of(s)) for d, s in zip(decoded, scenes)])
    train = images_to_tensor(shapes_data.render_split("train", 0, 1024, args.seed)[0])
    latents = torch.cat([vae.encode(train[i:i + 128]).latent_dist.mode() for i in range(0, 1024, 128)])
    std = latents.std().item()
    return {"psnr_db": round(psnr(y, x), 2), "reconstruction_checks": checks, "latent_std": std,
            "latent_mean": latents.mean().item(), "scaling_factor": 1.0 / std}


# --------------------------------------------------------------------------------------------------- text

def stage_text(args) -> None:
    from transformers import CLIPTextConfig, CLIPTextModel

    from text_pretraining import AttributeHeads, attribute_targets, caption_batch

    directory = args.out / "text"
    write_tokenizer(directory / "tokenizer")
    batcher = CaptionBatcher(load_tokenizer(directory / "tokenizer"))
    run = TrainingRun(directory, args, ["loss", "background_acc", "pairs_acc", "lr"])
    config = {**TEXT_CONFIG, "hidden_size": args.hidden, "intermediate_size": 4 * args.hidden,
              "num_hidden_layers": args.layers, "num_attention_heads": args.heads, "projection_dim": args.hidden}
    torch.manual_seed(args.seed)
    model = CLIPTextModel(CLIPTextConfig(**config))
    heads = AttributeHeads(args.hidden)
    optimizer = torch.optim.AdamW(list(model.parameters()) + list(heads.parameters()), lr=args.lr, weight_decay=0.0)
    rng = np.random.default_rng(np.random.SeedSequence([args.seed, 5]))
    modules = {"model": model, "heads": heads, "optimizer": optimizer}
    restore(run.load(), modules, rng)
    scenes = training_scenes(args)

    for _ in run.steps(lambda: snapshot(modules, rng)):
        lr = scheduled_lr(run, optimizer, args)
        captions = caption_batch(scenes, rng, args.batch)
        loss, background_ok, pairs_ok = heads.loss(model(batcher(captions)).last_hidden_state,
                                                   *attribute_targets(captions))
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        run.record(loss=loss.item(), background_acc=background_ok, pairs_acc=pairs_ok, lr=lr)
    model.save_pretrained(str(directory / "model"))

    held_out = [p["prompt"] for p in shapes_data.heldout_pairs(500, args.seed, None)]
    with torch.no_grad():
        _, background_ok, pairs_ok = heads.loss(model(batcher(held_out)).last_hidden_state,
                                                *attribute_targets(held_out))
    ids = batcher.tokenizer(held_out).input_ids
    words = sorted({w.strip(",") for c in held_out for w in c.split()})
    split = [w for w in words if len(batcher.tokenizer(w, add_special_tokens=False).input_ids) != 1]
    params = sum(p.numel() for p in model.parameters())
    report = {"config": config, "parameters": params, "fp16_megabytes": round(2 * params / 1e6, 2),
              "steps": run.step, "minutes": round(run.elapsed / 60, 2),
              "heldout_background_accuracy": background_ok, "heldout_color_shape_accuracy": pairs_ok,
              "longest_caption_tokens": max(map(len, ids)), "words": len(words),
              "words_split_into_several_tokens": split}
    (directory / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report))
    if report["longest_caption_tokens"] > 77:
        raise SystemExit("captions longer than 77 tokens would be truncated")


# ------------------------------------------------------------------------------------------------ latents

@torch.no_grad()
def latent_cache(args, vae_dir: Path) -> dict:
    """Posterior means and standard deviations of the first --latents training scenes, encoded once per VAE
    (the cache is keyed by the VAE weights' size and modification time)."""
    from diffusers import AutoencoderKL

    weights = next(vae_dir.glob("*.safetensors"))
    key = {"vae": str(weights), "bytes": weights.stat().st_size, "mtime": weights.stat().st_mtime,
           "count": args.latents, "seed": args.seed}
    path = args.out / "latents.pt"
    if path.exists():
        cache = torch.load(path, weights_only=False)
        if cache["key"] == key:
            return cache
    vae = AutoencoderKL.from_pretrained(str(vae_dir)).eval()
    start, means, stds = time.perf_counter(), [], []
    for first in range(0, args.latents, 256):
        count = min(256, args.latents - first)
        posterior = vae.encode(images_to_tensor(shapes_data.render_split("train", first, count, args.seed)[0]))
        means.append(posterior.latent_dist.mean.half())
        stds.append(posterior.latent_dist.std.half())
    cache = {"key": key, "mean": torch.cat(means), "std": torch.cat(stds),
             "scaling_factor": vae.config.scaling_factor}
    torch.save(cache, path)
    print(f"encoded {args.latents} training images in {time.perf_counter() - start:.0f} s -> {path}")
    return cache


def offset_noise(latents: torch.Tensor, strength: float) -> torch.Tensor:
    """Gaussian noise plus a per-sample, per-channel constant of standard deviation `strength`. The latents of
    these images are dominated by their per-channel means (the background colour), and at t = 999 the plain
    noise's own mean over 16×16 positions (σ = 1/16) leaves that mean readable from x_t (√ᾱ·μ ≈ 0.07–0.15):
    a model trained on it takes the background from the noise instead of the prompt. The offset hides it."""
    noise = torch.randn_like(latents)
    return noise + strength * torch.randn(latents.shape[0], latents.shape[1], 1, 1)


def latent_batch(cache: dict, indices: np.ndarray) -> torch.Tensor:
    index = torch.from_numpy(indices)
    mean, std = cache["mean"][index].float(), cache["std"][index].float()
    return (mean + std * torch.randn_like(mean)) * cache["scaling_factor"]


def training_scenes(args) -> list[dict]:
    return [shapes_data.scene_for("train", i, args.seed) for i in range(args.latents)]


# ------------------------------------------------------------------------------------------------ teacher

def stage_teacher(args) -> None:
    from diffusers import UNet2DConditionModel
    from transformers import CLIPTextModel

    cache = latent_cache(args, args.out / "vae" / "model")
    scenes = training_scenes(args)
    batcher = CaptionBatcher(load_tokenizer(args.out / "text" / "tokenizer"))
    run = TrainingRun(args.out / "teacher", args, ["loss", "lr"])
    text = CLIPTextModel.from_pretrained(str(args.out / "text" / "model"))
    torch.manual_seed(args.seed)
    channels = parse_channels(args.channels)
    unet = UNet2DConditionModel(**{**UNET_CONFIG, "block_out_channels": channels,
                                   "layers_per_block": args.layers_per_block,
                                   "cross_attention_dim": text.config.hidden_size})
    ema_unet, ema_text = ema_copy(unet), ema_copy(text)
    optimizer = torch.optim.AdamW(list(unet.parameters()) + list(text.parameters()), lr=args.lr, weight_decay=0.0)
    rng = np.random.default_rng(np.random.SeedSequence([args.seed, 3]))
    modules = {"unet": unet, "text": text, "ema_unet": ema_unet, "ema_text": ema_text, "optimizer": optimizer}
    restore(run.load(), modules, rng)
    alphas_cumprod = noise_schedule().alphas_cumprod

    for step in run.steps(lambda: snapshot(modules, rng)):
        lr = scheduled_lr(run, optimizer, args)
        indices = rng.integers(0, len(scenes), args.batch)
        ids = batcher(sample_captions(scenes, indices, rng, args.caption_dropout))
        latents = latent_batch(cache, indices)
        noise = offset_noise(latents, args.offset_noise)
        t = torch.randint(0, len(alphas_cumprod), (args.batch,))
        a = alphas_cumprod[t][:, None, None, None]
        noisy = a.sqrt() * latents + (1 - a).sqrt() * noise
        prediction = unet(noisy, t, encoder_hidden_states=text(ids).last_hidden_state).sample
        loss = F.mse_loss(prediction, noise)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(optimizer.param_groups[0]["params"], 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        decay = min(args.ema, (1 + step) / (10 + step))
        ema_update(ema_unet, unet, decay)
        ema_update(ema_text, text, decay)
        run.record(loss=loss.item(), lr=lr)

    ema_unet.save_pretrained(str(args.out / "teacher" / "model" / "unet"))
    ema_text.save_pretrained(str(args.out / "teacher" / "model" / "text_encoder"))
    print(f"teacher (EMA) written to {args.out / 'teacher' / 'model'}")


# ------------------------------------------------------------------------------------------------ distill

def stage_distill(args) -> None:
    from diffusers import UNet2DConditionModel
    from transformers import CLIPTextModel

    from lcm_distillation import ConsistencyDistiller, student_from_teacher

    cache = latent_cache(args, args.out / "vae" / "model")
    scenes = training_scenes(args)
    batcher = CaptionBatcher(load_tokenizer(args.out / "text" / "tokenizer"))
    run = TrainingRun(args.out / "distill", args, ["loss", "lr"])
    teacher = UNet2DConditionModel.from_pretrained(str(args.out / "teacher" / "model" / "unet")).requires_grad_(False)
    text = CLIPTextModel.from_pretrained(str(args.out / "teacher" / "model" / "text_encoder")).requires_grad_(False)
    student = student_from_teacher(teacher)
    target = ema_copy(student)
    optimizer = torch.optim.AdamW(student.parameters(), lr=args.lr, weight_decay=0.0)
    rng = np.random.default_rng(np.random.SeedSequence([args.seed, 4]))
    modules = {"student": student, "target": target, "optimizer": optimizer}
    restore(run.load(), modules, rng)
    distiller = ConsistencyDistiller(teacher, student, target, noise_schedule().alphas_cumprod, args.w_min,
                                     args.w_max, args.loss, args.huber_c,
                                     noise=lambda latents: offset_noise(latents, args.offset_noise))
    with torch.no_grad():
        uncond = text(batcher([""])).last_hidden_state.expand(args.batch, -1, -1)

    for step in run.steps(lambda: snapshot(modules, rng)):
        lr = scheduled_lr(run, optimizer, args)
        indices = rng.integers(0, len(scenes), args.batch)
        with torch.no_grad():
            embeds = text(batcher(sample_captions(scenes, indices, rng, 0.0))).last_hidden_state
        loss = distiller.loss(latent_batch(cache, indices), embeds, uncond)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(student.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        ema_update(target, student, args.ema)
        run.record(loss=loss.item(), lr=lr)

    target.save_pretrained(str(args.out / "distill" / "model" / "unet"))
    student.save_pretrained(str(args.out / "distill" / "model" / "unet_online"))
    print(f"student (EMA target and online) written to {args.out / 'distill' / 'model'}")


# ------------------------------------------------------------------------------------------------- export

def stage_export(args) -> None:
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextModel

    destination = args.export_dir
    staging = destination.with_name(destination.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    write_pipeline_metadata(staging)
    write_tokenizer(staging / "tokenizer")
    for name, cls, source in (("unet", UNet2DConditionModel, args.out / "distill" / "model" / args.unet),
                              ("vae", AutoencoderKL, args.out / "vae" / "model")):
        cls.from_pretrained(str(source), torch_dtype=torch.float16).save_pretrained(str(staging / name))
        config_path = staging / name / "config.json"
        config = json.loads(config_path.read_text())
        config["_name_or_path"] = f"lcm-shapes/{name}"
        config_path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    text = CLIPTextModel.from_pretrained(str(args.out / "teacher" / "model" / "text_encoder"))
    write_text_encoder(text, staging / "text_encoder", torch.float16, name_or_path="lcm-shapes/text_encoder")
    write_model_card(staging, args)
    # Settings `lcm generate` uses when none are given (diffusers ignores the file): the middle of the
    # distilled guidance range, and the step count the acceptance figures are measured at.
    (staging / "lcm_defaults.json").write_text(json.dumps({"guidance_scale": 2.0, "num_inference_steps": 4}) + "\n")

    files = {str(p.relative_to(staging)): p.stat().st_size for p in sorted(staging.rglob("*")) if p.is_file()}
    total = sum(files.values())
    for name, size in files.items():
        print(f"{size:>10,d}  {name}")
    print(f"{total:>10,d}  total ({total / 1e6:.2f} MB, limit {SIZE_LIMIT / 1e6:.0f} MB)")
    if total > SIZE_LIMIT:
        raise SystemExit(f"{staging} is {total:,d} bytes, over the {SIZE_LIMIT:,d}-byte limit")
    smoke_check(staging)
    shutil.rmtree(destination, ignore_errors=True)
    staging.rename(destination)
    print(f"exported {destination}")


def write_model_card(directory: Path, args) -> None:
    settings = {}
    for stage in ("vae", "text", "teacher", "distill"):
        path = args.out / stage / "settings.json"
        if path.exists():
            settings[stage] = {k: v for k, v in json.loads(path.read_text()).items() if k not in ("out", "resume")}
    reports = {s: json.loads((args.out / s / "report.json").read_text()) for s in ("vae", "text")
               if (args.out / s / "report.json").exists()}
    distill = settings.get("distill", {})
    guidance = f"{distill.get('w_min', 0.5) + 1:g} to {distill.get('w_max', 2.0) + 1:g}"
    text = f"""# lcm-shapes

A small latent consistency model for 64×64 images of simple captioned scenes ("a big red circle on the left
on a blue background"), for diffusers' `LatentConsistencyModelPipeline`. Trained from scratch on a CPU by
`{SCRIPT}` (stages vae, text, teacher, distill; data from `Weights/tools/shapes_data.py`).
Weights are fp16 safetensors. Distilled for guidance_scale {guidance} (the pipeline embeds w = guidance_scale − 1);
1 to 4 steps.

Versions: {json.dumps(versions())}

Stage settings:

```json
{json.dumps(settings, indent=1, default=str)}
```

VAE and text encoder reports:

```json
{json.dumps(reports, indent=1)}
```
"""
    (directory / "README.md").write_text(text)


@torch.no_grad()
def smoke_check(directory: Path) -> None:
    """diffusers loads the folder as it is, in float32, and makes 4-step images of the right size."""
    from diffusers import LatentConsistencyModelPipeline

    pipe = LatentConsistencyModelPipeline.from_pretrained(str(directory), safety_checker=None)
    dtypes = {p.dtype for m in (pipe.unet, pipe.vae, pipe.text_encoder) for p in m.parameters()}
    prompts = ["a big red circle on the left on a blue background", "a small yellow triangle on a black background"]
    images = pipe(prompts, num_inference_steps=4, guidance_scale=2.0, output_type="np",
                  generator=[torch.Generator().manual_seed(i) for i in range(2)]).images
    if images.shape != (2, 64, 64, 3) or not np.isfinite(images).all():
        raise SystemExit(f"pipeline output {images.shape} is not two finite 64×64 RGB images")
    print(f"LatentConsistencyModelPipeline loads {directory} (parameters {sorted(map(str, dtypes))}) "
          f"and makes 4-step 64×64 images (mean {images.mean():.3f}, std {images.std():.3f})")


# --------------------------------------------------------------------------------------------------- main

def common(parser: argparse.ArgumentParser, minutes: float, batch: int, lr: float) -> None:
    parser.add_argument("--minutes", type=float, default=minutes, help=f"training-time budget (default {minutes})")
    parser.add_argument("--max-steps", type=int, help="also stop after this many steps")
    parser.add_argument("--batch", type=int, default=batch, help=f"batch size (default {batch})")
    parser.add_argument("--lr", type=float, default=lr, help=f"AdamW learning rate after warm-up (default {lr})")
    parser.add_argument("--warmup", type=int, default=100, help="linear warm-up steps (default 100)")
    parser.add_argument("--decay", type=float, default=0.3,
                        help="fraction of the budget at the end over which the rate falls to a tenth (default 0.3)")
    parser.add_argument("--resume", action="store_true", help="continue from the stage's checkpoint")
    parser.add_argument("--checkpoint-minutes", type=float, default=5.0, help="checkpoint interval (default 5)")
    parser.add_argument("--log-every", type=int, default=10, help="log.csv row interval in steps (default 10)")


def main() -> None:
    from shapes_eval import add_eval_parser

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=REPO_ROOT.parent / "train",
                        help="folder for checkpoints, logs and stage outputs (default: ../train beside the checkout)")
    parser.add_argument("--seed", type=int, default=0, help="seed of data, initialisation and sampling (default 0)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    stages = parser.add_subparsers(dest="stage", required=True)

    vae = stages.add_parser("vae", help="train the autoencoder")
    common(vae, minutes=20, batch=16, lr=1e-3)
    vae.add_argument("--channels", default=",".join(map(str, VAE_CONFIG["block_out_channels"])),
                     help="block_out_channels (3 levels: scale factor 4)")
    vae.add_argument("--kl-weight", type=float, default=1e-6, help="weight of the per-value KL term")
    vae.add_argument("--clutter", type=float, default=0.5, help="fraction of busier uncaptioned scenes (default 0.5)")
    vae.add_argument("--initial-logvar", type=float, default=-6.0, help="initial posterior log-variance")
    vae.add_argument("--val-every", type=int, default=100, help="held-out PSNR interval in steps")
    vae.set_defaults(func=stage_vae)

    text = stages.add_parser("text", help="pre-train the text encoder on caption attributes; write the tokenizer")
    common(text, minutes=3, batch=128, lr=1e-3)
    text.add_argument("--latents", type=int, default=20000, help="training scenes whose captions are used")
    text.add_argument("--hidden", type=int, default=TEXT_CONFIG["hidden_size"], help="hidden size")
    text.add_argument("--layers", type=int, default=TEXT_CONFIG["num_hidden_layers"], help="transformer layers")
    text.add_argument("--heads", type=int, default=TEXT_CONFIG["num_attention_heads"], help="attention heads")
    text.set_defaults(func=stage_text)

    for name, minutes, batch, lr, func in (("teacher", 60, 64, 5e-4, stage_teacher),
                                           ("distill", 50, 32, 1e-4, stage_distill)):
        sub = stages.add_parser(name, help=f"train the {name} UNet" if name == "teacher" else "distil the teacher")
        common(sub, minutes=minutes, batch=batch, lr=lr)
        sub.add_argument("--latents", type=int, default=20000, help="training images encoded once (default 20000)")
        sub.add_argument("--offset-noise", type=float, default=0.3,
                         help="std of the per-channel constant added to the noise (default 0.3)")
        sub.set_defaults(func=func)
        if name == "teacher":
            sub.add_argument("--channels", default=",".join(map(str, UNET_CONFIG["block_out_channels"])),
                             help="UNet block_out_channels")
            sub.add_argument("--layers-per-block", type=int, default=UNET_CONFIG["layers_per_block"])
            sub.add_argument("--caption-dropout", type=float, default=0.1, help="empty-prompt fraction")
            sub.add_argument("--ema", type=float, default=0.999, help="EMA decay of the exported teacher")
        else:
            sub.add_argument("--w-min", type=float, default=0.5, help="lowest w = guidance_scale − 1 (default 0.5)")
            sub.add_argument("--w-max", type=float, default=2.0, help="highest w = guidance_scale − 1 (default 2)")
            sub.add_argument("--loss", choices=("huber", "l2"), default="huber")
            sub.add_argument("--huber-c", type=float, default=0.001)
            sub.add_argument("--ema", type=float, default=0.95, help="EMA decay of the target network")

    export = stages.add_parser("export", help="write and check the diffusers folder")
    export.add_argument("--export-dir", type=Path, default=DEFAULT_EXPORT, help=f"default {DEFAULT_EXPORT}")
    export.add_argument("--unet", choices=("unet", "unet_online"), default="unet",
                        help="the EMA target (unet, default) or the online student")
    export.set_defaults(func=stage_export)

    add_eval_parser(stages, DEFAULT_EXPORT)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    args.func(args)


if __name__ == "__main__":
    main()
