#!/usr/bin/env python3
"""Builds the tiny random-weight diffusers checkpoints and the golden tensors in Tests/Fixtures/.

Deterministic: every model is initialised with the library default init from a fixed seed, then its norms
and biases are perturbed from a second fixed seed. Goldens are computed from the checkpoints as reloaded
from disk (so F16-stored weights are exactly what the goldens saw). Usage:

    Weights/tools/setup_venv.sh            # once; prints the venv's python
    python Weights/tools/make_fixtures.py  # rewrites Tests/Fixtures/{tiny-*,goldens,README.md}
"""

import argparse
import contextlib
import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import torch
from diffusers import AutoencoderKL, LatentConsistencyModelPipeline, LCMScheduler, UNet2DConditionModel
from diffusers.loaders.single_file_utils import (convert_ldm_clip_checkpoint, convert_ldm_unet_checkpoint,
                                                 convert_ldm_vae_checkpoint)
from safetensors.torch import load_file
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

from lcm_reference import (LDM_UNET_PREFIX, REPO_ROOT, ldm_single_file_state, perturb_, provenance,
                           record_pipeline_run, save_tensors, versions, write_pipeline_metadata, write_text_encoder,
                           write_fixtures_readme_section, write_tokenizer)

SCRIPT = "Weights/tools/make_fixtures.py"
FIXTURES = REPO_ROOT / "Tests" / "Fixtures"
GOLDENS = FIXTURES / "goldens"
MODELS = ("tiny-lcm", "tiny-sd2-unet", "tiny-sd2-text-encoder", "tiny-sdxl-unet")
SINGLE_FILE = "tiny-lcm-single-file.safetensors"
# Only these folders and files are rewritten; other files in Tests/Fixtures and goldens/ belong to other generators.
OWNED = MODELS + tuple(f"goldens/{name}" for name in MODELS) + (SINGLE_FILE,)

PROMPTS = ("a photo of a cat", "Self-portrait oil painting, a beautiful cyborg with golden hair, 8k")
PIPELINE_PROMPT = PROMPTS[1]

TINY_UNET = {
    "sample_size": 16, "in_channels": 4, "out_channels": 4, "layers_per_block": 2, "norm_num_groups": 8,
    "block_out_channels": [16, 32, 32],
    "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
    "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
    "attention_head_dim": 8, "cross_attention_dim": 16, "time_cond_proj_dim": 256,
}
SD2_UNET = {
    **TINY_UNET, "attention_head_dim": [2, 4, 4], "use_linear_projection": True, "cross_attention_dim": 48,
    "time_cond_proj_dim": None,
}
SDXL_UNET = {
    **TINY_UNET,
    "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
    "up_block_types": ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"],
    "transformer_layers_per_block": [1, 2, 2], "attention_head_dim": [2, 4, 4], "use_linear_projection": True,
    "cross_attention_dim": 64, "addition_embed_type": "text_time", "addition_time_embed_dim": 8,
    "projection_class_embeddings_input_dim": 32 + 6 * 8, "time_cond_proj_dim": 256,
}
SDXL_POOLED_DIM = 32
TINY_VAE = {
    "in_channels": 3, "out_channels": 3, "latent_channels": 4, "block_out_channels": [16, 32],
    "down_block_types": ["DownEncoderBlock2D"] * 2, "up_block_types": ["UpDecoderBlock2D"] * 2,
    "layers_per_block": 1, "norm_num_groups": 8, "sample_size": 32, "scaling_factor": 0.18215,
}
TINY_CLIP = {
    "vocab_size": 49408, "hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 4,
    "intermediate_size": 32, "max_position_embeddings": 77, "hidden_act": "quick_gelu", "projection_dim": 16,
    "bos_token_id": 0, "eos_token_id": 2, "pad_token_id": 1,
}
SD2_CLIP = {
    "vocab_size": 1000, "hidden_size": 48, "num_hidden_layers": 3, "num_attention_heads": 4,
    "intermediate_size": 96, "max_position_embeddings": 77, "hidden_act": "gelu", "projection_dim": 48,
    "bos_token_id": 0, "eos_token_id": 2, "pad_token_id": 1,
}
# SD2's tokenizer pads with "!" (id 0); BOS/EOS are moved to the top of the 1000-token vocabulary.
SD2_IDS = {"bos": 998, "eos": 999, "pad": 0, "modulus": 998}

