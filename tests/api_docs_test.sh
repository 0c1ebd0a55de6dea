#!/usr/bin/env bash
# The API reference is complete: Doxygen over the public headers (docs/Doxyfile) gives no
# warning at all, so an undocumented public class, function or member, or a malformed doc
# comment, fails the suite. First it proves that it would notice: a header with one
# undocumented function must produce a warning.
# Usage: api_docs_test.sh SOURCE_DIR WORK_DIR
set -uo pipefail
src=$1 work=$2
command -v doxygen > /dev/null || { echo "api_docs_test: doxygen is not installed (scripts/install-deps.sh installs it)"; exit 1; }
rm -rf "$work" && mkdir -p "$work/probe" "$work/out"
cd "$src" || exit 1

printf '#pragma once\n/// \\file\n/// A probe.\nnamespace probe {\nint undocumented(int x);\n}\n' > "$work/probe/probe.hpp"
(cat docs/Doxyfile; echo "INPUT = $work/probe"; echo "USE_MDFILE_AS_MAINPAGE ="; echo "WARN_LOGFILE = $work/probe.log") |
  XGRAD_DOCS_OUT="$work/probe" doxygen - > /dev/null 2>&1
grep -q "undocumented.*is not documented" "$work/probe.log" ||
  { echo "FAIL: doxygen did not report an undocumented function: $(cat "$work/probe.log")"; exit 1; }

XGRAD_DOCS_OUT="$work/out" doxygen docs/Doxyfile > "$work/doxygen.out" 2>&1 || { cat "$work/doxygen.out"; exit 1; }
[ -s "$work/out/html/index.html" ] || { echo "FAIL: no html/index.html"; exit 1; }
if [ -s "$work/out/warnings.log" ]; then
  echo "FAIL: $(wc -l < "$work/out/warnings.log") warnings in the API reference (document every public symbol):"
  head -40 "$work/out/warnings.log"
  exit 1
fi
pages=$(find "$work/out/html" -name '*.html' | wc -l)
grep -q "cross_entropy" "$work/out/html/"*.html || { echo "FAIL: cross_entropy is missing from the reference"; exit 1; }
echo "api_docs_test: no warnings, $pages pages"
