/* Structs shared by the XDP program, the shim and C# (src/FastPath/Native).
 * They are a contract: fixed-width fields, explicit padding, sizes asserted
 * here and in tests/FastPath.Tests (NativeLayoutTests). Change both sides together. */
#ifndef FP_STRUCTS_H
#define FP_STRUCTS_H

#include <linux/types.h>

/* An IP address as the maps store it: IPv6 as is, IPv4 as ::ffff:a.b.c.d
 * so one key shape serves both families. */
struct fp_addr {
	__u8 bytes[16];
};

/* fp_services key: a frontend the XDP program steers to AF_XDP. */
struct fp_service_key {
	struct fp_addr addr;
	__be16 port;          /* network order */
	__u8 proto;           /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 pad;
};
_Static_assert(sizeof(struct fp_service_key) == 20, "fp_service_key layout is shared with C#");

/* fp_services value. */
struct fp_service_value {
	__u32 flags;          /* reserved, 0 */
};
_Static_assert(sizeof(struct fp_service_value) == 4, "fp_service_value layout is shared with C#");

/* fp_flows key: the tuple a reply of a translated flow arrives with
 * (backend -> client), written by the fast path when it creates the flow. */
struct fp_flow_key {
	struct fp_addr saddr;
	struct fp_addr daddr;
	__be16 sport;         /* network order */
	__be16 dport;         /* network order */
	__u8 proto;
	__u8 pad[3];
};
_Static_assert(sizeof(struct fp_flow_key) == 40, "fp_flow_key layout is shared with C#");

/* fp_flows value. */
struct fp_flow_value {
	__u32 flags;          /* reserved, 0 */
};
_Static_assert(sizeof(struct fp_flow_value) == 4, "fp_flow_value layout is shared with C#");

/* One AF_XDP ring as mapped into our address space. Pointers are process
 * addresses stored as u64 so the layout is the same for every ABI. */
struct fp_ring_info {
	__u64 producer;       /* __u32 * */
	__u64 consumer;       /* __u32 * */
	__u64 flags;          /* __u32 *, XDP_RING_NEED_WAKEUP */
	__u64 descs;          /* struct xdp_desc[] (rx/tx) or __u64[] (fill/completion) */
	__u32 size;           /* entries, power of two */
	__u32 mask;           /* size - 1 */
};
_Static_assert(sizeof(struct fp_ring_info) == 40, "fp_ring_info layout is shared with C#");

/* Ring sizes and bind mode of one AF_XDP socket (input of fp_xsk__create). */
struct fp_xsk_config {
	__s32 ifindex;
	__u32 queue;          /* rx queue index */
	__u32 rx_size;        /* entries, power of two; same below */
	__u32 tx_size;
	__u32 fill_size;
	__u32 comp_size;
	__u32 bind_mode;      /* enum fp_xsk_bind_mode */
	__u32 pad;
};
_Static_assert(sizeof(struct fp_xsk_config) == 32, "fp_xsk_config layout is shared with C#");

/* An AF_XDP socket: its fd and its four rings (each socket owns its fill and
 * completion rings even when sharing the UMEM). */
struct fp_xsk_info {
	__s32 fd;
	__u32 pad;
	struct fp_ring_info rx;
	struct fp_ring_info tx;
	struct fp_ring_info fill;
	struct fp_ring_info comp;
};
_Static_assert(sizeof(struct fp_xsk_info) == 168, "fp_xsk_info layout is shared with C#");

/* The UMEM area: frame_count frames of frame_size bytes at base. */
struct fp_umem_info {
	__u64 base;           /* void * */
	__u64 size;           /* bytes */
	__u32 frame_size;     /* bytes */
	__u32 frame_count;
};
_Static_assert(sizeof(struct fp_umem_info) == 24, "fp_umem_info layout is shared with C#");

/* XDP_STATISTICS of one socket (mirrors struct xdp_statistics, kernel >= 5.9). */
struct fp_xdp_stats {
	__u64 rx_dropped;
	__u64 rx_invalid_descs;
	__u64 tx_invalid_descs;
	__u64 rx_ring_full;
	__u64 rx_fill_ring_empty_descs;
	__u64 tx_ring_empty_descs;
};
_Static_assert(sizeof(struct fp_xdp_stats) == 48, "fp_xdp_stats layout is shared with C#");

/* fds of the loaded steering object (output of fp_steer__open). */
struct fp_steer_fds {
	__s32 prog;
	__s32 services;
	__s32 flows;
	__s32 xsks;
	__s32 dev_slots;
	__s32 counters;
};
_Static_assert(sizeof(struct fp_steer_fds) == 24, "fp_steer_fds layout is shared with C#");

/* Result of fp_nexthop__resolve: where a packet to a destination leaves. */
struct fp_nexthop {
	__s32 ifindex;        /* egress device */
	__u16 nud_state;      /* NUD_* of the neighbour entry, 0 when none */
	__u8 has_gateway;     /* 1 when the route goes via a gateway */
	__u8 pad;
	__u8 src_mac[6];      /* the egress device's own address */
	__u8 dst_mac[6];      /* the neighbour's address (valid when 0 was returned) */
	struct fp_addr gateway; /* the gateway, or the destination itself when on-link */
};
_Static_assert(sizeof(struct fp_nexthop) == 36, "fp_nexthop layout is shared with C#");

#endif
