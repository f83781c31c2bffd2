# The systems under test. Each sut_start_<name> configures the node namespace and sets SUT_PID
# (the userspace forwarder whose CPU time counts; empty for kernel paths) and SUT_HTTP_URL (what
# wrk asks for, or empty when the system has no TCP load-balancing path); sut_stop undoes it all.
# Sourced by perf/run.sh; uses the topology's NS_*/LINK_* names and $OUT (built tools).

SUT_PID= SUT_HTTP_URL= SUT_CLEANUP=()

sut_stop() {
  [[ -n $SUT_PID ]] && stop_pid "$SUT_PID"
  local step
  for step in "${SUT_CLEANUP[@]}"; do eval "$step" || true; done
  SUT_PID= SUT_HTTP_URL= SUT_CLEANUP=()
  # A forwarder that died (rather than stopped) may have left its netlink-attached XDP program:
  # the next system could not attach. FastPath's links go with its process; pf_fwd's do not.
  local link
  for link in "$LINK_GEN" "$LINK_SINK"; do
    ip -n "$NS_NODE" link set dev "$link" xdp off 2>/dev/null || true
  done
}

# (a) the limit: pf_fwd rewrites MACs and forwards g$RID → s$RID on shared-UMEM AF_XDP sockets.
# Destination MAC: the sink's eth0 (no LB, so every frame goes to the one sink).
sut_start_fwd() {
  local mac
  mac=$(mac_of "$NS_SINK" eth0)
  spawn_bg "$WORK/fwd.log" "$NS_NODE" nice -n "$NICE" taskset -c "$SUT_CPU" "$OUT/pf_fwd" "$OUT/pf_xdp.bpf.o" \
    "$LINK_GEN" "$LINK_SINK" "$mac" "$SUT_MAX_SECONDS"
  SUT_PID=$SPAWNED_PID
  wait_for_line "$WORK/fwd.log" "fwd: ready" 10
}

# fastpath_services_yaml SERVICES BACKENDS: service 0 is the VIP the generator targets; the rest
# (10.97.x.y) only make the tables bigger. Every service has BACKENDS backends.
fastpath_services_yaml() {
  local services=$1 backends=$2 s b
  echo "services:"
  for ((s = 0; s < services; s++)); do
    local vip=$VIP
    ((s > 0)) && vip="10.97.$((s / 250)).$((s % 250 + 1))"
    echo "  - namespace: perf"
    echo "    name: svc$s"
    echo "    vip: $vip"
    echo "    ports:"
    echo "      - { name: dns, protocol: UDP, port: 53, targetPort: 5353 }"
    echo "      - { name: http, protocol: TCP, port: 80, targetPort: 8080 }"
    echo "    backends:"
    for ((b = 0; b < backends; b++)); do echo "      - { address: $(backend_addr "$b") }"; done
  done
}

# (b) FastPath: bin/fastpath agent, standalone (services file), native XDP on both node links.
# sut_start_fastpath [SERVICES] [BACKENDS] [CT_CAPACITY] [MAGLEV_TABLE_SIZE]
sut_start_fastpath() {
  local services=${1:-1} backends=${2:-1} ct=${3:-262144} maglev=${4:-16381}
  fastpath_services_yaml "$services" "$backends" >"$WORK/services.yaml"
  spawn_bg "$WORK/agent.log" "$NS_NODE" nice -n "$NICE" taskset -c "$SUT_CPU" "$FASTPATH" agent \
    --devices "$LINK_GEN,$LINK_SINK" --services "$WORK/services.yaml" --xdp-mode native \
    --bpf-ct-global-max "$ct" --bpf-lb-maglev-table-size "$maglev" --bpf-pin-dir "/sys/fs/bpf/fastpath-perf-$RID"
  SUT_PID=$SPAWNED_PID
  SUT_CLEANUP+=("rm -rf /sys/fs/bpf/fastpath-perf-$RID")
  wait_for_line "$WORK/agent.log" "published snapshot revision 1" 60
  SUT_HTTP_URL="http://$VIP:80/"
}

# (c1) kernel nftables DNAT shaped like kube-proxy's nftables mode: a verdict map from
# VIP . protocol . port to a per-service chain, `numgen random mod N` picking an endpoint chain
# that DNATs. Conntrack does the rest (replies are un-NATed by the kernel).
# sut_start_nft [BACKENDS] [SERVICES]: services beyond the first (10.97.x.y) are more map elements.
sut_start_nft() {
  local backends=${1:-1} services=${2:-1} b s proto
  {
    echo "table ip pfperf {"
    for ((b = 0; b < backends; b++)); do
      echo "  chain ep$b-udp {"
      echo "    meta l4proto udp dnat to $(backend_addr "$b"):5353"
      echo "  }"
      echo "  chain ep$b-tcp {"
      echo "    meta l4proto tcp dnat to $(backend_addr "$b"):8080"
      echo "  }"
    done
    for proto in udp tcp; do
      echo "  chain svc-$proto {"
      printf '    numgen random mod %d vmap { ' "$backends"
      for ((b = 0; b < backends; b++)); do printf '%s%d : goto ep%d-%s' "$( ((b)) && echo ', ')" "$b" "$b" "$proto"; done
      echo " }"
      echo "  }"
    done
    echo "  map service-ips {"
    echo "    type ipv4_addr . inet_proto . inet_service : verdict"
    printf '    elements = { %s . udp . 53 : goto svc-udp, %s . tcp . 80 : goto svc-tcp' "$VIP" "$VIP"
    for ((s = 1; s < services; s++)); do printf ',\n      10.97.%d.%d . udp . 53 : goto svc-udp' $((s / 250)) $((s % 250 + 1)); done
    echo " }"
    echo "  }"
    echo "  chain prerouting {"
    echo "    type nat hook prerouting priority dstnat; policy accept;"
    echo "    ip daddr . meta l4proto . th dport vmap @service-ips"
    echo "  }"
    echo "}"
  } >"$WORK/nft.conf"
  nsx "$NS_NODE" nft -f "$WORK/nft.conf"
  SUT_CLEANUP+=("nsx $NS_NODE nft delete table ip pfperf")
  SUT_HTTP_URL="http://$VIP:80/"
}

# (c2) plain kernel routing, no LB: the VIP is routed to the first backend address as gateway,
# so the frames reach the sink unchanged. wrk asks the backend directly, through the node.
sut_start_routing() {
  nsx "$NS_NODE" ip route add "$VIP"/32 via "$(backend_addr 0)" dev "$LINK_SINK"
  SUT_CLEANUP+=("nsx $NS_NODE ip route del $VIP/32")
  SUT_HTTP_URL="http://$(backend_addr 0):8080/"
}

# sut_start SYSTEM [ARGS...]: start a system and wait until probes get through it; 1 if never.
# fastpath-policy (perf/harness/policy.sh) starts sut_start_fastpath_policy.
sut_start() {
  local system=$1; shift
  "sut_start_${system//-/_}" "$@"
  wait_path_ready "$system" || { sut_stop; return 1; }
  warm_path "$WARM_SECONDS"
}
