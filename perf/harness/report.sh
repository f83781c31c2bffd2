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
  (($(wc -l <"$points") == 6)) || { log "smoke FAILED: expected 6 systems, measured $(wc -l <"$points")"; failed=1; }
  ((failed == 0)) || exit 1
}

# total CPU ns per delivered packet of a points.tsv row: forwarder threads + system softirq.
# awk helper text shared by the report functions.
TOTAL_AWK='function total(sut, soft) { return sut + soft }'

# lookup POINTS SYSTEM LABEL FIELD(1-based): one value, or empty.
lookup() { awk -F'\t' -v s="$2" -v l="$3" -v f="$4" '$1 == s && $2 == l { print $f; exit }' "$1"; }

# verdict NAME VALUE OP LIMIT: "met"/"missed"/"not measured" with the figure.
verdict() {
  local name=$1 value=$2 op=$3 limit=$4
  if [[ -z $value ]]; then echo "| $name | not measured | $op $limit | — |"; return; fi
  awk -v n="$name" -v v="$value" -v o="$op" -v l="$limit" 'BEGIN {
    ok = (o == ">=") ? v >= l : v <= l
    printf "| %s | %.2f | %s %s | %s |\n", n, v, o, l, ok ? "met" : "**missed**" }'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) exit; printf "%.4f\n", a / b }'; }

# plot_axis POINTS AXIS PNG: total CPU ns/packet against the axis value, one line per system.
plot_axis() {
  local points=$1 axis=$2 png=$3 data system plotcmd="" sep=""
  command -v gnuplot >/dev/null || { log "gnuplot missing: no $png"; return 0; }
  for system in fastpath fastpath-policy nft; do
    data="$WORK/plot-$axis-$system.dat"
    awk -F'\t' -v a="$axis" -v s="$system" "$TOTAL_AWK"' $1 == s && index($2, a "=") == 1 {
      split($2, kv, "="); print kv[2], total($9, $10) }' "$points" >"$data"
    [[ -s $data ]] || continue
    plotcmd+="$sep'$data' using 1:2 with linespoints title '$system'"; sep=", "
  done
  [[ -n $plotcmd ]] || return 0
  local logx=""
  [[ $axis != newflows ]] && logx="set logscale x"
  gnuplot <<GP
set terminal png size 720,420
set output '$png'
set title 'CPU ns per delivered packet vs $axis (offered $RATE pps)'
set xlabel '$axis'
set ylabel 'CPU ns / packet (forwarder threads + softirq)'
set yrange [0:*]
set grid
set key left top
$logx
plot $plotcmd
GP
}

