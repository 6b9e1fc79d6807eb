/*
 * chargen.c - the Character Generator Protocol (RFC 864) as an asockd
 * plugin, and the example of a plugin that produces more than a client
 * may want to read.
 *
 * The pattern: line n holds line_length characters of the 95 printable
 * ASCII characters (' ' to '~'), starting with character n mod 95, then
 * CR LF.  The classic line length is 72; the INI setting
 *   [chargen]
 *   line_length = 72
 * changes it (1 to 1024).
 *
 * Stream listeners: generation starts at accept and goes on until the
 * client leaves.  It respects backpressure: send while host->writable()
 * says 1, then stop and wait for on_send, which fires once the output
 * queue has drained to its low-water mark.  Sending unconditionally would
 * grow the queue without bound against a slow reader.  The index of the
 * next line is per-connection state, kept as the connection's udata and
 * freed in on_close.  Received bytes are ignored.
 *
 * Datagram listeners: each datagram is answered with one datagram of a
 * random length between 0 and 512 bytes of the pattern.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <asockd/plugin.h>

#define CHARGEN_NCHARS		95	/* ' ' .. '~' */
#define CHARGEN_DEF_LENGTH	72
#define CHARGEN_MAX_LENGTH	1024
#define CHARGEN_MAX_DGRAM	512
#define CHARGEN_BATCH		32	/* lines per send call */

static const struct asockd_host *host;
static struct asockd_instance *self;

/*
 * Two full cycles of 95 lines, back to back: any run of up to 95 lines
 * starting at any line index is then one contiguous slice, so each send
 * call hands the host a block of lines instead of one line.
 */
static char	*ring;
static size_t	 line_size;		/* line_length + 2 (CR LF) */

/* Per-connection state: the index (0..94) of the next line to send. */
struct chargen_conn {
	unsigned int	 next;
};

/*
 * The settings table: the host checks the INI file against it (type and
 * range, FILE:LINE on error, also in asockd -t) before init runs, so the
 * value read below is always in range.
 */
static const struct asockd_setting chargen_settings[] = {
	{ .section = "chargen", .name = "line_length",
	  .type = ASOCKD_SET_INT, .def = "72",
	  .min = 1, .max = CHARGEN_MAX_LENGTH,
	  .help = "characters per line before CR LF (the RFC's is 72)" },
	{ .name = NULL }
};

static int
chargen_init(const struct asockd_host *h, struct asockd_instance *inst,
    void **pdata)
{
	long long	 len;
	size_t		 line, i;
	char		*p;

	host = h;
	self = inst;
	*pdata = NULL;
	if (host->ini_int(self, "chargen", "line_length", CHARGEN_DEF_LENGTH,
	    &len) < 0)
		return -EINVAL;	/* not reached: the host checked the file */

	line_size = (size_t)len + 2;
	if ((ring = malloc(2 * CHARGEN_NCHARS * line_size)) == NULL)
		return -ENOMEM;
	p = ring;
	for (line = 0; line < 2 * CHARGEN_NCHARS; line++) {
		for (i = 0; i < (size_t)len; i++)
			*p++ = ' ' + (line + i) % CHARGEN_NCHARS;
		*p++ = '\r';
		*p++ = '\n';
	}
	srandom((unsigned int)time(NULL) ^ (unsigned int)getpid());
	return 0;
}

static void
chargen_fini(struct asockd_instance *inst)
{
	free(ring);
	ring = NULL;
}

/* Send whole blocks of lines until the host says the queue is full. */
static void
chargen_fill(struct asockd_conn *c)
{
	struct chargen_conn	*cc = host->udata(c);

	while (host->writable(c)) {
		if (host->send(c, ring + cc->next * line_size,
		    CHARGEN_BATCH * line_size) < 0)
			return;	/* closing: on_close follows */
		cc->next = (cc->next + CHARGEN_BATCH) % CHARGEN_NCHARS;
	}
}

static int
chargen_accept(struct asockd_conn *c)
{
	struct chargen_conn	*cc;

	if ((cc = calloc(1, sizeof(*cc))) == NULL)
		return -ENOMEM;		/* refuse the connection */
	host->set_udata(c, cc);
	chargen_fill(c);
	return 0;
}

static void
chargen_send(struct asockd_conn *c)
{
	chargen_fill(c);
}

static size_t
chargen_receive(struct asockd_conn *c, const void *data, size_t len)
{
	return len;	/* RFC 864: received data is thrown away */
}

static void
chargen_close(struct asockd_conn *c, int reason)
{
	free(host->udata(c));
	host->set_udata(c, NULL);
}

static void
chargen_datagram(struct asockd_listener *l, const void *data, size_t len,
    const struct sockaddr *from, socklen_t fromlen)
{
	static unsigned int	 next;
	size_t			 n;

	/* Stay inside the 95 lines after `next` (short lines are short). */
	n = (size_t)random() % (CHARGEN_MAX_DGRAM + 1);
	if (n > CHARGEN_NCHARS * line_size)
		n = CHARGEN_NCHARS * line_size;
	(void)host->sendto(l, ring + next * line_size, n, from, fromlen);
	next = (next + 1) % CHARGEN_NCHARS;
}

ASOCKD_PLUGIN_DEFINE(
	.name = "chargen",
	.version = "1.0",
	.init = chargen_init,
	.fini = chargen_fini,
	.on_accept = chargen_accept,
	.on_send = chargen_send,
	.on_receive = chargen_receive,
	.on_close = chargen_close,
	.on_datagram = chargen_datagram,
	.settings = chargen_settings
);
