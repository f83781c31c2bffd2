# "FastPath, policy on": the same agent, topology, generator and sink as the `fastpath` system,
# but in mesh mode, where CiliumNetworkPolicy exists (standalone --services has no policy):
#
#   node netns pn$RID: etcd (plain h2c, 127.0.0.1:$KV_CLIENT_PORT, data in $WORK/etcd) ◄── agent --kvstore-config
#     cilium/state/identities/v1/id/65546   k8s:app=perf-client  (cluster perf, namespace perf)
#     cilium/state/identities/v1/id/65547   k8s:app=perf-backend
#     cilium/state/ip/v1/default/10.244.1.0/24 → 65546   every generator source (longest prefix match)
#     cilium/state/ip/v1/default/10.245.0.0/16 → 65547   every backend address
#   --k8s-manifests $WORK/manifests: Service + EndpointSlice per service (same VIPs/ports/backends as
#     the standalone services file) and policy.yaml: perf-client may send to perf-backend (egress) and
#     perf-backend accepts perf-client (ingress), on 5353/UDP and 8080/TCP. Both directions enforced,
#     so every new flow is checked twice; established flows only compare the cached policy revision.
#
# The etcd is started once per run, right after the topology (the node netns outlives every
# system; every system is measured with the same idle etcd beside it), and stopped by
# harness_cleanup through HARNESS_PIDS; policy_cleanup removes its data directory. Sourced.

KV_CLIENT_PORT=23790 KV_PEER_PORT=23800 # inside the node netns only: its loopback is its own
POLICY_CLUSTER=perf POLICY_CLUSTER_ID=1 POLICY_NS=perf
CLIENT_IDENTITY=$(((1 << 16) + 10)) BACKEND_IDENTITY=$(((1 << 16) + 11)) # cluster 1's identity range
CLIENT_PREFIX=10.244.1.0/24 BACKEND_PREFIX=10.245.0.0/16
STATS_URL=http://127.0.0.1:9962 # the agent's default --stats-address, inside the node netns
KV_PID=

kv_ctl() { nsx "$NS_NODE" etcdctl --endpoints "http://127.0.0.1:$KV_CLIENT_PORT" --dial-timeout 2s "$@"; }

# policy_kvstore_spawn: starts etcd in the node netns without waiting (once per run); called right
# after topo_create so that its start-up overlaps the systems measured before fastpath-policy.
policy_kvstore_spawn() {
  [[ -n $KV_PID ]] && return 0
  mkdir -p "$WORK/etcd"
  spawn_bg "$WORK/etcd.log" "$NS_NODE" etcd --name "perf-$RID" --data-dir "$WORK/etcd/data" \
    --listen-client-urls "http://127.0.0.1:$KV_CLIENT_PORT" --advertise-client-urls "http://127.0.0.1:$KV_CLIENT_PORT" \
    --listen-peer-urls "http://127.0.0.1:$KV_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$KV_PEER_PORT" \
    --initial-cluster "perf-$RID=http://127.0.0.1:$KV_PEER_PORT"
  KV_PID=$SPAWNED_PID
}

# policy_kvstore_start: etcd healthy and holding the two identities and prefixes (once per run).
policy_kvstore_start() {
  [[ -n $KV_PID && -f $WORK/kvstore.yaml ]] && return 0
  policy_kvstore_spawn
  local deadline=$((SECONDS + 20))
  until kv_ctl endpoint health >/dev/null 2>&1; do
    kill -0 "$KV_PID" 2>/dev/null || { cat "$WORK/etcd.log" >&2; die "etcd in $NS_NODE exited"; }
    ((SECONDS < deadline)) || { cat "$WORK/etcd.log" >&2; die "etcd in $NS_NODE not healthy after 20 s"; }
    sleep 0.2
  done
  local id label prefix
  for id in client backend; do
    if [[ $id == client ]]; then id=$CLIENT_IDENTITY label=perf-client prefix=$CLIENT_PREFIX
    else id=$BACKEND_IDENTITY label=perf-backend prefix=$BACKEND_PREFIX; fi
    # Cilium's JSON (tests/ControlPlane.Tests/Kvstore/CiliumKeys.cs); only the key names the prefix.
    kv_ctl put "cilium/state/identities/v1/id/$id" \
      "k8s:app=$label;k8s:io.cilium.k8s.policy.cluster=$POLICY_CLUSTER;k8s:io.kubernetes.pod.namespace=$POLICY_NS;" >/dev/null
    kv_ctl put "cilium/state/ip/v1/default/$prefix" \
      "{\"IP\":\"${prefix%/*}\",\"Mask\":null,\"HostIP\":\"10.244.0.1\",\"ID\":$id,\"Key\":0,\"Metadata\":\"\",\"K8sNamespace\":\"$POLICY_NS\",\"K8sPodName\":\"$label\"}" >/dev/null
  done
  printf 'endpoints:\n- http://127.0.0.1:%d\n' "$KV_CLIENT_PORT" >"$WORK/kvstore.yaml"
}

