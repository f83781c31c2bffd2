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

/* Slot 0: generator frames seen (packets); slot 1: their bytes. Per CPU: no atomics on the path. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} pf_counts SEC(".maps");

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
	__u32 len = pf_generator_frame(ctx), k0 = 0, k1 = 1;
	__u64 *packets, *bytes;

	if (!len)
		return XDP_PASS;
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
