/*
 * mp.c - the structure of MessagePack values, walked without msgpack-c.
 *
 * msgpack-c's unpacker allocates the objects of an array or map as soon
 * as it has read the header, so a map32 header claiming 4 billion entries
 * in a 10-byte frame asks for ~96 GB, and an array32 of 64 Mi entries gets
 * its 1.5 GB (checked on msgpack-c 4.0.0), and it refuses nesting deeper
 * than 32.  Instead mp_header() reads one value's header (a format byte
 * and its length field, nothing more), and the validator and the readers
 * walk the bytes with it, checking every count and length against the
 * bytes actually left before anything else happens.
 *
 * The daemon checks every archive frame a peer sends with
 * mp_check(); libasockd-client is built with this file too and
 * checks every frame a server sends the same way.
 */
#include <string.h>

#include "mp.h"

#define WHY(s)	"bad archive payload: " s

uint64_t
mp_be(const unsigned char *p, size_t n)
{
	uint64_t	 v = 0;

	while (n-- > 0)
		v = v << 8 | *p++;
	return v;
}

/*
 * Decode the header of the value at p (avail bytes there).  h->type is set
 * even on failure when the format byte tells it, so rd_next_type can name
 * a truncated value.  Returns 0, or -1 when the header (for fixed-size
 * scalars: the value) is cut short or the byte is 0xc1, never used.
 */
int
mp_header(const unsigned char *p, size_t avail, struct mp_hdr *h)
{
	unsigned char	 c = p[0];
	size_t		 lenbytes = 0, extra = 0;

	h->n = 0;
	h->hlen = 1;
	if (c <= 0x7f) {
		h->type = ASOCKD_T_UINT;
		return 0;
	}
	if (c >= 0xe0) {
		h->type = ASOCKD_T_INT;
		return 0;
	}
	if (c <= 0x9f) {
		h->type = c <= 0x8f ? ASOCKD_T_MAP : ASOCKD_T_ARRAY;
		h->n = c & 0x0f;
		return 0;
	}
	if (c <= 0xbf) {
		h->type = ASOCKD_T_STR;
		h->n = c & 0x1f;
		return 0;
	}
	switch (c) {
	case 0xc0:
		h->type = ASOCKD_T_NIL;
		return 0;
	case 0xc2:
	case 0xc3:
		h->type = ASOCKD_T_BOOL;
		return 0;
	case 0xc4: case 0xc5: case 0xc6:	/* bin 8/16/32 */
		h->type = ASOCKD_T_BIN;
		lenbytes = 1 << (c - 0xc4);
		break;
	case 0xc7: case 0xc8: case 0xc9:	/* ext 8/16/32 */
		h->type = ASOCKD_T_EXT;
		lenbytes = 1 << (c - 0xc7);
		extra = 1;			/* the ext type byte */
		break;
	case 0xca:
	case 0xcb:
		h->type = ASOCKD_T_FLOAT;
		h->hlen = c == 0xca ? 5 : 9;
		break;
	case 0xcc: case 0xcd: case 0xce: case 0xcf:
		h->type = ASOCKD_T_UINT;
		h->hlen = 1 + (1 << (c - 0xcc));
		break;
	case 0xd0: case 0xd1: case 0xd2: case 0xd3:
		/* Signed formats holding a value >= 0 read as UINT. */
		h->type = avail > 1 && p[1] < 0x80 ? ASOCKD_T_UINT :
		    ASOCKD_T_INT;
		h->hlen = 1 + (1 << (c - 0xd0));
		break;
	case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8:
		h->type = ASOCKD_T_EXT;		/* fixext 1..16 */
		h->hlen = 2;
		h->n = 1 << (c - 0xd4);
		break;
	case 0xd9: case 0xda: case 0xdb:	/* str 8/16/32 */
		h->type = ASOCKD_T_STR;
		lenbytes = 1 << (c - 0xd9);
		break;
	case 0xdc: case 0xdd:			/* array 16/32 */
		h->type = ASOCKD_T_ARRAY;
		lenbytes = 2 << (c - 0xdc);
		break;
	case 0xde: case 0xdf:			/* map 16/32 */
		h->type = ASOCKD_T_MAP;
		lenbytes = 2 << (c - 0xde);
		break;
	default:				/* 0xc1 */
		h->type = ASOCKD_T_NONE;
		return -1;
	}
	if (lenbytes > 0)
		h->hlen = 1 + lenbytes + extra;
	if (avail < h->hlen)
		return -1;
	if (lenbytes > 0)
		h->n = mp_be(p + 1, lenbytes);
	return 0;
}

/*
 * Check that the body the header announces fits in left bytes (those after
 * the header).  Each element of an array or map takes at least one byte,
 * so a count above the bytes left is a lie found before anything is
 * allocated or walked.
 */
int
mp_fits(const struct mp_hdr *h, size_t left)
{
	switch (h->type) {
	case ASOCKD_T_MAP:
		return h->n <= left / 2;
	case ASOCKD_T_ARRAY:
	case ASOCKD_T_STR:
	case ASOCKD_T_BIN:
	case ASOCKD_T_EXT:
		return h->n <= left;
	default:
		return 1;
	}
}

/*
 * Walk one whole value starting at p[*off], checking structure, lengths,
 * UTF-8 and depth; without recursion (an explicit stack of elements left
 * per level).  Returns 0 with *off past the value, or -1 with *why.
 */
int
mp_walk(const unsigned char *p, size_t len, size_t *off, const char **why)
{
	uint64_t	 left[MP_MAX_DEPTH];
	struct mp_hdr	 h;
	size_t		 o = *off;
	int		 depth = 0;

	for (;;) {
		if (o >= len) {
			*why = WHY("truncated value");
			return -1;
		}
		if (mp_header(p + o, len - o, &h) == -1) {
			*why = h.type == ASOCKD_T_NONE ?
			    WHY("invalid format byte 0xc1") :
			    WHY("truncated value");
			return -1;
		}
		o += h.hlen;
		if (!mp_fits(&h, len - o)) {
			*why = WHY("length past the end of the frame");
			return -1;
		}
		switch (h.type) {
		case ASOCKD_T_STR:
			if (!utf8_valid(p + o, h.n)) {
				*why = WHY("string is not valid UTF-8");
				return -1;
			}
			/* FALLTHROUGH */
		case ASOCKD_T_BIN:
		case ASOCKD_T_EXT:
			o += h.n;
			break;
		case ASOCKD_T_ARRAY:
		case ASOCKD_T_MAP:
			if (depth == MP_MAX_DEPTH) {
				*why = WHY("nesting deeper than 64");
				return -1;
			}
			if (h.n > 0) {
				left[depth++] = h.type == ASOCKD_T_MAP ?
				    h.n * 2 : h.n;
				continue;
			}
			break;
		default:
			break;
		}
		/* A value is complete: count it against its containers. */
		while (depth > 0 && --left[depth - 1] == 0)
			depth--;
		if (depth == 0)
			break;
	}
	*off = o;
	return 0;
}

int
mp_check(const unsigned char *msg, size_t len, const char **why)
{
	size_t	 off = 0;

	if (len == 0) {
		*why = WHY("empty");
		return -1;
	}
	while (off < len)
		if (mp_walk(msg, len, &off, why) == -1)
			return -1;
	return 0;
}
