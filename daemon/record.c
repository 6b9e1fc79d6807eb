/*
 * record.c - the listener option record = "DIR": one file per connection
 * of what happened to it, for asockd-replay(1) to play into a plugin
 * under libasockd-test.  conn.c and conn_read.c call record_* from the
 * accept, read, backpressure and close paths only when a connection has a
 * recorder (c->rec, NULL when the option is off), so recording costs
 * nothing unless it is on.
 *
 * The file (docs/testing-plugins.md, "Record and replay") is the magic
 * line "ASOCKDREC1\n", then events: a type byte, the microseconds since
 * the accept (64-bit big-endian), the payload length (32-bit big-endian)
 * and the payload.  The accept event's payload is "key=value\n" lines:
 * listener, peer and local addresses, framing and the listener options
 * a replay needs.  Each event is one write(2), so a worker that crashes
 * leaves every event before the crash on disk.
 *
 * A file that cannot be created or written is logged (once until a
 * recording works again) and the connection goes on unrecorded.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "asockd.h"

#define RECORD_MAGIC	"ASOCKDREC1\n"

struct record {
	int		 fd;
	double		 start;		/* loop time of the accept */
	char		*path;
};

/* A failure was logged and no recording has worked since. */
static int	 warned;

static void
record_fail(struct record *r, const char *what)
{
	if (!warned)
		log_warn("record: %s %s", what, r->path);
	warned = 1;
	close(r->fd);
	r->fd = -1;
}

static void
record_event(struct record *r, int type, double now, const void *p,
    size_t len)
{
	unsigned char	 hdr[13];
	struct iovec	 iov[2];
	uint64_t	 us;
	ssize_t		 n;
	int		 i;

	if (r == NULL || r->fd == -1)
		return;
	us = now > r->start ? (uint64_t)((now - r->start) * 1e6) : 0;
	hdr[0] = type;
	for (i = 0; i < 8; i++)
		hdr[1 + i] = us >> (56 - 8 * i);
	hdr[9] = len >> 24;
	hdr[10] = len >> 16;
	hdr[11] = len >> 8;
	hdr[12] = len;
	iov[0].iov_base = hdr;
	iov[0].iov_len = sizeof(hdr);
	iov[1].iov_base = (void *)(uintptr_t)p;
	iov[1].iov_len = len;
	n = writev(r->fd, iov, len > 0 ? 2 : 1);
	if (n != (ssize_t)(sizeof(hdr) + len))
		record_fail(r, "write");
}

struct record *
record_open(const char *dir, const struct listener_conf *lc, uint64_t id,
    const char *peer, int fd, double now)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sslen = sizeof(ss);
	struct record		*r;
	char			*meta, local[160];
	int			 len;

	r = xcalloc(1, sizeof(*r));
	r->start = now;
	if (xasprintf(&r->path, "%s/%s.%lld.%ld.%llu.rec", dir, lc->name,
	    (long long)time(NULL), (long)getpid(),
	    (unsigned long long)id) == -1)
		fatal("xasprintf");
	r->fd = open(r->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (r->fd == -1) {
		record_fail(r, "open");
		return r;
	}
	if (write(r->fd, RECORD_MAGIC, sizeof(RECORD_MAGIC) - 1) !=
	    (ssize_t)sizeof(RECORD_MAGIC) - 1) {
		record_fail(r, "write");
		return r;
	}
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == 0)
		addr_format((struct sockaddr *)&ss, sslen, local,
		    sizeof(local));
	else
		snprintf(local, sizeof(local), "?");
	len = xasprintf(&meta, "listener=%s\nkind=%d\nframing=%d\n"
	    "peer=%s\nlocal=%s\nstart=%lld\nidle_timeout=%g\nsndq_high=%zu\n"
	    "sndq_low=%zu\nsndq_max=%zu\nmax_input=%zu\nmax_line=%zu\n"
	    "max_frame=%zu\n", lc->name, lc->addr.kind, lc->framing, peer,
	    local, (long long)time(NULL), lc->idle_timeout, lc->sndq_high,
	    lc->sndq_low, lc->sndq_max, lc->max_input, lc->max_line,
	    lc->max_frame);
	if (len == -1)
		fatal("xasprintf");
	record_event(r, RECORD_ACCEPT, now, meta, (size_t)len);
	free(meta);
	if (r->fd != -1)
		warned = 0;
	return r;
}

void
record_read(struct record *r, double now, const void *buf, size_t len)
{
	record_event(r, RECORD_READ, now, buf, len);
}

void
record_mark(struct record *r, int type, double now, int value)
{
	unsigned char	 b = value;

	record_event(r, type, now, &b, type == RECORD_EOF ? 0 : 1);
}

void
record_close(struct record *r, double now, int reason)
{
	if (r == NULL)
		return;
	record_mark(r, RECORD_CLOSE, now, reason);
	if (r->fd != -1)
		close(r->fd);
	free(r->path);
	free(r);
}
