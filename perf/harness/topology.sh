# The veth topology of the harness (names carry the run id RID; Linux names <= 15 chars):
#
#   generator netns pg$RID                node netns pn$RID (system under test)          sink netns ps$RID
#   eth0 10.244.1.10/32 ◄══ veth ══► g$RID 10.244.0.1/32                  s$RID 10.244.0.2/32 ◄══ veth ══► eth0 10.245.0.1..N/32
#     default via 10.244.0.1            route 10.244.1.0/24 dev g$RID      route 10.245.0.0/16 dev s$RID       default via 10.244.0.2
#                                                                                                           pf_count (XDP) counts UDP
#   d0 (generator ceiling)  ◄═════════════════════════ veth ═════════════════════════════════════════════►  d1 pf_count
#
# VIP 10.96.0.10 (UDP 53 → 5353, TCP 80 → 8080) belongs to no interface. Generator flows come from
# 10.244.1.10 upwards. eth0 in the pods has TX checksum offload off: veth would hand XDP packets
# whose L4 checksum is only the pseudo-header sum. Sourced by perf/run.sh.

VIP=10.96.0.10
CLIENT_ADDR=10.244.1.10

backend_addr() { local i=$1; echo "10.245.$((i / 250)).$((i % 250 + 1))"; }

topo_create() {
  local rid=$1
  NS_GEN=pg$rid NS_NODE=pn$rid NS_SINK=ps$rid LINK_GEN=g$rid LINK_SINK=s$rid
  local ns
  for ns in "$NS_GEN" "$NS_NODE" "$NS_SINK"; do ip netns add "$ns"; nsx "$ns" ip link set lo up; done
  nsx "$NS_NODE" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0

  ip link add "$LINK_GEN" netns "$NS_NODE" type veth peer name eth0 netns "$NS_GEN"
  ip link add "$LINK_SINK" netns "$NS_NODE" type veth peer name eth0 netns "$NS_SINK"
  ip link add d0 netns "$NS_GEN" type veth peer name d1 netns "$NS_SINK"

  nsx "$NS_NODE" ip addr add 10.244.0.1/32 dev "$LINK_GEN"
  nsx "$NS_NODE" ip addr add 10.244.0.2/32 dev "$LINK_SINK"
  nsx "$NS_NODE" ip link set "$LINK_GEN" up
  nsx "$NS_NODE" ip link set "$LINK_SINK" up
  nsx "$NS_NODE" ip route add 10.244.1.0/24 dev "$LINK_GEN"
  nsx "$NS_NODE" ip route add 10.245.0.0/16 dev "$LINK_SINK"

  nsx "$NS_GEN" ip addr add "$CLIENT_ADDR"/32 dev eth0
  nsx "$NS_GEN" ip link set eth0 up
  nsx "$NS_GEN" ip route add 10.244.0.1/32 dev eth0
  nsx "$NS_GEN" ip route add default via 10.244.0.1 dev eth0
  nsx "$NS_GEN" ethtool -K eth0 tx off >/dev/null
  nsx "$NS_GEN" ip link set d0 up

  nsx "$NS_SINK" ip link set eth0 up
  nsx "$NS_SINK" ip route add 10.244.0.2/32 dev eth0
  nsx "$NS_SINK" ethtool -K eth0 tx off >/dev/null
  nsx "$NS_SINK" ip link set d1 up
  topo_set_backends 1
  nsx "$NS_SINK" ip route add default via 10.244.0.2 dev eth0
}

# topo_set_backends N: the sink owns backend addresses 0..N-1 (so it answers ARP for them).
topo_set_backends() {
  local want=$1 i
  nsx "$NS_SINK" ip -4 addr flush dev eth0
  for ((i = 0; i < want; i++)); do echo "addr add $(backend_addr "$i")/32 dev eth0"; done |
    nsx "$NS_SINK" ip -batch -
}

topo_destroy() {
  local ns
  for ns in "${NS_GEN:-}" "${NS_NODE:-}" "${NS_SINK:-}"; do
    [[ -n $ns ]] && ip netns del "$ns" 2>/dev/null || true
  done
}
