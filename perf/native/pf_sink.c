/*
 * pf_sink — the receiver: attaches pf_count (pf_xdp.bpf.o) to IFNAME in native mode, waits until
 * SIGINT/SIGTERM or MAX_SECONDS, then prints what arrived and detaches:
 *     sink: packets=<n> bytes=<n> stale=<n>
 * Counting in XDP (per-CPU, then dropped) keeps the receiver far cheaper than any system under
 * test, so delivered packets/s measure the path, not the sink.
 *
 *   pf_sink BPF_OBJECT IFNAME MAX_SECONDS TAG
 *
 * Only frames carrying TAG (pf_gen -g) count; frames of earlier points still draining out of
 * rings and backlogs are counted apart as stale.
 */
#define _GNU_SOURCE /* sendmmsg, accept4 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <unistd.h>
#include "pf_common.h"

static void read_counts(int map_fd, uint64_t counts[3])
{
	int cpus = libbpf_num_possible_cpus();
	uint64_t values[cpus > 0 ? cpus : 1];
	for (uint32_t key = 0; key < 3; key++) {
		counts[key] = 0;
		if (bpf_map_lookup_elem(map_fd, &key, values))
			pf_die("pf_sink: reading pf_counts failed");
		for (int c = 0; c < cpus; c++)
			counts[key] += values[c];
	}
}

int main(int argc, char **argv)
{
	if (argc != 5)
		pf_die("usage: pf_sink BPF_OBJECT IFNAME MAX_SECONDS TAG");
	int ifindex = (int)if_nametoindex(argv[2]);
	double max_seconds = atof(argv[3]);
	if (!ifindex)
		pf_die("pf_sink: no interface %s in this namespace", argv[2]);

	struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
	if (!obj || bpf_object__load(obj))
		pf_die("pf_sink: cannot load %s (built by make -C perf/native?)", argv[1]);
	struct bpf_program *prog = bpf_object__find_program_by_name(obj, "pf_count");
	int map_fd = bpf_object__find_map_fd_by_name(obj, "pf_counts");
	int tag_fd = bpf_object__find_map_fd_by_name(obj, "pf_tag");
	uint32_t key0 = 0, tag = htonl((uint32_t)strtoul(argv[4], NULL, 0));
	if (!prog || map_fd < 0 || tag_fd < 0 || bpf_map_update_elem(tag_fd, &key0, &tag, 0))
		pf_die("pf_sink: %s has no pf_count/pf_counts", argv[1]);
	int err = bpf_xdp_attach(ifindex, bpf_program__fd(prog), XDP_FLAGS_DRV_MODE, NULL);
	if (err)
		pf_die("pf_sink: native XDP attach on %s failed (%d): is another program attached?", argv[2], err);

	pf_install_signals();
	printf("sink: ready\n");
	fflush(stdout);
	uint64_t deadline = pf_now_ns() + (uint64_t)(max_seconds * PF_NS_PER_S);
	while (!pf_stop && pf_now_ns() < deadline)
		usleep(20000);

	uint64_t counts[3];
	read_counts(map_fd, counts);
	bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, NULL);
	bpf_object__close(obj);
	printf("sink: packets=%llu bytes=%llu stale=%llu\n", (unsigned long long)counts[0],
	       (unsigned long long)counts[1], (unsigned long long)counts[2]);
	return 0;
}
