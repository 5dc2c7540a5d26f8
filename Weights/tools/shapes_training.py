"""Shared pieces of train_default_model.py: network configurations of lcm-shapes, the DDPM noise schedule,
caption batches, EMA, and a time-budgeted, resumable, logged training loop (TrainingRun)."""

import copy
import csv
import json
import os
import signal
import time
from pathlib import Path

import numpy as np
import torch

import shapes_data

# AutoencoderKL: 64×64 RGB ↔ 4×16×16 latents (3 levels: scale factor 4).
VAE_CONFIG = {
    "in_channels": 3, "out_channels": 3, "latent_channels": 4, "block_out_channels": [16, 32, 64],
    "down_block_types": ["DownEncoderBlock2D"] * 3, "up_block_types": ["UpDecoderBlock2D"] * 3,
    "layers_per_block": 1, "norm_num_groups": 8, "sample_size": 64,
}
# CLIPTextModel over the real CLIP vocabulary; the token embedding (49408 × hidden) dominates the file size.
TEXT_CONFIG = {
    "vocab_size": 49408, "hidden_size": 64, "intermediate_size": 256, "num_hidden_layers": 3,
    "num_attention_heads": 4, "max_position_embeddings": 77, "hidden_act": "quick_gelu", "projection_dim": 64,
    "bos_token_id": 0, "eos_token_id": 2, "pad_token_id": 1,
}
# UNet2DConditionModel on 16×16 latents; cross-attention at 8×8 and 4×4 (and the mid block).
UNET_CONFIG = {
    "sample_size": 16, "in_channels": 4, "out_channels": 4, "layers_per_block": 1,
    "block_out_channels": [32, 64, 64], "norm_num_groups": 8, "attention_head_dim": 4,
    "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
    "up_block_types": ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"],
}
# DDPM training schedule of SD-1.x, which LCMScheduler's defaults also assume.
SCHEDULE = {"num_train_timesteps": 1000, "beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear",
            "prediction_type": "epsilon"}
MAX_LENGTH = 77


def noise_schedule():
    from diffusers import DDPMScheduler

    return DDPMScheduler(**SCHEDULE)


def parse_channels(text: str) -> list[int]:
    return [int(v) for v in text.split(",")]


class CaptionBatcher:
    """Token ids [B, 77] for captions, padded with <|endoftext|> as the pipeline does, cached by text."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer
        self.cache: dict[str, torch.Tensor] = {}

    def __call__(self, captions: list[str]) -> torch.Tensor:
        missing = [c for c in dict.fromkeys(captions) if c not in self.cache]
        if missing:
            ids = self.tokenizer(missing, padding="max_length", max_length=MAX_LENGTH, truncation=True,
                                 return_tensors="pt").input_ids
            self.cache.update(zip(missing, ids))
        return torch.stack([self.cache[c] for c in captions])


def load_tokenizer(directory: Path):
    from transformers import CLIPTokenizer

    return CLIPTokenizer.from_pretrained(str(directory))


def sample_captions(scenes: list[dict], indices: np.ndarray, rng: np.random.Generator, dropout: float) -> list[str]:
    """A random paraphrase per scene; a fraction `dropout` are replaced by the empty prompt."""
    return ["" if rng.random() < dropout else shapes_data.caption(scenes[i], rng) for i in indices]


def ema_copy(model: torch.nn.Module) -> torch.nn.Module:
    ema = copy.deepcopy(model)
    ema.requires_grad_(False)
    return ema


@torch.no_grad()
def ema_update(ema: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    for target, source in zip(ema.parameters(), model.parameters()):
        target.lerp_(source, 1.0 - decay)


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """PSNR in dB of images in [-1, 1] after 8-bit quantisation, as the pipeline outputs them."""
    qa = ((a.clamp(-1, 1) + 1) * 127.5).round()
    qb = ((b.clamp(-1, 1) + 1) * 127.5).round()
    mse = ((qa - qb) ** 2).mean().item()
    return float("inf") if mse == 0 else 10 * np.log10(255 ** 2 / mse)


def images_to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 [B, 64, 64, 3] → float [B, 3, 64, 64] in [-1, 1]."""
    return torch.from_numpy(images).permute(0, 3, 1, 2).float() / 127.5 - 1


