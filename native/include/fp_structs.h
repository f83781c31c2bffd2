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

#endif
