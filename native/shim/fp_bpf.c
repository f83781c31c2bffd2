/* Loading fp_steer, pinning its maps, attaching XDP and generic map ops. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "fp_shim.h"

struct fp_steer {
	struct bpf_object *obj;
	char *pin_dir;
	int pin_dir_lock; /* an flock'ed fd of pin_dir: one live agent per pin directory */
};

/* The maps in the order of struct fp_steer_fds after prog. */
static const char *const fp_map_names[] = {
	"fp_services", "fp_flows", "fp_xsks", "fp_dev_slots", "fp_steer_counters",
};

/* libbpf returns -errno since 1.0; make sure no positive value escapes. */
static int fp_neg(int err)
{
	return err < 0 ? err : -err;
}

/* Locks pin_dir for this agent (-EBUSY when another live agent holds it), then removes pins of
 * our maps left there by an agent that was killed before it could unpin them: holding the lock
 * proves that agent is gone, and bpf_object__pin_maps refuses to pin over an existing file. */
static int fp_lock_and_clear_pins(const char *pin_dir, int *lock_fd)
{
	int fd = open(pin_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		int err = errno == EWOULDBLOCK ? -EBUSY : -errno;
		close(fd);
		return err;
	}
	for (size_t i = 0; i < sizeof(fp_map_names) / sizeof(fp_map_names[0]); i++)
		if (unlinkat(fd, fp_map_names[i], 0) && errno != ENOENT) {
			int err = -errno;
			close(fd);
			return err;
		}
	*lock_fd = fd;
	return 0;
}

int fp_steer__open(const char *object_path, const char *pin_dir, struct fp_steer **out,
		   struct fp_steer_fds *fds)
{
	if (!object_path || !pin_dir || !out || !fds)
		return -EINVAL;
	*out = NULL;
	libbpf_set_strict_mode(LIBBPF_STRICT_ALL);
	struct fp_steer *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->pin_dir_lock = -1;
	s->pin_dir = strdup(pin_dir);
	if (!s->pin_dir) {
		free(s);
		return -ENOMEM;
	}
	int err;
	s->obj = bpf_object__open_file(object_path, NULL);
	if (!s->obj) {
		err = -errno;
		goto fail;
	}
	err = bpf_object__load(s->obj);
	if (err)
		goto fail;
	/* mkdir -p for a single level is enough: the agent gives /sys/fs/bpf/<name>. */
	if (mkdir(pin_dir, 0700) && errno != EEXIST) {
		err = -errno;
		goto fail;
	}
	err = fp_lock_and_clear_pins(pin_dir, &s->pin_dir_lock);
	if (err)
		goto fail;
	err = bpf_object__pin_maps(s->obj, pin_dir);
	if (err)
		goto fail;

	struct bpf_program *prog = bpf_object__find_program_by_name(s->obj, "fp_steer");
	if (!prog) {
		err = -ENOENT;
		goto fail_unpin;
	}
	fds->prog = bpf_program__fd(prog);
	__s32 *map_fds = &fds->services;
	for (size_t i = 0; i < sizeof(fp_map_names) / sizeof(fp_map_names[0]); i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(s->obj, fp_map_names[i]);
		if (!m) {
			err = -ENOENT;
			goto fail_unpin;
		}
		map_fds[i] = bpf_map__fd(m);
	}
	*out = s;
	return 0;

fail_unpin:
	bpf_object__unpin_maps(s->obj, pin_dir);
	rmdir(pin_dir);
fail:
	if (s->pin_dir_lock >= 0)
		close(s->pin_dir_lock);
	bpf_object__close(s->obj);
	free(s->pin_dir);
	free(s);
	return fp_neg(err);
}

int fp_steer__close(struct fp_steer *s)
{
	if (!s)
		return 0;
	int err = bpf_object__unpin_maps(s->obj, s->pin_dir);
	rmdir(s->pin_dir);  /* best effort: only empties what we created */
	close(s->pin_dir_lock);
	bpf_object__close(s->obj);
	free(s->pin_dir);
	free(s);
	return err < 0 ? err : 0;
}

static __u32 fp_xdp_flags(int mode)
{
	return mode == FP_XDP_MODE_GENERIC ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
}

/* XDP is attached through a BPF link, not netlink: the attachment lives as long as the link fd,
 * so an agent that is killed (SIGKILL, OOM) detaches with its last fd instead of leaving a program
 * that steers into sockets nobody reads. A device that already has a program (ours or another
 * tool's) refuses the link with -EBUSY: we never replace someone else's program. */
