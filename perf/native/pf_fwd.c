/*
 * pf_fwd — "the limit": the least an AF_XDP forwarder can do on this path. Frames arrive on
 * IN (pf_to_xsk redirects the generator's UDP to our socket), get their MACs rewritten
 * (source = OUT's MAC, destination = NEXT_HOP_MAC) and leave on OUT. No parsing beyond what the
 * XDP program did, no NAT, no conntrack, no load balancing.
 *
 *   pf_fwd BPF_OBJECT IN OUT NEXT_HOP_MAC MAX_SECONDS
 *
 * Same rings idea as FastPath: one UMEM shared by both sockets (XDP_SHARED_UMEM), so a frame
 * moves IN.rx → OUT.tx → OUT.completion → IN.fill without a copy in user space. Copy mode
 * (veth has no zero-copy). Batches: peek up to PF_BATCH, one TX kick per batch, and poll() when
 * idle so CPU time measures work, not spinning. Prints at the end:
 *     fwd: forwarded=<n> dropped_no_tx_room=<n>
 */
#define _GNU_SOURCE /* sendmmsg, accept4 */
#include <errno.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/xsk.h>
#include "pf_common.h"

#define PF_FRAMES 4096u
#define PF_FRAME_SIZE XSK_UMEM__DEFAULT_FRAME_SIZE
#define PF_RING 2048u
#define PF_BATCH 64u
#define PF_IDLE_POLL_MS 100
#define PF_KICKS_PER_BATCH (PF_BATCH / 32 + 2)

static struct xsk_ring_prod fill_in, fill_out, tx_out;
static struct xsk_ring_cons comp_in, comp_out, rx_in;

static int own_mac(const char *ifname, uint8_t mac[6])
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM, 0), err;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	err = ioctl(fd, SIOCGIFHWADDR, &ifr);
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	close(fd);
	return err;
}

/* Copy mode transmits only inside sendto, and at most 32 frames per call (the kernel's
 * TX_BATCH_SIZE; it answers EAGAIN while more wait): kick until the ring is empty, bounded. */
static void kick_tx(int fd)
{
	for (uint32_t i = 0; i < PF_KICKS_PER_BATCH; i++) {
		if (sendto(fd, NULL, 0, MSG_DONTWAIT, NULL, 0) >= 0)
			return;
		if (errno != EAGAIN && errno != EBUSY && errno != ENOBUFS)
			pf_die("pf_fwd: TX kick failed: %s", strerror(errno));
		if (errno != EAGAIN)
			return;
	}
}

/* Completions the fill ring had no room for. Only PF_RING frames circulate and the fill ring
 * holds PF_RING, so this should stay 0 — but kernel 6.18 in copy mode under overload (TX kicks
 * answered EBUSY/ENOBUFS) was seen completing more addresses than were in flight. Dropping the
 * surplus keeps the forwarder alive (a measurement, not a crash) and the count says it happened. */
static uint64_t surplus_completions;

/* Completed TX frames go back to IN's fill ring: the only way frames return to the receiver. */
static void recycle_completions(void)
{
	uint32_t idx_c, idx_f;
	uint32_t done = xsk_ring_cons__peek(&comp_out, PF_BATCH, &idx_c);
	if (!done)
		return;
	uint32_t room = xsk_prod_nb_free(&fill_in, done); /* reserve is all or nothing: ask what fits */
	if (room > done)
		room = done;
	if (room)
		xsk_ring_prod__reserve(&fill_in, room, &idx_f);
	for (uint32_t i = 0; i < room; i++)
		*xsk_ring_prod__fill_addr(&fill_in, idx_f + i) = *xsk_ring_cons__comp_addr(&comp_out, idx_c + i);
	xsk_ring_prod__submit(&fill_in, room);
	xsk_ring_cons__release(&comp_out, done);
	surplus_completions += done - room;
}

