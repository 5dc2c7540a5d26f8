#!/usr/bin/env bash
# Creates or updates the Python venv for Weights/tools and prints the path of its python.
#
#   Weights/tools/setup_venv.sh [VENV_DIR]
#
# VENV_DIR defaults to ${LCM_VENV:-$HOME/.cache/swift-lcm/venv}. Re-running is cheap: pip only runs when
# requirements.txt changed since the last successful install. PYTHON selects the interpreter used to create
# the venv (default python3, 3.10 or newer). PyPI's Linux torch wheel pulls in the CUDA libraries (several GB);
# LCM_TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu adds the much smaller CPU-only builds.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${1:-${LCM_VENV:-$HOME/.cache/swift-lcm/venv}}"
requirements="$here/requirements.txt"
torch_index="${LCM_TORCH_INDEX_URL:-}"

if [ ! -x "$venv/bin/python" ]; then
    mkdir -p "$(dirname "$venv")"
    "${PYTHON:-python3}" -m venv "$venv"
fi

stamp="$venv/.swift-lcm-requirements.sha256"
wanted="$(sha256sum "$requirements" | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
    index_args=()
    if [ -n "$torch_index" ]; then
        index_args=(--extra-index-url "$torch_index")
    fi
    "$venv/bin/python" -m pip install --quiet ${index_args[@]+"${index_args[@]}"} -r "$requirements" >&2
    echo "$wanted" > "$stamp"
fi

echo "$venv/bin/python"
