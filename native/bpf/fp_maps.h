/* Maps of fp_steer. The shim pins them under the agent's bpffs directory
 * (e.g. /sys/fs/bpf/fastpath-<id>/<map name>) and C# reaches them by fd.
 * Who writes what: see native/README.md. */
#ifndef FP_MAPS_H
#define FP_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "fp_consts.h"
#include "fp_structs.h"

/* Frontends (VIP, port, proto) whose packets go to AF_XDP. Written by the
 * agent's reconciler when services change. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FP_SERVICES_MAX_ENTRIES);
	__type(key, struct fp_service_key);
	__type(value, struct fp_service_value);
} fp_services SEC(".maps");

/* Reply tuples (backend -> client) of flows the fast path translated. Written
 * by the workers when they create a flow; LRU so a full table evicts the
 * coldest reply instead of refusing new flows. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, FP_FLOWS_MAX_ENTRIES);
	__type(key, struct fp_flow_key);
	__type(value, struct fp_flow_value);
} fp_flows SEC(".maps");

/* AF_XDP sockets, keyed by device_slot * FP_MAX_QUEUES + rx_queue_index.
 * Written by the agent when it creates a socket. */
struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, FP_XSKS_MAX_ENTRIES);
	__type(key, __u32);
	__type(value, __u32);
} fp_xsks SEC(".maps");

/* Ingress ifindex -> device slot (0..FP_MAX_DEVICES-1). Written by the agent
 * when it attaches a device. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FP_MAX_DEVICES);
	__type(key, __u32);
	__type(value, __u32);
} fp_dev_slots SEC(".maps");

/* Per-CPU u64 counters indexed by enum fp_steer_counter. Read (summed) by
 * the agent for metrics; written only by fp_steer. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FP_STEER_COUNTER_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} fp_steer_counters SEC(".maps");

#endif
