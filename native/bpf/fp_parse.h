/* Header parsing for fp_steer: Ethernet, one optional VLAN tag, IPv4/IPv6,
 * TCP/UDP ports. Every read is bounds-checked against data_end (the verifier
 * insists, and truncated frames must become a counted pass, never a fault). */
#ifndef FP_PARSE_H
#define FP_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "fp_consts.h"
#include "fp_structs.h"

/* 802.1Q / 802.1ad tag (UAPI has no struct for it). */
struct fp_vlan_hdr {
	__be16 tci;
	__be16 encapsulated_proto;
};

/* IPv6 Fragment extension header, RFC 8200 4.5. */
#define FP_IPV6_NEXTHDR_FRAGMENT 44
/* IPv4 flags/offset: More Fragments bit and the 13-bit offset (8-byte units). */
#define FP_IPV4_MF     0x2000
#define FP_IPV4_OFFSET 0x1fff

/* The 5-tuple of a parsed frame, in the same shape as the map keys. */
struct fp_tuple {
	struct fp_addr saddr;
	struct fp_addr daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto;
};

/* Parse outcome: FP_PARSE_OK or the counter that explains the pass. */
#define FP_PARSE_OK (-1)

static __always_inline void fp_addr_from_v4(struct fp_addr *a, __be32 v4)
{
	__builtin_memset(a->bytes, 0, 10);
	a->bytes[10] = 0xff;
	a->bytes[11] = 0xff;
	__builtin_memcpy(&a->bytes[12], &v4, 4);
}

/* Reads the L4 ports at l4 for TCP and UDP; anything else is "not L4". */
static __always_inline int fp_parse_ports(void *l4, void *end, __u8 proto, struct fp_tuple *t)
{
	if (proto == IPPROTO_UDP) {
		struct udphdr *udp = l4;
		if ((void *)(udp + 1) > end)
			return FP_STEER_PASS_MALFORMED;
		t->sport = udp->source;
		t->dport = udp->dest;
	} else if (proto == IPPROTO_TCP) {
		struct tcphdr *tcp = l4;
		if ((void *)(tcp + 1) > end)
			return FP_STEER_PASS_MALFORMED;
		t->sport = tcp->source;
		t->dport = tcp->dest;
	} else {
		return FP_STEER_PASS_NOT_L4;
	}
	t->proto = proto;
	return FP_PARSE_OK;
}

static __always_inline int fp_parse_ipv4(void *l3, void *end, struct fp_tuple *t)
{
	struct iphdr *ip = l3;
	if ((void *)(ip + 1) > end)
		return FP_STEER_PASS_MALFORMED;
	if (ip->ihl < 5)
		return FP_STEER_PASS_MALFORMED;
	if (ip->protocol != IPPROTO_TCP && ip->protocol != IPPROTO_UDP)
		return FP_STEER_PASS_NOT_L4;
	/* Any fragment (first ones too): the fast path does not reassemble, so
	 * the kernel gets the whole datagram. */
	if (ip->frag_off & bpf_htons(FP_IPV4_MF | FP_IPV4_OFFSET))
		return FP_STEER_PASS_FRAGMENT;
	fp_addr_from_v4(&t->saddr, ip->saddr);
	fp_addr_from_v4(&t->daddr, ip->daddr);
	/* IHL counts 32-bit words and covers any options. */
	return fp_parse_ports(l3 + ip->ihl * 4, end, ip->protocol, t);
}

static __always_inline int fp_parse_ipv6(void *l3, void *end, struct fp_tuple *t)
{
	struct ipv6hdr *ip6 = l3;
	if ((void *)(ip6 + 1) > end)
		return FP_STEER_PASS_MALFORMED;
	if (ip6->nexthdr == FP_IPV6_NEXTHDR_FRAGMENT)
		return FP_STEER_PASS_FRAGMENT;
	if (ip6->nexthdr != IPPROTO_TCP && ip6->nexthdr != IPPROTO_UDP) {
		/* ICMPv6 (ND) and the rest go to the kernel; extension headers other
		 * than Fragment are not walked (rare for service traffic). */
		if (ip6->nexthdr == IPPROTO_HOPOPTS || ip6->nexthdr == IPPROTO_ROUTING ||
		    ip6->nexthdr == IPPROTO_DSTOPTS)
			return FP_STEER_PASS_IPV6_EXT;
		return FP_STEER_PASS_NOT_L4;
	}
	__builtin_memcpy(t->saddr.bytes, &ip6->saddr, 16);
	__builtin_memcpy(t->daddr.bytes, &ip6->daddr, 16);
	return fp_parse_ports(ip6 + 1, end, ip6->nexthdr, t);
}

/* Ethernet + at most one VLAN tag, then the IP family. */
static __always_inline int fp_parse(struct xdp_md *ctx, struct fp_tuple *t)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > end)
		return FP_STEER_PASS_MALFORMED;
	__be16 proto = eth->h_proto;
	void *l3 = eth + 1;
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
		struct fp_vlan_hdr *vlan = l3;
		if ((void *)(vlan + 1) > end)
			return FP_STEER_PASS_MALFORMED;
		proto = vlan->encapsulated_proto;
		l3 = vlan + 1;
	}
	if (proto == bpf_htons(ETH_P_IP))
		return fp_parse_ipv4(l3, end, t);
	if (proto == bpf_htons(ETH_P_IPV6))
		return fp_parse_ipv6(l3, end, t);
	return FP_STEER_PASS_NOT_IP;
}

#endif
