#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and runs each for a bounded time from the seed corpus
# in fuzz/corpus/. Fails (non-zero) on any finding; prints executions per target.
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET]   (default 60)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
build=build-fuzz
mkdir -p "$build"
CXX=clang++ cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DXGRAD_FUZZ=ON -DXGRAD_BUILD_TESTS=OFF -DXGRAD_MPI=OFF \
  -DXGRAD_BUILD_EXAMPLES=OFF > "$build/configure.log"
cmake --build "$build" -j "$(nproc)" > "$build/build.log"
for target in tsv vocab safetensors config state_metadata; do
  work=$(mktemp -d)
  cp -r "fuzz/corpus/$target/." "$work/"
  echo "fuzz: $target for $seconds s"
  if ! OMP_NUM_THREADS=1 "$build/fuzz/fuzz_$target" -max_total_time="$seconds" -max_len=4096 -print_final_stats=1 \
       -artifact_prefix="$build/crash-$target-" "$work" > "$build/fuzz_$target.log" 2>&1; then
    tail -n 40 "$build/fuzz_$target.log"
    echo "fuzz: $target FOUND A CRASH (artifact under $build/)" >&2
    exit 1
  fi
  grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$build/fuzz_$target.log" | sed "s/^/  $target /"
  rm -rf "$work"
done
