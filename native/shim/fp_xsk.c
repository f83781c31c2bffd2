/* AF_XDP set-up without libxdp, so we control UMEM sharing:
 *   - one UMEM area, registered (XDP_UMEM_REG) by the first socket only;
 *   - every later socket binds with XDP_SHARED_UMEM to the first one's fd and
 *     gets its OWN fill and completion rings: the kernel requires that when
 *     the socket is on another device or queue than the registering one, and
 *     it is what lets a frame received on one device be sent on another
 *     without copying;
 *   - sockets sharing a UMEM inherit copy/zero-copy and need_wakeup from the
 *     registering socket (the kernel rejects those flags with XDP_SHARED_UMEM).
 * Ring memory is driven from C# (src/FastPath/Xsk/XskRing.cs). */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <linux/if_xdp.h>
#include <bpf/bpf.h>
#include "fp_shim.h"

#ifndef SOL_XDP
#define SOL_XDP 283
#endif
#ifndef AF_XDP
#define AF_XDP 44
#endif

struct fp_umem {
	void *area;
	uint64_t size;
	uint32_t frame_size;
	uint32_t frame_count;
	int owner_fd;     /* socket that registered the UMEM; FP_UMEM_FRESH / FP_UMEM_ORPHANED */
	uint32_t sockets; /* live sockets using it */
};

/* owner_fd values without a socket: nothing registered yet (or every socket
 * closed: the next one registers afresh), or the registering socket closed while
 * others still use the UMEM — then nobody can join it any more. */
#define FP_UMEM_FRESH (-1)
#define FP_UMEM_ORPHANED (-2)

struct fp_mapping {
	void *addr;
	size_t len;
};

struct fp_xsk {
	int fd;
	struct fp_umem *umem;
	struct fp_mapping rx, tx, fill, comp;
};

static int fp_is_pow2(uint32_t n)
{
	return n && !(n & (n - 1));
}

int fp_umem__create(uint32_t frame_count, uint32_t frame_size, struct fp_umem **out,
		    struct fp_umem_info *info)
{
	if (!out || !info || frame_count == 0 || !fp_is_pow2(frame_size) || frame_size < 2048)
		return -EINVAL;
	struct fp_umem *u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->size = (uint64_t)frame_count * frame_size;
	u->area = mmap(NULL, u->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (u->area == MAP_FAILED) {
		int err = -errno;
		free(u);
		return err;
	}
	u->frame_size = frame_size;
	u->frame_count = frame_count;
	u->owner_fd = FP_UMEM_FRESH;
	info->base = (uint64_t)(uintptr_t)u->area;
	info->size = u->size;
	info->frame_size = frame_size;
	info->frame_count = frame_count;
	*out = u;
	return 0;
}

/* Sockets pin the pages; the caller closes them first. */
int fp_umem__destroy(struct fp_umem *u)
{
	if (!u)
		return 0;
	if (u->sockets)
		return -EBUSY;
	munmap(u->area, u->size);
	free(u);
	return 0;
}

static int fp_map_ring(int fd, off_t pgoff, uint64_t desc_off, uint32_t entries, size_t entry_size,
		       const struct xdp_ring_offset *off, struct fp_mapping *m,
		       struct fp_ring_info *ring)
{
	m->len = desc_off + (size_t)entries * entry_size;
	m->addr = mmap(NULL, m->len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, pgoff);
	if (m->addr == MAP_FAILED) {
		m->addr = NULL;
		return -errno;
	}
	char *b = m->addr;
	ring->producer = (uint64_t)(uintptr_t)(b + off->producer);
	ring->consumer = (uint64_t)(uintptr_t)(b + off->consumer);
	ring->flags = (uint64_t)(uintptr_t)(b + off->flags);
	ring->descs = (uint64_t)(uintptr_t)(b + off->desc);
	ring->size = entries;
	ring->mask = entries - 1;
	return 0;
}

static void fp_unmap(struct fp_mapping *m)
{
	if (m->addr)
		munmap(m->addr, m->len);
	m->addr = NULL;
}

static int fp_setopt(int fd, int name, const void *v, socklen_t len)
{
	return setsockopt(fd, SOL_XDP, name, v, len) ? -errno : 0;
}

int fp_xsk__create(struct fp_umem *u, const struct fp_xsk_config *c, struct fp_xsk **out,
		   struct fp_xsk_info *info)
{
	if (!u || !c || !out || !info)
		return -EINVAL;
	if (!fp_is_pow2(c->rx_size) || !fp_is_pow2(c->tx_size) || !fp_is_pow2(c->fill_size) ||
	    !fp_is_pow2(c->comp_size) || c->bind_mode > FP_XSK_BIND_ZEROCOPY)
		return -EINVAL;
	if (u->owner_fd == FP_UMEM_ORPHANED)
		return -ESTALE;
	struct fp_xsk *x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	x->umem = u;
	int err;
	x->fd = socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (x->fd < 0) {
		err = -errno;
		free(x);
		return err;
	}
	int owner = u->owner_fd == FP_UMEM_FRESH;
	if (owner) {
		struct xdp_umem_reg reg = {
			.addr = (uint64_t)(uintptr_t)u->area,
			.len = u->size,
			.chunk_size = u->frame_size,
			.headroom = 0,
		};
		if ((err = fp_setopt(x->fd, XDP_UMEM_REG, &reg, sizeof(reg))))
			goto fail;
	}
	/* Every socket: its own fill + completion rings (see top of file). */
	if ((err = fp_setopt(x->fd, XDP_UMEM_FILL_RING, &c->fill_size, sizeof(c->fill_size))) ||
	    (err = fp_setopt(x->fd, XDP_UMEM_COMPLETION_RING, &c->comp_size, sizeof(c->comp_size))) ||
	    (err = fp_setopt(x->fd, XDP_RX_RING, &c->rx_size, sizeof(c->rx_size))) ||
	    (err = fp_setopt(x->fd, XDP_TX_RING, &c->tx_size, sizeof(c->tx_size))))
		goto fail;

