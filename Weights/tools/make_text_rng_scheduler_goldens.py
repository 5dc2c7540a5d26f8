"""Writes the goldens for the tokenizer, the torch CPU generator, LCMScheduler and the guidance-scale embedding.

Output, under Tests/Fixtures/goldens/:
  tokenizer.json          prompts (unicode, accents, CJK, emoji, punctuation, numbers, contractions, HTML entities,
                          whitespace runs, special-token text, empty, over-long) with the ids of transformers'
                          CLIPTokenizer (tokenizers backend) loaded from Weights/clip-tokenizer/ (folder "plain"), and
                          a few prompts for SD-1.x and SD-2.x style folders (the extra files are in "folders"):
                          `ids` (BOS + tokens + EOS, no truncation) and `padded` (max_length 77, truncation, padding).
  random.safetensors      torch.randn / torch.rand draws (float32, CPU generator); the index is in __metadata__.
  scheduler.safetensors   alphas_cumprod for each beta schedule, step inputs/outputs with the recorded noise,
                          add_noise results and guidance-scale embeddings.
  scheduler.json          timesteps of LCMScheduler.set_timesteps for many (N, original steps, strength), the
                          combinations diffusers rejects, and the settings of the step cases.

Every file names this script and the torch/diffusers/transformers versions (safetensors `__metadata__`,
or a "provenance" object in JSON).

torch computes float32 exp and sqrt with MKL VML, which is not correctly rounded and whose results depend on the
instruction set MKL selects (MKL_ENABLE_INSTRUCTIONS): on an AVX-512 machine 5 of the 1000 sqrt(alphas_cumprod) and
3 of the 128 guidance-embedding frequencies are one ulp off. The LCM step cases avoid the affected timesteps; the
zero-SNR schedule (a sqrt over all 1000 values) and the guidance embeddings carry the difference.

Run: /work/venv/bin/python Weights/tools/make_text_rng_scheduler_goldens.py
"""
import json
import pathlib
import shutil
import tempfile

import diffusers
import numpy
import torch
import transformers
from diffusers import LCMScheduler, LatentConsistencyModelPipeline
from diffusers.schedulers import scheduling_lcm
from safetensors.torch import save_file
from transformers import CLIPTokenizer

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "Tests" / "Fixtures" / "goldens"
PROVENANCE = {
    "script": "Weights/tools/make_text_rng_scheduler_goldens.py",
    "torch": torch.__version__,
    "diffusers": diffusers.__version__,
    "transformers": transformers.__version__,
    "numpy": numpy.__version__,
    # torch's float32 exp and sqrt go through MKL VML, whose rounding depends on the instruction set MKL picks.
    "cpu_capability": torch.backends.cpu.get_cpu_capability(),
}

PROMPTS = [
    "a photo of a cat",
    "Self-portrait oil painting, a beautiful cyborg with golden hair, 8k",
    "  Hello   WORLD!!  it's 2024 ",
    "",
    "   ",
    "naïve café, crème brûlée à la mode",
    "nai\u0308ve cafe\u0301",  # decomposed: NFC composes them
    "e\u0301\u0323",  # NFC reorders the marks, then composes one
    "İstanbul ΣΑΣ Straße ǅ ﬁ",  # full lowercase mappings without context (no final sigma)
    "日本語のテキスト、中文字符和한국어",
    "👨\u200d👩\u200d👧 🎉🎉!! 😀",
    "Don't you'll we've I'm he'd they're IT'S",
    "it''s 'quoted' foo'sbar 's's",
    "a&amp;b &lt;tag&gt; &#39;x&#39;",
    "tab\tnew\nline\r\nend\u00a0nbsp\u3000ideo\u2003em\u0085nel",
    "zero\u200bwidth \ufeffbom \u0000\u0007ctrl a\u001cb",
    "1234567 3.14159 -42 1e10 ½ ² ٣ Ⅻ",
    "!!!...???,,, ---- ((()))  @#$%^&*",
    "<|startoftext|>a<|endoftext|>b <|ENDOFTEXT|> <|endoftext",
    "Mr. O'Neil's 3.14 \"quotes\" — dash – en…",
    "ünïcödé ÀÉÎÕÜ ñ Ñ ç Ç ø Ø å Å æ Æ",
    "Привет мир Γειά σου κόσμε שלום עולם مرحبا بالعالم",
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    " ".join(["word"] * 100),
    "a beautiful landscape painting of mountains at sunset, " * 8,
]

