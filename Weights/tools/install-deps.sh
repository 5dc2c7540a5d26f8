#!/usr/bin/env bash
# Installs the system libraries swift-lcm links against (OpenBLAS, libpng, pkg-config) when they are missing.
# Debian/Ubuntu; run as root or with sudo available.
set -euo pipefail
need=()
for pkg in libopenblas-dev libpng-dev pkg-config; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
[ ${#need[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq "${need[@]}"
