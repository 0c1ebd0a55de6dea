#!/usr/bin/env bash
# Installs the Debian packages xgrad needs, skipping those already present.
# Idempotent: a second run installs nothing and prints nothing but a summary line.
# Usage: scripts/install-deps.sh [--with-torch]   (torch is only for bench/)
set -euo pipefail

packages=(
  cmake g++ make pkg-config
  libxtensor-dev xtl-dev libxsimd-dev libxtensor-blas-dev libopenblas-dev
  libfmt-dev catch2 nlohmann-json3-dev libcli11-dev
  python3-numpy openmpi-bin libopenmpi-dev
  clang libclang-rt-14-dev libomp-14-dev
)
if [[ "${1:-}" == "--with-torch" ]]; then
  packages+=(python3-torch)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
if [[ $(id -u) -eq 0 ]]; then
  sudo_cmd=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo_cmd=(sudo)
else
  echo "install-deps: not root and no password-less sudo; run:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# The package lists of a fresh machine may be empty or stale: refresh once before installing.
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