# Test vectors stated in the engineering spec (section 7.2); the script checks transformers agrees.
SPEC_VECTORS = {
    "a photo of a cat": [49406, 320, 1125, 539, 320, 2368, 49407],
    "Self-portrait oil painting, a beautiful cyborg with golden hair, 8k":
        [49406, 1322, 268, 5352, 2870, 3086, 267, 320, 1215, 36650, 593, 3878, 2225, 267, 279, 330, 49407],
    "  Hello   WORLD!!  it's 2024 ": [49406, 3306, 1002, 748, 585, 568, 273, 271, 273, 275, 49407],
    "": [49406, 49407],
    " ".join(["word"] * 100): [49406] + [2653] * 75 + [49407],
}


def added_token(content):
    return {"content": content, "lstrip": False, "normalized": True, "rstrip": False, "single_word": False}


# Tokenizer folders besides the bare vocab.json + merges.txt ("plain"): the extra files, as diffusers checkpoints
# ship them. SD-1.x style files declare the special tokens "normalized" (matched after lowercasing), though the plain
# pad entry makes <|endoftext|> raw-matched again unless an added_tokens_decoder table says otherwise; SD-2.x style
# pads with "!", which also makes every "!" in a prompt the special token.
FOLDER_FILES = {
    "plain": {},
    "sd15": {
        "special_tokens_map.json": {"bos_token": added_token("<|startoftext|>"), "eos_token": added_token("<|endoftext|>"),
                                    "pad_token": "<|endoftext|>", "unk_token": added_token("<|endoftext|>")},
        "tokenizer_config.json": {"add_prefix_space": False, "bos_token": added_token("<|startoftext|>") | {"__type": "AddedToken"},
                                  "do_lower_case": True, "eos_token": added_token("<|endoftext|>") | {"__type": "AddedToken"},
                                  "errors": "replace", "model_max_length": 77, "pad_token": "<|endoftext|>",
                                  "tokenizer_class": "CLIPTokenizer",
                                  "unk_token": added_token("<|endoftext|>") | {"__type": "AddedToken"}},
    },
    "sd15_decoder": {  # as transformers 4.3x saves it (e.g. LCM_Dreamshaper_v7): an added_tokens_decoder table
        "special_tokens_map.json": {"bos_token": added_token("<|startoftext|>"), "eos_token": added_token("<|endoftext|>"),
                                    "pad_token": "<|endoftext|>", "unk_token": added_token("<|endoftext|>")},
        "tokenizer_config.json": {"add_prefix_space": False,
                                  "added_tokens_decoder": {"49406": added_token("<|startoftext|>") | {"special": True},
                                                           "49407": added_token("<|endoftext|>") | {"special": True}},
                                  "bos_token": "<|startoftext|>", "do_lower_case": True, "eos_token": "<|endoftext|>",
                                  "model_max_length": 77, "pad_token": "<|endoftext|>",
                                  "tokenizer_class": "CLIPTokenizer", "unk_token": "<|endoftext|>"},
    },
    "sd2": {
        "special_tokens_map.json": {"bos_token": added_token("<|startoftext|>"), "eos_token": added_token("<|endoftext|>"),
                                    "pad_token": "!", "unk_token": added_token("<|endoftext|>")},
        "tokenizer_config.json": {"bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>", "model_max_length": 77,
                                  "pad_token": "<|endoftext|>", "tokenizer_class": "CLIPTokenizer",
                                  "unk_token": "<|endoftext|>"},
    },
}
FOLDER_PROMPTS = [
    "a photo of a cat", "  Hello   WORLD!!  it's 2024 ", "", "wow!! a ! b hi!",
    "<|startoftext|>a<|endoftext|>b <|ENDOFTEXT|> <|endoftext", "x<|EndOfText|>\u0301!",
    "a beautiful landscape painting of mountains at sunset, " * 8,
]


