#!/usr/bin/env bash
# Sums the counters of every TRX file under a results directory and prints the runner's
# closing line "N passed, N failed, N skipped" (CI reads it). Above it, each failed test with the
# head and tail of its message: CI keeps only the tail of the output, so the why must be there too.
set -euo pipefail
dir=${1:?usage: summarize-trx.sh RESULTS_DIR}
message_lines=${FASTPATH_FAILURE_LINES:-12}
passed=0 failed=0 skipped=0 files=0
shopt -s nullglob globstar

# Prints "FAILED: name" and the message of every failed result in one TRX file, XML-unescaped.
failures() {
  awk -v max="$message_lines" '
    function unescape(s) {
      gsub(/&lt;/, "<", s); gsub(/&gt;/, ">", s); gsub(/&quot;/, "\"", s); gsub(/&apos;/, "\047", s)
      gsub(/&#xD;/, "", s); gsub(/&#xA;/, " ", s); gsub(/&amp;/, "\\&", s); return s
    }
    /<UnitTestResult / {
      failed = ($0 ~ /outcome="Failed"/)
      if (failed) { name = $0; sub(/.*testName="/, "", name); sub(/".*/, "", name); print "FAILED: " unescape(name) }
      in_message = 0
    }
    failed && /<Message>/ { in_message = 1; n = 0; sub(/.*<Message>/, "") }
    in_message {
      line = $0; last = sub(/<\/Message>.*/, "", line)
      lines[++n] = unescape(line)
      if (last) { show(); in_message = 0; failed = 0 }
    }
    # A long message (a demo transcript) keeps its head and its tail, where the verdict is.
    function show(   i, half) {
      half = int(max / 2)
      for (i = 1; i <= n; i++)
        if (n <= max || i <= half || i > n - half) print "    " lines[i]
        else if (i == half + 1) print "    … (" (n - 2 * half) " lines)"
    }
  ' "$1"
}

for trx in "$dir"/**/*.trx; do
  files=$((files + 1))
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
  get() { sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p" <<<"$counters"; }
  passed=$((passed + $(get passed)))
  failed=$((failed + $(get failed) + $(get error) + $(get timeout) + $(get aborted)))
  skipped=$((skipped + $(get notExecuted)))
  failures "$trx"
done
if ((files == 0)); then
  echo "no test results found in $dir (did the test run start?)"
  failed=$((failed + 1))
fi
echo "${passed} passed, ${failed} failed, ${skipped} skipped"
