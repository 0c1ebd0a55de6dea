#!/usr/bin/env bash
# The front page and the docs as a reader meets them: the README's C++ block is
# examples/quickstart.cpp byte for byte (the suite builds and runs that file, so the block
# compiles as printed), and every relative link or image in README.md and docs/*.md exists.
# Usage: docs_test.sh SOURCE_DIR
set -uo pipefail
cd "$1" || exit 1
failures=0 checks=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

checks=$((checks + 1))
awk '/^```cpp$/ { inside = 1; next } /^```$/ && inside { exit } inside { print }' README.md > /tmp/readme_block.$$
cmp -s /tmp/readme_block.$$ examples/quickstart.cpp \
  || fail "README's C++ block differs from examples/quickstart.cpp: $(diff /tmp/readme_block.$$ examples/quickstart.cpp | head -5)"
rm -f /tmp/readme_block.$$

for doc in README.md docs/*.md; do
  dir=$(dirname "$doc")
  # ](target) links and images, without #anchors; skip web addresses.
  for target in $(grep -oE '\]\([^) #]+(#[^) ]*)?\)' "$doc" | sed -E 's/^\]\(//; s/[#)].*$//' | grep -vE '^[a-z]+://|^$'); do
    checks=$((checks + 1))
    [ -e "$dir/$target" ] || fail "$doc links to $target, which does not exist"
  done
done
echo "docs_test: $((checks - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
