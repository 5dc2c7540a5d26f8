#!/usr/bin/env python3
"""What a fresh `lcm bench` process pays for page faults after PyTorch and OpenVINO have run, as in bench_compare.py.

    fault_cost.py [--lcm .build/release/lcm] [--threads 2] [--rounds 2]

Runs `lcm bench --arch sd15 --stage vae --warmup 1 --repeats 1` as a child process: once before anything else,
then after each OpenVINO and each PyTorch VAE decode (random SD1.5 VAE, 512×512 image), and prints the timed decode
with the child's user and system CPU seconds and its minor page faults (getrusage of the children). The README's
"twice the system time for the same faults" came from this.
"""
import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import torch
from diffusers import AutoencoderKL


def lcm_run(tag, args):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run([args.lcm, "bench", "--arch", "sd15", "--stage", "vae", "--warmup", "1", "--repeats", "1",
                          "--threads", str(args.threads), "--json"], capture_output=True, text=True, check=True).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(f"{tag:12s} lcm decode {json.loads(out)['stages'][0]['medianSeconds']:.3f} s   "
          f"process user {after.ru_utime - before.ru_utime:.1f} s  system {after.ru_stime - before.ru_stime:.1f} s  "
          f"minor faults {after.ru_minflt - before.ru_minflt}", flush=True)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--lcm", default=str(Path(__file__).resolve().parents[2] / ".build" / "release" / "lcm"))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    vae = AutoencoderKL(block_out_channels=(128, 256, 512, 512), down_block_types=("DownEncoderBlock2D",) * 4,
                        up_block_types=("UpDecoderBlock2D",) * 4, layers_per_block=2, latent_channels=4).eval()
    z = torch.randn(1, 4, 64, 64)
    lcm_run("fresh", args)
    import openvino as ov

    class Decode(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, z):
            return self.m.decode(z, return_dict=False)[0]

    with torch.no_grad():
        model = ov.convert_model(Decode(vae), example_input=(z,))
    compiled = ov.Core().compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32",
                                                      "INFERENCE_NUM_THREADS": str(args.threads)})
    for _ in range(args.rounds):
        start = time.perf_counter()
        compiled([z.numpy()])
        print(f"OpenVINO decode {time.perf_counter() - start:.3f} s", flush=True)
        lcm_run("after OpenVINO", args)
        with torch.no_grad():
            start = time.perf_counter()
            vae.decode(z)
        print(f"PyTorch decode {time.perf_counter() - start:.3f} s", flush=True)
        lcm_run("after PyTorch", args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
