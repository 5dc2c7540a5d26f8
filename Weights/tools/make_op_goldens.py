#!/usr/bin/env python3
"""Golden values for the tensor-core ops, computed with PyTorch on CPU in float32.

Writes Tests/Fixtures/goldens/ops.safetensors (inputs and outputs; versions in the metadata).
Run: python Weights/tools/make_op_goldens.py   (in the venv of Weights/tools/setup_venv.sh)
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "goldens", "ops.safetensors")


def main():
    g = torch.Generator().manual_seed(20261129)

    def r(*shape, scale=1.0):
        return (torch.randn(*shape, generator=g) * scale).float()

    t = {}
    # linear: [2, 7, 13] x W[5, 13] + b
    t["linear.x"], t["linear.w"], t["linear.b"] = r(2, 7, 13), r(5, 13), r(5)
    t["linear.y"] = F.linear(t["linear.x"], t["linear.w"], t["linear.b"])
    # batched matmul [3, 4, 6] x [3, 6, 5]
    t["matmul.a"], t["matmul.b"] = r(3, 4, 6), r(3, 6, 5)
    t["matmul.y"] = t["matmul.a"] @ t["matmul.b"]
    # conv2d 3x3, odd non-square maps
    t["conv.x"], t["conv.w3"], t["conv.b3"] = r(2, 3, 7, 9), r(5, 3, 3, 3), r(5)
    t["conv.y3_s1"] = F.conv2d(t["conv.x"], t["conv.w3"], t["conv.b3"], stride=1, padding=1)
    t["conv.y3_s2"] = F.conv2d(t["conv.x"], t["conv.w3"], t["conv.b3"], stride=2, padding=1)
    # VAE encoder downsample: pad right/bottom by one, then stride 2 without padding
    t["conv.y3_s2_asym"] = F.conv2d(F.pad(t["conv.x"], (0, 1, 0, 1)), t["conv.w3"], t["conv.b3"], stride=2)
    t["conv.w1"], t["conv.b1"] = r(4, 3, 1, 1), r(4)
    t["conv.y1"] = F.conv2d(t["conv.x"], t["conv.w1"], t["conv.b1"])
    # group norm (+ SiLU), layer norm
    t["gn.x"], t["gn.w"], t["gn.b"] = r(2, 6, 5, 7, scale=3.0) + 1.5, r(6), r(6)
    t["gn.y"] = F.group_norm(t["gn.x"], 3, t["gn.w"], t["gn.b"], eps=1e-6)
    t["gn.y_silu"] = F.silu(t["gn.y"])
    t["ln.x"], t["ln.w"], t["ln.b"] = r(3, 4, 11, scale=2.0) - 0.7, r(11), r(11)
    t["ln.y"] = F.layer_norm(t["ln.x"], (11,), t["ln.w"], t["ln.b"], eps=1e-5)
    # activations
    t["act.x"] = r(3, 37, scale=4.0)
    t["act.silu"] = F.silu(t["act.x"])
    t["act.gelu"] = F.gelu(t["act.x"])
    t["act.gelu_tanh"] = F.gelu(t["act.x"], approximate="tanh")
    t["act.quick_gelu"] = t["act.x"] * torch.sigmoid(1.702 * t["act.x"])
    t["geglu.x"] = r(5, 2 * 9, scale=2.0)
    a, gate = t["geglu.x"].chunk(2, dim=-1)
    t["geglu.y"] = a * F.gelu(gate)
    # attention: heads split along channels
    b, nq, nk, heads, d = 2, 13, 7, 3, 5
    t["attn.q"], t["attn.k"], t["attn.v"] = r(b, nq, heads * d), r(b, nk, heads * d), r(b, nk, heads * 4)

    def split(x, hd):
        return x.view(x.shape[0], x.shape[1], heads, hd).transpose(1, 2)

    o = F.scaled_dot_product_attention(split(t["attn.q"], d), split(t["attn.k"], d), split(t["attn.v"], 4))
    t["attn.y"] = o.transpose(1, 2).reshape(b, nq, heads * 4)
    t["attn.cq"], t["attn.ck"], t["attn.cv"] = r(1, 9, 2 * 6), r(1, 9, 2 * 6), r(1, 9, 2 * 6)
    heads = 2
    o = F.scaled_dot_product_attention(split(t["attn.cq"], 6), split(t["attn.ck"], 6), split(t["attn.cv"], 6),
                                       is_causal=True)
    t["attn.causal_y"] = o.transpose(1, 2).reshape(1, 9, 12)
    # shape ops
    t["cat.a"], t["cat.b"] = r(2, 3, 4, 5), r(2, 2, 4, 5)
    t["cat.y"] = torch.cat([t["cat.a"], t["cat.b"]], dim=1)
    t["perm.x"] = r(2, 3, 4, 5)
    t["perm.y"] = t["perm.x"].permute(0, 2, 3, 1).contiguous()
    t["up.x"] = r(2, 3, 5, 7)
    t["up.y2x"] = F.interpolate(t["up.x"], scale_factor=2.0, mode="nearest")
    t["up.y_size"] = F.interpolate(t["up.x"], size=(9, 13), mode="nearest")

    meta = {
        "script": "Weights/tools/make_op_goldens.py",
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": sys.version.split()[0],
        "settings": json.dumps({"seed": 20261129, "dtype": "float32", "device": "cpu"}),
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    save_file({k: v.contiguous() for k, v in t.items()}, OUT, metadata=meta)
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes, {len(t)} tensors)")


if __name__ == "__main__":
    main()
