"""Shared helpers for the reference scripts: writing diffusers folders and recording a
LatentConsistencyModelPipeline run (diffusers pipeline_latent_consistency_text2img.py)."""

import functools
import json
import shutil
import time
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

REPO_ROOT = Path(__file__).resolve().parents[2]
TOKENIZER_SOURCE = REPO_ROOT / "Weights" / "clip-tokenizer"

BOS_TOKEN = "<|startoftext|>"
EOS_TOKEN = "<|endoftext|>"


def versions() -> dict:
    import diffusers
    import safetensors
    import transformers

    return {
        "torch": torch.__version__,
        "diffusers": diffusers.__version__,
        "transformers": transformers.__version__,
        "safetensors": safetensors.__version__,
        "numpy": np.__version__,
    }


def provenance(script: str, settings: dict) -> dict:
    """safetensors __metadata__ (string → string) naming the producing script, versions and settings."""
    meta = {"script": script, "settings": json.dumps(settings, sort_keys=True)}
    meta.update(versions())
    return meta


SAFETENSORS_DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.int64: "I64", torch.int32: "I32",
                      torch.uint8: "U8"}


def save_tensors(path: Path, tensors: dict, metadata: dict) -> None:
    """Writes a safetensors file with a reproducible byte layout (the library writer orders
    __metadata__ entries differently from run to run): header keys sorted, data in name order,
    header padded with spaces to a multiple of 8 bytes."""
    header, chunks, offset = {"__metadata__": dict(sorted(metadata.items()))}, [], 0
    for name in sorted(tensors):
        array = tensors[name].detach().contiguous().cpu().numpy()
        data = array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": SAFETENSORS_DTYPES[tensors[name].dtype], "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * (-(8 + len(encoded)) % 8)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as file:
        file.write(len(encoded).to_bytes(8, "little"))
        file.write(encoded)
        for chunk in chunks:
            file.write(chunk)


def write_fixtures_readme_section(script: str, text: str) -> None:
    """Replaces the section of Tests/Fixtures/README.md that `script` owns (between its begin/end markers), or
    appends it; the other sections are left as they are."""
    begin, end = f"<!-- begin: written by {script} -->", f"<!-- end: written by {script} -->"
    section = f"{begin}\n{text}{end}\n"
    path = REPO_ROOT / "Tests" / "Fixtures" / "README.md"
    current = path.read_text() if path.exists() else "# Test fixtures\n\n"
    if begin in current and end in current:
        head, rest = current.split(begin, 1)
        current = head + section + rest.split(end, 1)[1].lstrip("\n")
    else:
        current = current.rstrip("\n") + "\n\n" + section
    path.write_text(current)


def perturb_(model: torch.nn.Module, generator: torch.Generator) -> None:
    """Moves every norm scale off 1 and every bias off its init value (CLIP biases and norm shifts start
    at 0), so that a parity test notices a missing or swapped parameter."""
    norm_types = (torch.nn.GroupNorm, torch.nn.LayerNorm)
    with torch.no_grad():
        for module in model.modules():
            is_norm = isinstance(module, norm_types)
            for name, param in module.named_parameters(recurse=False):
                noise = torch.randn(param.shape, generator=generator, dtype=torch.float32).to(param.dtype)
                if is_norm and name == "weight":
                    param.add_(0.2 * noise)
                elif name == "bias":
                    param.add_((0.1 if is_norm else 0.05) * noise)


