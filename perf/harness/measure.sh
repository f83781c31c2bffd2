# One measurement point and one wrk run. Sourced by perf/run.sh.
#
# run_point SYSTEM LABEL RATE SECONDS FLOWS NEW_FLOWS_PER_S
#   Starts pf_sink (XDP counter) on the sink, snapshots CPU counters, runs pf_gen pinned to
#   $GEN_CPU for SECONDS, lets the path drain, snapshots again, stops the sink. Prints one
#   `result:` line and appends the same fields to $RESULTS (TSV). SYSTEM "generator" sends over
#   the direct d0 → d1 link (the generator's own ceiling); any other system through the node.
#   Figures (per delivered packet):
#     sut_ns     CPU time of the userspace forwarder's threads (schedstat), 0 for kernel paths
#     softirq_ns system-wide softirq time (/proc/stat), every CPU, every namespace
RESULT_FIELDS="system label offered_pps sent delivered seconds delivered_pps loss_pct sut_ns softirq_ns load1 stale"

run_point() {
  local system=$1 label=$2 rate=$3 secs=$4 flows=$5 newflows=$6
  local gen_if=eth0 sink_if=eth0 dst_mac
  if [[ $system == generator ]]; then
    gen_if=d0 sink_if=d1 dst_mac=$(mac_of "$NS_SINK" d1)
  else
    dst_mac=$(mac_of "$NS_NODE" "$LINK_GEN")
  fi
  POINT_SEQ=$((POINT_SEQ + 1))
  local tag=$((0x50460000 + POINT_SEQ))
  sink_start "$sink_if" "$tag" "$((${secs%.*} + 30))"

  local cpu0 soft0 cpu1 soft1 gen_out
  cpu0=$(proc_cpu_ns "$SUT_PID") soft0=$(softirq_ns)
  gen_out=$(nsx "$NS_GEN" nice -n "$NICE" taskset -c "$GEN_CPU" timeout $((${secs%.*} + 10)) "$OUT/pf_gen" -i "$gen_if" -m "$dst_mac" \
    -v "$VIP" -p 53 -r "$rate" -t "$secs" -f "$flows" -n "$newflows" -g "$tag") || die "pf_gen failed: $gen_out"
  sleep 0.3 # frames still in rings and backlogs
  cpu1=$(proc_cpu_ns "$SUT_PID") soft1=$(softirq_ns)
  sink_stop
  local delivered=$SINK_PACKETS

  local sent seconds
  sent=$(sed -n 's/.*sent=\([0-9]*\).*/\1/p' <<<"$gen_out")
  seconds=$(sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' <<<"$gen_out")
  local line
  line=$(awk -v s="$system" -v l="$label" -v r="$rate" -v sent="$sent" -v d="$delivered" -v t="$seconds" \
    -v c0="$cpu0" -v c1="$cpu1" -v q0="$soft0" -v q1="$soft1" -v load="$(cut -d' ' -f1 /proc/loadavg)" -v stale="$SINK_STALE" 'BEGIN {
      dd = d > 0 ? d : 1
      printf "%s\t%s\t%s\t%d\t%d\t%.3f\t%.0f\t%.2f\t%.0f\t%.0f\t%s\t%d\n", s, l, (r > 0 ? r : "max"), sent, d, t,
        d / t, (sent > 0 ? 100 * (sent - d) / sent : 0), (c1 - c0) / dd, (q1 - q0) / dd, load, stale }')
  printf '%s\n' "$line" >>"$RESULTS"
  # shellcheck disable=SC2086
  paste -d= <(tr ' ' '\n' <<<"$RESULT_FIELDS") <(tr '\t' '\n' <<<"$line") | tr '\n' ' ' | sed 's/^/result: /; s/ $/\n/'
}

# run_wrk SYSTEM URL SECONDS CONNECTIONS: wrk from the generator namespace; appends
# system, requests/s, p50, p99 (ms) to $WRK_RESULTS and prints a `wrk:` line.
run_wrk() {
  local system=$1 url=$2 secs=$3 conns=$4 out
  out=$(nsx "$NS_GEN" taskset -c "$GEN_CPU" timeout $((secs + 15)) wrk -t1 -c"$conns" -d"${secs}s" --timeout 2s --latency "$url" 2>&1) ||
    { log "wrk against $system failed: $out"; out=""; }
  local rps p50 p99 errors
  rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
  p50=$(awk '$1 == "50%" { print $2 }' <<<"$out")
  p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
  errors=$(awk '/Socket errors|Non-2xx/ { print }' <<<"$out" | tr '\n' ' ')
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$system" "$url" "${rps:-0}" "${p50:-n/a}" "${p99:-n/a}" "${errors:-none}" >>"$WRK_RESULTS"
  echo "wrk: system=$system url=$url requests_per_s=${rps:-0} p50=${p50:-n/a} p99=${p99:-n/a} errors=${errors:-none}"
}

# Point tags: every point's frames carry their own tag (pf_gen -g), and pf_sink counts only
# that tag, so frames of an overloaded earlier point still draining out of rings never count.
POINT_SEQ=0
PROBE_TAG=$((0x50524f42)) # "PROB"

# sink_start IFNAME TAG SECONDS: pf_sink in the sink namespace; sets SINK_PID.
sink_start() {
  spawn_bg "$WORK/sink.log" "$NS_SINK" "$OUT/pf_sink" "$OUT/pf_xdp.bpf.o" "$1" "$3" "$2"
  SINK_PID=$SPAWNED_PID
  wait_for_line "$WORK/sink.log" "sink: ready" 10
}

# sink_stop: stops pf_sink, sets SINK_PACKETS and SINK_STALE.
sink_stop() {
  stop_pid "$SINK_PID"
  SINK_PACKETS=$(sed -n 's/^sink: packets=\([0-9]*\).*/\1/p' "$WORK/sink.log")
  SINK_STALE=$(sed -n 's/.*stale=\([0-9]*\).*/\1/p' "$WORK/sink.log")
  [[ -n $SINK_PACKETS ]] || die "pf_sink printed no count: $(cat "$WORK/sink.log")"
}

# wait_path_ready SYSTEM: a system is ready when a probe (600 frames, 0.3 s) gets at least half
# through; agents log "published" before every neighbour is resolved. Bounded: 30 tries;
# returns 1 if the path never opened.
wait_path_ready() {
  local system=$1 try begin=$SECONDS mac
  mac=$(mac_of "$NS_NODE" "$LINK_GEN")
  for try in $(seq 30); do
    sink_start eth0 "$PROBE_TAG" 10
    nsx "$NS_GEN" "$OUT/pf_gen" -i eth0 -m "$mac" -v "$VIP" -p 53 -r 2000 -t 0.3 -f 64 -g "$PROBE_TAG" >/dev/null
    sleep 0.2
    sink_stop
    if ((SINK_PACKETS >= 300)); then
      log "$system ready after $((SECONDS - begin)) s ($try probe(s))"
      return 0
    fi
    sleep 0.5
  done
  log "$system: probes through the node never arrived (last: $SINK_PACKETS of 600)"
  return 1
}

# measure_idle SYSTEM SECONDS: CPU the userspace forwarder burns with no traffic (timers,
# resolvers, polling), in ms per second; appended to $IDLE_RESULTS. At low offered rates this,
# not per-packet work, dominates ns/packet, so the report shows it beside every system.
measure_idle() {
  local system=$1 secs=$2 c0 c1 t0
  [[ -n $SUT_PID ]] || return 0
  t0=$(thread_cpu_ns "$SUT_PID")
  c0=$(proc_cpu_ns "$SUT_PID"); sleep "$secs"; c1=$(proc_cpu_ns "$SUT_PID")
  awk -v s="$system" -v a="$c0" -v b="$c1" -v t="$secs" 'BEGIN { printf "%s\t%.2f\n", s, (b - a) / 1e6 / t }' >>"$IDLE_RESULTS"
  log "$system idle: $(tail -1 "$IDLE_RESULTS" | cut -f2) ms CPU per s ($(idle_by_thread "$t0" "$SUT_PID" "$secs"))"
}

# idle_by_thread BEFORE PID SECONDS: the threads that used CPU since BEFORE (a thread_cpu_ns
# snapshot), "name ms/s" each, busiest first — says whether idle cost is polling, timers or the JIT.
idle_by_thread() {
  local before=$1 pid=$2 secs=$3
  awk -F'\t' -v t="$secs" 'NR == FNR { a[$1] = $3; next }
    { d = $3 - a[$1]; if (d > 0) { by[$2] += d } }
    END { for (n in by) if (by[n] / 1e6 / t >= 0.1) printf "%s %.1f\n", n, by[n] / 1e6 / t }' \
    <(printf '%s\n' "$before") <(thread_cpu_ns "$pid") | sort -k2 -rn | head -6 | paste -sd, -
}

# warm_path SECONDS: offered load at $RATE with the probe tag (never counted) before a system's
# points, so steady state is measured: the agent's tiered JIT has compiled the hot loop,
# neighbours of every backend are resolved, conntrack holds the measured flows.
warm_path() {
  local secs=$1
  ((secs > 0)) || return 0
  nsx "$NS_GEN" nice -n "$NICE" taskset -c "$GEN_CPU" "$OUT/pf_gen" -i eth0 -m "$(mac_of "$NS_NODE" "$LINK_GEN")" \
    -v "$VIP" -p 53 -r "$RATE" -t "$secs" -f "$MAIN_FLOWS" -g "$PROBE_TAG" >/dev/null
  sleep 0.5 # let the backlog drain before the first point
}
