"""Writes the safetensors golden file for SafeTensorsTests with the reference writer (safetensors.torch).

Output, under Tests/Fixtures/io/:
  python_written.safetensors  one small tensor per dtype we read (F32, F16, BF16, I8, U8, I32, I64), including
                              a scalar, an empty tensor and special values (±0, ±inf, nan, f16 subnormals);
                              __metadata__ names this script and the torch/safetensors/numpy versions.
  python_written.json         the expected names (in data order), dtypes, shapes and values. Float values are the
                              exact float32 value of the stored element ("inf", "-inf", "nan" as strings);
                              integers as JSON integers.
  pil_palette.png, pil_gray.png   small PNGs from another encoder (Pillow): a palette image with a tEXt and an
                              iTXt chunk, and an 8-bit grayscale image; pil_images.json holds their RGB pixels.

Run: /work/venv/bin/python Weights/tools/make_io_fixtures.py
"""
import json
import math
import pathlib

import numpy
import PIL
from PIL import Image, PngImagePlugin
import safetensors
import torch
from safetensors.torch import save_file

OUT = pathlib.Path(__file__).resolve().parents[2] / "Tests" / "Fixtures" / "io"


def float_json(x):
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    g = torch.Generator().manual_seed(20240601)
    specials = [0.0, -0.0, 1.0, -2.5, float("inf"), float("-inf"), float("nan"), 65504.0]
    tensors = {
        "f32.matrix": torch.randn(3, 5, generator=g, dtype=torch.float32),
        "f32.scalar": torch.tensor(3.25, dtype=torch.float32),
        "f32.empty": torch.zeros(0, 4, dtype=torch.float32),
        "f16.values": torch.cat([torch.tensor(specials + [6.0e-8, -3.0e-5, 1.0e-4]),
                                 torch.randn(9, generator=g)]).to(torch.float16).reshape(4, 5),
        "bf16.values": torch.cat([torch.tensor(specials + [1.0e-39, 3.0e38]),
                                  torch.randn(6, generator=g)]).to(torch.bfloat16).reshape(2, 2, 4),
        "i8.values": torch.tensor([-128, -1, 0, 1, 127], dtype=torch.int8),
        "u8.values": torch.tensor([[0, 1, 128], [200, 254, 255]], dtype=torch.uint8),
        "i32.values": torch.tensor([-(2**31), -7, 0, 2**31 - 1], dtype=torch.int32),
        "i64.values": torch.tensor([-(2**63), -1, 0, 2**53 + 1, 2**63 - 1], dtype=torch.int64),
    }
    metadata = {
        "producer": "Weights/tools/make_io_fixtures.py",
        "torch": torch.__version__,
        "safetensors": safetensors.__version__,
        "numpy": numpy.__version__,
        "note": "unicode ✓ in metadata",
    }
    path = OUT / "python_written.safetensors"
    save_file(tensors, str(path), metadata=metadata)

    # Names in data order, as the file stores them (the writer orders by dtype alignment, then name).
    header_len = int.from_bytes(path.read_bytes()[:8], "little")
    header = json.loads(path.read_bytes()[8:8 + header_len])
    order = sorted((k for k in header if k != "__metadata__"), key=lambda k: header[k]["data_offsets"])

    expected = {"metadata": metadata, "names": order, "tensors": {}}
    for name in order:
        t = tensors[name]
        if t.dtype.is_floating_point:
            values = [float_json(v) for v in t.to(torch.float32).flatten().tolist()]
        else:
            values = t.flatten().tolist()
        expected["tensors"][name] = {
            "dtype": header[name]["dtype"],
            "shape": list(t.shape),
            "values": values,
        }
    (OUT / "python_written.json").write_text(json.dumps(expected, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {path} ({path.stat().st_size} bytes) and python_written.json")
    write_pngs()


def write_pngs():
    palette = Image.new("P", (5, 3))
    palette.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255, 250, 250, 250])
    palette.putdata([(x + y) % 4 for y in range(3) for x in range(5)])
    text = {"producer": f"Weights/tools/make_io_fixtures.py, Pillow {PIL.__version__}", "prompt": "caf\u00e9 \u2713"}
    info = PngImagePlugin.PngInfo()
    info.add_text("producer", text["producer"])
    info.add_itxt("prompt", text["prompt"])
    palette.save(OUT / "pil_palette.png", pnginfo=info)
    gray = Image.new("L", (4, 2))
    gray.putdata([0, 40, 80, 120, 160, 200, 240, 255])
    gray.save(OUT / "pil_gray.png")
    expected = {
        "pil_palette.png": {"width": 5, "height": 3, "rgb": list(palette.convert("RGB").tobytes()),
                            "text": text},
        "pil_gray.png": {"width": 4, "height": 2, "rgb": list(gray.convert("RGB").tobytes()), "text": {}},
    }
    (OUT / "pil_images.json").write_text(json.dumps(expected) + "\n")
    print("wrote pil_palette.png, pil_gray.png and pil_images.json")


if __name__ == "__main__":
    main()
