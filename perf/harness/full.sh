# The full run of perf/run.sh (bounded by FULL_BUDGET_S: points that would start later are
# skipped and listed as skipped). Sourced; uses RATE, POINT_SECONDS, the topology and systems.

FULL_BUDGET_S=540          # stop starting new points after 9 minutes
SCALING_MAGLEV_M=1021      # Maglev table size for every scaling point: 20,000 frontends × 16381
                           # slots would need 1.3 GB; one M for the whole axis keeps points comparable
SCALING_CT_CAPACITY=4194304  # ct entries for every scaling point (two per flow: 1M flows fit)
MAIN_FLOWS=1024
SKIPPED=()

within_budget() {
  (( SECONDS - START < FULL_BUDGET_S )) && return 0
  SKIPPED+=("$1"); log "time budget spent: skipping $1"; return 1
}

# main comparison: every system at max rate and at the equal offered load, then wrk.
main_comparison() {
  local system
  for system in generator fwd fastpath nft routing; do
    within_budget "$system (main)" || continue
    log "main: $system"
    [[ $system != generator ]] && sut_start "$system"
    run_point "$system" max 0 "$POINT_SECONDS" "$MAIN_FLOWS" 0
    run_point "$system" equal "$RATE" "$POINT_SECONDS" "$MAIN_FLOWS" 0
    [[ -n $SUT_HTTP_URL ]] && run_wrk "$system" "$SUT_HTTP_URL" "$POINT_SECONDS" 16
    sut_stop
  done
}

# scaling_point AXIS X SYSTEM SERVICES BACKENDS FLOWS NEW_FLOWS_PER_S
scaling_point() {
  local axis=$1 x=$2 system=$3 services=$4 backends=$5 flows=$6 newflows=$7
  within_budget "$system $axis=$x" || return 0
  log "scaling: $system $axis=$x"
  if [[ $system == fastpath ]]; then
    sut_start fastpath "$services" "$backends" "$SCALING_CT_CAPACITY" "$SCALING_MAGLEV_M"
  else
    sut_start nft "$backends"
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
  for x in 1 100 1000 10000; do scaling_point services "$x" fastpath "$x" 1 "$MAIN_FLOWS" 0; done
  for x in 1 10 100 1000; do
    topo_set_backends "$x"
    scaling_point backends "$x" fastpath 1 "$x" "$MAIN_FLOWS" 0
    scaling_point backends "$x" nft 1 "$x" "$MAIN_FLOWS" 0
  done
  topo_set_backends 1
  for x in 1000 10000 100000 1000000; do scaling_point ct "$x" fastpath 1 1 "$x" 0; done
  for x in 0 1000 5000 "$RATE"; do scaling_point newflows "$x" fastpath 1 1 "$MAIN_FLOWS" "$x"; done
}

full_run() {
  log "full: run $RID, equal offered load $RATE pps, ${POINT_SECONDS}s per point, budget ${FULL_BUDGET_S}s"
  machine_description >"$WORK/machine.txt"
  topo_create "$RID"
  spawn_bg "$WORK/http.log" "$NS_SINK" "$OUT/pf_http" 8080 900
  wait_for_line "$WORK/http.log" "http: ready" 10
  main_comparison
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