class TrainingRun:
    """One stage's training loop state under <out>/<stage>/: checkpoint.pt (written atomically every
    `checkpoint_minutes` and at the end), log.csv (one row per logged step) and the run settings.

    The budget counts training time over all sessions of the stage: with --resume, training continues from
    the checkpoint until the total reaches --minutes (or --max-steps). SIGINT/SIGTERM stop at the next step
    boundary after writing a checkpoint."""

    def __init__(self, stage_dir: Path, args, fields: list[str]):
        self.dir = stage_dir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.checkpoint_path = self.dir / "checkpoint.pt"
        self.log_path = self.dir / "log.csv"
        self.budget = args.minutes * 60
        self.max_steps = args.max_steps
        self.checkpoint_every = args.checkpoint_minutes * 60
        self.log_every = args.log_every
        self.fields = ["step", "elapsed_s", "step_s", "cpu_s"] + fields
        self.step, self.elapsed, self.stop_requested = 0, 0.0, False
        self.pending, self.force = {}, False
        self.resumed = args.resume and self.checkpoint_path.exists()
        if self.checkpoint_path.exists() and not args.resume:
            raise SystemExit(f"{self.checkpoint_path} exists: pass --resume to continue that run, "
                             f"or delete {self.dir} to start over")
        if args.resume and not self.resumed:
            print(f"--resume: no checkpoint in {self.dir}, starting a new run")
        if not self.resumed:
            with open(self.log_path, "w", newline="") as file:
                csv.writer(file, lineterminator="\n").writerow(self.fields)
            settings = {k: v for k, v in vars(args).items() if k != "func"}
            (self.dir / "settings.json").write_text(json.dumps(settings, indent=2, default=str) + "\n")

    def load(self) -> dict | None:
        """The saved state dict (with the run's step and elapsed time restored), or None for a new run."""
        if not self.resumed:
            return None
        state = torch.load(self.checkpoint_path, map_location="cpu", weights_only=False)
        self.step, self.elapsed = state["step"], state["elapsed"]
        torch.set_rng_state(state["torch_rng"])
        with open(self.log_path, newline="") as file:  # rows logged after the checkpoint will be redone
            rows = [row for row in csv.reader(file)]
        with open(self.log_path, "w", newline="") as file:
            csv.writer(file, lineterminator="\n").writerows(
                [rows[0]] + [row for row in rows[1:] if int(row[0]) <= self.step])
        print(f"resumed {self.checkpoint_path} at step {self.step}, {self.elapsed / 60:.1f} min trained")
        return state

    def save(self, state: dict) -> None:
        state = {**state, "step": self.step, "elapsed": self.elapsed, "torch_rng": torch.get_rng_state()}
        temporary = self.checkpoint_path.with_suffix(".tmp")
        torch.save(state, temporary)
        os.replace(temporary, self.checkpoint_path)

    def steps(self, make_state):
        """Yields step numbers until the budget is spent; the caller runs one optimisation step per
        iteration and reports its figures with record(). make_state() returns what save() stores."""
        def request_stop(signum, _frame):
            print(f"signal {signum}: stopping after this step", flush=True)
            self.stop_requested = True

        previous = {s: signal.signal(s, request_stop) for s in (signal.SIGINT, signal.SIGTERM)}
        last_save = time.perf_counter()
        try:
            while (self.elapsed < self.budget and (self.max_steps is None or self.step < self.max_steps)
                   and not self.stop_requested):
                start, cpu_start = time.perf_counter(), time.process_time()
                self.pending, self.force = {}, False
                yield self.step
                self.step += 1
                now = time.perf_counter()
                self.elapsed += now - start
                if self.force or self.step % self.log_every == 0 or self.step == 1:
                    self._write_row(now - start, time.process_time() - cpu_start)
                if now - last_save >= self.checkpoint_every:
                    self.save(make_state())
                    last_save = time.perf_counter()
            self.save(make_state())
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
        print(f"{self.dir.name}: stopped at step {self.step} after {self.elapsed / 60:.1f} min of training",
              flush=True)

    def progress(self) -> float:
        """Fraction of the budget (time, or steps when --max-steps is given and nearer) already used."""
        done = self.elapsed / self.budget if self.budget > 0 else 1.0
        if self.max_steps:
            done = max(done, self.step / self.max_steps)
        return min(1.0, done)

    def learning_rate(self, base: float, warmup: int, decay_fraction: float) -> float:
        """Linear warm-up over `warmup` steps, constant, then a linear decay to base/10 over the last
        `decay_fraction` of the budget."""
        rate = base * min(1.0, (self.step + 1) / warmup)
        if decay_fraction > 0:
            rate *= 1.0 - 0.9 * min(1.0, max(0.0, self.progress() - (1 - decay_fraction)) / decay_fraction)
        return rate

    def record(self, force: bool = False, **figures) -> None:
        """Figures of the current step; written to log.csv on every log_every-th step, or when forced."""
        self.pending.update(figures)
        self.force = self.force or force

    def _write_row(self, step_seconds: float, cpu_seconds: float) -> None:
        """step_s is wall time, cpu_s the process CPU time of the step (all threads; a busy machine inflates
        step_s but not cpu_s)."""
        row = {"step": self.step, "elapsed_s": round(self.elapsed, 1), "step_s": round(step_seconds, 3),
               "cpu_s": round(cpu_seconds, 3),
               **{k: (round(v, 6) if isinstance(v, float) else v) for k, v in self.pending.items()}}
        with open(self.log_path, "a", newline="") as file:
            csv.writer(file, lineterminator="\n").writerow([row.get(f, "") for f in self.fields])
        print(" ".join(f"{k} {v}" for k, v in row.items()), flush=True)
