/*
 * dgram.c - datagram listeners (udp://, unix-dgram:): receive and sendto.
 *
 * Datagrams are not connections: each one is handed to on_datagram with
 * its sender's address, and answers go out with sendto.  They are not
 * queued (a datagram the socket cannot take now is lost anyway), so
 * dgram_sendto reports -EAGAIN instead.
 */
#include <sys/socket.h>

#include <errno.h>
#include <string.h>

#include "asockd.h"

#define DGRAM_BATCH	32

static unsigned char	 dbuf[65536];

static void
dgram_read_cb(struct ev_loop *lp, ev_io *w, int revents)
{
	struct asockd_listener	*l = w->data;
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	ssize_t			 n;
	int			 i, r;

	for (i = 0; i < DGRAM_BATCH; i++) {
		len = sizeof(ss);
		n = recvfrom(l->fd, dbuf, sizeof(dbuf), MSG_TRUNC,
		    (struct sockaddr *)&ss, &len);
		if (n == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR)
				log_warn("listener %s: recvfrom",
				    l->conf->name);
			return;
		}
		if ((size_t)n > sizeof(dbuf)) {
			log_info("listener %s: dropped a datagram of %zd"
			    " bytes (over %zu)", l->conf->name, n,
			    sizeof(dbuf));
			continue;
		}
		CTR_ADD(l->ctr->msgs_in, 1);
		CTR_ADD(l->ctr->bytes_in, n);
		if (l->inst->desc->on_datagram == NULL)
			continue;
		if (policy_active(l->conf) && (r = policy_datagram(l->conf,
		    l->kind, (struct sockaddr *)&ss, len)) < 0) {
			listener_refused(l, -r);	/* dropped: counted */
			continue;
		}
		CB_CALL_P(l->inst, l->inst->desc->on_datagram(l, dbuf,
		    (size_t)n, (struct sockaddr *)&ss, len));
	}
}

void
dgram_start(struct asockd_listener *l)
{
	if (ev_is_active(&l->io))
		return;
	ev_io_init(&l->io, dgram_read_cb, l->fd, EV_READ);
	l->io.data = l;
	ev_io_start(proc.loop, &l->io);
}

int
dgram_sendto(struct asockd_listener *l, const void *buf, size_t len,
    const struct sockaddr *addr, socklen_t addrlen)
{
	ssize_t	 n;

	if (l == NULL || (l->kind != ASOCKD_UDP &&
	    l->kind != ASOCKD_UNIX_DGRAM))
		return -EOPNOTSUPP;
	if (l->fd == -1)
		return -EBADF;
	do
		n = sendto(l->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT, addr,
		    addrlen);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		return -errno;
	CTR_ADD(l->ctr->msgs_out, 1);
	CTR_ADD(l->ctr->bytes_out, n);
	return 0;
}
