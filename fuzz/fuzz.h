/*
 * fuzz.h - the harness the three fuzz targets share: the input drives one
 * connection's byte stream through frame_next() as the host does, and for
 * archive payloads the reader and writer too.
 *
 * Input layout: byte 0 picks the limit (max_line or max_frame), byte 1 the
 * size of each delivery (1..32 bytes, or everything at once), the rest is
 * the stream.  Each frame_next() call gets a heap copy of exactly the
 * bytes delivered so far, so AddressSanitizer catches any read past them.
 * Violated invariants abort(), which the fuzzer reports as a crash.
 */
#ifndef FUZZ_H
#define FUZZ_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "asockd.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FUZZ_ASSERT(x)	do { if (!(x)) abort(); } while (0)
#define FUZZ_STEPS	100000	/* values walked per message, at most */

/*
 * Walk every value of msg with the getter rd_next_type names, writing each
 * back with the writer.  valid: mp_check() accepted msg, so no
 * getter may say -EBADMSG and the rewritten message must be valid too.
 */
static void
fuzz_reader(const unsigned char *msg, size_t len, int valid)
{
	struct asockd_reader	*r;
	struct asockd_writer	*w;
	enum asockd_type	 t;
	const char		*s, *why;
	const void		*p, *out;
	size_t			 n, outlen;
	int64_t			 i;
	uint64_t		 u;
	double			 d;
	float			 f;
	uint32_t		 c;
	int			 b, rv = 0, steps;

	r = archive_rd_open(msg, len);
	w = archive_wr_new();
	for (steps = 0; steps < FUZZ_STEPS; steps++) {
		t = archive_rd_next_type(r);
		/* A getter of the wrong family never consumes or succeeds. */
		if (t != ASOCKD_T_NIL)
			FUZZ_ASSERT(archive_rd_nil(r) != 0);
		if (t != ASOCKD_T_STR)
			FUZZ_ASSERT(archive_rd_str(r, &s, &n) != 0);
		if (t != ASOCKD_T_ARRAY)
			FUZZ_ASSERT(archive_rd_array(r, &c) != 0);
		FUZZ_ASSERT(archive_rd_next_type(r) == t);
		switch (t) {
		case ASOCKD_T_NONE:
			break;
		case ASOCKD_T_NIL:
			if ((rv = archive_rd_nil(r)) == 0)
				archive_wr_nil(w);
			break;
		case ASOCKD_T_BOOL:
			if ((rv = archive_rd_bool(r, &b)) == 0)
				archive_wr_bool(w, b);
			break;
		case ASOCKD_T_UINT:
			if ((rv = archive_rd_uint(r, &u)) == 0)
				archive_wr_uint(w, u);
			break;
		case ASOCKD_T_INT:
			FUZZ_ASSERT(archive_rd_uint(r, &u) != 0);
			if ((rv = archive_rd_int(r, &i)) == 0) {
				FUZZ_ASSERT(i < 0);
				archive_wr_int(w, i);
			}
			break;
		case ASOCKD_T_FLOAT:
			if (steps % 2) {
				if ((rv = archive_rd_float(r, &f)) == 0)
					archive_wr_float(w, f);
			} else if ((rv = archive_rd_double(r, &d)) == 0)
				archive_wr_double(w, d);
			break;
		case ASOCKD_T_STR:
			if ((rv = archive_rd_str(r, &s, &n)) == 0) {
				FUZZ_ASSERT(s >= (const char *)msg &&
				    s + n <= (const char *)msg + len);
				FUZZ_ASSERT(archive_wr_str(w, s, n) == 0);
			}
			break;
		case ASOCKD_T_BIN:
			if ((rv = archive_rd_bin(r, &p, &n)) == 0) {
				FUZZ_ASSERT(p >= (const void *)msg &&
				    (const unsigned char *)p + n <= msg + len);
				archive_wr_bin(w, p, n);
			}
			break;
		case ASOCKD_T_ARRAY:
			if ((rv = archive_rd_array(r, &c)) == 0) {
				FUZZ_ASSERT(c <= len);
				archive_wr_array(w, c);
			}
			break;
		case ASOCKD_T_MAP:
			if ((rv = archive_rd_map(r, &c)) == 0) {
				FUZZ_ASSERT(c <= len / 2);
				archive_wr_map(w, c);
			}
			break;
		case ASOCKD_T_EXT:
			rv = archive_rd_skip(r);
			archive_wr_nil(w);
			break;
		}
		if (t == ASOCKD_T_NONE) {
			/* The end, or the never-used byte 0xc1. */
			rv = archive_rd_skip(r);
			FUZZ_ASSERT(rv == -ENODATA ||
			    (rv == -EBADMSG && !valid));
			break;
		}
		FUZZ_ASSERT(rv == 0 || rv == -EBADMSG || rv == -EPROTO);
		if (valid)
			FUZZ_ASSERT(rv == 0);
		if (rv != 0 && archive_rd_skip(r) != 0)
			break;
	}
	/*
	 * A valid message rewritten value by value is valid again, unless it
	 * ended inside a container (the counts were rewritten as read).
	 */
	out = archive_wr_data(w, &outlen);
	if (valid && outlen > 0)
		FUZZ_ASSERT(mp_check(out, outlen, &why) == 0);
	archive_wr_free(w);
	/* Half the time leave the reader to the end-of-callback sweep. */
	if (len % 2)
		archive_rd_free(r);
	archive_rd_gc();

	/* rd_skip alone walks a valid message to its end. */
	if (valid) {
		r = archive_rd_open(msg, len);
		while ((rv = archive_rd_skip(r)) == 0)
			;
		FUZZ_ASSERT(rv == -ENODATA);
		archive_rd_free(r);
	}
}

