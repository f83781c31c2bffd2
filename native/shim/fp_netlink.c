/* Next hop of a destination from the kernel's tables over rtnetlink:
 *   RTM_GETROUTE(dst)            -> egress ifindex (+ gateway)
 *   RTM_GETNEIGH(ifindex, hop)   -> neighbour MAC + NUD state
 *   RTM_GETLINK(ifindex)         -> the egress device's own MAC
 * When the neighbour is missing or not usable, an RTM_NEWNEIGH with NTF_USE
 * asks the kernel to resolve it (as if a packet had been sent; Cilium does the
 * same) and -EAGAIN tells the caller to retry shortly. The netlink socket lives
 * in the network namespace of the thread that opened it. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/neighbour.h>
#include <linux/if_link.h>
#include <linux/if_ether.h>
#include "fp_nl_common.h"


/* Replies to single-object requests are small; 8 KiB is ample. */
#define FP_NL_BUF_BYTES 8192
/* A netlink reply that takes longer than this means something is wrong. */
#define FP_NL_TIMEOUT_MS 1000

struct fp_nl_req {
	struct nlmsghdr nh;
	union {
		struct rtmsg rt;
		struct ndmsg nd;
		struct ifinfomsg ifi;
	};
	char attrs[64];
};

static __u32 fp_nl_seq;

int fp_netlink__open(int *fd)
{
	if (!fd)
		return -EINVAL;
	int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (s < 0)
		return -errno;
	struct timeval tv = { .tv_sec = FP_NL_TIMEOUT_MS / 1000,
			      .tv_usec = (FP_NL_TIMEOUT_MS % 1000) * 1000 };
	int one = 1;
	/* Extended ACKs are not needed; strict checking makes GETNEIGH honour
	 * the ifindex filter. */
	if (setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(s, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof(one))) {
		int err = -errno;
		close(s);
		return err;
	}
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa))) {
		int err = -errno;
		close(s);
		return err;
	}
	*fd = s;
	return 0;
}

int fp_netlink__close(int fd)
{
	return close(fd) ? -errno : 0;
}

static void fp_nl_attr(struct fp_nl_req *r, unsigned short type, const void *data, size_t len)
{
	struct rtattr *a = (struct rtattr *)((char *)r + NLMSG_ALIGN(r->nh.nlmsg_len));
	a->rta_type = type;
	a->rta_len = RTA_LENGTH(len);
	memcpy(RTA_DATA(a), data, len);
	r->nh.nlmsg_len = NLMSG_ALIGN(r->nh.nlmsg_len) + RTA_ALIGN(a->rta_len);
}

/* Sends r and receives the reply into buf. Returns the reply length, or -errno
 * (an NLMSG_ERROR carries the kernel's -errno; an ACK with 0 returns 0). */
static int fp_nl_call(int fd, struct fp_nl_req *r, char *buf)
{
	/* Atomic: resolvers on several threads may share this counter (each with its own fd). */
	r->nh.nlmsg_seq = __atomic_add_fetch(&fp_nl_seq, 1, __ATOMIC_RELAXED);
	struct sockaddr_nl to = { .nl_family = AF_NETLINK };
	if (sendto(fd, r, r->nh.nlmsg_len, 0, (struct sockaddr *)&to, sizeof(to)) < 0)
		return -errno;
	for (int attempts = 0; attempts < 16; attempts++) {
		ssize_t n = recv(fd, buf, FP_NL_BUF_BYTES, 0);
		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		struct nlmsghdr *h = (struct nlmsghdr *)buf;
		if (!NLMSG_OK(h, (size_t)n))
			return -EBADMSG;
		if (h->nlmsg_seq != r->nh.nlmsg_seq)
			continue;  /* a stale reply of an earlier timed-out call */
		if (h->nlmsg_type == NLMSG_ERROR) {
			struct nlmsgerr *e = NLMSG_DATA(h);
			return e->error;
		}
		return (int)n;
	}
	return -EBADMSG;
}

/* dst16 is the 16-byte map form; IPv4 sits in the last 4 bytes. */
static const uint8_t *fp_family_bytes(int family, const uint8_t *dst16)
{
	return family == AF_INET ? dst16 + 12 : dst16;
}

static int fp_route(int fd, int family, const uint8_t *dst, struct fp_nexthop *out,
		    uint8_t *hop, char *buf)
{
	struct fp_nl_req r;
	memset(&r, 0, sizeof(r));
	r.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
	r.nh.nlmsg_type = RTM_GETROUTE;
	r.nh.nlmsg_flags = NLM_F_REQUEST;
	r.rt.rtm_family = (unsigned char)family;
	r.rt.rtm_dst_len = (unsigned char)(fp_addr_len(family) * 8);
	fp_nl_attr(&r, RTA_DST, dst, (size_t)fp_addr_len(family));
	int n = fp_nl_call(fd, &r, buf);
	if (n <= 0)
		return n ? n : -EBADMSG;
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	if (h->nlmsg_type != RTM_NEWROUTE)
		return -EBADMSG;
	struct rtmsg *rt = NLMSG_DATA(h);
	if (rt->rtm_type != RTN_UNICAST)
		return -EHOSTUNREACH;  /* local, blackhole, unreachable, ... */
	int len = (int)RTM_PAYLOAD(h);
	memcpy(hop, dst, (size_t)fp_addr_len(family));
	out->ifindex = 0;
	for (struct rtattr *a = RTM_RTA(rt); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == RTA_OIF && RTA_PAYLOAD(a) >= 4)
			memcpy(&out->ifindex, RTA_DATA(a), 4);
		else if (a->rta_type == RTA_GATEWAY && RTA_PAYLOAD(a) == (size_t)fp_addr_len(family)) {
			memcpy(hop, RTA_DATA(a), RTA_PAYLOAD(a));
			out->has_gateway = 1;
		}
	}
	return out->ifindex > 0 ? 0 : -ENETUNREACH;
}