static int fp_xdp_link(int ifindex, int prog_fd, int mode)
{
	LIBBPF_OPTS(bpf_link_create_opts, opts, .flags = fp_xdp_flags(mode));
	int fd = bpf_link_create(prog_fd, ifindex, BPF_XDP, &opts);
	return fd < 0 ? fp_neg(fd) : fd;
}

int fp_xdp__attach(int ifindex, int prog_fd, int mode, int *used_mode, int *link_fd)
{
	if (!used_mode || !link_fd || mode < FP_XDP_MODE_NATIVE || mode > FP_XDP_MODE_AUTO)
		return -EINVAL;
	int first = mode == FP_XDP_MODE_AUTO ? FP_XDP_MODE_NATIVE : mode;
	int fd = fp_xdp_link(ifindex, prog_fd, first);
	if (fd < 0 && mode == FP_XDP_MODE_AUTO && fd != -EBUSY && fd != -EEXIST) {
		first = FP_XDP_MODE_GENERIC;
		fd = fp_xdp_link(ifindex, prog_fd, first);
	}
	if (fd < 0)
		return fd;
	*used_mode = first;
	*link_fd = fd;
	return 0;
}

int fp_xdp__detach(int link_fd)
{
	if (link_fd < 0)
		return -EINVAL;
	/* Detach first so the device is free even while another reference to the link exists;
	 * -ENOLINK: the device is gone and took the attachment with it. */
	int err = bpf_link_detach(link_fd);
	close(link_fd);
	return err && err != -ENOLINK ? fp_neg(err) : 0;
}

int fp_map__update(int fd, const void *key, const void *value, uint64_t flags)
{
	int err = bpf_map_update_elem(fd, key, value, flags);
	return err ? fp_neg(err) : 0;
}

int fp_map__delete(int fd, const void *key)
{
	int err = bpf_map_delete_elem(fd, key);
	return err ? fp_neg(err) : 0;
}

int fp_map__lookup(int fd, const void *key, void *value)
{
	int err = bpf_map_lookup_elem(fd, key, value);
	return err ? fp_neg(err) : 0;
}

/* *count in: entries; out: entries processed (also on error). */
int fp_map__update_batch(int fd, const void *keys, const void *values, uint32_t *count)
{
	if (!count)
		return -EINVAL;
	if (*count == 0)
		return 0;
	int err = bpf_map_update_batch(fd, keys, values, count, NULL);
	return err ? fp_neg(err) : 0;
}

int fp_map__delete_batch(int fd, const void *keys, uint32_t *count)
{
	if (!count)
		return -EINVAL;
	if (*count == 0)
		return 0;
	int err = bpf_map_delete_batch(fd, keys, count, NULL);
	return err ? fp_neg(err) : 0;
}

/* values: cpu_capacity slots of value_size rounded up to 8 bytes (the kernel's
 * per-CPU stride). Returns the number of possible CPUs written. */
int fp_map__lookup_percpu(int fd, const void *key, void *values, uint32_t value_size,
			  uint32_t cpu_capacity)
{
	int cpus = libbpf_num_possible_cpus();
	if (cpus < 0)
		return cpus;
	if (value_size == 0 || (uint32_t)cpus > cpu_capacity)
		return -ENOSPC;
	int err = bpf_map_lookup_elem(fd, key, values);
	return err ? fp_neg(err) : cpus;
}

int fp_cpu__possible_count(void)
{
	return libbpf_num_possible_cpus();
}

/* Runs an XDP program repeat times on a frame (BPF_PROG_TEST_RUN), as if it
 * arrived on (ingress_ifindex, rx queue 0) of the caller's netns; *action gets
 * the XDP verdict, *duration_ns the kernel's mean time per run. For parser
 * tests and benchmarks: it exercises the real maps and counters. */
int fp_prog__test_run(int prog_fd, const void *frame, uint32_t length, int ingress_ifindex,
		      uint32_t repeat, uint32_t *action, uint32_t *duration_ns)
{
	if (!frame || !action || !duration_ns || length == 0 || repeat == 0)
		return -EINVAL;
	struct xdp_md ctx = { .data_end = length, .ingress_ifindex = (__u32)ingress_ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, opts,
		.data_in = frame,
		.data_size_in = length,
		.ctx_in = &ctx,
		.ctx_size_in = sizeof(ctx),
		.repeat = (int)repeat,
	);
	int err = bpf_prog_test_run_opts(prog_fd, &opts);
	if (err)
		return fp_neg(err);
	*action = opts.retval;
	*duration_ns = opts.duration;
	return 0;
}
