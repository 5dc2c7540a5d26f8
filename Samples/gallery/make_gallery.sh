#!/usr/bin/env bash
# Rebuilds Samples/gallery: prompts × seeds at 1, 2 and 4 steps with the embedded model (Weights/lcm-shapes,
# its default guidance), one PNG per cell, and README.md with the grid, the exact commands and their timings.
# Usage: Samples/gallery/make_gallery.sh   (from anywhere; builds lcm in release first)
set -euo pipefail
cd "$(dirname "$0")/../.."
swift build -c release --product lcm >/dev/null
LCM=.build/release/lcm
OUT=Samples/gallery
PROMPTS=(
  "a red circle on a blue background"
  "a big yellow square on the left on a black background"
  "a small green triangle at the top on a white background"
  "a purple circle in the center on an orange background"
  "a white square on the right, green background"
  "a blue triangle and an orange circle on a purple background"
)
SEEDS=(1 2)
STEPS=(1 2 4)
rm -f "$OUT"/*.png
rows=""
commands=""
for p in "${!PROMPTS[@]}"; do
  prompt=${PROMPTS[$p]}
  row="| $prompt |"
  for seed in "${SEEDS[@]}"; do
    for steps in "${STEPS[@]}"; do
      file="p${p}-seed${seed}-${steps}step.png"
      start=$(date +%s.%N)
      json=$("$LCM" generate "$prompt" --seed "$seed" --steps "$steps" -o "$OUT/$file" --json)
      wall=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
      total=$(echo "$json" | sed -E 's/.*"total":([0-9.]+).*/\1/')
      row+=" ![]($file) |"
      commands+="| \`lcm generate \"$prompt\" --seed $seed --steps $steps -o $file\` | $(printf '%.3f' "$total") | $(printf '%.2f' "$wall") |"$'\n'
    done
  done
  rows+="$row"$'\n'
done
header="| prompt |"; rule="|---|"
for seed in "${SEEDS[@]}"; do for steps in "${STEPS[@]}"; do header+=" seed $seed, $steps step$([ "$steps" = 1 ] || echo s) |"; rule+="---|"; done; done
cat > "$OUT/README.md" <<MD
# Gallery: the embedded model (Weights/lcm-shapes), 64×64

Made by \`Samples/gallery/make_gallery.sh\` on $(date -u +%Y-%m-%d) ($(nproc) cores, $(grep -m1 "model name" /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')),
with the model's default guidance ($(sed -E 's/.*"guidance_scale": *([0-9.]+).*/\1/' Weights/lcm-shapes/lcm_defaults.json)). Each cell is one command; the generation
time is the pipeline's own (text encoder, UNet steps, VAE decode), the wall time includes starting the process and
loading the model.

$header
$rule
$rows
| command | generation (s) | wall (s) |
|---|---:|---:|
$commands
MD
echo "$OUT/README.md"
