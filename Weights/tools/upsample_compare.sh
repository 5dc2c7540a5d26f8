#!/usr/bin/env bash
# Times upsampleNearest2xConv2d (nearest 2× then a 3×3 convolution, stride 1, padding 1, two threads) of a checkout
# of this project both ways, alternating, fastest of N calls each: "separate" upsamples and then runs conv2d's
# automatic path (what Upsample2D did before the folded path), "folded" runs Winograd F(4×4, 2×2) of the four output
# phases on the map before upsampling. The figures in Sources/TensorCore/Ops+Conv.swift and Kernels/README.md came
# from this.
#
#   Weights/tools/upsample_compare.sh [CHECKOUT] [REPS] [ROUNDS]
#
# Shapes (C_in C_out size before upsampling) come from $SHAPES, by default the SD 1.5 VAE decoder's three upsamplers
# at 512² and the UNet's two largest.
set -euo pipefail
repo=$(cd "${1:-.}" && pwd); reps=${2:-5}; rounds=${3:-2}
shapes=${SHAPES:-"256 256 256;512 512 128;512 512 64;640 640 32;1280 1280 16"}
dir=/tmp/upsamplebench-$(echo "$repo" | md5sum | cut -c1-8)
mkdir -p "$dir/Sources/upsamplebench"
cat > "$dir/Package.swift" <<SWIFT
// swift-tools-version:5.9
import PackageDescription
let package = Package(name: "upsamplebench", dependencies: [.package(path: "$repo")],
  targets: [.executableTarget(name: "upsamplebench", dependencies: [.product(name: "TensorCore", package: "$(basename "$repo")")])])
SWIFT
cat > "$dir/Sources/upsamplebench/main.swift" <<'SWIFT'
import Foundation
import TensorCore
let a = CommandLine.arguments
let (cin, cout, hw, reps, folded) = (Int(a[1])!, Int(a[2])!, Int(a[3])!, Int(a[4])!, a[5] == "folded")
func random(_ shape: [Int], _ s: Float) -> Tensor {
    Tensor(shape: shape, values: (0..<shape.reduce(1, *)).map { _ in Float.random(in: -s...s) })
}
let x = random([1, cin, hw, hw], 1), w = Weight(random([cout, cin, 3, 3], 0.05)), b = random([cout], 0.1)
_ = upsampleNearest2xConv2d(x, weight: w, bias: b, folded: folded)
var best = Double.infinity
for _ in 0..<reps {
    let t0 = Date()
    _ = upsampleNearest2xConv2d(x, weight: w, bias: b, folded: folded)
    best = min(best, Date().timeIntervalSince(t0))
}
print(String(format: "%.1f", best * 1e3))
SWIFT
(cd "$dir" && swift build -c release >&2)
bin="$dir/.build/release/upsamplebench"
IFS=';' read -ra list <<< "$shapes"
for shape in "${list[@]}"; do
  line="upsample + conv $shape:"
  for _ in $(seq "$rounds"); do
    line="$line  separate $("$bin" $shape "$reps" separate) ms, folded $("$bin" $shape "$reps" folded) ms;"
  done
  echo "$line"
done
