# Verdicts and reports of perf/run.sh. Sourced.

# smoke_verdict POINTS WRK: every system delivered packets with under half lost, and every
# HTTP-capable system answered wrk; otherwise exit 1 naming the system.
smoke_verdict() {
  local points=$1 wrk=$2 failed=0
  while IFS=$'\t' read -r system _ _ sent delivered _ _ loss _; do
    if ((delivered == 0)) || awk -v l="$loss" 'BEGIN { exit !(l > 50) }'; then
      log "smoke FAILED: $system delivered $delivered of $sent packets"; failed=1
    fi
  done <"$points"
  while IFS=$'\t' read -r system url rps _; do
    if awk -v r="$rps" 'BEGIN { exit !(r <= 0) }'; then
      log "smoke FAILED: wrk through $system ($url) got no responses"; failed=1
    fi
  done <"$wrk"
  (($(wc -l <"$points") == 5)) || { log "smoke FAILED: expected 5 systems, measured $(wc -l <"$points")"; failed=1; }
  ((failed == 0)) || exit 1
}