# policy_cleanup: the etcd itself is in HARNESS_PIDS; its data (kept $WORK of a full run) goes.
policy_cleanup() { rm -rf "$WORK/etcd" "$WORK/manifests"; }

# policy_manifests SERVICES BACKENDS: the standalone services file as Service + EndpointSlice objects.
policy_manifests() {
  local services=$1 backends=$2 s b
  for ((s = 0; s < services; s++)); do
    local vip=$VIP
    ((s > 0)) && vip="10.97.$((s / 250)).$((s % 250 + 1))"
    cat <<EOF
apiVersion: v1
kind: Service
metadata:
  name: svc$s
  namespace: $POLICY_NS
spec:
  clusterIP: $vip
  ports:
  - { name: dns, port: 53, protocol: UDP, targetPort: 5353 }
  - { name: http, port: 80, protocol: TCP, targetPort: 8080 }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: svc$s-slice
  namespace: $POLICY_NS
  labels:
    kubernetes.io/service-name: svc$s
addressType: IPv4
endpoints:
EOF
    for ((b = 0; b < backends; b++)); do echo "- { addresses: [$(backend_addr "$b")], conditions: { ready: true } }"; done
    echo "ports:"
    echo "- { name: dns, port: 5353, protocol: UDP }"
    echo "- { name: http, port: 8080, protocol: TCP }"
    echo "---"
  done
}

# policy_cnp INGRESS_PEER: egress perf-client → perf-backend and ingress INGRESS_PEER → perf-backend,
# both on 5353/UDP + 8080/TCP. perf-client allows the traffic; any other label denies it at ingress.
policy_cnp() {
  local peer=$1 section
  for section in egress ingress; do
    local subject=perf-client peers=toEndpoints other=perf-backend
    [[ $section == ingress ]] && subject=perf-backend peers=fromEndpoints other=$peer
    cat <<EOF
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: perf-$section
  namespace: $POLICY_NS
spec:
  endpointSelector:
    matchLabels:
      app: $subject
  $section:
  - $peers:
    - matchLabels:
        app: $other
    toPorts:
    - ports:
      - { port: "5353", protocol: UDP }
      - { port: "8080", protocol: TCP }
---
EOF
  done
}

# write_policy PEER: replaces policy.yaml by a rename, so the agent's watcher never reads half a file.
write_policy() {
  policy_cnp "$1" >"$WORK/manifests/policy.yaml.tmp"
  mv -f "$WORK/manifests/policy.yaml.tmp" "$WORK/manifests/policy.yaml"
}

# stats PATH: one GET of the agent's stats endpoint (inside the node netns).
stats() { nsx "$NS_NODE" curl -sf --max-time 2 "$STATS_URL$1"; }

# policy_field NAME: a number from GET /v1/policy (snake_case JSON), empty when unreadable.
policy_field() { stats /v1/policy 2>/dev/null | grep -o "\"$1\":[0-9]*" | cut -d: -f2; }

# metric NAME [LABELS]: one sample of /metrics (LABELS as written, e.g. direction="ingress"), 0 if absent.
metric() {
  local name=$1
  [[ -n ${2:-} ]] && name+="{$2}"
  stats /metrics 2>/dev/null | awk -v n="$name" '$1 == n { v = $2 } END { print v + 0 }'
}

