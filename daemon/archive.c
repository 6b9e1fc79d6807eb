/*
 * archive.c - the archive layer: MessagePack messages checked, read and
 * written (host->rd_* and host->wr_*).  docs/archive.md is the wire format.
 *
 * Values are encoded and decoded by msgpack-c.  What msgpack-c is not used
 * for is walking a message's structure (its unpacker allocates from the
 * counts a peer declares): that is mp.c, which the validator and the
 * reader use to check every count and length against the bytes actually
 * left before anything else happens.  Scalars, strings and binaries are
 * then decoded by msgpack_unpack() on exactly their own bytes, which
 * allocates nothing.
 *
 * Whole values can also be taken as their encoded bytes (rd_raw, rd_copy)
 * and put back (wr_raw): both walk them with mp_walk() first, so what a
 * writer holds is always valid.
 *
 * The reader is a cursor over a borrowed buffer.  Readers opened inside a
 * plugin callback are listed here and freed by archive_rd_gc() when the
 * callback returns, so a plugin that forgets rd_free leaks nothing.
 *
 * The writer packs with msgpack_packer into a buffer grown with xrealloc
 * (out of memory is fatal); a putter that would take the message past
 * what a length prefix can carry fails with -EMSGSIZE and leaves the
 * message as it was.
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "asockd.h"

#define ARCHIVE_MAX_LEN		UINT32_MAX	/* largest frame payload */
#define WRITER_MIN		256

struct asockd_reader {
	const unsigned char	*buf;
	size_t			 len;
	size_t			 pos;		/* next value */
	msgpack_zone		 zone;		/* unused: scalars only */
	TAILQ_ENTRY(asockd_reader) entry;
};

struct asockd_writer {
	msgpack_packer		 pk;
	unsigned char		*buf;
	size_t			 len;
	size_t			 cap;
};

unsigned int		 archive_nreaders;
static TAILQ_HEAD(, asockd_reader) readers =
    TAILQ_HEAD_INITIALIZER(readers);

/* ---------------------------------------------------------------- reader */

struct asockd_reader *
archive_rd_open(const void *buf, size_t len)
{
	struct asockd_reader	*r;

	r = xcalloc(1, sizeof(*r));
	r->buf = buf;
	r->len = buf == NULL ? 0 : len;
	/* msgpack-c wants a zone; scalar values never allocate from it. */
	if (!msgpack_zone_init(&r->zone, 64))
		fatalx("msgpack_zone_init: out of memory");
	TAILQ_INSERT_TAIL(&readers, r, entry);
	archive_nreaders++;
	return r;
}

void
archive_rd_free(struct asockd_reader *r)
{
	if (r == NULL)
		return;
	TAILQ_REMOVE(&readers, r, entry);
	archive_nreaders--;
	msgpack_zone_destroy(&r->zone);
	free(r);
}

void
archive_rd_gc(void)
{
	struct asockd_reader	*r;

	while ((r = TAILQ_FIRST(&readers)) != NULL)
		archive_rd_free(r);
}

/*
 * Decode the header at the cursor and check that what it announces is
 * there.  0, -ENODATA at the end, -EBADMSG when malformed.
 */
static int
rd_peek(struct asockd_reader *r, struct mp_hdr *h)
{
	size_t	 left = r->len - r->pos;

	if (left == 0)
		return -ENODATA;
	if (mp_header(r->buf + r->pos, left, h) == -1 ||
	    !mp_fits(h, left - h->hlen))
		return -EBADMSG;
	return 0;
}

/*
 * Peek a value of type want (or want2) and decode it with msgpack-c;
 * never called for arrays and maps.  The cursor moves only on success.
 */
static int
rd_scalar(struct asockd_reader *r, enum asockd_type want,
    enum asockd_type want2, msgpack_object *o, size_t *size)
{
	struct mp_hdr	 h;
	size_t		 off = 0;
	int		 rv;

	if ((rv = rd_peek(r, &h)) != 0)
		return rv;
	if (h.type != want && h.type != want2)
		return -EPROTO;
	*size = h.hlen + h.n;
	if (msgpack_unpack((const char *)r->buf + r->pos, *size, &off,
	    &r->zone, o) != MSGPACK_UNPACK_SUCCESS || off != *size)
		return -EBADMSG;
	return 0;
}

