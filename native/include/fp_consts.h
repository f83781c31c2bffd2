/* Constants shared by the XDP program, the shim and C# (src/FastPath/Native).
 * Values that index maps or counters are a contract: C# mirrors them in
 * NativeConstants.cs and SteerCounters; change both sides together. */
#ifndef FP_CONSTS_H
#define FP_CONSTS_H

/* Map capacities (entries). */
#define FP_SERVICES_MAX_ENTRIES 65536      /* frontends steered to AF_XDP */
#define FP_FLOWS_MAX_ENTRIES    1048576    /* reply tuples of translated flows (LRU) */
#define FP_MAX_DEVICES          64         /* attached devices (slots 0..63) */
#define FP_MAX_QUEUES           64         /* rx queues per device */
#define FP_XSKS_MAX_ENTRIES     (FP_MAX_DEVICES * FP_MAX_QUEUES)

/* fp_steer_counters indices: why fp_steer passed or redirected a frame.
 * Names (C# SteerCounters, metrics) are the identifiers without FP_STEER_. */
enum fp_steer_counter {
	FP_STEER_PASS_NOT_IP = 0,          /* ARP, LLDP, ... */
	FP_STEER_PASS_NOT_L4 = 1,          /* ICMP, ICMPv6/ND, other protocols */
	FP_STEER_PASS_NO_MATCH = 2,        /* TCP/UDP neither to a frontend nor a known reply */
	FP_STEER_PASS_FRAGMENT = 3,        /* IPv4 fragment or IPv6 Fragment header: no ports to match */
	FP_STEER_PASS_MALFORMED = 4,       /* truncated or inconsistent headers */
	FP_STEER_PASS_NO_SOCKET = 5,       /* matched, but no AF_XDP socket on this (device, queue) */
	FP_STEER_PASS_UNKNOWN_DEVICE = 6,  /* matched, but the ingress ifindex has no slot */
	FP_STEER_REDIRECT_FRONTEND = 7,    /* to a frontend (fp_services) */
	FP_STEER_REDIRECT_REPLY = 8,       /* reply of a translated flow (fp_flows) */
	FP_STEER_PASS_IPV6_EXT = 9,        /* IPv6 extension header other than Fragment: not parsed */
	FP_STEER_COUNTER_COUNT = 10,
};

/* Default AF_XDP frame (UMEM chunk) size in bytes: one page per frame. */
#define FP_DEFAULT_FRAME_SIZE 4096

/* XDP attach modes as the shim's callers name them (not kernel flags). */
enum fp_xdp_mode {
	FP_XDP_MODE_NATIVE = 0,            /* XDP_FLAGS_DRV_MODE */
	FP_XDP_MODE_GENERIC = 1,           /* XDP_FLAGS_SKB_MODE */
	FP_XDP_MODE_AUTO = 2,              /* native, else generic */
};

/* AF_XDP bind modes (first socket of a UMEM only: sockets sharing it inherit). */
enum fp_xsk_bind_mode {
	FP_XSK_BIND_DEFAULT = 0,           /* kernel picks: zero-copy if the driver can */
	FP_XSK_BIND_COPY = 1,              /* XDP_COPY */
	FP_XSK_BIND_ZEROCOPY = 2,          /* XDP_ZEROCOPY (fails if unsupported) */
};

#endif
