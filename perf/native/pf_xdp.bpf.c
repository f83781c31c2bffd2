// SPDX-License-Identifier: GPL-2.0
/*
 * Two tiny XDP programs for the veth perf harness (perf/README.md, "veth harness").
 *
 *   pf_count   on the sink's eth0: counts (and drops) the generator's UDP frames so the
 *              receiver is never the bottleneck; everything else (ARP, TCP for wrk) passes.
 *   pf_to_xsk  on the node's ingress link for pf_fwd: hands UDP frames to the AF_XDP socket
 *              bound on the receiving queue; everything else (ARP, TCP) goes to the kernel.
 *
 * Generator frames are recognised by their UDP destination port: PF_PORT_LO..PF_PORT_HI covers
 * the VIP port (53) and the backends' target port (5353) after DNAT.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define PF_PORT_LO 53
#define PF_PORT_HI 5353
/* Ethernet 14 + IPv4 20 + UDP 8 + packet number 8 + flow number 4: the point tag (raw bytes). */
#define PF_TAG_OFFSET 54

/* Slot 0: generator frames of this point (packets); 1: their bytes; 2: frames of earlier points
 * (stale, still draining from rings). Per CPU: no atomics on the path. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 3);
	__type(key, __u32);
	__type(value, __u64);
} pf_counts SEC(".maps");

/* Slot 0: the tag of the current measurement point (pf_sink writes it; pf_gen puts it in
 * payload bytes 12..15). Frames with another tag are leftovers of an earlier point. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} pf_tag SEC(".maps");

/* rx queue → AF_XDP socket of pf_fwd. */
struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u32);
} pf_xsks SEC(".maps");

/* Returns the frame length if it is an IPv4/UDP frame to a generator port, else 0. */
static __always_inline __u32 pf_generator_frame(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp;
	__u16 dport;

	if ((void *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
		return 0;
	if (ip->protocol != IPPROTO_UDP || ip->ihl != 5)
		return 0;
	udp = (void *)(ip + 1);
	if ((void *)(udp + 1) > end)
		return 0;
	dport = bpf_ntohs(udp->dest);
	if (dport != PF_PORT_LO && dport != PF_PORT_HI)
		return 0;
	return (__u32)(end - data);
}

SEC("xdp")
int pf_count(struct xdp_md *ctx)
{
	__u32 len = pf_generator_frame(ctx), k0 = 0, k1 = 1, k2 = 2;
	void *end = (void *)(long)ctx->data_end;
	__u8 *tag_at = (__u8 *)(long)ctx->data + PF_TAG_OFFSET;
	__u64 *packets, *bytes, *stale;
	__u32 *want, tag;

	if (!len)
		return XDP_PASS;
	want = bpf_map_lookup_elem(&pf_tag, &k0);
	if ((void *)(tag_at + 4) > end || !want)
		return XDP_DROP;
	__builtin_memcpy(&tag, tag_at, 4);
	if (tag != *want) {
		stale = bpf_map_lookup_elem(&pf_counts, &k2);
		if (stale)
			*stale += 1;
		return XDP_DROP;
	}
	packets = bpf_map_lookup_elem(&pf_counts, &k0);
	bytes = bpf_map_lookup_elem(&pf_counts, &k1);
	if (packets && bytes) {
		*packets += 1;
		*bytes += len;
	}
	return XDP_DROP;
}

SEC("xdp")
int pf_to_xsk(struct xdp_md *ctx)
{
	if (!pf_generator_frame(ctx))
		return XDP_PASS;
	return bpf_redirect_map(&pf_xsks, ctx->rx_queue_index, XDP_PASS);
}

char LICENSE[] SEC("license") = "GPL";