enum asockd_type
archive_rd_next_type(struct asockd_reader *r)
{
	struct mp_hdr	 h;

	if (r->pos == r->len)
		return ASOCKD_T_NONE;
	(void)mp_header(r->buf + r->pos, r->len - r->pos, &h);
	return h.type;
}

int
archive_rd_nil(struct asockd_reader *r)
{
	msgpack_object	 o;
	size_t		 sz;
	int		 rv;

	if ((rv = rd_scalar(r, ASOCKD_T_NIL, ASOCKD_T_NIL, &o, &sz)) != 0)
		return rv;
	r->pos += sz;
	return 0;
}

int
archive_rd_bool(struct asockd_reader *r, int *v)
{
	msgpack_object	 o;
	size_t		 sz;
	int		 rv;

	if ((rv = rd_scalar(r, ASOCKD_T_BOOL, ASOCKD_T_BOOL, &o, &sz)) != 0)
		return rv;
	*v = o.via.boolean ? 1 : 0;
	r->pos += sz;
	return 0;
}

int
archive_rd_int(struct asockd_reader *r, int64_t *v)
{
	msgpack_object	 o;
	size_t		 sz;
	int		 rv;

	if ((rv = rd_scalar(r, ASOCKD_T_INT, ASOCKD_T_UINT, &o, &sz)) != 0)
		return rv;
	if (o.type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
		*v = o.via.i64;
	else if (o.type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
	    o.via.u64 <= INT64_MAX)
		*v = (int64_t)o.via.u64;
	else
		return -EPROTO;		/* above INT64_MAX */
	r->pos += sz;
	return 0;
}

int
archive_rd_uint(struct asockd_reader *r, uint64_t *v)
{
	msgpack_object	 o;
	size_t		 sz;
	int		 rv;

	if ((rv = rd_scalar(r, ASOCKD_T_UINT, ASOCKD_T_UINT, &o, &sz)) != 0)
		return rv;
	if (o.type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return -EBADMSG;	/* mp_header and msgpack-c disagree */
	*v = o.via.u64;
	r->pos += sz;
	return 0;
}

int
archive_rd_double(struct asockd_reader *r, double *v)
{
	msgpack_object	 o;
	size_t		 sz;
	int		 rv;

	if ((rv = rd_scalar(r, ASOCKD_T_FLOAT, ASOCKD_T_FLOAT, &o,
	    &sz)) != 0)
		return rv;
	*v = o.via.f64;		/* float32 is widened by msgpack-c */
	r->pos += sz;
	return 0;
}

int
archive_rd_float(struct asockd_reader *r, float *v)
{
	double	 d;
	int	 rv;

	/*
	 * A float64 is rounded to the nearest float, as IEEE 754 does it,
	 * spelled out beyond FLT_MAX because ISO C leaves converting an
	 * out-of-range value undefined: up to half an ulp above FLT_MAX
	 * rounds down to it, from there on it is an infinity.
	 */
	if ((rv = archive_rd_double(r, &d)) != 0)
		return rv;
	if (fabs(d) >= 0x1.ffffffp127)
		*v = d > 0 ? INFINITY : -INFINITY;
	else if (fabs(d) > FLT_MAX)
		*v = d > 0 ? FLT_MAX : -FLT_MAX;
	else
		*v = (float)d;
	return 0;
}

int
archive_rd_str(struct asockd_reader *r, const char **s, size_t *len)
{
	msgpack_object	 o;
	size_t		 sz;
	int		 rv;

	if ((rv = rd_scalar(r, ASOCKD_T_STR, ASOCKD_T_STR, &o, &sz)) != 0)
		return rv;
	if (!utf8_valid((const unsigned char *)o.via.str.ptr, o.via.str.size))
		return -EBADMSG;
	/* Never NULL, even for "" (msgpack-c gives NULL there). */
	*s = (const char *)r->buf + r->pos + sz - o.via.str.size;
	*len = o.via.str.size;
	r->pos += sz;
	return 0;
}

int
archive_rd_bin(struct asockd_reader *r, const void **p, size_t *len)
{
	msgpack_object	 o;
	size_t		 sz;
	int		 rv;

	if ((rv = rd_scalar(r, ASOCKD_T_BIN, ASOCKD_T_BIN, &o, &sz)) != 0)
		return rv;
	*p = r->buf + r->pos + sz - o.via.bin.size;
	*len = o.via.bin.size;
	r->pos += sz;
	return 0;
}

/* Array and map headers: only the header is consumed. */
static int
rd_container(struct asockd_reader *r, enum asockd_type want,
    uint32_t *count)
{
	struct mp_hdr	 h;
	int		 rv;

	if ((rv = rd_peek(r, &h)) != 0)
		return rv;
	if (h.type != want)
		return -EPROTO;
	*count = (uint32_t)h.n;
	r->pos += h.hlen;
	return 0;
}

int
archive_rd_array(struct asockd_reader *r, uint32_t *count)
{
	return rd_container(r, ASOCKD_T_ARRAY, count);
}

int
archive_rd_map(struct asockd_reader *r, uint32_t *count)
{
	return rd_container(r, ASOCKD_T_MAP, count);
}

int
archive_rd_skip(struct asockd_reader *r)
{
	const char	*why;
	size_t		 off = r->pos;

	if (r->pos == r->len)
		return -ENODATA;
	if (mp_walk(r->buf, r->len, &off, &why) == -1)
		return -EBADMSG;
	r->pos = off;
	return 0;
}

/*
 * Width of the float at the cursor: 32 or 64, so that a plugin can tell a
 * float32 from a float64 (rd_double reads both).
 */
int
archive_rd_float_bits(struct asockd_reader *r)
{
	struct mp_hdr	 h;
	int		 rv;

	if ((rv = rd_peek(r, &h)) != 0)
		return rv;
	if (h.type != ASOCKD_T_FLOAT)
		return -EPROTO;
	return h.hlen == 5 ? 32 : 64;
}

/*
 * An ext value: its type byte (the last byte of the header in every ext
 * format) and its body, borrowed from the message.
 */
int
archive_rd_ext(struct asockd_reader *r, int8_t *type, const void **p,
    size_t *len)
{
	struct mp_hdr	 h;
	int		 rv;

	if ((rv = rd_peek(r, &h)) != 0)
		return rv;
	if (h.type != ASOCKD_T_EXT)
		return -EPROTO;
	*type = (int8_t)r->buf[r->pos + h.hlen - 1];
	*p = r->buf + r->pos + h.hlen;
	*len = (size_t)h.n;
	r->pos += h.hlen + (size_t)h.n;
	return 0;
}

/* One whole value, checked as rd_skip checks it, as its encoded bytes. */
int
archive_rd_raw(struct asockd_reader *r, const void **p, size_t *len)
{
	const char	*why;
	size_t		 off = r->pos;

	if (r->pos == r->len)
		return -ENODATA;
	if (mp_walk(r->buf, r->len, &off, &why) == -1)
		return -EBADMSG;
	*p = r->buf + r->pos;
	*len = off - r->pos;
	r->pos = off;
	return 0;
}

/* ---------------------------------------------------------------- writer */

/* msgpack_packer's output: append to the writer's buffer. */
static int
wr_write(void *data, const char *buf, size_t len)
{
	struct asockd_writer	*w = data;
	size_t			 cap;

	if (len > ARCHIVE_MAX_LEN - w->len)
		return -1;
	if (w->len + len > w->cap) {
		cap = w->cap < WRITER_MIN ? WRITER_MIN : w->cap;
		while (cap < w->len + len)
			cap = cap > SIZE_MAX / 2 ? w->len + len : cap * 2;
		w->buf = xrealloc(w->buf, cap);
		w->cap = cap;
	}
	memcpy(w->buf + w->len, buf, len);
	w->len += len;
	return 0;
}

/*
 * A failed putter leaves the message as it was before the call: mark is
 * the length before it (taken in a statement of its own, since the order
 * in which function arguments are evaluated is unspecified).
 */
static int
wr_done(struct asockd_writer *w, size_t mark, int rv)
{
	if (rv != 0) {
		w->len = mark;
		return -EMSGSIZE;
	}
	return 0;
}

struct asockd_writer *
archive_wr_new(void)
{
	struct asockd_writer	*w;

	w = xcalloc(1, sizeof(*w));
	msgpack_packer_init(&w->pk, w, wr_write);
	return w;
}

void
archive_wr_free(struct asockd_writer *w)
{
	if (w == NULL)
		return;
	free(w->buf);
	free(w);
}

void
archive_wr_reset(struct asockd_writer *w)
{
	w->len = 0;
}

int
archive_wr_nil(struct asockd_writer *w)
{
	size_t	 mark = w->len;

	return wr_done(w, mark, msgpack_pack_nil(&w->pk));
}

int
archive_wr_bool(struct asockd_writer *w, int v)
{
	size_t	 mark = w->len;

	return wr_done(w, mark, v ? msgpack_pack_true(&w->pk) :
	    msgpack_pack_false(&w->pk));
}

int
archive_wr_int(struct asockd_writer *w, int64_t v)
{
	size_t	 mark = w->len;

	return wr_done(w, mark, msgpack_pack_int64(&w->pk, v));
}

int
archive_wr_uint(struct asockd_writer *w, uint64_t v)
{
	size_t	 mark = w->len;

	return wr_done(w, mark, msgpack_pack_uint64(&w->pk, v));
}

int
archive_wr_float(struct asockd_writer *w, float v)
{
	size_t	 mark = w->len;

	return wr_done(w, mark, msgpack_pack_float(&w->pk, v));
}

int
archive_wr_double(struct asockd_writer *w, double v)
{
	size_t	 mark = w->len;

	return wr_done(w, mark, msgpack_pack_double(&w->pk, v));
}

int
archive_wr_str(struct asockd_writer *w, const char *s, size_t len)
{
	size_t	 mark = w->len;

	if (len > 0 && (s == NULL ||
	    !utf8_valid((const unsigned char *)s, len)))
		return -EINVAL;
	if (len > ARCHIVE_MAX_LEN)
		return -EMSGSIZE;
	return wr_done(w, mark,
	    msgpack_pack_str_with_body(&w->pk, len > 0 ? s : "", len));
}

int
archive_wr_bin(struct asockd_writer *w, const void *p, size_t len)
{
	size_t	 mark = w->len;

	if (len > 0 && p == NULL)
		return -EINVAL;
	if (len > ARCHIVE_MAX_LEN)
		return -EMSGSIZE;
	return wr_done(w, mark,
	    msgpack_pack_bin_with_body(&w->pk, len > 0 ? p : "", len));
}

int
archive_wr_array(struct asockd_writer *w, uint32_t count)
{
	size_t	 mark = w->len;

	return wr_done(w, mark, msgpack_pack_array(&w->pk, count));
}

int
archive_wr_map(struct asockd_writer *w, uint32_t count)
{
	size_t	 mark = w->len;

	return wr_done(w, mark, msgpack_pack_map(&w->pk, count));
}

const void *
archive_wr_data(struct asockd_writer *w, size_t *len)
{
	*len = w->len;
	return w->len > 0 ? (const void *)w->buf : (const void *)"";
}

/*
 * A timestamp (ext -1) is the one ext type decoders interpret: refuse a
 * body they would refuse (not 4, 8 or 12 bytes, nanoseconds of 10^9 or
 * more).
 */
static int
timestamp_valid(const unsigned char *p, size_t len)
{
	switch (len) {
	case 4:
		return 1;
	case 8:
		return (mp_be(p, 4) >> 2) < 1000000000;
	case 12:
		return mp_be(p, 4) < 1000000000;
	default:
		return 0;
	}
}

int
archive_wr_ext(struct asockd_writer *w, int8_t type, const void *p,
    size_t len)
{
	size_t	 mark = w->len;

	if (len > 0 && p == NULL)
		return -EINVAL;
	if (type == -1 && !timestamp_valid(p, len))
		return -EINVAL;
	if (len > ARCHIVE_MAX_LEN)
		return -EMSGSIZE;
	return wr_done(w, mark,
	    msgpack_pack_ext_with_body(&w->pk, len > 0 ? p : "", len, type));
}

/* Encoded bytes, checked first: one or more whole, valid values. */
int
archive_wr_raw(struct asockd_writer *w, const void *p, size_t len)
{
	const char	*why;
	size_t		 mark = w->len;

	if (len == 0 || p == NULL ||
	    mp_check(p, len, &why) == -1)
		return -EINVAL;
	return wr_done(w, mark, wr_write(w, p, len));
}

/* rd_raw into w; the reader moves only when the writer took the value. */
int
archive_rd_copy(struct asockd_reader *r, struct asockd_writer *w)
{
	const void	*p;
	size_t		 len, pos = r->pos, mark = w->len;
	int		 rv;

	if ((rv = archive_rd_raw(r, &p, &len)) != 0)
		return rv;
	if ((rv = wr_done(w, mark, wr_write(w, p, len))) != 0)
		r->pos = pos;
	return rv;
}