GUIDANCE = 8.0
PIPELINE_CASES = [
    {"steps": 1, "seed": 0, "width": 32, "height": 32, "guidance": GUIDANCE, "batch": 1},
    {"steps": 2, "seed": 0, "width": 32, "height": 32, "guidance": GUIDANCE, "batch": 1},
    {"steps": 4, "seed": 0, "width": 32, "height": 32, "guidance": GUIDANCE, "batch": 1},
    {"steps": 8, "seed": 0, "width": 32, "height": 32, "guidance": GUIDANCE, "batch": 1},
    {"steps": 4, "seed": 7, "width": 40, "height": 24, "guidance": GUIDANCE, "batch": 1},
    {"steps": 4, "seed": 1, "width": 32, "height": 32, "guidance": GUIDANCE, "batch": 1},
    {"steps": 4, "seed": 12345, "width": 32, "height": 32, "guidance": GUIDANCE, "batch": 1},
    {"steps": 2, "seed": 0, "width": 32, "height": 32, "guidance": GUIDANCE, "batch": 2},
    {"steps": 4, "seed": 0, "width": 32, "height": 32, "guidance": 1.0, "batch": 1},
]


def case_name(case: dict) -> str:
    name = f"pipeline_s{case['steps']}_seed{case['seed']}_{case['width']}x{case['height']}"
    if case["batch"] != 1:
        name += f"_b{case['batch']}"
    if case["guidance"] != GUIDANCE:
        name += f"_g{case['guidance']:g}"
    return name


def initialised(factory, seed: int):
    torch.manual_seed(seed)
    model = factory().eval()
    perturb_(model, torch.Generator().manual_seed(seed + 1))
    return model


def f16_exact_(model: torch.nn.Module) -> torch.nn.Module:
    """Rounds every parameter to the nearest F16 value (still stored as F32), so that an F16 copy of the
    weights holds exactly the same numbers."""
    with torch.no_grad():
        for param in model.parameters():
            param.copy_(param.to(torch.float16).to(param.dtype))
    return model


@contextlib.contextmanager
def captured(model: torch.nn.Module, names: list[str]):
    """Records the output (first element if a tuple) of each named submodule into a dict."""
    store: dict = {}
    modules = dict(model.named_modules())

    def hook_for(name):
        def hook(_module, _args, output):
            store[name] = (output[0] if isinstance(output, tuple) else output).detach().clone()
        return hook

    handles = [modules[name].register_forward_hook(hook_for(name)) for name in names]
    try:
        yield store
    finally:
        for handle in handles:
            handle.remove()


def write_unet(config: dict, directory: Path, seed: int, dtype: torch.dtype,
               f16_exact: bool = False) -> UNet2DConditionModel:
    unet = initialised(lambda: UNet2DConditionModel(**config), seed)
    if f16_exact:
        f16_exact_(unet)
    unet.to(dtype).save_pretrained(str(directory))
    return UNet2DConditionModel.from_pretrained(str(directory), dtype=torch.float32).eval()


