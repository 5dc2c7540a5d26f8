#!/usr/bin/env python3
"""Fixtures and goldens of the SD-1.5 toolbox: LoRA merging (kohya, peft and old diffusers key styles), LCM-LoRA
with classifier-free guidance, and LCM img2img, all on the tiny checkpoints of make_fixtures.py.

Writes (deterministic, fixed seeds):
  Tests/Fixtures/tiny-sd15-unet/        tiny-lcm's UNet without time_cond_proj (a "plain SD-1.5" UNet), F16
  Tests/Fixtures/lora/*.safetensors     one rank-2 LoRA (UNet + text encoder) in three key styles
  Tests/Fixtures/io/init-32x32.png      the img2img input
  Tests/Fixtures/tiny-taesd-f2/         an AutoencoderTiny with tiny-lcm's latent factor 2
  Tests/Fixtures/goldens/toolbox/       lora-merged.safetensors (weights after diffusers load_lora_weights +
                                        fuse_lora), cfg_*.safetensors (StableDiffusionPipeline + LCMScheduler),
                                        img2img_*.safetensors (LatentConsistencyModelImg2ImgPipeline),
                                        taesd_*.safetensors (both LCM pipelines with the TAESD as their VAE),
                                        controlnet_*.safetensors (StableDiffusionControlNetPipeline + LCMScheduler)
Usage:  <venv>/bin/python Weights/tools/make_toolbox_fixtures.py
"""

import functools
import json
from pathlib import Path

import numpy as np
import torch
from diffusers import (ControlNetModel, LatentConsistencyModelImg2ImgPipeline, LatentConsistencyModelPipeline,
                       LCMScheduler, StableDiffusionControlNetPipeline, StableDiffusionPipeline, UNet2DConditionModel)
from PIL import Image
from safetensors.torch import save_file

from lcm_reference import REPO_ROOT, load_pipeline, provenance, save_tensors
from make_taesd_fixtures import build as build_taesd

SCRIPT = "Weights/tools/make_toolbox_fixtures.py"
FIXTURES = REPO_ROOT / "Tests" / "Fixtures"
TINY = FIXTURES / "tiny-lcm"
SD15_UNET = FIXTURES / "tiny-sd15-unet"
LORA_DIR = FIXTURES / "lora"
INIT_IMAGE = FIXTURES / "io" / "init-32x32.png"
# A TAESD with tiny-lcm's latent factor 2 (two stages), to decode and encode in tiny-lcm's pipelines.
TAESD_F2 = FIXTURES / "tiny-taesd-f2"
TAESD_F2_CONFIG = {"encoder_block_out_channels": (8, 8), "decoder_block_out_channels": (12, 12),
                   "num_encoder_blocks": (1, 2), "num_decoder_blocks": (2, 1)}
GOLDENS = FIXTURES / "goldens" / "toolbox"

RANK = 2
KOHYA_ALPHA = 1.0          # scale alpha/r = 0.5
PEFT_ALPHA = 4.0           # scale 2, from lora_adapter_metadata
UNET_TARGETS = ("to_q", "to_k", "to_v", "to_out.0", "proj_in", "proj_out", "ff.net.0.proj", "ff.net.2", "conv1",
                "conv2", "conv_shortcut", "downsamplers.0.conv", "upsamplers.0.conv", "time_emb_proj")
TEXT_TARGETS = ("q_proj", "k_proj", "v_proj", "out_proj", "fc1", "fc2")
# Merged weights kept in the golden: one of each kind of layer (the pipeline goldens cover the rest).
CHECKED = (
    "unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q",
    "unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k",
    "unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_out.0",
    "unet.down_blocks.0.attentions.0.proj_in",
    "unet.down_blocks.0.attentions.0.transformer_blocks.0.ff.net.0.proj",
    "unet.down_blocks.0.resnets.0.conv1",
    "unet.down_blocks.0.resnets.0.time_emb_proj",
    "unet.down_blocks.1.resnets.0.conv_shortcut",
    "unet.down_blocks.0.downsamplers.0.conv",
    "unet.up_blocks.1.upsamplers.0.conv",
    "unet.mid_block.attentions.0.proj_out",
    "text_encoder.text_model.encoder.layers.0.self_attn.q_proj",
    "text_encoder.text_model.encoder.layers.1.mlp.fc2",
)
PROMPT = "a photo of a cat"
NEGATIVE = "blurry, low quality"
CFG_CASES = [
    {"guidance": 1.0, "negative": None, "steps": 4, "seed": 3},
    {"guidance": 1.5, "negative": NEGATIVE, "steps": 4, "seed": 3},
    {"guidance": 2.0, "negative": None, "steps": 2, "seed": 11},
]
CONTROLNET = FIXTURES / "tiny-controlnet"
CONTROL_CASES = [
    {"unet": "lcm", "guidance": 8.0, "negative": None, "steps": 4, "seed": 6, "scale": 0.7},
    {"unet": "sd15-lora", "guidance": 1.5, "negative": NEGATIVE, "steps": 2, "seed": 8, "scale": 1.0},
]
IMG2IMG_CASES = [
    {"strength": 0.3, "steps": 4, "seed": 5, "batch": 1},
    {"strength": 0.6, "steps": 4, "seed": 5, "batch": 1},
    {"strength": 1.0, "steps": 4, "seed": 5, "batch": 1},
    {"strength": 0.6, "steps": 2, "seed": 9, "batch": 2},
]


