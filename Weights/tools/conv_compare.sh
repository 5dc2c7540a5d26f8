#!/usr/bin/env bash
# Times conv2d (3×3, stride 1, padding 1, automatic path, two threads) of two checkouts of this project, alternating
# them, fastest of N calls each: the before/after figures of convolution changes in Sources/TensorCore/Winograd.swift
# and Kernels/README.md came from this.
#
#   Weights/tools/conv_compare.sh BEFORE_DIR AFTER_DIR [REPS] [ROUNDS]
#   e.g. git worktree add /tmp/lcm-before 661beca~2 && Weights/tools/conv_compare.sh /tmp/lcm-before "$PWD"
#
# Shapes (C_in C_out size) come from $SHAPES, by default the SD 1.5 UNet's and VAE decoder's Winograd levels.
# COLD=1 rotates each call over distinct weights totalling ≥ 600 MB (more than the last-level cache), so that they
# come from memory as in a UNet step or a VAE decode, and prints the median after the fastest.
set -euo pipefail
before=$(cd "$1" && pwd); after=$(cd "$2" && pwd); reps=${3:-9}; rounds=${4:-2}
shapes=${SHAPES:-"320 320 64;640 640 32;1920 640 32;512 512 64;512 512 128;256 256 256;128 128 512"}

build() {  # $1 checkout → prints the path of a convbench binary built against it
  local repo=$1 dir=/tmp/convbench-$(echo "$1" | md5sum | cut -c1-8)
  mkdir -p "$dir/Sources/convbench"
  cat > "$dir/Package.swift" <<SWIFT
// swift-tools-version:5.9
import PackageDescription
let package = Package(name: "convbench", dependencies: [.package(path: "$repo")],
  targets: [.executableTarget(name: "convbench", dependencies: [.product(name: "TensorCore", package: "$(basename "$repo")")])])
SWIFT
  cat > "$dir/Sources/convbench/main.swift" <<'SWIFT'
import Foundation
import TensorCore
let a = CommandLine.arguments
let (cin, cout, hw, reps) = (Int(a[1])!, Int(a[2])!, Int(a[3])!, Int(a[4])!)
var state: UInt64 = 0x9E3779B97F4A7C15
func random(_ shape: [Int], _ s: Float) -> Tensor {  // xorshift64: cheap enough for the 600 MB of COLD
    Tensor(shape: shape, values: (0..<shape.reduce(1, *)).map { _ in
        state ^= state << 13; state ^= state >> 7; state ^= state << 17
        return (Float(state >> 40) / Float(1 << 24) * 2 - 1) * s
    })
}
let cold = ProcessInfo.processInfo.environment["COLD"] == "1"
let sets = cold ? max(2, 600_000_000 / (cin * cout * 36)) : 1
let x = random([1, cin, hw, hw], 1), b = random([cout], 0.1)
let ws = (0..<sets).map { _ in random([cout, cin, 3, 3], 0.05) }
_ = conv2d(x, weight: ws[0], bias: b, stride: 1, padding: .same(1))
var times: [Double] = []
for r in 0..<reps {
    let t0 = Date()
    _ = conv2d(x, weight: ws[(r + 1) % sets], bias: b, stride: 1, padding: .same(1))
    times.append(Date().timeIntervalSince(t0))
}
times.sort()
print(cold ? String(format: "%.2f (median %.2f)", times[0] * 1e3, times[reps / 2] * 1e3)
           : String(format: "%.2f", times[0] * 1e3))
SWIFT
  (cd "$dir" && swift build -c release >&2) && echo "$dir/.build/release/convbench"
}

a=$(build "$before"); b=$(build "$after")
IFS=';' read -ra list <<< "$shapes"
for shape in "${list[@]}"; do
  line="conv $shape:"
  for _ in $(seq "$rounds"); do
    line="$line  before $("$a" $shape "$reps") ms, after $("$b" $shape "$reps") ms;"
  done
  echo "$line"
done
