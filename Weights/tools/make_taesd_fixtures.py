#!/usr/bin/env python3
"""Builds the tiny random-weight AutoencoderTiny (TAESD) checkpoint and its goldens for AutoencoderTinyTests.

Writes Tests/Fixtures/tiny-taesd/ (config.json + diffusion_pytorch_model.safetensors, from save_pretrained) and
Tests/Fixtures/goldens/tiny-taesd.safetensors. Deterministic: default init from a fixed seed, every conv weight
multiplied by CONV_GAIN (the default init shrinks activations layer by layer, so outputs would be nearly constant),
biases perturbed from a second seed. The goldens come from the checkpoint as reloaded from disk. Usage:

    /work/venv/bin/python Weights/tools/make_taesd_fixtures.py
"""

import argparse
import shutil

import torch
from diffusers import AutoencoderTiny

from lcm_reference import REPO_ROOT, perturb_, provenance, save_tensors

SCRIPT = "Weights/tools/make_taesd_fixtures.py"
FIXTURES = REPO_ROOT / "Tests" / "Fixtures"
FOLDER = FIXTURES / "tiny-taesd"
GOLDEN = FIXTURES / "goldens" / "tiny-taesd.safetensors"

# Encoder and decoder widths differ, and so do their per-stage block counts (diffusers needs one width per list:
# each stage's first conv is width → width).
TINY_TAESD = {
    "encoder_block_out_channels": (8, 8, 8, 8),
    "decoder_block_out_channels": (12, 12, 12, 12),
    "num_encoder_blocks": (1, 2, 1, 1),
    "num_decoder_blocks": (2, 1, 1, 1),
}
SEED = 700
CONV_GAIN = 2.0
# Layer outputs of at most this many elements are recorded as intermediates (the coarse levels).
MAX_INTERMEDIATE = 400


def build(config: dict = TINY_TAESD, folder=FOLDER) -> AutoencoderTiny:
    """A random AutoencoderTiny of `config` written to `folder` and reloaded from it."""
    torch.manual_seed(SEED)
    model = AutoencoderTiny(**config).eval()
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.endswith("weight"):
                param.mul_(CONV_GAIN)
    perturb_(model, torch.Generator().manual_seed(SEED + 1))
    if folder.exists():
        shutil.rmtree(folder)
    model.save_pretrained(str(folder))
    return AutoencoderTiny.from_pretrained(str(folder), dtype=torch.float32).eval()


def run_layers(layers: torch.nn.Sequential, x: torch.Tensor, prefix: str, store: dict) -> None:
    """Records each layer's output of the Sequential, as `<prefix>.<index>`, when it is small."""
    for index, layer in enumerate(layers):
        x = layer(x)
        if x.numel() <= MAX_INTERMEDIATE:
            store[f"{prefix}.{index}"] = x.clone()


def goldens(model: AutoencoderTiny) -> None:
    generator = torch.Generator().manual_seed(1)
    latents = torch.randn(2, 4, 4, 3, generator=generator) * 2
    image = torch.rand(2, 3, 30, 22, generator=generator) * 2 - 1
    decoded = model.decode(latents).sample
    encoded = model.encode(image).latents
    intermediates: dict = {}
    run_layers(model.decoder.layers, torch.tanh(latents / 3) * 3, "decoder.layers", intermediates)
    run_layers(model.encoder.layers, image.add(1).div(2), "encoder.layers", intermediates)
    tensors = {"latents": latents, "decoded": decoded, "image": image, "encoded": encoded, **intermediates}
    settings = {
        "model": "tiny-taesd", "config": TINY_TAESD, "init_seed": SEED, "conv_gain": CONV_GAIN, "seed": 1,
        "decode": "decoded = AutoencoderTiny.decode(latents).sample, latents = 2 * N(0,1)",
        "encode": "encoded = AutoencoderTiny.encode(image).latents, image ~ U[-1,1), 30x22 (odd sizes)",
        "intermediates": f"decoder.layers.i / encoder.layers.i outputs of at most {MAX_INTERMEDIATE} elements "
                         "(decoder input tanh(latents/3)*3, encoder input (image+1)/2)",
    }
    save_tensors(GOLDEN, tensors, provenance(SCRIPT, settings))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()
    torch.set_grad_enabled(False)
    goldens(build())
    for path in sorted(FOLDER.iterdir()) + [GOLDEN]:
        print(f"{path.relative_to(FIXTURES)}: {path.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
