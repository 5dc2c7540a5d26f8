#!/usr/bin/env python3
"""Builds a tiny ControlNetModel for the tiny-lcm UNet and its golden tensors in Tests/Fixtures/.

The ControlNet is diffusers' ControlNetModel.from_unet(tiny-lcm UNet) with conditioning_embedding_out_channels
(8, 16): one stride-2 conv, because the tiny-lcm VAE maps pixels to latents by a factor of 2 (not 8). Its zero-
initialised convs (controlnet_down_blocks, controlnet_mid_block, controlnet_cond_embedding.conv_out) get the
default torch init instead, and every bias and norm scale is then perturbed, so the residuals are non-zero and
differ from anything the UNet's own weights would give. Weights are stored F16; the goldens are computed from the
checkpoint as reloaded from disk. Deterministic (fixed seeds). Usage:

    <venv>/bin/python Weights/tools/make_controlnet_fixtures.py
        # rewrites Tests/Fixtures/tiny-controlnet/, Tests/Fixtures/goldens/tiny-controlnet.safetensors and its
        # section of Tests/Fixtures/README.md (needs Tests/Fixtures/tiny-lcm from make_fixtures.py)

diffusers' ControlNetModel has no time_cond_proj_dim: its time embedding has no cond_proj, so from_unet cannot
copy an LCM UNet's time embedding (strict load_state_dict fails on cond_proj.weight) and the ControlNet pipelines
pass timestep_cond (the LCM guidance embedding) to the UNet only. This script therefore builds the model with
from_unet(load_weights_from_unet=False) and copies the weights as from_unet does, leaving out cond_proj.
"""

import argparse
import hashlib
import json
import shutil

import torch
from diffusers import ControlNetModel, LatentConsistencyModelPipeline, UNet2DConditionModel

from lcm_reference import (REPO_ROOT, perturb_, provenance, save_tensors, versions,
                           write_fixtures_readme_section)

SCRIPT = "Weights/tools/make_controlnet_fixtures.py"
FIXTURES = REPO_ROOT / "Tests" / "Fixtures"
UNET_DIR = FIXTURES / "tiny-lcm" / "unet"
CONTROLNET_DIR = FIXTURES / "tiny-controlnet"
GOLDEN = FIXTURES / "goldens" / "tiny-controlnet.safetensors"

CONDITIONING_CHANNELS = (8, 16)
SEED = 700  # model init; SEED + 1: perturbation; SEED + 2: golden inputs
LATENT = (10, 14)  # not a multiple of the UNet's downsampling factor 4
IMAGE_FACTOR = 2  # tiny-lcm VAE: pixel/latent factor
TIMESTEP = 759
GUIDANCE_W = [7.0, 2.0]
SCALE = 0.7


def build_controlnet(unet: UNet2DConditionModel) -> ControlNetModel:
    torch.manual_seed(SEED)
    controlnet = ControlNetModel.from_unet(unet, conditioning_embedding_out_channels=CONDITIONING_CHANNELS,
                                           load_weights_from_unet=False).eval()
    controlnet.conv_in.load_state_dict(unet.conv_in.state_dict())
    result = controlnet.time_embedding.load_state_dict(unet.time_embedding.state_dict(), strict=False)
    assert not result.missing_keys and result.unexpected_keys == ["cond_proj.weight"], result
    controlnet.down_blocks.load_state_dict(unet.down_blocks.state_dict())
    controlnet.mid_block.load_state_dict(unet.mid_block.state_dict())
    zero_initialised = [*controlnet.controlnet_down_blocks, controlnet.controlnet_mid_block,
                        controlnet.controlnet_cond_embedding.conv_out]
    with torch.no_grad():
        for conv in zero_initialised:
            conv.reset_parameters()
    perturb_(controlnet, torch.Generator().manual_seed(SEED + 1))
    assert all(conv.weight.abs().min() > 0 for conv in zero_initialised)
    return controlnet


