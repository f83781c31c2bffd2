/* fp_steer: sends frontend traffic and replies of translated flows to the
 * AF_XDP socket of the ingress (device, rx queue); everything else goes to
 * the kernel untouched (SPEC 9). One counter per outcome. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "fp_consts.h"
#include "fp_structs.h"
#include "fp_maps.h"
#include "fp_parse.h"

static __always_inline void fp_count(__u32 reason)
{
	__u64 *n = bpf_map_lookup_elem(&fp_steer_counters, &reason);
	if (n)
		*n += 1;  /* per-CPU slot: no atomics needed */
}

static __always_inline int fp_pass(__u32 reason)
{
	fp_count(reason);
	return XDP_PASS;
}

SEC("xdp")
int fp_steer(struct xdp_md *ctx)
{
	struct fp_tuple t = {};
	int parsed = fp_parse(ctx, &t);
	if (parsed != FP_PARSE_OK)
		return fp_pass(parsed);

	__u32 matched;
	struct fp_service_key svc = { .addr = t.daddr, .port = t.dport, .proto = t.proto };
	if (bpf_map_lookup_elem(&fp_services, &svc)) {
		matched = FP_STEER_REDIRECT_FRONTEND;
	} else {
		struct fp_flow_key flow = {
			.saddr = t.saddr, .daddr = t.daddr,
			.sport = t.sport, .dport = t.dport, .proto = t.proto,
		};
		if (!bpf_map_lookup_elem(&fp_flows, &flow))
			return fp_pass(FP_STEER_PASS_NO_MATCH);
		matched = FP_STEER_REDIRECT_REPLY;
	}

	__u32 ifindex = ctx->ingress_ifindex;
	__u32 *slot = bpf_map_lookup_elem(&fp_dev_slots, &ifindex);
	if (!slot || *slot >= FP_MAX_DEVICES)
		return fp_pass(FP_STEER_PASS_UNKNOWN_DEVICE);
	if (ctx->rx_queue_index >= FP_MAX_QUEUES)
		return fp_pass(FP_STEER_PASS_NO_SOCKET);
	__u32 key = *slot * FP_MAX_QUEUES + ctx->rx_queue_index;
	/* The low bits of flags are the action when the slot is empty. */
	int action = bpf_redirect_map(&fp_xsks, key, XDP_PASS);
	if (action != XDP_REDIRECT)
		return fp_pass(FP_STEER_PASS_NO_SOCKET);
	fp_count(matched);
	return action;
}

char _license[] SEC("license") = "Dual BSD/GPL";
