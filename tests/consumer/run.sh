#!/usr/bin/env bash
# Installs the built xgrad into a scratch prefix, builds tests/consumer against it, runs it.
# Usage: run.sh BUILD_DIR WORK_DIR [EXTRA_CXX_FLAGS]
set -euo pipefail
build_dir=$1 work=$2 flags=${3:-}
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work"
cmake --install "$build_dir" --prefix "$work/prefix" >/dev/null
cmake -S "$here" -B "$work/build" -DCMAKE_PREFIX_PATH="$work/prefix" \
  -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$flags" >/dev/null
cmake --build "$work/build" >/dev/null
LD_LIBRARY_PATH="$work/prefix/lib:${LD_LIBRARY_PATH:-}" "$work/build/consumer"
