#!/usr/bin/env bash
# Sums the counters of every TRX file under a results directory and prints the runner's
# closing line "N passed, N failed, N skipped" (CI reads it). Lists failed tests above it.
set -euo pipefail
dir=${1:?usage: summarize-trx.sh RESULTS_DIR}
passed=0 failed=0 skipped=0 files=0
shopt -s nullglob globstar
for trx in "$dir"/**/*.trx; do
  files=$((files + 1))
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
  get() { sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p" <<<"$counters"; }
  passed=$((passed + $(get passed)))
  failed=$((failed + $(get failed) + $(get error) + $(get timeout) + $(get aborted)))
  skipped=$((skipped + $(get notExecuted)))
  grep -o '<UnitTestResult [^>]*outcome="Failed"[^>]*>' "$trx" \
    | sed -n 's/.*testName="\([^"]*\)".*/FAILED: \1/p' || true
done
if ((files == 0)); then
  echo "no test results found in $dir (did the test run start?)"
  failed=$((failed + 1))
fi
echo "${passed} passed, ${failed} failed, ${skipped} skipped"
