/*
 * pf_gen — the offered load: IPv4/UDP frames to VIP:PORT from many flows, at a controlled rate,
 * for a bounded time, through a raw AF_PACKET socket (sendmmsg, PACKET_QDISC_BYPASS).
 *
 *   pf_gen -i IFNAME -m DST_MAC -v VIP -p PORT [-r PPS (0 = as fast as possible)] [-t SECONDS]
 *          [-f FLOWS] [-n NEW_FLOWS_PER_S] [-b BATCH] [-g TAG] [-c COUNT]
 *
 * Flow k (0 ≤ k) is source 10.244.1.10 + k / 60000, source port 1024 + k % 60000. Packets walk
 * a window of FLOWS consecutive flows round-robin; with -n the window's start advances by
 * NEW_FLOWS_PER_S per second, so that many flows per second are new to the system under test.
 * Payloads describe themselves: 8 bytes packet number, 4 bytes flow number, 4 bytes point tag
 * (-g, default "FPG1"; pf_sink counts only its own point's tag).
 * At the end it prints one line:  gen: sent=<n> seconds=<s> pps=<n> flows=<n> new_flows=<n>
 */
#define _GNU_SOURCE /* sendmmsg, accept4 */
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include "pf_common.h"

#define PF_MAX_BATCH 256
#define PF_PAYLOAD_BYTES 16
#define PF_FRAME_BYTES (14 + 20 + 8 + PF_PAYLOAD_BYTES)
#define PF_PORTS_PER_ADDRESS 60000
#define PF_DEFAULT_TAG 0x46504731u /* "FPG1" */
#define PF_IDLE_SLEEP_NS 50000ull /* 50 µs: rate pacing granularity */