def write_sd15_unet() -> None:
    """tiny-lcm's UNet with time_cond_proj_dim None and without time_embedding.cond_proj, stored as F16 (its
    weights are F16-exact already)."""
    config = dict(UNet2DConditionModel.load_config(TINY / "unet"))
    config["time_cond_proj_dim"] = None
    unet = UNet2DConditionModel.from_config(config)
    state = UNet2DConditionModel.from_pretrained(TINY / "unet").state_dict()
    missing, unexpected = unet.load_state_dict(state, strict=False)
    assert not missing and unexpected == ["time_embedding.cond_proj.weight"], (missing, unexpected)
    unet.to(torch.float16).save_pretrained(SD15_UNET)


def lora_modules(pipe) -> dict:
    """'unet.<path>' / 'text_encoder.text_model.<path>' → (module, in, out, kernel) for every targeted layer."""
    found = {}
    for prefix, model, targets in (("unet", pipe.unet, UNET_TARGETS), ("text_encoder", pipe.text_encoder, TEXT_TARGETS)):
        for path, module in model.named_modules():
            if not isinstance(module, (torch.nn.Linear, torch.nn.Conv2d)):
                continue
            if not any(path == t or path.endswith("." + t) for t in targets):
                continue
            if prefix == "text_encoder" and not path.startswith("text_model."):
                path = "text_model." + path  # transformers ≥ 5.6 keeps CLIP modules unprefixed in memory
            kernel = module.kernel_size[0] if isinstance(module, torch.nn.Conv2d) else None
            found[f"{prefix}.{path}"] = (module.in_features if kernel is None else module.in_channels,
                                         module.out_features if kernel is None else module.out_channels, kernel)
    return found


def lora_factors(modules: dict) -> dict:
    g = torch.Generator().manual_seed(2024)
    factors = {}
    for name, (fan_in, fan_out, kernel) in sorted(modules.items()):
        down_shape = [RANK, fan_in] if kernel is None else [RANK, fan_in, kernel, kernel]
        up_shape = [fan_out, RANK] if kernel is None else [fan_out, RANK, 1, 1]
        factors[name] = (torch.randn(down_shape, generator=g) * 0.3, torch.randn(up_shape, generator=g) * 0.3)
    return factors


def write_loras(factors: dict) -> dict:
    """The same factors as kohya, peft (alpha in metadata) and old-diffusers files; returns {style: path}."""
    LORA_DIR.mkdir(parents=True, exist_ok=True)
    kohya, peft, old = {}, {}, {}
    for name, (down, up) in factors.items():
        component, path = name.split(".", 1)
        head = "lora_unet_" if component == "unet" else "lora_te_"
        flat = head + path.replace(".", "_")
        kohya[f"{flat}.lora_down.weight"] = down
        kohya[f"{flat}.lora_up.weight"] = up
        kohya[f"{flat}.alpha"] = torch.tensor(KOHYA_ALPHA)
        peft[f"{name}.lora_A.weight"] = down
        peft[f"{name}.lora_B.weight"] = up
        if ".attn1." in path or ".attn2." in path:
            attention, _, proj = path.rpartition(".to_")
            proj = proj.removesuffix(".0")
            old[f"{component}.{attention}.processor.to_{proj}_lora.down.weight"] = down
            old[f"{component}.{attention}.processor.to_{proj}_lora.up.weight"] = up
        else:
            old[f"{name}.lora.down.weight"] = down
            old[f"{name}.lora.up.weight"] = up
    # As diffusers' save_lora_weights writes it: each component's peft LoraConfig fields, prefixed.
    config = {}
    for component, targets in (("unet", UNET_TARGETS), ("text_encoder", TEXT_TARGETS)):
        config |= {f"{component}.r": RANK, f"{component}.lora_alpha": PEFT_ALPHA,
                   f"{component}.target_modules": sorted(targets), f"{component}.init_lora_weights": True}
    metadata = {"lora_adapter_metadata": json.dumps(config, sort_keys=True)}
    paths = {"kohya": LORA_DIR / "kohya-rank2.safetensors", "peft": LORA_DIR / "peft-rank2.safetensors",
             "old": LORA_DIR / "old-diffusers-rank2.safetensors"}
    save_file({k: v.contiguous() for k, v in kohya.items()}, str(paths["kohya"]))
    save_file({k: v.contiguous() for k, v in peft.items()}, str(paths["peft"]), metadata=metadata)
    save_file({k: v.contiguous() for k, v in old.items()}, str(paths["old"]))
    return paths


