/*
 * pf_http — the HTTP backend for wrk: answers every request on every connection with the same
 * small 200 response, keep-alive, from one epoll loop. Listens on 0.0.0.0:PORT, so one process
 * serves every backend address of its namespace. Runs until SIGTERM or MAX_SECONDS.
 *
 *   pf_http PORT MAX_SECONDS
 */
#define _GNU_SOURCE /* sendmmsg, accept4 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include "pf_common.h"

#define PF_MAX_EVENTS 64

static const char response[] =
	"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Type: text/plain\r\n\r\nok\n";

int main(int argc, char **argv)
{
	if (argc != 3)
		pf_die("usage: pf_http PORT MAX_SECONDS");
	int port = atoi(argv[1]);
	uint64_t deadline = pf_now_ns() + (uint64_t)(atof(argv[2]) * PF_NS_PER_S);

	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	if (bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) || listen(lfd, 1024))
		pf_die("pf_http: cannot listen on port %d: %s", port, strerror(errno));
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = lfd }, events[PF_MAX_EVENTS];
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	pf_install_signals();
	printf("http: ready\n");
	fflush(stdout);

	char buf[4096];
	while (!pf_stop && pf_now_ns() < deadline) {
		int n = epoll_wait(ep, events, PF_MAX_EVENTS, 100);
		for (int i = 0; i < n; i++) {
			int fd = events[i].data.fd;
			if (fd == lfd) {
				int c;
				while ((c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
					setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
					struct epoll_event cev = { .events = EPOLLIN, .data.fd = c };
					epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
				}
				continue;
			}
			ssize_t got = read(fd, buf, sizeof(buf));
			if (got <= 0) {
				close(fd);
				continue;
			}
			/* One response per request line end ("\r\n\r\n"); wrk sends whole requests. */
			for (ssize_t j = 3; j < got; j++)
				if (buf[j] == '\n' && buf[j - 1] == '\r' && buf[j - 2] == '\n' && buf[j - 3] == '\r')
					if (write(fd, response, sizeof(response) - 1) < 0)
						break;
		}
	}
	return 0;
}
