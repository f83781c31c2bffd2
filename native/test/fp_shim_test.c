/* Smoke test of libfpshim against the real kernel (root, bpffs mounted):
 * load + pin fp_steer, map ops incl. batch and per-CPU, a UMEM, next hop of
 * 127.0.0.1 (local -> -EHOSTUNREACH), unpin. Prints one line per check. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "fp_shim.h"

static int failures;
#define CHECK(cond, what) do { \
	int ok_ = (cond); \
	printf("%s %s\n", ok_ ? "ok  " : "FAIL", what); \
	if (!ok_) failures++; \
} while (0)

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s fp_steer.bpf.o\n", argv[0]);
		return 2;
	}
	char pin[64];
	snprintf(pin, sizeof(pin), "/sys/fs/bpf/fp-shim-test-%d", (int)getpid());
	struct fp_steer *s;
	struct fp_steer_fds fds;
	int err = fp_steer__open(argv[1], pin, &s, &fds);
	CHECK(err == 0, "fp_steer__open loads and pins");
	if (err) {
		printf("     error %d (%s)\n", err, strerror(-err));
		return 1;
	}
	char path[128];
	struct stat st;
	snprintf(path, sizeof(path), "%s/fp_services", pin);
	CHECK(stat(path, &st) == 0, "fp_services is pinned");

	struct fp_service_key keys[3];
	struct fp_service_value vals[3];
	memset(keys, 0, sizeof(keys));
	memset(vals, 0, sizeof(vals));
	for (int i = 0; i < 3; i++) {
		keys[i].addr.bytes[15] = (unsigned char)(i + 1);
		keys[i].port = (unsigned short)(80 + i);
		keys[i].proto = 6;
	}
	uint32_t n = 3;
	CHECK(fp_map__update_batch(fds.services, keys, vals, &n) == 0 && n == 3, "update_batch of 3");
	struct fp_service_value v;
	CHECK(fp_map__lookup(fds.services, &keys[1], &v) == 0, "lookup finds a batched key");
	n = 3;
	CHECK(fp_map__delete_batch(fds.services, keys, &n) == 0 && n == 3, "delete_batch of 3");
	CHECK(fp_map__lookup(fds.services, &keys[1], &v) == -ENOENT, "lookup after delete is -ENOENT");

	int cpus = fp_cpu__possible_count();
	uint64_t per_cpu[1024];
	uint32_t idx = FP_STEER_PASS_NOT_IP;
	CHECK(cpus > 0 && fp_map__lookup_percpu(fds.counters, &idx, per_cpu, 8, 1024) == cpus,
	      "per-CPU lookup returns the possible CPU count");

	struct fp_umem *u;
	struct fp_umem_info ui;
	CHECK(fp_umem__create(64, FP_DEFAULT_FRAME_SIZE, &u, &ui) == 0 && ui.size == 64 * 4096,
	      "umem of 64 frames");
	CHECK(fp_umem__destroy(u) == 0, "umem destroyed");

	uint8_t lo[16] = { [10] = 0xff, [11] = 0xff, [12] = 127, [15] = 1 };
	struct fp_nexthop hop;
	CHECK(fp_nexthop__resolve(2, lo, &hop) == -EHOSTUNREACH, "next hop of 127.0.0.1 is local");

	int ev, wake;
	struct fp_addr usable[4];
	CHECK(fp_neigh_events__open(&ev, &wake) == 0, "joined the neighbour events");
	CHECK(fp_neigh_events__wait(ev, wake, 0, usable, 4) >= 0, "a wait without events returns at once");
	CHECK(fp_neigh_events__wake(wake) == 0 &&
	      fp_neigh_events__wait(ev, wake, -1, usable, 4) == -ECANCELED, "a wake ends a wait");
	CHECK(fp_neigh_events__close(ev, wake) == 0, "neighbour events closed");

	CHECK(fp_steer__close(s) == 0, "fp_steer__close unpins");
	CHECK(stat(pin, &st) != 0, "pin directory removed");
	return failures ? 1 : 0;
}
