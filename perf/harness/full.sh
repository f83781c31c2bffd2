# The full run of perf/run.sh (bounded by FULL_BUDGET_S: points that would start later are
# skipped and listed as skipped). Sourced; uses RATE, POINT_SECONDS, the topology and systems.

FULL_BUDGET_S=540          # stop starting new points after 9 minutes
SCALING_MAGLEV_M=1021      # Maglev table size for every scaling point: 20,000 frontends × 16381
                           # slots would need 1.3 GB; one M for the whole axis keeps points comparable
SCALING_CT_CAPACITY=4194304  # ct entries for every scaling point (two per flow: 1M flows fit)
MAIN_FLOWS=1024           # flows of every point but the ct axis
SKIPPED=()

within_budget() {
  (( SECONDS - START < FULL_BUDGET_S )) && return 0
  SKIPPED+=("$1"); log "time budget spent: skipping $1"; return 1
}

# main comparison: every system at max rate and at the equal offered load, then wrk.
main_comparison() {
  local system
  for system in generator fwd fastpath fastpath-policy nft routing; do
    within_budget "$system (main)" || continue
    log "main: $system"
    if [[ $system != generator ]]; then
      sut_start "$system" || { SKIPPED+=("$system (main: never forwarded the probes)"); continue; }
      measure_idle "$system" 2
    fi
    run_point "$system" max 0 "$POINT_SECONDS" "$MAIN_FLOWS" 0
    run_point "$system" equal "$RATE" "$POINT_SECONDS" "$MAIN_FLOWS" 0
    [[ -n $SUT_HTTP_URL ]] && run_wrk "$system" "$SUT_HTTP_URL" "$POINT_SECONDS" 16
    [[ $system == fastpath-policy ]] && policy_check
    sut_stop
  done
}

# scaling_point AXIS X SYSTEM SERVICES BACKENDS FLOWS NEW_FLOWS_PER_S
scaling_point() {
  local axis=$1 x=$2 system=$3 services=$4 backends=$5 flows=$6 newflows=$7
  within_budget "$system $axis=$x" || return 0
  log "scaling: $system $axis=$x"
  if [[ $system == fastpath* ]]; then
    sut_start "$system" "$services" "$backends" "$SCALING_CT_CAPACITY" "$SCALING_MAGLEV_M" ||
      { SKIPPED+=("$system $axis=$x (never forwarded the probes)"); return 0; }
  else
    sut_start nft "$backends" "$services" || { SKIPPED+=("$system $axis=$x (never forwarded the probes)"); return 0; }
  fi
  if ((flows > MAIN_FLOWS)); then
    # Warm-up: touch every flow once at full speed (bounded to 15 s; probe tag, not counted) so ct holds them all;
    # the sent count is logged, so a warm-up that fell short is visible.
    local warm
    warm=$(nsx "$NS_GEN" taskset -c "$GEN_CPU" "$OUT/pf_gen" -i eth0 -m "$(mac_of "$NS_NODE" "$LINK_GEN")" \
      -v "$VIP" -p 53 -r 0 -t 15 -c "$flows" -f "$flows" -n 0 -g "$PROBE_TAG" 2>&1 | head -1)
    log "warm-up for $flows flows: $warm"
    echo "warm-up $axis=$x: $warm" >>"$WORK/warmup.log"
  fi
  run_point "$system" "$axis=$x" "$RATE" "$POINT_SECONDS" "$flows" "$newflows"
  sut_stop
}

scaling_curves() {
  local x
  for x in 1 100 1000 10000; do
    scaling_point services "$x" fastpath "$x" 1 "$MAIN_FLOWS" 0
    scaling_point services "$x" nft "$x" 1 "$MAIN_FLOWS" 0
  done
  for x in 1 10 100 1000; do
    topo_set_backends "$x"
    scaling_point backends "$x" fastpath 1 "$x" "$MAIN_FLOWS" 0
    scaling_point backends "$x" nft 1 "$x" "$MAIN_FLOWS" 0
  done
  topo_set_backends 1
  for x in 1000 10000 100000 1000000; do scaling_point ct "$x" fastpath 1 1 "$x" 0; done
  for x in 0 1000 5000 "$RATE"; do
    scaling_point newflows "$x" fastpath 1 1 "$MAIN_FLOWS" "$x"
    scaling_point newflows "$x" fastpath-policy 1 1 "$MAIN_FLOWS" "$x" # policy is evaluated per new flow
    scaling_point newflows "$x" nft 1 1 "$MAIN_FLOWS" "$x"
  done
}

full_run() {
  log "full: run $RID, equal offered load $RATE pps, ${POINT_SECONDS}s per point, budget ${FULL_BUDGET_S}s"
  machine_description >"$WORK/machine.txt"
  topo_create "$RID"
  policy_kvstore_spawn
  spawn_bg "$WORK/http.log" "$NS_SINK" "$OUT/pf_http" 8080 900
  wait_for_line "$WORK/http.log" "http: ready" 10
  main_comparison
  profile_fastpath
  scaling_curves
  machine_description >"$WORK/machine-end.txt"
  write_report "$ROOT/perf/results"
  log "full run done in $((SECONDS - START)) s; results in perf/results/veth-harness.md (raw: $WORK)"
}

machine_description() {
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- nproc: $(nproc); CPU: $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
  echo "- kernel: $(uname -r); $(grep -q '^CONFIG_IRQ_TIME_ACCOUNTING=y' "/boot/config-$(uname -r)" 2>/dev/null && echo 'IRQ time accounting on' || echo 'no IRQ time accounting (softirq time is tick-sampled)')"
  echo "- load average: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- FastPath: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
}

# profile_fastpath: one more equal-load point with `perf record -e cpu-clock` on the agent
# (software clock: this VM exposes no hardware counters) and the agent writing a perf map
# (DOTNET_PerfMapEnabled=1) so JIT-compiled frames have names. Top symbols go in the report.
profile_fastpath() {
  command -v perf >/dev/null || { SKIPPED+=("profile (no perf)"); return 0; }
  within_budget "profile" || return 0
  log "profile: fastpath at $RATE pps"
  # W^X off: with it on, JIT code runs from a double mapping perf cannot name.
  export DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0
  sut_start fastpath || { unset DOTNET_PerfMapEnabled DOTNET_EnableWriteXorExecute; SKIPPED+=("profile (never ready)"); return 0; }
  unset DOTNET_PerfMapEnabled DOTNET_EnableWriteXorExecute
  local agent_pid=$SUT_PID
  perf record -q -e cpu-clock -F 1999 -g -p "$SUT_PID" -o "$WORK/perf.data" -- sleep "$POINT_SECONDS" >/dev/null 2>&1 &
  local perf_pid=$!
  run_point fastpath profile "$RATE" "$POINT_SECONDS" "$MAIN_FLOWS" 0 >/dev/null
  wait "$perf_pid" || true
  perf report -q -i "$WORK/perf.data" --stdio --no-children --sort dso,symbol --percent-limit 1.5 -g none \
    2>/dev/null | sed 's/[[:space:]]*$//' | grep -v '^$' | head -40 >"$WORK/profile.txt" || true
  perf report -q -i "$WORK/perf.data" --stdio --no-children --sort comm --percent-limit 1 -g none \
    2>/dev/null | grep -v '^$' | head -20 >"$WORK/profile-threads.txt" || true
  sut_stop
  rm -f /tmp/perf-"$agent_pid".map /tmp/perfinfo-"$agent_pid".map 2>/dev/null || true
}