static int fp_link_mac(int fd, int ifindex, uint8_t *mac, char *buf)
{
	struct fp_nl_req r;
	memset(&r, 0, sizeof(r));
	r.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
	r.nh.nlmsg_type = RTM_GETLINK;
	r.nh.nlmsg_flags = NLM_F_REQUEST;
	r.ifi.ifi_index = ifindex;
	int n = fp_nl_call(fd, &r, buf);
	if (n <= 0)
		return n ? n : -EBADMSG;
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	if (h->nlmsg_type != RTM_NEWLINK)
		return -EBADMSG;
	struct ifinfomsg *ifi = NLMSG_DATA(h);
	int len = (int)IFLA_PAYLOAD(h);
	for (struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == IFLA_ADDRESS && RTA_PAYLOAD(a) == ETH_ALEN) {
			memcpy(mac, RTA_DATA(a), ETH_ALEN);
			return 0;
		}
	}
	return -EAFNOSUPPORT;  /* no Ethernet address: not a device we can drive */
}

/* Returns 0 with lladdr + state, -ENOENT when the kernel has no entry. */
static int fp_neigh_get(int fd, int family, int ifindex, const uint8_t *hop,
			struct fp_nexthop *out, char *buf)
{
	struct fp_nl_req r;
	memset(&r, 0, sizeof(r));
	r.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ndmsg));
	r.nh.nlmsg_type = RTM_GETNEIGH;
	r.nh.nlmsg_flags = NLM_F_REQUEST;
	r.nd.ndm_family = (unsigned char)family;
	r.nd.ndm_ifindex = ifindex;
	fp_nl_attr(&r, NDA_DST, hop, (size_t)fp_addr_len(family));
	int n = fp_nl_call(fd, &r, buf);
	if (n <= 0)
		return n ? n : -EBADMSG;
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	if (h->nlmsg_type != RTM_NEWNEIGH)
		return -EBADMSG;
	struct ndmsg *nd = NLMSG_DATA(h);
	out->nud_state = nd->ndm_state;
	int len = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof(*nd)));
	int have_mac = 0;
	for (struct rtattr *a = (struct rtattr *)((char *)nd + NLMSG_ALIGN(sizeof(*nd)));
	     RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == NDA_LLADDR && RTA_PAYLOAD(a) == ETH_ALEN) {
			memcpy(out->dst_mac, RTA_DATA(a), ETH_ALEN);
			have_mac = 1;
		}
	}
	return have_mac && (nd->ndm_state & FP_NUD_USABLE) ? 0 : -EAGAIN;
}

/* Kicks resolution like a transmitted packet would (NTF_USE). */
static int fp_neigh_use(int fd, int family, int ifindex, const uint8_t *hop, char *buf)
{
	struct fp_nl_req r;
	memset(&r, 0, sizeof(r));
	r.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ndmsg));
	r.nh.nlmsg_type = RTM_NEWNEIGH;
	r.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE;
	r.nd.ndm_family = (unsigned char)family;
	r.nd.ndm_ifindex = ifindex;
	r.nd.ndm_state = NUD_NONE;
	r.nd.ndm_flags = NTF_USE;
	fp_nl_attr(&r, NDA_DST, hop, (size_t)fp_addr_len(family));
	int n = fp_nl_call(fd, &r, buf);
	return n < 0 ? n : 0;
}

int fp_nexthop__resolve_at(int fd, int family, const uint8_t *dst16, struct fp_nexthop *out)
{
	if (!dst16 || !out || (family != AF_INET && family != AF_INET6))
		return -EINVAL;
	char buf[FP_NL_BUF_BYTES] __attribute__((aligned(8)));
	uint8_t hop[16];
	memset(out, 0, sizeof(*out));
	const uint8_t *dst = fp_family_bytes(family, dst16);
	int err = fp_route(fd, family, dst, out, hop, buf);
	if (err)
		return err;
	fp_addr_from_family(&out->gateway, family, hop);
	if ((err = fp_link_mac(fd, out->ifindex, out->src_mac, buf)))
		return err;
	err = fp_neigh_get(fd, family, out->ifindex, hop, out, buf);
	if (err == 0)
		return 0;
	if (err != -ENOENT && err != -EAGAIN)
		return err;
	/* Missing, incomplete or failed: ask the kernel to (re)resolve. */
	int use = fp_neigh_use(fd, family, out->ifindex, hop, buf);
	return use ? use : -EAGAIN;
}

int fp_nexthop__resolve(int family, const uint8_t *dst16, struct fp_nexthop *out)
{
	int fd;
	int err = fp_netlink__open(&fd);
	if (err)
		return err;
	err = fp_nexthop__resolve_at(fd, family, dst16, out);
	close(fd);
	return err;
}
