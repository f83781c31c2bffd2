/* The kernel's neighbour events (RTNLGRP_NEIGH), so the resolver learns that a
 * neighbour answered the moment it does, instead of at its next retry.
 *
 *   fp_neigh_events__open   netlink socket joined to RTNLGRP_NEIGH + an eventfd to wake a waiter
 *   fp_neigh_events__wait   blocks until neighbours became usable (their addresses), a wake, or timeout
 *   fp_neigh_events__wake   makes a waiter return -ECANCELED (shutdown)
 *   fp_neigh_events__close
 *
 * Like the rest of fp_netlink.c the socket belongs to the network namespace of
 * the thread that opened it. Addresses come in the 16-byte map form (IPv4 as
 * ::ffff:a.b.c.d), the same as fp_nexthop.gateway. */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/neighbour.h>
#include "fp_nl_common.h"

/* The kernel sends one notification per datagram; this holds any of them. */
#define FP_EV_BUF_BYTES 8192

int fp_neigh_events__open(int *fd, int *wake_fd)
{
	if (!fd || !wake_fd)
		return -EINVAL;
	int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
	if (s < 0)
		return -errno;
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_NEIGH };
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa))) {
		int err = -errno;
		close(s);
		return err;
	}
	int e = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (e < 0) {
		int err = -errno;
		close(s);
		return err;
	}
	*fd = s;
	*wake_fd = e;
	return 0;
}

int fp_neigh_events__wake(int wake_fd)
{
	uint64_t one = 1;
	return write(wake_fd, &one, sizeof(one)) == sizeof(one) ? 0 : -errno;
}

int fp_neigh_events__close(int fd, int wake_fd)
{
	int err = 0;
	if (close(fd))
		err = -errno;
	if (close(wake_fd) && !err)
		err = -errno;
	return err;
}

/* Appends the neighbour of one RTM_NEWNEIGH message if it is now usable. */
static int fp_ev_usable_neighbour(struct nlmsghdr *h, struct fp_addr *out)
{
	if (h->nlmsg_type != RTM_NEWNEIGH || h->nlmsg_len < NLMSG_LENGTH(sizeof(struct ndmsg)))
		return 0;
	struct ndmsg *nd = NLMSG_DATA(h);
	if (!(nd->ndm_state & FP_NUD_USABLE))
		return 0;
	if (nd->ndm_family != AF_INET && nd->ndm_family != AF_INET6)
		return 0;
	int len = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof(*nd)));
	for (struct rtattr *a = (struct rtattr *)((char *)nd + NLMSG_ALIGN(sizeof(*nd)));
	     RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == NDA_DST && RTA_PAYLOAD(a) == (size_t)fp_addr_len(nd->ndm_family)) {
			fp_addr_from_family(out, nd->ndm_family, RTA_DATA(a));
			return 1;
		}
	}
	return 0;
}

/* Returns how many addresses were written (0 if events came but none made a
 * neighbour usable, or on timeout), -ECANCELED after a wake, -ENOBUFS if the
 * kernel dropped events (the caller should recheck everything it waits for),
 * or another -errno. timeout_ms < 0 waits without limit. */
int fp_neigh_events__wait(int fd, int wake_fd, int timeout_ms, struct fp_addr *out, int max)
{
	if (!out || max <= 0)
		return -EINVAL;
	struct pollfd fds[2] = { { .fd = fd, .events = POLLIN }, { .fd = wake_fd, .events = POLLIN } };
	int ready = poll(fds, 2, timeout_ms);
	if (ready < 0)
		return errno == EINTR ? 0 : -errno;
	if (fds[1].revents & POLLIN) {
		uint64_t count;
		if (read(wake_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
			return -errno;
		return -ECANCELED;
	}
	if (!(fds[0].revents & POLLIN))
		return 0;
	char buf[FP_EV_BUF_BYTES] __attribute__((aligned(8)));
	int written = 0;
	while (written < max) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			return -errno;  /* ENOBUFS: the socket overflowed and events were lost */
		}
		size_t at = 0;
		while (written < max && at + sizeof(struct nlmsghdr) <= (size_t)n) {
			struct nlmsghdr *h = (struct nlmsghdr *)(buf + at);
			if (h->nlmsg_len < sizeof(*h) || at + h->nlmsg_len > (size_t)n)
				break;
			written += fp_ev_usable_neighbour(h, &out[written]);
			at += NLMSG_ALIGN(h->nlmsg_len);
		}
	}
	return written;
}
