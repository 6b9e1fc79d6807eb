/*
 * frame.c - turning a connection's input bytes into messages.
 *
 * A framed listener (framing = line, length or archive) hands its plugin
 * whole messages instead of a byte stream.  frame_next() looks at the
 * unconsumed input and says one of three things: here is a message and this
 * many bytes were used, more bytes are needed, or the peer broke the
 * framing.  It is a pure function over the buffer: no allocation, no
 * logging, no state kept between calls, so a frame split over any number
 * of reads gives the same answer once it is complete, and the fuzz targets
 * can drive it directly.
 *
 * Limits are decided as early as the bytes allow: a length header above
 * max fails as soon as its 4 bytes are there, and a line fails as soon as
 * max + 1 content bytes arrived without a terminator, so a hostile peer
 * cannot make the host buffer more than one maximal message.
 *
 * The MessagePack check of archive payloads is mp_check(), in
 * mp.c with the decoder the reader and libasockd-client share.
 */
#include <string.h>

#include "asockd.h"

#define FRAME_HDR	4	/* length prefix: 32-bit big-endian */

static ssize_t
frame_line(const unsigned char *buf, size_t len, size_t max,
    const unsigned char **msg, size_t *msglen, const char **why)
{
	const unsigned char	*nl;
	size_t			 scan, n;

	/* No buffer comes near SIZE_MAX: keep max + 2 from overflowing. */
	if (max > SIZE_MAX - 3)
		max = SIZE_MAX - 3;
	/* A line of max bytes may be followed by "\r\n". */
	scan = len < max + 2 ? len : max + 2;
	if ((nl = memchr(buf, '\n', scan)) == NULL) {
		/* max + 1 bytes are too many, unless the last is a CR. */
		if (len > max + 1 || (len == max + 1 && buf[max] != '\r')) {
			*why = "line too long";
			return -1;
		}
		return 0;
	}
	n = nl - buf;
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	if (n > max) {
		*why = "line too long";
		return -1;
	}
	*msg = buf;
	*msglen = n;
	return nl - buf + 1;
}

static ssize_t
frame_length(int framing, const unsigned char *buf, size_t len, size_t max,
    const unsigned char **msg, size_t *msglen, const char **why)
{
	size_t	 n;

	if (len < FRAME_HDR)
		return 0;
	n = (size_t)buf[0] << 24 | (size_t)buf[1] << 16 |
	    (size_t)buf[2] << 8 | (size_t)buf[3];
	if (n == 0) {
		*why = "zero-length frame";
		return -1;
	}
	if (n > max) {
		*why = "frame too large";
		return -1;
	}
	if (len - FRAME_HDR < n)
		return 0;
	if (framing == FRAMING_ARCHIVE &&
	    mp_check(buf + FRAME_HDR, n, why) == -1)
		return -1;
	*msg = buf + FRAME_HDR;
	*msglen = n;
	return FRAME_HDR + n;
}

ssize_t
frame_next(int framing, const unsigned char *buf, size_t len, size_t max,
    const unsigned char **msg, size_t *msglen, const char **why)
{
	switch (framing) {
	case FRAMING_LINE:
		return frame_line(buf, len, max, msg, msglen, why);
	case FRAMING_LENGTH:
	case FRAMING_ARCHIVE:
		return frame_length(framing, buf, len, max, msg, msglen, why);
	default:
		*why = "not a framed listener";
		return -1;
	}
}