def unet_golden(unet: UNet2DConditionModel, model: str, filename: str, height: int, width: int,
                timestep: int, seed: int) -> None:
    config = unet.config
    generator = torch.Generator().manual_seed(seed)
    inputs = {
        "sample": torch.randn(2, config.in_channels, height, width, generator=generator),
        "timestep": torch.tensor([timestep], dtype=torch.int64),
        "encoder_hidden_states": torch.randn(2, 77, config.cross_attention_dim, generator=generator),
    }
    kwargs = {}
    settings = {"model": model, "latent": [height, width], "timestep": timestep, "seed": seed, "batch": 2,
                "inputs": "sample and encoder_hidden_states ~ N(0,1) from torch.Generator().manual_seed(seed)"}
    if config.time_cond_proj_dim:
        w = torch.tensor([GUIDANCE - 1.0, 2.0])
        inputs["timestep_cond"] = LatentConsistencyModelPipeline.get_guidance_scale_embedding(
            None, w, embedding_dim=config.time_cond_proj_dim)
        kwargs["timestep_cond"] = inputs["timestep_cond"]
        settings["timestep_cond"] = f"get_guidance_scale_embedding(w={w.tolist()})"
    names = ["time_proj", "time_embedding", "conv_in", "mid_block"]
    names += [f"down_blocks.{i}" for i in range(len(unet.down_blocks))]
    names += [f"up_blocks.{i}" for i in range(len(unet.up_blocks))]
    if config.addition_embed_type == "text_time":
        inputs["text_embeds"] = torch.randn(2, SDXL_POOLED_DIM, generator=generator)
        inputs["time_ids"] = torch.tensor([[1024, 1024, 0, 0, 1024, 1024], [768, 1344, 64, 32, 832, 1216]],
                                          dtype=torch.float32)
        kwargs["added_cond_kwargs"] = {"text_embeds": inputs["text_embeds"], "time_ids": inputs["time_ids"]}
        names.append("add_embedding")
        settings["added_cond"] = "text_embeds ~ N(0,1) (same generator); time_ids fixed"
    with torch.no_grad(), captured(unet, names) as store:
        out = unet(inputs["sample"], inputs["timestep"], encoder_hidden_states=inputs["encoder_hidden_states"],
                   **kwargs).sample
    save_tensors(GOLDENS / model / filename, {**inputs, **store, "out": out}, provenance(SCRIPT, settings))


def text_encoder_golden(encoder: CLIPTextModel, model: str, input_ids: torch.Tensor, note: str) -> None:
    with torch.no_grad():
        output = encoder(input_ids=input_ids, output_hidden_states=True)
    tensors = {
        "input_ids": input_ids,
        "last_hidden_state": output.last_hidden_state,
        "penultimate": output.hidden_states[-2],
        "pooled": output.pooler_output,
    }
    settings = {"model": model, "prompts": list(PROMPTS), "input_ids": note,
                "penultimate": "hidden_states[-2], without final_layer_norm"}
    save_tensors(GOLDENS / model / "text_encoder.safetensors", tensors, provenance(SCRIPT, settings))