def write_golden(unet: UNet2DConditionModel, controlnet: ControlNetModel) -> dict:
    generator = torch.Generator().manual_seed(SEED + 2)
    height, width = LATENT
    inputs = {
        "sample": torch.randn(2, unet.config.in_channels, height, width, generator=generator),
        "timestep": torch.tensor([TIMESTEP], dtype=torch.int64),
        "encoder_hidden_states": torch.randn(2, 77, unet.config.cross_attention_dim, generator=generator),
        "control_image": torch.rand(2, 3, height * IMAGE_FACTOR, width * IMAGE_FACTOR, generator=generator),
        "conditioning_scale": torch.tensor([SCALE]),
        "timestep_cond": LatentConsistencyModelPipeline.get_guidance_scale_embedding(
            None, torch.tensor(GUIDANCE_W), embedding_dim=unet.config.time_cond_proj_dim),
    }
    captured = {}
    hook = controlnet.controlnet_cond_embedding.register_forward_hook(
        lambda _module, _args, output: captured.update(cond_embedding=output.detach().clone()))
    try:
        down, mid = controlnet(inputs["sample"], inputs["timestep"],
                               encoder_hidden_states=inputs["encoder_hidden_states"],
                               controlnet_cond=inputs["control_image"], conditioning_scale=SCALE, return_dict=False)
    finally:
        hook.remove()
    kwargs = {"encoder_hidden_states": inputs["encoder_hidden_states"], "timestep_cond": inputs["timestep_cond"]}
    out = unet(inputs["sample"], inputs["timestep"], down_block_additional_residuals=down,
               mid_block_additional_residual=mid, **kwargs).sample
    plain = unet(inputs["sample"], inputs["timestep"], **kwargs).sample
    change = (out - plain).abs().max().item()
    assert change > 0.05, f"the residuals hardly change the UNet output ({change})"
    tensors = {**inputs, **captured, "mid": mid, "out": out}
    tensors.update({f"down.{i}": residual for i, residual in enumerate(down)})
    settings = {
        "controlnet": "Tests/Fixtures/tiny-controlnet", "unet": "Tests/Fixtures/tiny-lcm/unet", "seed": SEED + 2,
        "batch": 2, "latent": list(LATENT), "timestep": TIMESTEP, "conditioning_scale": SCALE,
        "inputs": "sample, encoder_hidden_states ~ N(0,1), control_image ~ U[0,1) from "
                  "torch.Generator().manual_seed(seed)",
        "timestep_cond": f"get_guidance_scale_embedding(w={GUIDANCE_W}), given to the UNet only",
        "controlnet_call": "controlnet(sample, timestep, encoder_hidden_states, controlnet_cond=control_image, "
                           "conditioning_scale) without timestep_cond, guess_mode False",
        "out": "unet(sample, timestep, encoder_hidden_states, timestep_cond, down_block_additional_residuals=down, "
               "mid_block_additional_residual=mid).sample",
        "max_abs_change_from_residuals": round(change, 4),
    }
    save_tensors(GOLDEN, tensors, provenance(SCRIPT, settings))
    return {"down": len(down), "change": change}


def file_rows() -> tuple[list[str], int]:
    paths = sorted(CONTROLNET_DIR.rglob("*")) + [GOLDEN]
    rows, total = [], 0
    for path in (p for p in paths if p.is_file()):
        size = path.stat().st_size
        total += size
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        rows.append(f"| `{path.relative_to(FIXTURES)}` | {size:,} | {digest} |")
    return rows, total


def write_readme(summary: dict) -> None:
    rows, total = file_rows()
    v = versions()
    height, width = LATENT
    text = f"""## Tiny ControlNet

Written by `{SCRIPT}` (after `make_fixtures.py`, from `tiny-lcm/unet`) with
torch {v['torch']}, diffusers {v['diffusers']}. Do not edit by hand.

* `tiny-controlnet/`: diffusers ControlNetModel = `ControlNetModel.from_unet(tiny-lcm UNet)` with
  conditioning_embedding_out_channels {list(CONDITIONING_CHANNELS)} (one stride-2 conv: the control image is
  {IMAGE_FACTOR}× the latent size, the tiny-lcm VAE factor), channel order rgb. The zero-initialised convs got the
  default torch init, then all biases and norm scales were perturbed. **F16** weights. ControlNetModel has no
  time_cond_proj_dim, so the UNet's `time_embedding.cond_proj` is not copied.
* `goldens/tiny-controlnet.safetensors` (F32): inputs `sample` [2,4,{height},{width}], `timestep` (I64 [1],
  {TIMESTEP}), `encoder_hidden_states` [2,77,16], `control_image` [2,3,{height * IMAGE_FACTOR},{width * IMAGE_FACTOR}]
  in [0,1), `conditioning_scale` [1] ({SCALE}), `timestep_cond` [2,256] (w = {GUIDANCE_W}, for the UNet only: the
  ControlNet takes none); the ControlNet's `cond_embedding` (controlnet_cond_embedding output), residuals
  `down.0` … `down.{summary['down'] - 1}` and `mid` (already scaled); `out`, the tiny-lcm UNet output with those
  residuals (they change it by up to {summary['change']:.2f}).

| file | bytes | sha256 (first 16) |
|---|---|---|
""" + "\n".join(rows) + f"""

Total: {total:,} bytes.
"""
    write_fixtures_readme_section(SCRIPT, text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()
    torch.set_grad_enabled(False)
    unet = UNet2DConditionModel.from_pretrained(str(UNET_DIR), dtype=torch.float32).eval()
    if CONTROLNET_DIR.exists():
        shutil.rmtree(CONTROLNET_DIR)
    build_controlnet(unet).to(torch.float16).save_pretrained(str(CONTROLNET_DIR))
    config = json.loads((CONTROLNET_DIR / "config.json").read_text())
    assert config["conditioning_embedding_out_channels"] == list(CONDITIONING_CHANNELS), config
    controlnet = ControlNetModel.from_pretrained(str(CONTROLNET_DIR), dtype=torch.float32).eval()
    summary = write_golden(unet, controlnet)
    write_readme(summary)
    rows, total = file_rows()
    print("\n".join(rows))
    print(f"total {total:,} bytes; residuals change the UNet output by up to {summary['change']:.4f}")


if __name__ == "__main__":
    main()