struct frame {
	uint8_t bytes[PF_FRAME_BYTES];
} __attribute__((aligned(64)));

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static uint32_t sum16(const void *data, size_t len, uint32_t sum)
{
	const uint8_t *p = data;
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

/* Writes IP + UDP headers and payload for flow `flow`, packet `seq` (checksums complete:
 * the path under test must see what a NIC would hand it). */
static void fill(struct frame *f, uint32_t vip_be, uint16_t port, uint64_t flow, uint64_t seq, uint32_t tag)
{
	struct iphdr *ip = (struct iphdr *)(f->bytes + 14);
	struct udphdr *udp = (struct udphdr *)(ip + 1);
	uint8_t *payload = (uint8_t *)(udp + 1);
	uint32_t saddr = ntohl(inet_addr("10.244.1.10")) + (uint32_t)(flow / PF_PORTS_PER_ADDRESS);

	ip->saddr = htonl(saddr);
	ip->daddr = vip_be;
	ip->id = htons((uint16_t)seq);
	ip->check = 0;
	ip->check = htons((uint16_t)~fold(sum16(ip, 20, 0)));

	udp->source = htons((uint16_t)(1024 + flow % PF_PORTS_PER_ADDRESS));
	udp->dest = htons(port);
	udp->len = htons(8 + PF_PAYLOAD_BYTES);
	udp->check = 0;
	uint64_t seq_be = __builtin_bswap64(seq);
	uint32_t flow_be = htonl((uint32_t)flow), tag_be = htonl(tag);
	memcpy(payload, &seq_be, 8);
	memcpy(payload + 8, &flow_be, 4);
	memcpy(payload + 12, &tag_be, 4);

	uint32_t sum = sum16(&ip->saddr, 8, 0) + IPPROTO_UDP + 8 + PF_PAYLOAD_BYTES;
	sum = sum16(udp, 8 + PF_PAYLOAD_BYTES, sum);
	uint16_t check = (uint16_t)~fold(sum);
	udp->check = htons(check ? check : 0xffff);
}

int main(int argc, char **argv)
{
	const char *ifname = NULL, *mac_text = NULL, *vip_text = NULL;
	double rate = 0, seconds = 1;
	uint64_t flows = 1024, new_per_s = 0, limit = UINT64_MAX; /* -c: stop after COUNT packets */
	int port = 53, batch = 64, opt;
	uint32_t tag = PF_DEFAULT_TAG;

	while ((opt = getopt(argc, argv, "i:m:v:p:r:t:f:n:b:g:c:")) != -1) {
		switch (opt) {
		case 'i': ifname = optarg; break;
		case 'm': mac_text = optarg; break;
		case 'v': vip_text = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 'r': rate = atof(optarg); break;
		case 't': seconds = atof(optarg); break;
		case 'f': flows = strtoull(optarg, NULL, 10); break;
		case 'n': new_per_s = strtoull(optarg, NULL, 10); break;
		case 'b': batch = atoi(optarg); break;
		case 'g': tag = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'c': limit = strtoull(optarg, NULL, 10); break;
		default: pf_die("usage: pf_gen -i IFNAME -m DST_MAC -v VIP -p PORT [-r PPS] [-t S] [-f FLOWS] [-n NEW/S] [-b BATCH] [-g TAG] [-c COUNT]");
		}
	}
	uint8_t dst_mac[6], src_mac[6];
	struct in_addr vip;
	if (!ifname || !mac_text || pf_parse_mac(mac_text, dst_mac) || !vip_text || !inet_aton(vip_text, &vip))
		pf_die("pf_gen: -i IFNAME, -m aa:bb:cc:dd:ee:ff and -v a.b.c.d are required");
	if (flows == 0 || batch < 1 || batch > PF_MAX_BATCH || seconds <= 0 || seconds > 600)
		pf_die("pf_gen: need -f >= 1, -b 1..%d, -t in (0, 600] seconds", PF_MAX_BATCH);

	int fd = socket(AF_PACKET, SOCK_RAW, 0); /* protocol 0: send only, never receives */
	if (fd < 0)
		pf_die("pf_gen: AF_PACKET socket: needs root (CAP_NET_RAW)");
	struct ifreq ifr = { 0 };
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr))
		pf_die("pf_gen: no interface %s in this namespace", ifname);
	memcpy(src_mac, ifr.ifr_hwaddr.sa_data, 6);
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP),
				   .sll_ifindex = (int)if_nametoindex(ifname) };
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)))
		pf_die("pf_gen: bind to %s failed", ifname);
	int one = 1;
	setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one));

	/* Prebuilt frames: Ethernet + the constant parts of IP/UDP; fill() patches the rest. */
	static struct frame frames[PF_MAX_BATCH];
	static struct iovec iov[PF_MAX_BATCH];
	static struct mmsghdr msgs[PF_MAX_BATCH];
	for (int i = 0; i < PF_MAX_BATCH; i++) {
		uint8_t *b = frames[i].bytes;
		memcpy(b, dst_mac, 6);
		memcpy(b + 6, src_mac, 6);
		b[12] = 0x08, b[13] = 0x00;
		struct iphdr *ip = (struct iphdr *)(b + 14);
		ip->version = 4, ip->ihl = 5, ip->ttl = 64, ip->protocol = IPPROTO_UDP;
		ip->tot_len = htons(20 + 8 + PF_PAYLOAD_BYTES);
		iov[i] = (struct iovec){ .iov_base = b, .iov_len = PF_FRAME_BYTES };
		msgs[i].msg_hdr = (struct msghdr){ .msg_iov = &iov[i], .msg_iovlen = 1 };
	}

	pf_install_signals();
	uint64_t start = pf_now_ns(), end = start + (uint64_t)(seconds * PF_NS_PER_S);
	uint64_t sent = 0, failed = 0, now = start;
	while (!pf_stop && (now = pf_now_ns()) < end) {
		if (sent >= limit)
			break;
		uint64_t want = (uint64_t)batch;
		if (limit - sent < want)
			want = limit - sent;
		if (rate > 0) {
			uint64_t due = (uint64_t)((double)(now - start) * rate / PF_NS_PER_S) + 1;
			if (due <= sent) {
				struct timespec nap = { 0, (long)PF_IDLE_SLEEP_NS };
				nanosleep(&nap, NULL);
				continue;
			}
			if (due - sent < want)
				want = due - sent;
		}
		uint64_t window = new_per_s ? (now - start) * new_per_s / PF_NS_PER_S : 0;
		for (uint64_t i = 0; i < want; i++) {
			uint64_t seq = sent + i;
			fill(&frames[i], vip.s_addr, (uint16_t)port, window + seq % flows, seq, tag);
		}
		int n = sendmmsg(fd, msgs, (unsigned int)want, 0);
		if (n < 0) {
			failed++; /* ENOBUFS under overload: count and retry, bounded by the deadline */
			continue;
		}
		sent += (uint64_t)n;
	}
	double elapsed = (double)(now - start) / PF_NS_PER_S;
	uint64_t new_flows = new_per_s ? (uint64_t)(elapsed * (double)new_per_s) : 0;
	printf("gen: sent=%llu seconds=%.3f pps=%.0f flows=%llu new_flows=%llu send_errors=%llu\n",
	       (unsigned long long)sent, elapsed, sent / elapsed, (unsigned long long)flows,
	       (unsigned long long)new_flows, (unsigned long long)failed);
	close(fd);
	return sent > 0 ? 0 : 1;
}