def write_tokenizer():
    vocab = ROOT / "Weights" / "clip-tokenizer"
    cases = []
    for folder, files in FOLDER_FILES.items():
        with tempfile.TemporaryDirectory() as tmp:
            for name in ["vocab.json", "merges.txt"]:
                shutil.copy(vocab / name, pathlib.Path(tmp) / name)
            for name, content in files.items():
                (pathlib.Path(tmp) / name).write_text(json.dumps(content), encoding="utf-8")
            tok = CLIPTokenizer.from_pretrained(tmp)
        for text in PROMPTS if folder == "plain" else FOLDER_PROMPTS:
            ids = tok(text)["input_ids"]
            padded = tok(text, padding="max_length", truncation=True, max_length=77)["input_ids"]
            if folder == "plain" and text in SPEC_VECTORS:
                expected = SPEC_VECTORS[text]
                assert (padded if len(expected) == 77 else ids) == expected, f"spec vector mismatch for {text!r}"
            cases.append({"folder": folder, "text": text, "ids": ids, "padded": padded, "truncated": len(ids) > 77})
    doc = {
        "provenance": PROVENANCE | {"tokenizer": "transformers.CLIPTokenizer.from_pretrained(folder): "
                                                 "Weights/clip-tokenizer/{vocab.json,merges.txt} plus the folder's files"},
        "folders": FOLDER_FILES,
        "cases": cases,
    }
    (OUT / "tokenizer.json").write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def write_random():
    tensors = {}
    index = []

    def record(name, seed, op, shape, value):
        tensors[name] = value.contiguous()
        index.append({"name": name, "seed": seed, "op": op, "shape": list(shape)})

    # One fresh generator per draw.
    for seed in [0, 42, 2**32 + 5, 2**64 - 1]:
        for shape in [[1], [7], [15], [16], [17], [100], [1000], [1, 4, 8, 8], [2, 4, 6, 10]]:
            g = torch.Generator().manual_seed(seed)
            name = f"randn/seed{seed}/" + "x".join(map(str, shape))
            record(name, seed, "randn", shape, torch.randn(shape, generator=g))
    # Successive draws from one generator: the < 16 path's cached second value survives a ≥ 16 draw in between.
    for seed in [7, 1234]:
        g = torch.Generator().manual_seed(seed)
        for k, (op, shape) in enumerate([("randn", [3]), ("randn", [1, 4, 5, 5]), ("randn", [5]), ("rand", [37]),
                                         ("randn", [1]), ("randn", [33]), ("randn", [2, 3]), ("randn", [650])]):
            draw = torch.randn if op == "randn" else torch.rand
            record(f"sequence/seed{seed}/{k}", seed, op, shape, draw(shape, generator=g))
    metadata = {k: json.dumps(v) if not isinstance(v, str) else v for k, v in PROVENANCE.items()}
    metadata["draws"] = json.dumps(index)
    save_file(tensors, str(OUT / "random.safetensors"), metadata=metadata)


def timestep_tables():
    sched = LCMScheduler()
    tables, errors = [], []
    cases = [(n, 50, 1.0) for n in range(1, 51)]
    cases += [(n, 25, 1.0) for n in range(1, 26)] + [(n, 100, 1.0) for n in [1, 2, 3, 4, 5, 8, 33, 50, 100]]
    cases += [(n, 50, 0.5) for n in range(1, 26)] + [(n, 50, 0.7) for n in [1, 4, 35]]
    cases += [(4, 1000, 1.0), (7, 30, 0.3), (2, 50, 0.05), (1, 1, 1.0)]
    rejected = [(51, 50, 1.0), (26, 50, 0.5), (4, 1001, 1.0), (1001, 1000, 1.0), (2, 50, 0.02), (30, 25, 1.0),
                (36, 50, 0.7), (4, 50, 0.05), (60, 50, 1.5)]
    for n, o, s in cases + rejected:
        try:
            sched.set_timesteps(n, original_inference_steps=o, strength=s)
        except ValueError as error:
            errors.append({"n": n, "original": o, "strength": s, "message": str(error)})
            continue
        tables.append({"n": n, "original": o, "strength": s, "timesteps": sched.timesteps.tolist()})
    assert [(e["n"], e["original"], e["strength"]) for e in errors] == rejected, errors
    return tables, errors


def run_steps(config, sample, outputs, seed):
    """Runs len(outputs) LCM steps like the pipeline (tensor timesteps) and records the noise each step draws."""
    sched = LCMScheduler(**config)
    sched.set_timesteps(len(outputs))
    drawn = []
    original = scheduling_lcm.randn_tensor

    def recording_randn(shape, generator=None, device=None, dtype=None):
        noise = original(shape, generator=generator, device=device, dtype=dtype)
        drawn.append(noise.clone())
        return noise

    scheduling_lcm.randn_tensor = recording_randn
    try:
        g = torch.Generator().manual_seed(seed)
        results = []
        for k, t in enumerate(sched.timesteps):
            prev, denoised = sched.step(outputs[k], t, sample, generator=g, return_dict=False)
            results.append((prev, denoised))
            sample = prev
    finally:
        scheduling_lcm.randn_tensor = original
    return sched.timesteps.tolist(), results, drawn


