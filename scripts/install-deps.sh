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
  doxygen libsentencepiece-dev
)
if [[ "${1:-}" == "--with-torch" ]]; then
  packages+=(python3-torch)
fi
# For the browser tests of the HTML pages (tests/browser_test.py) and the PyTorch interop test
# (tests/python_interop_test.py): wanted, but a machine that cannot install them still builds and
# tests everything else (those tests then report themselves skipped).
optional=(chromium chromium-driver fonts-dejavu-core python3-torch)  # a font: the screenshots show text

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
missing=() missing_optional=()
for p in "${packages[@]}"; do installed "$p" || missing+=("$p"); done
for p in "${optional[@]}"; do installed "$p" || missing_optional+=("$p"); done

if [[ ${#missing[@]} -eq 0 && ${#missing_optional[@]} -eq 0 ]]; then
  echo "install-deps: all $(( ${#packages[@]} + ${#optional[@]} )) packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]} ${missing_optional[*]}"
if [[ $(id -u) -eq 0 ]]; then
  sudo_cmd=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo_cmd=(sudo)
else
  echo "install-deps: not root and no password-less sudo; run:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]} ${missing_optional[*]}" >&2
  [[ ${#missing[@]} -eq 0 ]] && exit 0  # only the optional ones: the browser test will say it skipped
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# The package lists of a fresh machine may be empty or stale: refresh once before installing.
"${sudo_cmd[@]}" apt-get update -qq
if [[ ${#missing[@]} -gt 0 ]]; then
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
if [[ ${#missing_optional[@]} -gt 0 ]]; then
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing_optional[@]}" ||
    echo "install-deps: could not install ${missing_optional[*]}: the browser test will be skipped" >&2
fi
