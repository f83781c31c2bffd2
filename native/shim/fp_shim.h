/* libfpshim: the thin C layer C# calls (src/FastPath/Native). Every export is
 * named fp_<object>__<verb>, returns 0 (or a count) on success and -errno on
 * failure, never prints, and is listed in fp_shim.map. Structs go by pointer;
 * results come back through out-parameters. Set-up calls only: nothing here
 * runs per packet (rings are driven from C# directly). */
#ifndef FP_SHIM_H
#define FP_SHIM_H

#include <stdint.h>
#include "fp_consts.h"
#include "fp_structs.h"

#define FP_EXPORT __attribute__((visibility("default")))

struct fp_steer;  /* a loaded fp_steer object with pinned maps */
struct fp_umem;   /* an mmap'ed UMEM area and the socket that registered it */
struct fp_xsk;    /* an AF_XDP socket and its mapped rings */

/* fp_bpf.c */
FP_EXPORT int fp_steer__open(const char *object_path, const char *pin_dir,
			     struct fp_steer **out, struct fp_steer_fds *fds);
FP_EXPORT int fp_steer__close(struct fp_steer *steer);
/* Attach through a BPF link (detached when the last fd closes, also if the process dies);
 * detach takes the link fd. */
FP_EXPORT int fp_xdp__attach(int ifindex, int prog_fd, int mode, int *used_mode, int *link_fd);
FP_EXPORT int fp_xdp__detach(int link_fd);
FP_EXPORT int fp_map__update(int fd, const void *key, const void *value, uint64_t flags);
FP_EXPORT int fp_map__delete(int fd, const void *key);
FP_EXPORT int fp_map__lookup(int fd, const void *key, void *value);
FP_EXPORT int fp_map__update_batch(int fd, const void *keys, const void *values, uint32_t *count);
FP_EXPORT int fp_map__delete_batch(int fd, const void *keys, uint32_t *count);
FP_EXPORT int fp_map__lookup_percpu(int fd, const void *key, void *values, uint32_t value_size,
				    uint32_t cpu_capacity);
FP_EXPORT int fp_cpu__possible_count(void);
FP_EXPORT int fp_prog__test_run(int prog_fd, const void *frame, uint32_t length, int ingress_ifindex,
				uint32_t repeat, uint32_t *action, uint32_t *duration_ns);

/* fp_xsk.c */
FP_EXPORT int fp_umem__create(uint32_t frame_count, uint32_t frame_size, struct fp_umem **out,
			      struct fp_umem_info *info);
FP_EXPORT int fp_umem__destroy(struct fp_umem *umem);
FP_EXPORT int fp_xsk__create(struct fp_umem *umem, const struct fp_xsk_config *config,
			     struct fp_xsk **out, struct fp_xsk_info *info);
FP_EXPORT int fp_xsk__close(struct fp_xsk *xsk);
FP_EXPORT int fp_xsk__kick_tx(int fd);
FP_EXPORT int fp_xsk__wakeup(int fd);
FP_EXPORT int fp_xsk__poll(const int *fds, uint32_t count, int timeout_ms);
FP_EXPORT int fp_xsk__statistics(int fd, struct fp_xdp_stats *out);
FP_EXPORT int fp_xsk__register(int xsks_fd, uint32_t key, int xsk_fd);
FP_EXPORT int fp_xsk__unregister(int xsks_fd, uint32_t key);
FP_EXPORT int fp_dev__register(int dev_slots_fd, int ifindex, uint32_t slot);

/* fp_netlink.c */
FP_EXPORT int fp_netlink__open(int *fd);
FP_EXPORT int fp_netlink__close(int fd);
FP_EXPORT int fp_nexthop__resolve_at(int nl_fd, int family, const uint8_t *dst16,
				     struct fp_nexthop *out);
FP_EXPORT int fp_nexthop__resolve(int family, const uint8_t *dst16, struct fp_nexthop *out);

/* fp_neigh_events.c */
FP_EXPORT int fp_neigh_events__open(int *fd, int *wake_fd);
FP_EXPORT int fp_neigh_events__wait(int fd, int wake_fd, int timeout_ms, struct fp_addr *out, int max);
FP_EXPORT int fp_neigh_events__wake(int wake_fd);
FP_EXPORT int fp_neigh_events__close(int fd, int wake_fd);

#endif