def sd15_pipeline() -> StableDiffusionPipeline:
    lcm = load_pipeline(TINY)
    unet = UNet2DConditionModel.from_pretrained(SD15_UNET, torch_dtype=torch.float32)
    return StableDiffusionPipeline(vae=lcm.vae, text_encoder=lcm.text_encoder, tokenizer=lcm.tokenizer, unet=unet,
                                   scheduler=LCMScheduler.from_config(lcm.scheduler.config), safety_checker=None,
                                   feature_extractor=None, requires_safety_checker=False)


def merged_weights(pipe, path: Path, lora_scale: float) -> dict:
    pipe.load_lora_weights(str(path), adapter_name="test")
    pipe.fuse_lora(lora_scale=lora_scale, adapter_names=["test"])
    pipe.unload_lora_weights()  # keeps the fused weights, drops the adapter layers
    out = {}
    for name in CHECKED:
        component, path_ = name.split(".", 1)
        model = getattr(pipe, component)
        modules = dict(model.named_modules())
        module = modules.get(path_) or modules[path_.removeprefix("text_model.")]
        out[name + ".weight"] = module.weight.detach().clone()
    return out


def record(pipe, **kwargs) -> dict:
    """Runs a pipeline with a seeded generator; keeps the UNet outputs, the scheduler's denoised samples, the
    decoded image before postprocessing and the uint8 image."""
    outputs, denoised, tensors = [], [], {}
    original_step = pipe.scheduler.step

    @functools.wraps(original_step)
    def step(*args, **kw):
        result = original_step(*args, **kw)
        denoised.append(result[1].clone())
        return result

    original_decode = pipe.vae.decode

    @functools.wraps(original_decode)
    def decode(*args, **kw):
        result = original_decode(*args, **kw)
        tensors["decoded"] = result[0].detach().clone()
        return result

    handle = pipe.unet.register_forward_hook(lambda _m, _a, out: outputs.append(out[0].detach().clone()))
    pipe.scheduler.step, pipe.vae.decode = step, decode
    seed = kwargs.pop("seed")
    try:
        with torch.no_grad():
            result = pipe(generator=torch.Generator("cpu").manual_seed(seed), output_type="pil", **kwargs)
    finally:
        handle.remove()
        del pipe.scheduler.step
        del pipe.vae.decode
    for k, (out, den) in enumerate(zip(outputs, denoised)):
        tensors[f"unet_output.{k}"] = out
        tensors[f"denoised.{k}"] = den
    tensors["timesteps"] = pipe.scheduler.timesteps.to(torch.int64).clone()
    tensors["image"] = torch.from_numpy(np.stack([np.asarray(im.convert("RGB")) for im in result.images]))
    return tensors


def init_image() -> Image.Image:
    y, x = np.mgrid[0:32, 0:32].astype(np.float32) / 31
    rgb = np.stack([x, y, 0.5 + 0.5 * np.sin(6 * x * y)], axis=-1)
    rgb[8:20, 10:24] = [0.9, 0.2, 0.1]
    image = Image.fromarray((rgb * 255).round().astype(np.uint8), "RGB")
    INIT_IMAGE.parent.mkdir(parents=True, exist_ok=True)
    image.save(INIT_IMAGE)
    return Image.open(INIT_IMAGE).convert("RGB")


