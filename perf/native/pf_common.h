/* Small helpers shared by the perf tools: time, MAC parsing, a stop flag for SIGINT/SIGTERM. */
#ifndef PF_COMMON_H
#define PF_COMMON_H
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PF_NS_PER_S 1000000000ull

static volatile sig_atomic_t pf_stop;

static void pf_on_signal(int sig) { (void)sig; pf_stop = 1; }

static inline void pf_install_signals(void)
{
	struct sigaction sa = { .sa_handler = pf_on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static inline uint64_t pf_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * PF_NS_PER_S + (uint64_t)ts.tv_nsec;
}

/* "aa:bb:cc:dd:ee:ff" → 6 bytes; 0 on success, -1 if malformed. */
static inline int pf_parse_mac(const char *text, uint8_t mac[6])
{
	unsigned int b[6];
	if (sscanf(text, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6)
		return -1;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return 0;
}

/* Prints the message (say what to try next) and exits 1: tools fail loudly and early. */
__attribute__((noreturn, format(printf, 1, 2)))
static inline void pf_die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}
#endif