write_report() {
  local dir=$1 points=$RESULTS md
  mkdir -p "$dir"
  cp "$RESULTS" "$dir/veth-points.tsv"; cp "$WRK_RESULTS" "$dir/veth-wrk.tsv"
  local axis
  for axis in services backends ct newflows; do plot_axis "$points" "$axis" "$dir/veth-scaling-$axis.png"; done

  local fp_max fw_max fp_eq fw_eq nft_eq pol_max pol_eq
  fp_max=$(lookup "$points" fastpath max 7) fw_max=$(lookup "$points" fwd max 7)
  pol_max=$(lookup "$points" fastpath-policy max 7)
  pol_eq=$(awk -F'\t' -v s=fastpath-policy "$TOTAL_AWK"' $1 == s && $2 == "equal" { print total($9, $10) }' "$points")
  fp_eq=$(awk -F'\t' -v s=fastpath "$TOTAL_AWK"' $1 == s && $2 == "equal" { print total($9, $10) }' "$points")
  fw_eq=$(awk -F'\t' -v s=fwd "$TOTAL_AWK"' $1 == s && $2 == "equal" { print total($9, $10) }' "$points")
  nft_eq=$(awk -F'\t' -v s=nft "$TOTAL_AWK"' $1 == s && $2 == "equal" { print total($9, $10) }' "$points")

  md="$dir/veth-harness.md"
  {
    echo "# veth harness: results of the last full run"
    echo
    echo "Absolute rates mean little on veth: compare within the run. Load averages (on $(nproc) CPUs)"
    echo "below and per point: a point measured at a load near or above the CPU count is not quiet."
    echo
    echo "Command: \`sudo perf/run.sh --rate $RATE --seconds $POINT_SECONDS\` (run id $RID)."
    echo
    echo "Machine at the start:"; cat "$WORK/machine.txt"
    echo; echo "At the end:"; cat "$WORK/machine-end.txt"
    echo
    echo "## Packets (UDP, $MAIN_FLOWS flows, 58-byte frames)"
    echo
    echo "CPU ns per delivered packet: *forwarder* = CPU time of the userspace forwarder's threads"
    echo "(/proc/PID/task/*/schedstat, ns; pf_fwd or the agent); *softirq* = system-wide softirq time"
    echo "(/proc/stat, tick-sampled), which holds the kernel paths' forwarding, every XDP program and"
    echo "the sink's counter; *total* = the sum. The generator row is the floor every path pays."
    echo
    echo "| system | run | offered pps | sent | delivered | delivered pps | loss % | forwarder ns/pkt | softirq ns/pkt | total ns/pkt | load |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    awk -F'\t' "$TOTAL_AWK"' $2 == "max" || $2 == "equal" {
      printf "| %s | %s | %s | %d | %d | %d | %.2f | %d | %d | %d | %s |\n", $1, $2, $3, $4, $5, $7, $8, $9, $10, total($9, $10), $11 }' "$points"
    echo
    echo "## HTTP through the VIP (wrk -t1 -c16 -d${POINT_SECONDS}s from the generator namespace to pf_http)"
    echo
    echo "| system | URL | requests/s | p50 | p99 | errors |"
    echo "|---|---|---:|---:|---:|---|"
    awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6 }' "$WRK_RESULTS"
    echo
    echo "pf_fwd has no load balancing (no DNAT), so it has no wrk row; routing asks backend 0 directly."
    echo
    echo "## Policy on and off"
    echo
    echo "*fastpath* is the agent in standalone mode (\`--services\`: no policy exists there);"
    echo "*fastpath-policy* is the same agent, devices, tables and offered load in mesh mode (Service +"
    echo "EndpointSlice manifests, identities and ipcache prefixes in an etcd inside the node namespace)"
    echo "with a CiliumNetworkPolicy that allows the generator → backend traffic on egress and on ingress:"
    echo "every new flow is checked twice, established flows compare their cached policy revision."
    echo
    echo "| figure | policy on / policy off |"
    echo "|---|---:|"
    echo "| delivered pps at max rate | $(ratio "$pol_max" "$fp_max") |"
    echo "| total ns/pkt at equal load | $(ratio "$pol_eq" "$fp_eq") |"
    if [[ -s $WORK/policy-check.txt ]]; then
      echo
      echo "Enforcement check (the allow policy swapped for one whose ingress peer no identity has):"
      echo; sed 's/^/    /' "$WORK/policy-check.txt"
    fi
    echo
    echo "## Idle cost (userspace forwarders, no traffic, 2 s)"
    echo
    echo "| system | CPU ms per s |"
    echo "|---|---:|"
    awk -F'\t' '{ printf "| %s | %s |\n", $1, $2 }' "$IDLE_RESULTS"
    echo
    echo "At an offered rate R, idle cost adds (ms per s × 1e6 / R) ns to every packet."
    if [[ -s $WORK/profile.txt ]]; then
      echo
      echo "## Profile: FastPath agent at $RATE pps (perf record -e cpu-clock -g -p AGENT, perf map on)"
      echo
      echo "By thread:"
      echo; sed 's/^/    /' "$WORK/profile-threads.txt"
      echo; echo "By DSO and symbol (>= 1.5 %):"
      echo; sed 's/^/    /' "$WORK/profile.txt"
    fi
    echo
    echo "## Targets"
    echo
    echo "| target | measured | limit | verdict |"
    echo "|---|---:|---:|---|"
    verdict "FastPath pps / pf_fwd pps (max rate)" "$(ratio "$fp_max" "$fw_max")" ">=" 0.8
    verdict "FastPath ns/pkt / pf_fwd ns/pkt (equal load)" "$(ratio "$fp_eq" "$fw_eq")" "<=" 1.25
    verdict "FastPath ns/pkt / nftables DNAT ns/pkt (equal load)" "$(ratio "$fp_eq" "$nft_eq")" "<=" 0.5
    verdict "FastPath policy on pps / pf_fwd pps (max rate)" "$(ratio "$pol_max" "$fw_max")" ">=" 0.8
    verdict "FastPath policy on ns/pkt / pf_fwd ns/pkt (equal load)" "$(ratio "$pol_eq" "$fw_eq")" "<=" 1.25
    verdict "FastPath policy on ns/pkt / nftables DNAT ns/pkt (equal load)" "$(ratio "$pol_eq" "$nft_eq")" "<=" 0.5
    for axis in services backends ct newflows; do
      local spread
      spread=$(awk -F'\t' -v a="$axis" "$TOTAL_AWK"' $1 == "fastpath" && index($2, a "=") == 1 {
        t = total($9, $10); if (n++ == 0 || t < lo) lo = t; if (t > hi) hi = t }
        END { if (n > 1 && lo > 0) printf "%.4f\n", hi / lo }' "$points")
      verdict "FastPath ns/pkt max/min across $axis" "$spread" "<=" 1.2
    done
    echo
    echo "## Scaling (offered $RATE pps, ${POINT_SECONDS}s per point, Maglev M = $SCALING_MAGLEV_M, ct capacity $SCALING_CT_CAPACITY)"
    echo
    echo "| system | point | delivered pps | loss % | forwarder ns/pkt | softirq ns/pkt | total ns/pkt | load |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|"
    awk -F'\t' "$TOTAL_AWK"' $2 != "max" && $2 != "equal" && $2 != "profile" {
      printf "| %s | %s | %d | %.2f | %d | %d | %d | %s |\n", $1, $2, $7, $8, $9, $10, total($9, $10), $11 }' "$points"
    echo
    for axis in services backends ct newflows; do
      [[ -f $dir/veth-scaling-$axis.png ]] && echo "![$axis](veth-scaling-$axis.png)"
    done
    if [[ -s $WORK/warmup.log ]]; then
      echo; echo "ct warm-ups (every flow sent once at full speed before the point):"; echo
      sed 's/^/    /' "$WORK/warmup.log"
    fi
    if ((${#SKIPPED[@]})); then
      echo; echo "Skipped (time budget ${FULL_BUDGET_S}s spent): ${SKIPPED[*]}"
    fi
  } >"$md"
}
