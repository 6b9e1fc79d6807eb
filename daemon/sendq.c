/*
 * sendq.c - a connection's output queue: the bytes the kernel did not take
 * at once, in chunks, written back out with writev.
 *
 * Small pushes are appended to the tail chunk while it has room, so a
 * stream of tiny sends does not become a list of tiny allocations; large
 * pushes get a chunk of their own.  The queue only exists while there is
 * something in it: an idle connection holds no chunk.
 */
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "asockd.h"

#define CHUNK_MIN	(16 * 1024)	/* allocation size for small pushes */

struct sendq_chunk {
	STAILQ_ENTRY(sendq_chunk) entry;
	size_t		 off;		/* first unsent byte */
	size_t		 len;		/* bytes stored */
	size_t		 cap;
	unsigned char	 data[];
};

void
sendq_init(struct sendq *q)
{
	STAILQ_INIT(&q->chunks);
	q->len = 0;
}

void
sendq_push(struct sendq *q, const void *buf, size_t len)
{
	struct sendq_chunk	*ch;
	size_t			 n;

	if (len == 0)
		return;
	q->len += len;
	ch = STAILQ_LAST(&q->chunks, sendq_chunk, entry);
	if (ch != NULL && ch->cap - ch->len > 0) {
		n = ch->cap - ch->len;
		if (n > len)
			n = len;
		memcpy(ch->data + ch->len, buf, n);
		ch->len += n;
		buf = (const unsigned char *)buf + n;
		len -= n;
		if (len == 0)
			return;
	}
	n = len < CHUNK_MIN ? CHUNK_MIN : len;
	ch = xmalloc(sizeof(*ch) + n);
	ch->off = 0;
	ch->len = len;
	ch->cap = n;
	memcpy(ch->data, buf, len);
	STAILQ_INSERT_TAIL(&q->chunks, ch, entry);
}

int
sendq_iov(struct sendq *q, struct iovec *iov, int max)
{
	struct sendq_chunk	*ch;
	int			 n = 0;

	STAILQ_FOREACH(ch, &q->chunks, entry) {
		if (n == max)
			break;
		iov[n].iov_base = ch->data + ch->off;
		iov[n].iov_len = ch->len - ch->off;
		n++;
	}
	return n;
}

void
sendq_consume(struct sendq *q, size_t n)
{
	struct sendq_chunk	*ch;
	size_t			 left;

	while (n > 0 && (ch = STAILQ_FIRST(&q->chunks)) != NULL) {
		left = ch->len - ch->off;
		if (n < left) {
			ch->off += n;
			q->len -= n;
			return;
		}
		n -= left;
		q->len -= left;
		STAILQ_REMOVE_HEAD(&q->chunks, entry);
		free(ch);
	}
}

ssize_t
sendq_flush(struct sendq *q, int fd)
{
	struct iovec	 iov[ASOCKD_IOV_MAX];
	struct msghdr	 msg;
	ssize_t		 n, total = 0;
	size_t		 want;
	int		 cnt, i;

	memset(&msg, 0, sizeof(msg));
	while (q->len > 0) {
		cnt = sendq_iov(q, iov, ASOCKD_IOV_MAX);
		for (want = 0, i = 0; i < cnt; i++)
			want += iov[i].iov_len;
		msg.msg_iov = iov;
		msg.msg_iovlen = cnt;
		/* sendmsg, not writev: MSG_NOSIGNAL instead of SIGPIPE */
		n = sendmsg(fd, &msg, MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return -1;
		}
		sendq_consume(q, (size_t)n);
		total += n;
		if ((size_t)n < want)
			break;		/* short write: the socket is full */
	}
	return total;
}

void
sendq_free(struct sendq *q)
{
	struct sendq_chunk	*ch;

	while ((ch = STAILQ_FIRST(&q->chunks)) != NULL) {
		STAILQ_REMOVE_HEAD(&q->chunks, entry);
		free(ch);
	}
	q->len = 0;
}
