#!/usr/bin/env bash
# FastPath's one entry point. On a fresh Debian 12 machine (as root) it installs what is
# missing, builds the BPF object, the shim and the .NET solution, then does the job asked:
#
#   ./build.sh build   build everything; leaves a runnable bin/fastpath
#   ./build.sh test    build, then run every test; ends with "N passed, N failed, N skipped"
#   ./build.sh demo    build, then run the cluster-mesh walkthrough (see README)
#   ./build.sh perf    build, then run the benchmarks and the veth perf harness (see perf/README.md)
#   ./build.sh setup   only install missing packages and restore NuGet packages
#
# Every step is idempotent and quiet unless it fails.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")"
ROOT=$PWD
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

# Debian packages the datapath, the tests and the demo need.
APT_PACKAGES=(
  clang llvm make pkg-config libbpf-dev libxdp-dev libelf-dev zlib1g-dev   # BPF object + shim
  bpftool xdp-tools iproute2 ethtool nftables iputils-ping                 # attach, inspect, topology
  etcd-server etcd-client openssl curl                                     # real etcd; curl reaches the stats endpoint in tests
  wrk                                                                      # HTTP load through the VIP
  chromium                                                                 # the dashboard's Playwright test (no browser download)
)

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'build.sh: %s\n' "$*" >&2; exit 1; }

install_packages() {
  local missing=() p
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if ((${#missing[@]})); then
    [[ $EUID -eq 0 ]] || die "missing packages (${missing[*]}) and not root: run as root or install them"
    log "installing ${missing[*]}"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  command -v dotnet >/dev/null || die "the .NET SDK 10 is required (dotnet not on PATH)"
}

mount_bpffs() {
  # XDP maps are pinned under /sys/fs/bpf; some machines boot without bpffs mounted.
  if ! mount | grep -q ' /sys/fs/bpf type bpf'; then
    mount -t bpf bpf /sys/fs/bpf 2>/dev/null || log "warning: could not mount bpffs on /sys/fs/bpf"
  fi
}

setup() {
  install_packages
  mount_bpffs
  log "restoring NuGet packages"
  dotnet restore FastPath.sln --verbosity quiet >/dev/null
}

build_native() {
  log "building native (BPF object, shim)"
  make -s -C native OUT="$ROOT/out/native"
}

build_dotnet() {
  log "building .NET solution"
  dotnet build FastPath.sln -c Release --no-restore --nologo --verbosity quiet -clp:ErrorsOnly
  log "publishing bin/fastpath"
  dotnet publish src/Agent/Agent.csproj -c Release --no-restore --no-build --nologo --verbosity quiet -o bin
  cp -f out/native/fp_steer.bpf.o out/native/libfpshim.so bin/
}

build() { setup; build_native; build_dotnet; }

run_tests() {
  local results="$ROOT/out/test-results" status=0
  rm -rf "$results"
  log "running tests"
  dotnet test FastPath.sln -c Release --no-build --nologo --verbosity quiet \
    --results-directory "$results" --logger "trx" --logger "console;verbosity=normal" \
    --blame-hang-timeout 10m || status=$?
  tests/summarize-trx.sh "$results"
  return "$status"
}

cmd=${1:-build}
case "$cmd" in
  setup) setup ;;
  build) build ;;
  test)  build; run_tests ;;
  demo)  build; log "running the cluster-mesh demo (seed 000)"; exec dotnet demo/bin/Release/net10.0/fastpath-demo.dll ;;
  perf)  build; exec perf/run.sh "${@:2}" ;;
  *) die "unknown command '$cmd' (expected build, test, demo, perf or setup)" ;;
esac