static void
fuzz_frames(int framing, const uint8_t *data, size_t size)
{
	const unsigned char	*msg;
	const char		*why;
	unsigned char		*acc, *copy;
	size_t			 max, chunk, n, off, have = 0, msglen, k;
	ssize_t			 rv;

	if (size < 2)
		return;
	if (framing == FRAMING_LINE)
		max = data[0];
	else
		max = 1 + (size_t)data[0] * 4;
	chunk = data[1] >= 0xe0 ? SIZE_MAX : 1 + data[1] % 32;
	data += 2;
	n = size - 2;
	acc = malloc(n + 1);
	FUZZ_ASSERT(acc != NULL);

	for (off = 0; off < n; off += k) {
		k = n - off < chunk ? n - off : chunk;
		memcpy(acc + have, data + off, k);
		have += k;
		for (;;) {
			copy = malloc(have + 1);
			FUZZ_ASSERT(copy != NULL);
			memcpy(copy, acc, have);
			why = NULL;
			msg = NULL;
			msglen = 0;
			rv = frame_next(framing, copy, have, max, &msg,
			    &msglen, &why);
			if (rv == -1) {
				/* The host would log why and close. */
				FUZZ_ASSERT(why != NULL && *why != '\0');
				free(copy);
				goto out;
			}
			FUZZ_ASSERT(rv >= 0 && (size_t)rv <= have);
			if (rv == 0) {
				free(copy);
				break;
			}
			FUZZ_ASSERT(msg >= copy && msglen <= max &&
			    msg + msglen <= copy + rv);
			if (framing == FRAMING_LINE)
				FUZZ_ASSERT(memchr(msg, '\n', msglen) == NULL);
			else
				FUZZ_ASSERT(msglen > 0 &&
				    (size_t)rv == msglen + 4);
			if (framing == FRAMING_ARCHIVE) {
				FUZZ_ASSERT(mp_check(msg, msglen,
				    &why) == 0);
				fuzz_reader(msg, msglen, 1);
			}
			free(copy);
			memmove(acc, acc + rv, have - rv);
			have -= rv;
		}
	}
out:
	free(acc);
}

#endif /* FUZZ_H */
