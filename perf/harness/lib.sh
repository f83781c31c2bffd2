# Shared helpers of perf/run.sh: logging, namespaces, processes started by the harness, and the
# CPU-time snapshots every measurement is made of. Sourced, never run.

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'perf/run.sh: %s\n' "$*" >&2; exit 1; }

# Processes the harness started (pids), stopped by harness_cleanup; never anything else.
HARNESS_PIDS=()

# Niceness of the generator and of userspace forwarders under test: the machine may be shared,
# and kernel paths run in softirq, which niceness does not touch; -5 keeps a userspace forwarder
# from being measured as "slow" only because a neighbour held its CPU. Same for every system.
NICE=-5

# nsx NS CMD...: run inside a namespace the harness created.
nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# spawn_bg OUTFILE NS CMD...: start CMD inside NS in the background, remember its pid.
# Sets SPAWNED_PID. The command runs through `exec`, so the pid is the tool itself.
spawn_bg() {
  local out=$1 ns=$2; shift 2
  ip netns exec "$ns" "$@" >"$out" 2>&1 &
  SPAWNED_PID=$!
  HARNESS_PIDS+=("$SPAWNED_PID")
}

# wait_for_line FILE TEXT SECONDS: until FILE contains TEXT (bounded), else fail naming FILE.
wait_for_line() {
  local file=$1 text=$2 deadline=$((SECONDS + $3))
  while ! grep -q -- "$text" "$file" 2>/dev/null; do
    ((SECONDS < deadline)) || { cat "$file" >&2 || true; die "timed out waiting for '$text' in $file"; }
    sleep 0.1
  done
}

# stop_pid PID: SIGTERM, wait up to 5 s, then SIGKILL; only pids this harness started.
stop_pid() {
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# Per-thread CPU time in ns, one "tid<TAB>name<TAB>ns" line per thread (schedstat field 1).
thread_cpu_ns() {
  local pid=$1 t
  for t in /proc/"$pid"/task/*; do
    [[ -r $t/schedstat ]] || continue
    printf '%s\t%s\t%s\n' "${t##*/}" "$(tr ' ' '_' <"$t/comm" 2>/dev/null)" "$(cut -d' ' -f1 "$t/schedstat" 2>/dev/null)"
  done
}

# Process CPU time in ns: the sum of every thread's run time from /proc/PID/task/*/schedstat
# (field 1, nanoseconds, user + kernel, including softirq work the kernel ran in that thread's
# context). Exact, unlike utime+stime (ticks); threads that exit during a window are lost.
proc_cpu_ns() {
  local pid=$1
  [[ -n $pid ]] || { echo 0; return; }
  cat /proc/"$pid"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%.0f\n", s }'
}

# System-wide softirq time in ns: the softirq column of the "cpu" line of /proc/stat (USER_HZ
# ticks). All softirq work counts here whatever task it interrupted: the kernel's forwarding
# (routing, nftables DNAT), every XDP program on veth, the sink's counter. Without
# CONFIG_IRQ_TIME_ACCOUNTING it is tick-sampled (CONFIG_HZ), so short runs are coarse.
softirq_ns() {
  awk -v hz="$(getconf CLK_TCK)" '$1 == "cpu" { printf "%.0f\n", $8 * 1e9 / hz }' /proc/stat
}

# mac_of NS IFNAME
mac_of() { nsx "$1" cat /sys/class/net/"$2"/address; }