def main() -> None:
    torch.set_num_threads(1)
    GOLDENS.mkdir(parents=True, exist_ok=True)
    write_sd15_unet()
    pipe = sd15_pipeline()
    modules = lora_modules(pipe)
    paths = write_loras(lora_factors(modules))
    settings = {"rank": RANK, "kohya_alpha": KOHYA_ALPHA, "peft_alpha": PEFT_ALPHA, "modules": len(modules)}

    # Merged weights: kohya at strength 0.7, peft at 1 (each on a fresh pipeline).
    merged = {f"kohya.{k}": v for k, v in merged_weights(sd15_pipeline(), paths["kohya"], 0.7).items()}
    merged |= {f"peft.{k}": v for k, v in merged_weights(sd15_pipeline(), paths["peft"], 1.0).items()}
    save_tensors(GOLDENS / "lora-merged.safetensors", merged,
                 provenance(SCRIPT, {**settings, "kohya_strength": 0.7, "peft_strength": 1.0}))

    # LCM-LoRA style pipeline: plain UNet + kohya LoRA fused at 1, LCMScheduler, CFG when guidance > 1.
    lora_pipe = sd15_pipeline()
    lora_pipe.load_lora_weights(str(paths["kohya"]))
    lora_pipe.fuse_lora(lora_scale=1.0)
    for case in CFG_CASES:
        tensors = record(lora_pipe, prompt=PROMPT, negative_prompt=case["negative"], num_inference_steps=case["steps"],
                         guidance_scale=case["guidance"], width=32, height=32, seed=case["seed"])
        name = f"cfg_g{case['guidance']:g}_s{case['steps']}_seed{case['seed']}"
        save_tensors(GOLDENS / f"{name}.safetensors", tensors,
                     provenance(SCRIPT, {**case, "prompt": PROMPT, "lora": paths["kohya"].name, "size": 32}))

    # LCM img2img on tiny-lcm.
    image = init_image()
    lcm = load_pipeline(TINY)
    i2i = LatentConsistencyModelImg2ImgPipeline(vae=lcm.vae, text_encoder=lcm.text_encoder, tokenizer=lcm.tokenizer,
                                                unet=lcm.unet, scheduler=lcm.scheduler, safety_checker=None,
                                                feature_extractor=None, requires_safety_checker=False)
    for case in IMG2IMG_CASES:
        tensors = record(i2i, prompt=PROMPT, image=image, strength=case["strength"], num_inference_steps=case["steps"],
                         guidance_scale=8.0, num_images_per_prompt=case["batch"], seed=case["seed"])
        name = f"img2img_st{case['strength']:g}_s{case['steps']}_seed{case['seed']}_b{case['batch']}"
        save_tensors(GOLDENS / f"{name}.safetensors", tensors,
                     provenance(SCRIPT, {**case, "prompt": PROMPT, "guidance": 8.0, "image": INIT_IMAGE.name}))

    # TAESD in place of the VAE: text-to-image (decode) and img2img (encode, no posterior sample).
    taesd = build_taesd(TAESD_F2_CONFIG, TAESD_F2)
    lcm_tiny = LatentConsistencyModelPipeline(vae=taesd, text_encoder=lcm.text_encoder, tokenizer=lcm.tokenizer,
                                              unet=lcm.unet, scheduler=lcm.scheduler, safety_checker=None,
                                              feature_extractor=None, requires_safety_checker=False)
    tensors = record(lcm_tiny, prompt=PROMPT, num_inference_steps=2, guidance_scale=8.0, width=32, height=32, seed=4)
    save_tensors(GOLDENS / "taesd_t2i_s2_seed4.safetensors", tensors,
                 provenance(SCRIPT, {"steps": 2, "seed": 4, "guidance": 8.0, "prompt": PROMPT, "vae": TAESD_F2.name}))
    i2i.vae = taesd
    tensors = record(i2i, prompt=PROMPT, image=image, strength=0.6, num_inference_steps=4, guidance_scale=8.0, seed=5)
    save_tensors(GOLDENS / "taesd_img2img_st0.6_s4_seed5.safetensors", tensors,
                 provenance(SCRIPT, {"strength": 0.6, "steps": 4, "seed": 5, "batch": 1, "guidance": 8.0,
                                     "prompt": PROMPT, "image": INIT_IMAGE.name, "vae": TAESD_F2.name}))

    # ControlNet (tiny-controlnet of make_controlnet_fixtures.py) with the LCM UNet, and with the LoRA'd plain UNet
    # under classifier-free guidance; the init image serves as the control image.
    controlnet = ControlNetModel.from_pretrained(CONTROLNET, torch_dtype=torch.float32)
    for case, unet in ((CONTROL_CASES[0], lcm.unet), (CONTROL_CASES[1], lora_pipe.unet)):
        pipe = StableDiffusionControlNetPipeline(
            vae=lcm.vae, text_encoder=lora_pipe.text_encoder if unet is lora_pipe.unet else lcm.text_encoder,
            tokenizer=lcm.tokenizer, unet=unet, controlnet=controlnet,
            scheduler=LCMScheduler.from_config(lcm.scheduler.config), safety_checker=None, feature_extractor=None,
            requires_safety_checker=False)
        tensors = record(pipe, prompt=PROMPT, negative_prompt=case["negative"], image=image, width=32, height=32,
                         num_inference_steps=case["steps"], guidance_scale=case["guidance"],
                         controlnet_conditioning_scale=case["scale"], seed=case["seed"])
        name = f"controlnet_{case['unet']}_g{case['guidance']:g}_s{case['steps']}_seed{case['seed']}"
        save_tensors(GOLDENS / f"{name}.safetensors", tensors,
                     provenance(SCRIPT, {**case, "prompt": PROMPT, "control_image": INIT_IMAGE.name,
                                         "controlnet": CONTROLNET.name}))
    print("wrote", SD15_UNET, LORA_DIR, INIT_IMAGE, TAESD_F2, GOLDENS)


if __name__ == "__main__":
    main()