def vae_golden(vae: AutoencoderKL, seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    z = torch.randn(2, 4, 16, 12, generator=generator)
    image = torch.rand(2, 3, 32, 24, generator=generator) * 2 - 1
    decoder_names = ["post_quant_conv", "decoder.mid_block"]
    decoder_names += [f"decoder.up_blocks.{i}" for i in range(len(vae.decoder.up_blocks))]
    encoder_names = ["encoder.mid_block", "quant_conv"]
    encoder_names += [f"encoder.down_blocks.{i}" for i in range(len(vae.encoder.down_blocks))]
    with torch.no_grad():
        with captured(vae, decoder_names) as decoded_store:
            decoded = vae.decode(z).sample
        with captured(vae, encoder_names) as encoded_store:
            dist = vae.encode(image).latent_dist
    tensors = {"z": z, "decoded": decoded, "image": image, "mean": dist.mean, "logvar": dist.logvar,
               **decoded_store, **encoded_store}
    settings = {"model": "tiny-lcm", "seed": seed,
                "decode": "decoded = vae.decode(z).sample, z ~ N(0,1) (the input after division by scaling_factor)",
                "encode": "latent_dist of vae.encode(image), image ~ U[-1,1); logvar clamped to [-30, 20]"}
    save_tensors(GOLDENS / "tiny-lcm" / "vae.safetensors", tensors, provenance(SCRIPT, settings))


def sd2_input_ids(tokenizer: CLIPTokenizer) -> torch.Tensor:
    """Real CLIP tokenization moved into the 1000-token vocabulary of the tiny SD2 text encoder."""
    ids = tokenizer(list(PROMPTS), padding="max_length", max_length=77, truncation=True,
                    return_tensors="pt").input_ids
    mapped = ids % SD2_IDS["modulus"]
    mapped[ids == tokenizer.bos_token_id] = SD2_IDS["bos"]
    eos_positions = (ids == tokenizer.eos_token_id).int().argmax(dim=1)
    for row, position in enumerate(eos_positions.tolist()):
        mapped[row, position] = SD2_IDS["eos"]
        mapped[row, position + 1:] = SD2_IDS["pad"]
    return mapped.to(torch.int64)


def build_tiny_lcm() -> None:
    root = FIXTURES / "tiny-lcm"
    write_pipeline_metadata(root)
    write_tokenizer(root / "tokenizer")
    write_unet(TINY_UNET, root / "unet", seed=100, dtype=torch.float32, f16_exact=True)
    vae = f16_exact_(initialised(lambda: AutoencoderKL(**TINY_VAE), seed=200))
    vae.save_pretrained(str(root / "vae"))
    encoder = initialised(lambda: CLIPTextModel(CLIPTextConfig(**TINY_CLIP)), seed=300)
    write_text_encoder(encoder, root / "text_encoder", torch.float16, name_or_path="tiny-lcm/text_encoder")

    pipe = LatentConsistencyModelPipeline.from_pretrained(str(root), safety_checker=None)
    dtypes = {p.dtype for m in (pipe.unet, pipe.vae, pipe.text_encoder) for p in m.parameters()}
    assert dtypes == {torch.float32}, f"tiny-lcm loads as {dtypes}, expected float32 only"

    ids = pipe.tokenizer(list(PROMPTS), padding="max_length", max_length=77, truncation=True,
                         return_tensors="pt").input_ids.to(torch.int64)
    text_encoder_golden(pipe.text_encoder, "tiny-lcm", ids, "CLIPTokenizer(tiny-lcm/tokenizer), max_length 77")
    unet_golden(pipe.unet, "tiny-lcm", "unet.safetensors", 16, 16, 759, seed=1)
    unet_golden(pipe.unet, "tiny-lcm", "unet_odd.safetensors", 10, 14, 499, seed=2)
    vae_golden(pipe.vae, seed=3)

    index = []
    for case in PIPELINE_CASES:
        tensors, _ = record_pipeline_run(pipe, PIPELINE_PROMPT, case["steps"], case["guidance"], case["seed"],
                                         case["width"], case["height"], case["batch"])
        plain = pipe(prompt=PIPELINE_PROMPT, num_inference_steps=case["steps"], guidance_scale=case["guidance"],
                     width=case["width"], height=case["height"], num_images_per_prompt=case["batch"],
                     generator=torch.Generator("cpu").manual_seed(case["seed"]), output_type="np").images
        assert np.array_equal(tensors["image"].numpy(), (plain * 255).round().astype(np.uint8)), \
            f"recording changed the result of {case}"
        settings = {"prompt": PIPELINE_PROMPT, **case, "original_inference_steps": 50,
                    "timesteps": tensors["timesteps"].tolist(), "output_type": "pil"}
        filename = case_name(case) + ".safetensors"
        metadata = provenance(SCRIPT, settings)
        metadata.update({key: str(value) for key, value in settings.items() if key != "timesteps"})
        save_tensors(GOLDENS / "tiny-lcm" / filename, tensors, metadata)
        index.append({"file": filename, **settings})
        image = tensors["image"].float()
        print(f"{filename}: image mean {image.mean():.1f} std {image.std():.1f}, "
              f"saturated {((image == 0) | (image == 255)).float().mean():.3f}")
    payload = {"script": SCRIPT, "versions": versions(), "cases": index}
    (GOLDENS / "tiny-lcm" / "pipelines.json").write_text(json.dumps(payload, indent=2) + "\n")


def verify_ldm_round_trip(state: dict, configs: dict, originals: dict) -> None:
    """diffusers' own single-file converters must turn the LDM state back into exactly the folder's tensors.
    They do not carry LCM's time_embedding.cond_proj (LDM has no name for it; the file keeps it under
    model.diffusion_model.<diffusers name>) and keep the text encoder's position_ids buffer."""
    converted = {
        "unet": convert_ldm_unet_checkpoint(state, configs["unet"]),
        "vae": convert_ldm_vae_checkpoint(state, configs["vae"]),
        "text_encoder": convert_ldm_clip_checkpoint(state),
    }
    not_converted = {"unet": {"time_embedding.cond_proj.weight"}, "vae": set(), "text_encoder": set()}
    extra = {"unet": set(), "vae": set(), "text_encoder": {"text_model.embeddings.position_ids"}}
    for component, original in originals.items():
        back = converted[component]
        assert set(original) - set(back) == not_converted[component], f"{component}: {set(original) - set(back)}"
        assert set(back) - set(original) == extra[component], f"{component}: {set(back) - set(original)}"
        for key in set(original) & set(back):
            assert back[key].shape == original[key].shape, f"{component} {key}: {back[key].shape}"
            assert torch.equal(back[key].to(original[key].dtype), original[key]), f"{component} {key} differs"
    assert LDM_UNET_PREFIX + "time_embedding.cond_proj.weight" in state


def build_single_file() -> None:
    """tiny-lcm's three networks in one SD-1.x single-file checkpoint with LDM names, all F16 (the folder's
    UNet and VAE weights are F16-exact, so the values are identical), plus top-level entries such files carry
    outside the component prefixes."""
    root = FIXTURES / "tiny-lcm"
    files = {"unet": "diffusion_pytorch_model.safetensors", "vae": "diffusion_pytorch_model.safetensors",
             "text_encoder": "model.safetensors"}
    originals = {name: load_file(str(root / name / filename)) for name, filename in files.items()}
    configs = {name: json.loads((root / name / "config.json").read_text()) for name in ("unet", "vae")}
    state = ldm_single_file_state(originals["unet"], configs["unet"], originals["vae"], configs["vae"],
                                  originals["text_encoder"])
    state = {key: value.half() if value.is_floating_point() else value for key, value in state.items()}
    state["alphas_cumprod"] = LCMScheduler().alphas_cumprod.float()
    state["model_ema.decay"] = torch.tensor(0.9999)
    state["model_ema.num_updates"] = torch.tensor(0, dtype=torch.int32)
    verify_ldm_round_trip(state, configs, originals)
    settings = {"source": "Tests/Fixtures/tiny-lcm", "layout": "LDM/CompVis SD-1.x single file", "dtype": "F16",
                "verified": "diffusers convert_ldm_{unet,vae,clip}_checkpoint give back the folder's tensors"}
    save_tensors(FIXTURES / SINGLE_FILE, state, provenance(SCRIPT, settings))


def build_sd2() -> None:
    unet = write_unet(SD2_UNET, FIXTURES / "tiny-sd2-unet", seed=400, dtype=torch.float16)
    unet_golden(unet, "tiny-sd2-unet", "unet.safetensors", 16, 16, 759, seed=1)
    unet_golden(unet, "tiny-sd2-unet", "unet_odd.safetensors", 10, 14, 499, seed=2)
    directory = FIXTURES / "tiny-sd2-text-encoder"
    encoder = initialised(lambda: CLIPTextModel(CLIPTextConfig(**SD2_CLIP)), seed=500)
    write_text_encoder(encoder, directory, torch.float32, name_or_path="tiny-sd2-text-encoder")
    encoder = CLIPTextModel.from_pretrained(str(directory), dtype=torch.float32).eval()
    tokenizer = CLIPTokenizer.from_pretrained(str(FIXTURES / "tiny-lcm" / "tokenizer"))
    note = (f"CLIP tokenization remapped to vocab 1000: BOS→{SD2_IDS['bos']}, first EOS→{SD2_IDS['eos']}, "
            f"padding→{SD2_IDS['pad']}, other ids mod {SD2_IDS['modulus']}")
    text_encoder_golden(encoder, "tiny-sd2-text-encoder", sd2_input_ids(tokenizer), note)


def build_sdxl() -> None:
    unet = write_unet(SDXL_UNET, FIXTURES / "tiny-sdxl-unet", seed=600, dtype=torch.float16)
    unet_golden(unet, "tiny-sdxl-unet", "unet.safetensors", 16, 16, 759, seed=1)
    unet_golden(unet, "tiny-sdxl-unet", "unet_odd.safetensors", 10, 14, 499, seed=2)


def owned_files() -> list[Path]:
    paths = [FIXTURES / name for name in OWNED]
    return sorted([p for p in paths if p.is_file()] + [f for p in paths if p.is_dir() for f in p.rglob("*")
                                                       if f.is_file()])


def file_table() -> tuple[list[str], int]:
    rows, total = [], 0
    for path in owned_files():
        size = path.stat().st_size
        total += size
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        rows.append(f"| `{path.relative_to(FIXTURES)}` | {size:,} | {digest} |")
    return rows, total


def write_readme() -> None:
    rows, total = file_table()
    v = versions()
    heads = TINY_UNET["attention_head_dim"]
    head_dims = [channels // heads for channels in TINY_UNET["block_out_channels"]]
    sd2_head_dim = SD2_UNET["block_out_channels"][0] // SD2_UNET["attention_head_dim"][0]
    text = f"""## Tiny checkpoints and their goldens

Tiny random-weight diffusers checkpoints and golden tensors for parity tests, written by
`{SCRIPT}` (deterministic: fixed seeds for the default init and for the norm/bias perturbation).
Do not edit by hand; regenerate with

    Weights/tools/setup_venv.sh          # prints the venv's python
    <venv>/bin/python {SCRIPT}

Produced with torch {v['torch']}, diffusers {v['diffusers']}, transformers {v['transformers']},
safetensors {v['safetensors']}, numpy {v['numpy']}. Every golden file repeats this in its `__metadata__`
(`script`, `torch`, `diffusers`, `transformers`, `settings` as JSON).

### Checkpoints
* `tiny-lcm/`: a LatentConsistencyModelPipeline folder laid out like SimianLuo/LCM_Dreamshaper_v7
  (no safety checker, no feature extractor); loads with
  `LatentConsistencyModelPipeline.from_pretrained(dir, safety_checker=None)` in fp32.
  * `unet/`: UNet2DConditionModel, SD-1.5 layout scaled down: block_out_channels {TINY_UNET['block_out_channels']},
    3 levels (so the latent downsampling factor is 4), norm_num_groups 8, {heads} heads (head dims {head_dims}),
    cross_attention_dim {TINY_UNET['cross_attention_dim']}, time_cond_proj_dim 256. F32 storage of F16-exact values
    (rounded through F16, so the single-file F16 copy below holds the same numbers).
  * `vae/`: AutoencoderKL, block_out_channels {TINY_VAE['block_out_channels']} (pixel/latent factor **2**, not 8),
    layers_per_block 1 (decoder blocks have 2 resnets), norm_num_groups 8, scaling_factor 0.18215. F32 storage of
    F16-exact values, as the UNet.
  * `text_encoder/`: CLIPTextModel, vocab 49408, hidden {TINY_CLIP['hidden_size']}, 2 layers, 4 heads,
    intermediate {TINY_CLIP['intermediate_size']}, quick_gelu; **F16** weights with the `text_model.` key prefix of
    real checkpoints; config bos/eos/pad ids 0/2/1 as in SD-1.5 (so the pooled token is argmax(input_ids)).
  * `tokenizer/`: vocab.json and merges.txt (copies of `Weights/clip-tokenizer/`), tokenizer_config.json,
    special_tokens_map.json (pad `<|endoftext|>`); no tokenizer.json.
  * `scheduler/`: LCMScheduler defaults.
* `{SINGLE_FILE}`: tiny-lcm's UNet, VAE and text encoder in one original (LDM/CompVis) SD-1.x
  single-file checkpoint: `model.diffusion_model.` (input_blocks/middle_block/output_blocks, in_layers/emb_layers/
  out_layers/skip_connection, time_embed, out; LCM's `time_embedding.cond_proj.weight` keeps its diffusers name,
  LDM has none), `first_stage_model.` (encoder.down.i, decoder.up.(n−1−i), mid.block_1/2, mid.attn_1 with q/k/v/
  proj_out as 1×1 conv weights [C,C,1,1], nin_shortcut, norm_out) and `cond_stage_model.transformer.text_model.`
  (with the I64 `embeddings.position_ids` buffer); plus `alphas_cumprod` (F32 [1000]), `model_ema.decay` and
  `model_ema.num_updates` (scalars) outside the component prefixes. All network weights **F16**, equal to the
  folder's. Checked when written: diffusers' `convert_ldm_unet_checkpoint`, `convert_ldm_vae_checkpoint` and
  `convert_ldm_clip_checkpoint` give back exactly the folder's tensors (they do not carry cond_proj). Load it
  with the folder as the config directory (diffusers `from_single_file(file, config=...)`).
* `tiny-sd2-unet/`: SD-2 style UNet: block_out_channels {SD2_UNET['block_out_channels']}, attention_head_dim
  {SD2_UNET['attention_head_dim']} = head counts (head dim {sd2_head_dim}), use_linear_projection,
  cross_attention_dim 48, no time_cond_proj. **F16** weights.
* `tiny-sd2-text-encoder/`: CLIPTextModel with exact-erf `gelu`, vocab 1000, hidden 48, 3 layers, 4 heads. F32.
* `tiny-sdxl-unet/`: SDXL style UNet: block_out_channels {SDXL_UNET['block_out_channels']}, down [DownBlock2D,
  CrossAttnDownBlock2D ×2], transformer_layers_per_block [1, 2, 2] (mid block: 2), heads [2, 4, 4],
  linear projections, cross_attention_dim 64,
  addition_embed_type text_time (pooled 32 + 6 × 8 time ids = 80), time_cond_proj_dim 256. **F16** weights.

### Goldens (`goldens/<model>/`, float tensors F32)
* `text_encoder.safetensors` (tiny-lcm, tiny-sd2-text-encoder): `input_ids` (I64 [2,77]) for the prompts
  {json.dumps(list(PROMPTS))}, `last_hidden_state`, `penultimate` (= hidden_states[-2], no final LayerNorm),
  `pooled`. The SD2 ids are the real tokenization remapped into the 1000-token vocabulary (BOS 998, EOS 999,
  padding 0, other ids mod 998; see the file's metadata).
* `unet.safetensors` (latent 16×16, t = 759) and `unet_odd.safetensors` (latent 10×14, t = 499: not a multiple
  of the downsampling factor 4, so the up blocks get explicit upsample sizes): inputs `sample` [2,4,h,w],
  `timestep` (I64 [1]), `encoder_hidden_states` [2,77,D], `timestep_cond` [2,256] (w = 7 and 2),
  SDXL `text_embeds` [2,32] and `time_ids` [2,6]; output `out`; intermediates `time_proj`, `time_embedding`
  (SDXL also `add_embedding`), `conv_in`, `down_blocks.{{i}}` (hidden state), `mid_block`, `up_blocks.{{i}}`.
* `tiny-lcm/vae.safetensors`: `z` [2,4,16,12] → `decoded` [2,3,32,24] with `post_quant_conv`,
  `decoder.mid_block`, `decoder.up_blocks.{{i}}`; `image` [2,3,32,24] in [-1,1) →
  `mean`, `logvar` with `encoder.down_blocks.{{i}}`, `encoder.mid_block`, `quant_conv` (8 channels:
  mean then unclamped logvar).
* `tiny-lcm/pipeline_*.safetensors`, indexed with their settings in `tiny-lcm/pipelines.json`: full
  LatentConsistencyModelPipeline runs (prompt {json.dumps(PIPELINE_PROMPT)},
  generator = torch.Generator("cpu").manual_seed(seed)). Keys: `input_ids`, `prompt_embeds`, `latents`
  (initial), `timesteps`, `w_embedding`, `noise.{{k}}` (k < N−1, drawn in step k), `model_output.{{k}}`,
  `denoised.{{k}}`, `decoded` (VAE output before postprocessing), `image` (U8 [B,H,W,3], the pixels of the
  returned PIL images).

### Files

| file | bytes | sha256 (first 16) |
|---|---|---|
""" + "\n".join(rows) + f"""

Total: {total:,} bytes. The tokenizer files are byte-identical to `Weights/clip-tokenizer/`.
"""
    write_fixtures_readme_section(SCRIPT, text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()
    torch.set_grad_enabled(False)
    for name in OWNED:
        path = FIXTURES / name
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    build_tiny_lcm()
    build_single_file()
    build_sd2()
    build_sdxl()
    write_readme()
    rows, total = file_table()
    print("\n".join(rows))
    print(f"total {total:,} bytes")


if __name__ == "__main__":
    main()