def write_text_encoder(model, directory: Path, dtype: torch.dtype, variant: str | None = None,
                       name_or_path: str = "") -> None:
    """CLIPTextModel as a real checkpoint stores it: `text_model.`-prefixed names (transformers ≥ 5.6
    keeps them unprefixed in memory) and a transformers-4.x-style config.json."""
    directory.mkdir(parents=True, exist_ok=True)
    cfg = model.config
    config = {
        "_name_or_path": name_or_path,
        "architectures": ["CLIPTextModel"],
        "attention_dropout": 0.0,
        "bos_token_id": 0,
        "dropout": 0.0,
        "eos_token_id": 2,
        "hidden_act": cfg.hidden_act,
        "hidden_size": cfg.hidden_size,
        "initializer_factor": 1.0,
        "initializer_range": 0.02,
        "intermediate_size": cfg.intermediate_size,
        "layer_norm_eps": cfg.layer_norm_eps,
        "max_position_embeddings": cfg.max_position_embeddings,
        "model_type": "clip_text_model",
        "num_attention_heads": cfg.num_attention_heads,
        "num_hidden_layers": cfg.num_hidden_layers,
        "pad_token_id": 1,
        "projection_dim": cfg.projection_dim,
        "torch_dtype": "float32",
        "transformers_version": versions()["transformers"],
        "vocab_size": cfg.vocab_size,
    }
    (directory / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    state = {}
    for key, value in model.state_dict().items():
        if key.endswith("position_ids"):
            continue
        name = key if key.startswith("text_model.") else "text_model." + key
        state[name] = value.to(dtype).contiguous()
    filename = f"model.{variant}.safetensors" if variant else "model.safetensors"
    save_file(state, str(directory / filename), metadata={"format": "pt"})


def write_tokenizer(directory: Path) -> None:
    """CLIPTokenizer files of an SD-1.x checkpoint (vocab.json, merges.txt, no tokenizer.json)."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in ("vocab.json", "merges.txt"):
        shutil.copyfile(TOKENIZER_SOURCE / name, directory / name)
    added = {"lstrip": False, "normalized": True, "rstrip": False, "single_word": False}
    tokenizer_config = {
        "add_prefix_space": False,
        "added_tokens_decoder": {
            "49406": {"content": BOS_TOKEN, **added, "special": True},
            "49407": {"content": EOS_TOKEN, **added, "special": True},
        },
        "additional_special_tokens": [],
        "bos_token": BOS_TOKEN,
        "clean_up_tokenization_spaces": True,
        "do_lower_case": True,
        "eos_token": EOS_TOKEN,
        "errors": "replace",
        "model_max_length": 77,
        "pad_token": EOS_TOKEN,
        "tokenizer_class": "CLIPTokenizer",
        "tokenizer_file": None,
        "unk_token": EOS_TOKEN,
    }
    special_tokens_map = {
        "bos_token": {"content": BOS_TOKEN, **added},
        "eos_token": {"content": EOS_TOKEN, **added},
        "pad_token": EOS_TOKEN,
        "unk_token": {"content": EOS_TOKEN, **added},
    }
    (directory / "tokenizer_config.json").write_text(json.dumps(tokenizer_config, indent=2) + "\n")
    (directory / "special_tokens_map.json").write_text(json.dumps(special_tokens_map, indent=2) + "\n")


def write_pipeline_metadata(root: Path) -> None:
    """model_index.json (LatentConsistencyModelPipeline without safety checker) and the LCMScheduler
    config with library defaults."""
    from diffusers import LCMScheduler

    import diffusers

    root.mkdir(parents=True, exist_ok=True)
    model_index = {
        "_class_name": "LatentConsistencyModelPipeline",
        "_diffusers_version": diffusers.__version__,
        "feature_extractor": [None, None],
        "requires_safety_checker": False,
        "safety_checker": [None, None],
        "scheduler": ["diffusers", "LCMScheduler"],
        "text_encoder": ["transformers", "CLIPTextModel"],
        "tokenizer": ["transformers", "CLIPTokenizer"],
        "unet": ["diffusers", "UNet2DConditionModel"],
        "vae": ["diffusers", "AutoencoderKL"],
    }
    (root / "model_index.json").write_text(json.dumps(model_index, indent=2) + "\n")
    LCMScheduler().save_pretrained(str(root / "scheduler"))


def load_pipeline(directory: Path, variant: str | None = None):
    from diffusers import LatentConsistencyModelPipeline

    return LatentConsistencyModelPipeline.from_pretrained(
        str(directory), safety_checker=None, dtype=torch.float32, variant=variant)


def record_pipeline_run(pipe, prompt: str, steps: int, guidance: float, seed: int, width: int, height: int,
                        batch: int = 1, original_inference_steps: int | None = None) -> tuple[dict, dict]:
    """Runs the pipeline with generator=torch.Generator("cpu").manual_seed(seed) and returns
    (tensors, timings). Tensors: input_ids, prompt_embeds, latents (initial), timesteps, w_embedding,
    noise.{k} (k < N−1), model_output.{k}, denoised.{k}, decoded (VAE output before postprocessing) and
    image (uint8 [B,H,W,3], exactly the pixels of the returned PIL images)."""
    import diffusers.schedulers.scheduling_lcm as scheduling_lcm

    tensors: dict = {}
    noises, outputs, denoised = [], [], []
    timings = {"unet": []}
    original_randn = scheduling_lcm.randn_tensor
    original_step = pipe.scheduler.step

    # functools.wraps keeps the signatures: the pipeline inspects scheduler.step for a `generator` argument.
    @functools.wraps(original_randn)
    def randn_recorded(*args, **kwargs):
        sample = original_randn(*args, **kwargs)
        noises.append(sample.clone())
        return sample

    @functools.wraps(original_step)
    def step_recorded(*args, **kwargs):
        result = original_step(*args, **kwargs)
        denoised.append(result[1].clone())
        return result

    def wrap(name, function, keep):
        @functools.wraps(function)
        def wrapped(*args, **kwargs):
            start = time.perf_counter()
            result = function(*args, **kwargs)
            timings[name] = time.perf_counter() - start
            tensors[name] = keep(result).detach().clone()
            return result
        return wrapped

    def unet_pre(_module, _args, _kwargs):
        timings["_unet_start"] = time.perf_counter()

    def unet_post(_module, _args, _kwargs, output):
        timings["unet"].append(time.perf_counter() - timings.pop("_unet_start"))
        outputs.append(output[0].detach().clone())

    patched = {
        "encode_prompt": pipe.encode_prompt,
        "prepare_latents": pipe.prepare_latents,
        "get_guidance_scale_embedding": pipe.get_guidance_scale_embedding,
    }
    pipe.encode_prompt = wrap("prompt_embeds", patched["encode_prompt"], lambda r: r[0])
    pipe.prepare_latents = wrap("latents", patched["prepare_latents"], lambda r: r)
    pipe.get_guidance_scale_embedding = wrap("w_embedding", patched["get_guidance_scale_embedding"], lambda r: r)
    original_decode = pipe.vae.decode
    pipe.vae.decode = wrap("decoded", original_decode, lambda r: r[0])
    scheduling_lcm.randn_tensor = randn_recorded
    pipe.scheduler.step = step_recorded
    handles = [pipe.unet.register_forward_pre_hook(unet_pre, with_kwargs=True),
               pipe.unet.register_forward_hook(unet_post, with_kwargs=True)]
    try:
        start = time.perf_counter()
        with torch.no_grad():
            result = pipe(prompt=prompt, num_inference_steps=steps, guidance_scale=guidance, width=width,
                          height=height, num_images_per_prompt=batch,
                          original_inference_steps=original_inference_steps,
                          generator=torch.Generator("cpu").manual_seed(seed), output_type="pil")
        timings["total"] = time.perf_counter() - start
    finally:
        for handle in handles:
            handle.remove()
        scheduling_lcm.randn_tensor = original_randn
        del pipe.scheduler.step
        del pipe.vae.decode
        for name in patched:
            delattr(pipe, name)

    timings["text_encoder"] = timings.pop("prompt_embeds")
    timings["vae_decode"] = timings.pop("decoded")
    for name in ("latents", "w_embedding"):
        timings.pop(name)
    ordered = {
        "input_ids": pipe.tokenizer(prompt, padding="max_length", max_length=pipe.tokenizer.model_max_length,
                                    truncation=True, return_tensors="pt").input_ids.to(torch.int64),
        "prompt_embeds": tensors["prompt_embeds"],
        "timesteps": pipe.scheduler.timesteps.to(torch.int64).clone(),
        "w_embedding": tensors["w_embedding"],
        "latents": tensors["latents"],
    }
    for k, (out, den) in enumerate(zip(outputs, denoised)):
        ordered[f"model_output.{k}"] = out
        ordered[f"denoised.{k}"] = den
        if k < len(noises):
            ordered[f"noise.{k}"] = noises[k]
    ordered["decoded"] = tensors["decoded"]
    ordered["image"] = torch.from_numpy(np.stack([np.asarray(image.convert("RGB")) for image in result.images]))
    return ordered, timings


# Diffusers → original LDM/CompVis single-file names (the inverse of diffusers' convert_ldm_unet_checkpoint,
# convert_ldm_vae_checkpoint and convert_ldm_clip_checkpoint in diffusers/loaders/single_file_utils.py).
LDM_UNET_PREFIX = "model.diffusion_model."
LDM_VAE_PREFIX = "first_stage_model."
LDM_TEXT_PREFIX = "cond_stage_model.transformer."
LDM_UNET_FIXED = {"time_embedding.linear_1.": "time_embed.0.", "time_embedding.linear_2.": "time_embed.2.",
                  "conv_in.": "input_blocks.0.0.", "conv_norm_out.": "out.0.", "conv_out.": "out.2."}
LDM_UNET_RESNET = {"norm1.": "in_layers.0.", "conv1.": "in_layers.2.", "time_emb_proj.": "emb_layers.1.",
                   "norm2.": "out_layers.0.", "conv2.": "out_layers.3.", "conv_shortcut.": "skip_connection."}
LDM_VAE_RESNET = {"conv_shortcut.": "nin_shortcut."}
LDM_VAE_ATTENTION = {"group_norm.": "norm.", "to_q.": "q.", "to_k.": "k.", "to_v.": "v.", "to_out.0.": "proj_out."}


def _replace_head(name: str, table: dict) -> str:
    """`name` with its head replaced by the first matching table entry (unchanged if none matches)."""
    for new, old in table.items():
        if name.startswith(new):
            return old + name[len(new):]
    return name


def ldm_unet_name(name: str, config) -> str:
    """UNet2DConditionModel name → `model.diffusion_model.` name (input_blocks/middle_block/output_blocks).
    Names LDM has no place for (LCM's time_embedding.cond_proj) keep their diffusers name, as diffusers'
    convert_diffusers_to_original_stable_diffusion.py writes them."""
    stride = config["layers_per_block"] + 1
    parts = name.split(".")
    if parts[0] in ("down_blocks", "up_blocks"):
        level, child, slot, tail = int(parts[1]), parts[2], int(parts[3]), ".".join(parts[4:])
        if child == "downsamplers":
            local = f"input_blocks.{stride * (level + 1)}.0.op.{tail.removeprefix('conv.')}"
        elif child == "upsamplers":
            after = 2 if "CrossAttn" in config["up_block_types"][level] else 1
            local = f"output_blocks.{stride * level + stride - 1}.{after}.{tail}"
        else:
            group, block = (("input_blocks", stride * level + slot + 1) if parts[0] == "down_blocks"
                            else ("output_blocks", stride * level + slot))
            inner = _replace_head(tail, LDM_UNET_RESNET) if child == "resnets" else tail
            local = f"{group}.{block}.{0 if child == 'resnets' else 1}.{inner}"
    elif parts[0] == "mid_block":
        index = {"resnets.0": 0, "attentions.0": 1, "resnets.1": 2}[f"{parts[1]}.{parts[2]}"]
        tail = ".".join(parts[3:])
        local = f"middle_block.{index}.{tail if index == 1 else _replace_head(tail, LDM_UNET_RESNET)}"
    else:
        local = _replace_head(name, LDM_UNET_FIXED)
    return LDM_UNET_PREFIX + local


def ldm_vae_name(name: str, config) -> str:
    """AutoencoderKL name → `first_stage_model.` name (encoder.down.i / decoder.up.(n−1−i), mid.block_1/2,
    mid.attn_1, nin_shortcut, norm_out; quant_conv and post_quant_conv keep their names)."""
    coder, _, inner = name.partition(".")
    if coder not in ("encoder", "decoder"):
        return LDM_VAE_PREFIX + name
    parts = inner.split(".")
    if parts[0] in ("down_blocks", "up_blocks"):
        group = parts[0].removesuffix("_blocks")
        level = int(parts[1]) if group == "down" else len(config["block_out_channels"]) - 1 - int(parts[1])
        tail = ".".join(parts[4:])
        if parts[2] == "resnets":
            local = f"{group}.{level}.block.{parts[3]}.{_replace_head(tail, LDM_VAE_RESNET)}"
        else:
            local = f"{group}.{level}.{group}sample.{tail}"
    elif parts[0] == "mid_block":
        tail = ".".join(parts[3:])
        if parts[1] == "resnets":
            local = f"mid.block_{int(parts[2]) + 1}.{_replace_head(tail, LDM_VAE_RESNET)}"
        else:
            local = f"mid.attn_1.{_replace_head(tail, LDM_VAE_ATTENTION)}"
    else:
        local = _replace_head(inner, {"conv_norm_out.": "norm_out."})
    return f"{LDM_VAE_PREFIX}{coder}.{local}"


def ldm_single_file_state(unet_state: dict, unet_config, vae_state: dict, vae_config, text_state: dict) -> dict:
    """One LDM-layout state dict from the diffusers/transformers ones (text encoder names as stored in files,
    with the `text_model.` prefix): the VAE mid-block attention q/k/v/proj_out become 1×1 conv weights
    [C, C, 1, 1] as in LDM files, and the text encoder gets its position_ids buffer (I64 [1, 77]) back."""
    state = {ldm_unet_name(k, unet_config): v for k, v in unet_state.items()}
    for key, value in vae_state.items():
        name = ldm_vae_name(key, vae_config)
        if ".mid.attn_1." in name and name.endswith(".weight") and value.ndim == 2:
            value = value[:, :, None, None]
        state[name] = value
    state.update({LDM_TEXT_PREFIX + key: value for key, value in text_state.items()})
    positions = text_state["text_model.embeddings.position_embedding.weight"].shape[0]
    state[LDM_TEXT_PREFIX + "text_model.embeddings.position_ids"] = torch.arange(positions)[None]
    assert len(state) == len(unet_state) + len(vae_state) + len(text_state) + 1, "LDM names collide"
    return state