# wait_policy_enforced WANT_MIN_REVISION SECONDS: until the live snapshot enforces both (endpoint,
# direction) pairs at a policy revision >= WANT (the kvstore's identities arrive after revision 1).
wait_policy_enforced() {
  local want=$1 deadline=$((SECONDS + $2)) enforced revision
  while :; do
    enforced=$(policy_field enforced_endpoints) revision=$(policy_field policy_revision)
    [[ ${enforced:-0} -ge 2 && ${revision:-0} -ge $want ]] && { POLICY_REVISION=$revision; return 0; }
    ((SECONDS < deadline)) || die "policy never in force: /v1/policy says $(stats /v1/policy 2>&1 || echo unreachable)"
    sleep 0.2
  done
}

# (b2) FastPath, policy on. sut_start_fastpath_policy [SERVICES] [BACKENDS] [CT_CAPACITY] [MAGLEV_TABLE_SIZE]
sut_start_fastpath_policy() {
  local services=${1:-1} backends=${2:-1} ct=${3:-262144} maglev=${4:-16381} begin=$SECONDS
  policy_kvstore_start
  rm -rf "$WORK/manifests"; mkdir -p "$WORK/manifests"
  policy_manifests "$services" "$backends" >"$WORK/manifests/services.yaml"
  write_policy perf-client
  spawn_bg "$WORK/agent.log" "$NS_NODE" nice -n "$NICE" taskset -c "$SUT_CPU" "$FASTPATH" agent \
    --cluster-name "$POLICY_CLUSTER" --cluster-id "$POLICY_CLUSTER_ID" \
    --k8s-manifests "$WORK/manifests" --kvstore-config "$WORK/kvstore.yaml" \
    --devices "$LINK_GEN,$LINK_SINK" --xdp-mode native \
    --bpf-ct-global-max "$ct" --bpf-lb-maglev-table-size "$maglev" --bpf-pin-dir "/sys/fs/bpf/fastpath-perf-$RID"
  SUT_PID=$SPAWNED_PID
  SUT_CLEANUP+=("rm -rf /sys/fs/bpf/fastpath-perf-$RID")
  wait_for_line "$WORK/agent.log" "published snapshot revision 1" 60
  wait_policy_enforced 1 30
  log "fastpath-policy: policy revision $POLICY_REVISION in force ($(policy_field enforced_endpoints) enforced endpoint directions) after $((SECONDS - begin)) s"
  SUT_HTTP_URL="http://$VIP:80/"
}

# policy_check: proves the policy is evaluated, not just loaded. Swaps the ingress peer to a label
# nobody has, waits for the new policy revision, sends 600 probe-tagged frames (some of the flows
# already established: their ct entries carry the old revision and must be re-decided) and
# expects none delivered and policy_denied{direction="ingress"} to grow. Leaves the denying policy
# in force: call it last, before sut_stop. Prints a `policy-check:` line and appends it to
# $WORK/policy-check.txt; dies if it fails.
policy_check() {
  local before after denied mac line rechecks0
  before=$(metric fastpath_policy_denied_total 'direction="ingress"') rechecks0=$(metric fastpath_policy_rechecks_total)
  write_policy perf-nobody
  wait_policy_enforced $((POLICY_REVISION + 1)) 30
  mac=$(mac_of "$NS_NODE" "$LINK_GEN")
  sink_start eth0 "$PROBE_TAG" 10
  nsx "$NS_GEN" "$OUT/pf_gen" -i eth0 -m "$mac" -v "$VIP" -p 53 -r 2000 -t 0.3 -f 64 -g "$PROBE_TAG" >/dev/null
  sleep 0.2
  sink_stop
  after=$(metric fastpath_policy_denied_total 'direction="ingress"')
  denied=$((after - before))
  line="policy-check: deny CNP delivered=$SINK_PACKETS of 600 policy_denied_ingress=+$denied rechecks=+$(($(metric fastpath_policy_rechecks_total) - rechecks0))"
  echo "$line"; echo "$line" >>"$WORK/policy-check.txt"
  ((SINK_PACKETS == 0 && denied >= 300)) || die "policy not enforced: with a denying CNP $SINK_PACKETS frames arrived, $denied counted policy_denied"
}
