/*
 * tls_bulk.c - TLS echo bulk throughput through one connection: send
 * MIB mebibytes to a TLS echo server on 127.0.0.1:PORT, read them back,
 * check every byte, print the MiB/s from the first byte sent to the
 * last byte back, and the protocol and suite, one line:
 *
 *	tls_bulk PORT MIB [SUITES]
 *	-> "312.5 MiB/s TLSv1.3 TLS_AES_128_GCM_SHA256"
 *
 * SUITES (default TLS_AES_128_GCM_SHA256) is the client's TLS 1.3 suite
 * list, so both servers compared negotiate the same one.  The server's
 * certificate is not verified (a bench on loopback).  Exit 1 on any
 * error or a byte that differs; 60 s at most.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define CHUNK	65536

/* Byte i of the stream is i % 251: pat + (i % 251) is the stream from
 * byte i on, for CHUNK bytes (no per-byte work in the client). */
static unsigned char pat[CHUNK + 251];

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
die(const char *what)
{
	fprintf(stderr, "tls_bulk: %s\n", what);
	ERR_print_errors_fp(stderr);
	exit(1);
}

int
main(int argc, char *argv[])
{
	static unsigned char in[CHUNK];
	struct sockaddr_in sin;
	struct pollfd pfd;
	unsigned long long total, sent = 0, got = 0;
	const char *suites = "TLS_AES_128_GCM_SHA256";
	SSL_CTX *ctx;
	SSL *ssl;
	double t0, t1, deadline;
	size_t i, n;
	int fd, one = 1, r, err, wantw;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: tls_bulk PORT MIB [SUITES]\n");
		return 2;
	}
	if (argc == 4)
		suites = argv[3];
	for (i = 0; i < sizeof(pat); i++)
		pat[i] = (unsigned char)(i % 251);
	total = strtoull(argv[2], NULL, 10) << 20;
	signal(SIGPIPE, SIG_IGN);
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_set_ciphersuites(ctx, suites) != 1)
		die("SSL_CTX_new / suites");
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_read_ahead(ctx, 1);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)atoi(argv[1]));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		die(strerror(errno));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if ((ssl = SSL_new(ctx)) == NULL || SSL_set_fd(ssl, fd) != 1 ||
	    SSL_connect(ssl) != 1)
		die("handshake");
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);

	t0 = now();
	deadline = t0 + 60;
	while (got < total) {
		if (now() > deadline)
			die("timed out");
		wantw = 0;
		/* keep at most 1 MiB in flight: the echo must come back */
		while (sent < total && sent - got < (1 << 20)) {
			n = total - sent < CHUNK ? (size_t)(total - sent) :
			    CHUNK;
			r = SSL_write(ssl, pat + sent % 251, (int)n);
			if (r <= 0) {
				err = SSL_get_error(ssl, r);
				if (err == SSL_ERROR_WANT_WRITE)
					wantw = 1;
				else if (err != SSL_ERROR_WANT_READ)
					die("write");
				break;
			}
			sent += (unsigned long long)r;
		}
		r = SSL_read(ssl, in, sizeof(in));
		if (r > 0) {
			if (memcmp(in, pat + got % 251, (size_t)r) != 0)
				die("a byte came back changed");
			got += (unsigned long long)r;
			continue;
		}
		err = SSL_get_error(ssl, r);
		if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE)
			die("read: connection ended early");
		pfd.fd = fd;
		pfd.events = POLLIN | (wantw ? POLLOUT : 0);
		poll(&pfd, 1, 1000);
	}
	t1 = now();
	printf("%.1f MiB/s %s %s\n", (double)total / (1 << 20) / (t1 - t0),
	    SSL_get_version(ssl), SSL_get_cipher_name(ssl));
	SSL_shutdown(ssl);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	close(fd);
	return 0;
}
