#!/usr/bin/env bash
# The veth perf harness (perf/README.md, "veth harness"): one generator, one topology, every
# system under test back to back, so the figures can be read as ratios of one run.
#
#   perf/run.sh --smoke   a few seconds, tiny load, one pass over every system; exits non-zero
#                         unless packets got through each (run by tests/Datapath.Tests)
#   perf/run.sh           the full run (bounded to ~10 minutes): generator ceiling, pf_fwd,
#                         FastPath (policy off, and on: mesh mode + etcd), nftables DNAT, kernel routing at max and at equal offered
#                         load, wrk through the VIP, FastPath scaling curves; writes
#                         perf/results/veth-harness.md and PNG plots
#   options: --rate PPS (equal offered load, default 50000)  --seconds S (per point, default 3)
#
# Needs root, bin/fastpath (./build.sh build), clang/libbpf/libxdp, wrk, etcd + etcdctl, curl;
# gnuplot for plots.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
ROOT=$PWD
HARNESS="$ROOT/perf/harness"
# shellcheck source=harness/lib.sh
source "$HARNESS/lib.sh"
source "$HARNESS/topology.sh"
source "$HARNESS/systems.sh"
source "$HARNESS/policy.sh"
source "$HARNESS/measure.sh"
source "$HARNESS/report.sh"
source "$HARNESS/full.sh"

MODE=full RATE=50000 POINT_SECONDS=3
while (($#)); do
  case $1 in
    --smoke) MODE=smoke ;;
    --rate) RATE=$2; shift ;;
    --seconds) POINT_SECONDS=$2; shift ;;
    *) die "unknown option '$1': expected --smoke, --rate PPS or --seconds S" ;;
  esac
  shift
done
[[ $RATE =~ ^[0-9]+$ && $RATE -gt 0 ]] || die "--rate '$RATE': expected a positive packets/s"
[[ $POINT_SECONDS =~ ^[0-9]+$ && $POINT_SECONDS -ge 1 && $POINT_SECONDS -le 30 ]] || die "--seconds '$POINT_SECONDS': expected 1-30"

[[ $EUID -eq 0 ]] || die "needs root (namespaces, veth, XDP)"
PERF_APT=(clang make libbpf-dev libxdp-dev iproute2 ethtool nftables wrk etcd-server etcd-client curl)
[[ $MODE == full ]] && PERF_APT+=(gnuplot-nox)
missing=()
for p in "${PERF_APT[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  log "installing ${missing[*]}"
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
FASTPATH="$ROOT/bin/fastpath"
[[ -x $FASTPATH ]] || die "bin/fastpath not found: run ./build.sh build first"
mount | grep -q ' /sys/fs/bpf type bpf' || mount -t bpf bpf /sys/fs/bpf

OUT="$ROOT/out/perf"
make -s -C perf/native OUT="$OUT"

RID=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
WORK=$(mktemp -d /tmp/fastpath-perf-XXXXXX)
RESULTS="$WORK/points.tsv" WRK_RESULTS="$WORK/wrk.tsv" IDLE_RESULTS="$WORK/idle.tsv"
: >"$RESULTS"; : >"$WRK_RESULTS"; : >"$IDLE_RESULTS"
harness_cleanup() {
  local pid
  sut_stop 2>/dev/null || true
  for pid in "${HARNESS_PIDS[@]}"; do stop_pid "$pid"; done
  policy_cleanup
  topo_destroy
  rm -rf "/sys/fs/bpf/fastpath-perf-$RID"
  [[ $MODE == smoke ]] && rm -rf "$WORK"
  return 0
}
trap harness_cleanup EXIT
trap 'exit 130' INT TERM

# Two CPUs: generator on one, the forwarder under test on the other (softirq follows the sender).
if (($(nproc) >= 2)); then GEN_CPU=0 SUT_CPU=1; else GEN_CPU=0 SUT_CPU=0; fi
START=$SECONDS
if [[ $MODE == smoke ]]; then
  SMOKE_RATE=2000 SMOKE_SECONDS=1 SUT_MAX_SECONDS=120 WARM_SECONDS=0
  log "smoke: run $RID, $SMOKE_RATE pps for ${SMOKE_SECONDS}s per system"
  topo_create "$RID"
  policy_kvstore_spawn
  spawn_bg "$WORK/http.log" "$NS_SINK" "$OUT/pf_http" 8080 120
  wait_for_line "$WORK/http.log" "http: ready" 10
  for system in generator fwd fastpath fastpath-policy nft routing; do
    [[ $system == generator ]] || sut_start "$system" || die "$system never forwarded the probes"
    [[ $system == fastpath ]] && measure_idle "$system (after probes)" 1
    run_point "$system" smoke "$SMOKE_RATE" "$SMOKE_SECONDS" 64 0
    [[ $system == fastpath ]] && measure_idle "$system (after traffic)" 1
    [[ -n $SUT_HTTP_URL ]] && run_wrk "$system" "$SUT_HTTP_URL" 1 4
    [[ $system == fastpath-policy ]] && policy_check
    sut_stop
  done
  smoke_verdict "$RESULTS" "$WRK_RESULTS"
  log "smoke passed in $((SECONDS - START)) s"
  exit 0
fi

SUT_MAX_SECONDS=600 WARM_SECONDS=2
full_run
