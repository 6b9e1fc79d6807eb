/*
 * tls_echo_ref.c - the reference for TLS echo throughput: an OpenSSL
 * s_server-style echo server, one process, epoll, non-blocking sockets
 * with OpenSSL's own socket BIO.  Whatever a client sends comes back.
 * What asockd's echo plugin over TLS is measured against (bench/
 * tls_bench.sh, docs/performance.md): the floor of TLS echo on this
 * machine, OpenSSL plus the kernel and nothing else.
 *
 *	tls_echo_ref PORT CERT KEY
 *
 * Listens on 127.0.0.1:PORT; TLS 1.2 and 1.3 with OpenSSL's defaults
 * (the client picks the suite), read-ahead on as in asockd.
 */
#include <sys/epoll.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define BUFSZ	16384

struct peer {
	int		 fd;
	SSL		*ssl;
	int		 hs;		/* handshake done */
	size_t		 len, off;	/* plaintext read, not yet written */
	unsigned char	 buf[BUFSZ];
};

static void
die(const char *what)
{
	fprintf(stderr, "tls_echo_ref: %s: %s\n", what, strerror(errno));
	ERR_print_errors_fp(stderr);
	exit(1);
}

static void
peer_free(int ep, struct peer *p)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, p->fd, NULL);
	SSL_free(p->ssl);
	close(p->fd);
	free(p);
}

static void
want(int ep, struct peer *p, int err)
{
	struct epoll_event ev;

	ev.events = err == SSL_ERROR_WANT_WRITE ? EPOLLOUT : EPOLLIN;
	ev.data.ptr = p;
	epoll_ctl(ep, EPOLL_CTL_MOD, p->fd, &ev);
}

/* Run p as far as it goes; 0, or -1 when it is over. */
static int
peer_run(int ep, struct peer *p)
{
	int n, err;

	if (!p->hs) {
		if ((n = SSL_do_handshake(p->ssl)) != 1) {
			err = SSL_get_error(p->ssl, n);
			if (err != SSL_ERROR_WANT_READ &&
			    err != SSL_ERROR_WANT_WRITE)
				return -1;
			want(ep, p, err);
			return 0;
		}
		p->hs = 1;
	}
	for (;;) {
		while (p->off < p->len) {
			n = SSL_write(p->ssl, p->buf + p->off,
			    (int)(p->len - p->off));
			if (n <= 0) {
				err = SSL_get_error(p->ssl, n);
				if (err != SSL_ERROR_WANT_READ &&
				    err != SSL_ERROR_WANT_WRITE)
					return -1;
				want(ep, p, err);
				return 0;
			}
			p->off += (size_t)n;
		}
		p->off = p->len = 0;
		n = SSL_read(p->ssl, p->buf, sizeof(p->buf));
		if (n <= 0) {
			err = SSL_get_error(p->ssl, n);
			if (err != SSL_ERROR_WANT_READ &&
			    err != SSL_ERROR_WANT_WRITE)
				return -1;	/* EOF, close_notify, error */
			want(ep, p, err);
			return 0;
		}
		p->len = (size_t)n;
	}
}

int
main(int argc, char *argv[])
{
	struct sockaddr_in sin;
	struct epoll_event ev, evs[64];
	struct peer *p, lp;
	SSL_CTX *ctx;
	int ls, ep, fd, i, n, one = 1;

	if (argc != 4) {
		fprintf(stderr, "usage: tls_echo_ref PORT CERT KEY\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		die("SSL_CTX_new");
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_read_ahead(ctx, 1);
	if (SSL_CTX_use_certificate_chain_file(ctx, argv[2]) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, argv[3], SSL_FILETYPE_PEM) != 1)
		die(argv[2]);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)atoi(argv[1]));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) == -1)
		die("socket");
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(ls, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(ls, 1024) == -1)
		die("bind/listen");
	if ((ep = epoll_create1(0)) == -1)
		die("epoll_create1");
	lp.fd = ls;
	ev.events = EPOLLIN;
	ev.data.ptr = &lp;
	epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);

	for (;;) {
		if ((n = epoll_wait(ep, evs, 64, -1)) == -1) {
			if (errno == EINTR)
				continue;
			die("epoll_wait");
		}
		for (i = 0; i < n; i++) {
			if (evs[i].data.ptr != &lp) {
				p = evs[i].data.ptr;
				if (peer_run(ep, p) == -1)
					peer_free(ep, p);
				continue;
			}
			while ((fd = accept4(ls, NULL, NULL,
			    SOCK_NONBLOCK)) != -1) {
				setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
				    sizeof(one));
				if ((p = calloc(1, sizeof(*p))) == NULL ||
				    (p->ssl = SSL_new(ctx)) == NULL)
					die("out of memory");
				p->fd = fd;
				SSL_set_fd(p->ssl, fd);
				SSL_set_accept_state(p->ssl);
				ev.events = EPOLLIN;
				ev.data.ptr = p;
				epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
				if (peer_run(ep, p) == -1)
					peer_free(ep, p);
			}
		}
	}
}