def write_scheduler():
    tensors = {}
    schedules = {
        "scaled_linear": {},
        "linear": {"beta_schedule": "linear"},
        "squaredcos_cap_v2": {"beta_schedule": "squaredcos_cap_v2"},
        "scaled_linear_zero_snr": {"rescale_betas_zero_snr": True},
        "linear_custom_range": {"beta_schedule": "linear", "beta_start": 0.0001, "beta_end": 0.02,
                                "num_train_timesteps": 500},
    }
    for name, config in schedules.items():
        sched = LCMScheduler(**config)
        tensors[f"alphas_cumprod/{name}"] = sched.alphas_cumprod.clone()
        tensors[f"betas/{name}"] = sched.betas.clone()

    g = torch.Generator().manual_seed(99)
    shape = [2, 4, 6, 5]
    sample = torch.randn(shape, generator=g)
    outputs = [torch.randn(shape, generator=g) for _ in range(4)]
    # x0 large enough for clipping and thresholding to act.
    big_outputs = [3 * torch.randn(shape, generator=g) for _ in range(4)]
    tensors["step/sample"] = sample
    for k, out in enumerate(outputs):
        tensors[f"step/model_output.{k}"] = out
        tensors[f"step/big_model_output.{k}"] = big_outputs[k]

    step_cases = {
        "epsilon": ({}, "model_output", 4, 5),
        "v_prediction": ({"prediction_type": "v_prediction"}, "model_output", 4, 6),
        "sample": ({"prediction_type": "sample"}, "model_output", 4, 7),
        "epsilon_3steps": ({}, "model_output", 3, 8),
        "epsilon_1step": ({}, "model_output", 1, 9),
        "clip_sample": ({"prediction_type": "sample", "clip_sample": True, "clip_sample_range": 1.5},
                        "big_model_output", 4, 10),
        "thresholding": ({"prediction_type": "sample", "thresholding": True, "sample_max_value": 2.5,
                          "dynamic_thresholding_ratio": 0.9}, "big_model_output", 4, 11),
        "scaling_5": ({"timestep_scaling": 5.0, "prediction_type": "v_prediction"}, "model_output", 2, 12),
    }
    cases = {}
    for name, (config, source, steps, seed) in step_cases.items():
        outs = [tensors[f"step/{source}.{k}"] for k in range(steps)]
        timesteps, results, drawn = run_steps(config, sample, outs, seed)
        assert len(drawn) == steps - 1
        for k, (prev, denoised) in enumerate(results):
            if k < steps - 1:  # the last step returns denoised itself as prev_sample
                tensors[f"step/{name}/prev_sample.{k}"] = prev
            else:
                assert prev is denoised
            tensors[f"step/{name}/denoised.{k}"] = denoised
        for k, noise in enumerate(drawn):
            tensors[f"step/{name}/noise.{k}"] = noise
        cases[name] = {"config": config, "modelOutput": source, "steps": steps, "seed": seed, "timesteps": timesteps}

    sched = LCMScheduler()
    for t in [999, 499, 19]:
        tensors[f"add_noise/t{t}"] = sched.add_noise(sample, outputs[0], torch.tensor([t]))

    for w in [0.0, 0.5, 7.0, 7.5]:
        ws = torch.tensor([w, w + 1.0])
        tensors[f"guidance/w{w}"] = LatentConsistencyModelPipeline.get_guidance_scale_embedding(None, ws, 256)
    tensors["guidance/odd15_w7.5"] = LatentConsistencyModelPipeline.get_guidance_scale_embedding(
        None, torch.tensor([7.5]), 15)

    metadata = {k: v for k, v in PROVENANCE.items()}
    metadata["schedules"] = json.dumps(schedules)
    metadata["step_cases"] = json.dumps(cases)
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(OUT / "scheduler.safetensors"), metadata=metadata)

    tables, errors = timestep_tables()
    doc = {"provenance": PROVENANCE, "schedules": schedules, "stepCases": cases, "timesteps": tables,
           "rejected": errors, "guidanceScales": [0.0, 0.5, 7.0, 7.5]}
    (OUT / "scheduler.json").write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    write_tokenizer()
    write_random()
    write_scheduler()
    for name in ["tokenizer.json", "random.safetensors", "scheduler.safetensors", "scheduler.json"]:
        print(f"{name}: {(OUT / name).stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
