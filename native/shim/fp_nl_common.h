/* What fp_netlink.c (next-hop lookups) and fp_neigh_events.c (neighbour events)
 * both need to read the kernel's neighbour and address fields the same way. */
#ifndef FP_NL_COMMON_H
#define FP_NL_COMMON_H

#include <string.h>
#include <linux/neighbour.h>
#include "fp_shim.h"

#ifndef AF_INET
#define AF_INET 2
#endif
#ifndef AF_INET6
#define AF_INET6 10
#endif

/* States in which a neighbour's lladdr may be used to send. */
#define FP_NUD_USABLE (NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT | NUD_NOARP)

static inline int fp_addr_len(int family)
{
	return family == AF_INET ? 4 : 16;
}

/* An address of family's size (4 or 16 bytes) into the 16-byte map form (IPv4 as ::ffff:a.b.c.d). */
static inline void fp_addr_from_family(struct fp_addr *out, int family, const void *bytes)
{
	if (family == AF_INET) {
		memset(out->bytes, 0, 10);
		out->bytes[10] = 0xff;
		out->bytes[11] = 0xff;
		memcpy(&out->bytes[12], bytes, 4);
	} else {
		memcpy(out->bytes, bytes, 16);
	}
}

#endif