int main(int argc, char **argv)
{
	if (argc != 6)
		pf_die("usage: pf_fwd BPF_OBJECT IN OUT NEXT_HOP_MAC MAX_SECONDS");
	const char *in = argv[2], *out = argv[3];
	uint8_t next_mac[6], out_mac[6];
	int in_index = (int)if_nametoindex(in);
	if (!in_index || !if_nametoindex(out) || pf_parse_mac(argv[4], next_mac) || own_mac(out, out_mac))
		pf_die("pf_fwd: need interfaces %s and %s in this namespace and a MAC aa:bb:cc:dd:ee:ff", in, out);
	uint64_t deadline = pf_now_ns() + (uint64_t)(atof(argv[5]) * PF_NS_PER_S);

	void *area = mmap(NULL, (size_t)PF_FRAMES * PF_FRAME_SIZE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED)
		pf_die("pf_fwd: UMEM mmap failed");
	struct xsk_umem *umem;
	struct xsk_umem_config ucfg = { .fill_size = PF_RING, .comp_size = PF_RING,
					.frame_size = PF_FRAME_SIZE, .frame_headroom = 0 };
	int err = xsk_umem__create(&umem, area, (uint64_t)PF_FRAMES * PF_FRAME_SIZE, &fill_in, &comp_in, &ucfg);
	if (err)
		pf_die("pf_fwd: UMEM create failed (%d)", err);

	struct xsk_socket_config scfg = { .rx_size = PF_RING, .tx_size = PF_RING,
					  .libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
					  .bind_flags = XDP_COPY };
	struct xsk_socket *xin, *xout;
	err = xsk_socket__create_shared(&xin, in, 0, umem, &rx_in, NULL, &fill_in, &comp_in, &scfg);
	if (err)
		pf_die("pf_fwd: AF_XDP socket on %s queue 0 failed (%d)", in, err);
	err = xsk_socket__create_shared(&xout, out, 0, umem, NULL, &tx_out, &fill_out, &comp_out, &scfg);
	if (err)
		pf_die("pf_fwd: shared-UMEM AF_XDP socket on %s failed (%d)", out, err);

	struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
	if (!obj || bpf_object__load(obj))
		pf_die("pf_fwd: cannot load %s", argv[1]);
	struct bpf_program *prog = bpf_object__find_program_by_name(obj, "pf_to_xsk");
	int xsks_fd = bpf_object__find_map_fd_by_name(obj, "pf_xsks");
	uint32_t queue = 0;
	int xin_fd = xsk_socket__fd(xin), xout_fd = xsk_socket__fd(xout);
	if (!prog || xsks_fd < 0 || bpf_map_update_elem(xsks_fd, &queue, &xin_fd, 0))
		pf_die("pf_fwd: cannot register the socket in pf_xsks");
	if (bpf_xdp_attach(in_index, bpf_program__fd(prog), XDP_FLAGS_DRV_MODE, NULL))
		pf_die("pf_fwd: native XDP attach on %s failed: is another program attached?", in);

	/* Every frame starts on IN's fill ring. */
	uint32_t idx;
	if (xsk_ring_prod__reserve(&fill_in, PF_RING, &idx) != PF_RING)
		pf_die("pf_fwd: fill ring reserve failed");
	for (uint32_t i = 0; i < PF_RING; i++)
		*xsk_ring_prod__fill_addr(&fill_in, idx + i) = (uint64_t)i * PF_FRAME_SIZE;
	xsk_ring_prod__submit(&fill_in, PF_RING);

	pf_install_signals();
	printf("fwd: ready\n");
	fflush(stdout);
	uint64_t forwarded = 0, dropped = 0;
	struct pollfd pfd = { .fd = xin_fd, .events = POLLIN };
	while (!pf_stop && pf_now_ns() < deadline) {
		uint32_t idx_rx, idx_tx;
		uint32_t got = xsk_ring_cons__peek(&rx_in, PF_BATCH, &idx_rx);
		if (!got) {
			recycle_completions();
			poll(&pfd, 1, PF_IDLE_POLL_MS);
			continue;
		}
		uint32_t room = xsk_ring_prod__reserve(&tx_out, got, &idx_tx);
		for (uint32_t i = 0; i < room; i++) {
			const struct xdp_desc *d = xsk_ring_cons__rx_desc(&rx_in, idx_rx + i);
			uint8_t *frame = xsk_umem__get_data(area, d->addr);
			memcpy(frame, next_mac, 6);
			memcpy(frame + 6, out_mac, 6);
			*xsk_ring_prod__tx_desc(&tx_out, idx_tx + i) = *d;
		}
		if (room < got) { /* TX full: the frames we cannot send go straight back to fill */
			uint32_t idx_f, left = got - room, back = xsk_prod_nb_free(&fill_in, left);
			if (back > left)
				back = left;
			if (back)
				xsk_ring_prod__reserve(&fill_in, back, &idx_f);
			for (uint32_t i = 0; i < back; i++)
				*xsk_ring_prod__fill_addr(&fill_in, idx_f + i) =
					xsk_ring_cons__rx_desc(&rx_in, idx_rx + room + i)->addr;
			xsk_ring_prod__submit(&fill_in, back);
			surplus_completions += left - back; /* see surplus_completions */
			dropped += left;
		}
		xsk_ring_prod__submit(&tx_out, room);
		xsk_ring_cons__release(&rx_in, got);
		forwarded += room;
		kick_tx(xout_fd);
		recycle_completions();
	}
	bpf_xdp_detach(in_index, XDP_FLAGS_DRV_MODE, NULL);
	xsk_socket__delete(xin);
	xsk_socket__delete(xout);
	xsk_umem__delete(umem);
	bpf_object__close(obj);
	printf("fwd: forwarded=%llu dropped_no_tx_room=%llu surplus_completions=%llu\n", (unsigned long long)forwarded,
	       (unsigned long long)dropped, (unsigned long long)surplus_completions);
	return 0;
}