	struct xdp_mmap_offsets off;
	socklen_t optlen = sizeof(off);
	if (getsockopt(x->fd, SOL_XDP, XDP_MMAP_OFFSETS, &off, &optlen)) {
		err = -errno;
		goto fail;
	}
	memset(info, 0, sizeof(*info));
	if ((err = fp_map_ring(x->fd, XDP_PGOFF_RX_RING, off.rx.desc, c->rx_size,
			       sizeof(struct xdp_desc), &off.rx, &x->rx, &info->rx)) ||
	    (err = fp_map_ring(x->fd, XDP_PGOFF_TX_RING, off.tx.desc, c->tx_size,
			       sizeof(struct xdp_desc), &off.tx, &x->tx, &info->tx)) ||
	    (err = fp_map_ring(x->fd, XDP_UMEM_PGOFF_FILL_RING, off.fr.desc, c->fill_size,
			       sizeof(uint64_t), &off.fr, &x->fill, &info->fill)) ||
	    (err = fp_map_ring(x->fd, XDP_UMEM_PGOFF_COMPLETION_RING, off.cr.desc, c->comp_size,
			       sizeof(uint64_t), &off.cr, &x->comp, &info->comp)))
		goto fail;

	struct sockaddr_xdp sxdp = {
		.sxdp_family = AF_XDP,
		.sxdp_ifindex = (uint32_t)c->ifindex,
		.sxdp_queue_id = c->queue,
	};
	if (owner) {
		sxdp.sxdp_flags = XDP_USE_NEED_WAKEUP;
		if (c->bind_mode == FP_XSK_BIND_COPY)
			sxdp.sxdp_flags |= XDP_COPY;
		else if (c->bind_mode == FP_XSK_BIND_ZEROCOPY)
			sxdp.sxdp_flags |= XDP_ZEROCOPY;
	} else {
		sxdp.sxdp_flags = XDP_SHARED_UMEM;
		sxdp.sxdp_shared_umem_fd = (uint32_t)u->owner_fd;
	}
	if (bind(x->fd, (struct sockaddr *)&sxdp, sizeof(sxdp))) {
		err = -errno;
		goto fail;
	}
	if (owner)
		u->owner_fd = x->fd;
	u->sockets++;
	info->fd = x->fd;
	*out = x;
	return 0;

fail:
	fp_unmap(&x->rx);
	fp_unmap(&x->tx);
	fp_unmap(&x->fill);
	fp_unmap(&x->comp);
	close(x->fd);
	free(x);
	return err;
}

/* Closing the registering socket is fine for the data path (the kernel keeps
 * the UMEM while any socket uses it), but no further socket can join it
 * (fp_xsk__create then fails with -ESTALE) until all of them are closed. */
int fp_xsk__close(struct fp_xsk *x)
{
	if (!x)
		return 0;
	fp_unmap(&x->rx);
	fp_unmap(&x->tx);
	fp_unmap(&x->fill);
	fp_unmap(&x->comp);
	struct fp_umem *u = x->umem;
	u->sockets--;
	if (u->sockets == 0)
		u->owner_fd = FP_UMEM_FRESH;
	else if (u->owner_fd == x->fd)
		u->owner_fd = FP_UMEM_ORPHANED;
	close(x->fd);
	free(x);
	return 0;
}

/* Tells the kernel the TX ring has descriptors. EAGAIN/EBUSY/ENOBUFS mean
 * "busy, try on the next batch" and are reported as 0. */
int fp_xsk__kick_tx(int fd)
{
	if (sendto(fd, NULL, 0, MSG_DONTWAIT, NULL, 0) >= 0)
		return 0;
	if (errno == EAGAIN || errno == EBUSY || errno == ENOBUFS || errno == ENETDOWN)
		return 0;
	return -errno;
}

/* Wakes RX processing after the fill ring was refilled (need_wakeup set). */
int fp_xsk__wakeup(int fd)
{
	if (recvfrom(fd, NULL, 0, MSG_DONTWAIT, NULL, NULL) >= 0)
		return 0;
	if (errno == EAGAIN || errno == EBUSY || errno == ENOBUFS || errno == ENETDOWN)
		return 0;
	return -errno;
}

/* Waits for POLLIN on any of fds; returns how many are ready (0 on timeout). */
int fp_xsk__poll(const int *fds, uint32_t count, int timeout_ms)
{
	enum { FP_POLL_MAX = 256 };
	struct pollfd p[FP_POLL_MAX];
	if (!fds || count == 0 || count > FP_POLL_MAX)
		return -EINVAL;
	for (uint32_t i = 0; i < count; i++)
		p[i] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
	int n = poll(p, count, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	return n;
}

int fp_xsk__statistics(int fd, struct fp_xdp_stats *out)
{
	if (!out)
		return -EINVAL;
	struct xdp_statistics s;
	socklen_t len = sizeof(s);
	memset(&s, 0, sizeof(s));
	if (getsockopt(fd, SOL_XDP, XDP_STATISTICS, &s, &len))
		return -errno;
	out->rx_dropped = s.rx_dropped;
	out->rx_invalid_descs = s.rx_invalid_descs;
	out->tx_invalid_descs = s.tx_invalid_descs;
	out->rx_ring_full = s.rx_ring_full;
	out->rx_fill_ring_empty_descs = s.rx_fill_ring_empty_descs;
	out->tx_ring_empty_descs = s.tx_ring_empty_descs;
	return 0;
}

int fp_xsk__register(int xsks_fd, uint32_t key, int xsk_fd)
{
	if (key >= FP_XSKS_MAX_ENTRIES)
		return -ERANGE;
	return bpf_map_update_elem(xsks_fd, &key, &xsk_fd, BPF_ANY) ? -errno : 0;
}

int fp_xsk__unregister(int xsks_fd, uint32_t key)
{
	return bpf_map_delete_elem(xsks_fd, &key) ? -errno : 0;
}

int fp_dev__register(int dev_slots_fd, int ifindex, uint32_t slot)
{
	if (slot >= FP_MAX_DEVICES)
		return -ERANGE;
	uint32_t key = (uint32_t)ifindex;
	return bpf_map_update_elem(dev_slots_fd, &key, &slot, BPF_ANY) ? -errno : 0;
}
