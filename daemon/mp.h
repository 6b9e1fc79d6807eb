/*
 * mp.h - the MessagePack structure checks shared by the daemon and the
 * client library (libasockd-client links mp.c and utf8.c too): decoding
 * one value's header, checking that what it announces fits, walking whole
 * values.  Nothing here allocates, logs or needs libev or msgpack-c, so
 * the same bytes are judged the same way on both sides of a connection.
 */
#ifndef ASOCKD_MP_H
#define ASOCKD_MP_H

#include <stddef.h>
#include <stdint.h>

#include "asockd/plugin.h"	/* enum asockd_type */

#define MP_MAX_DEPTH	64	/* nested arrays and maps */

/* ---------------------------------------------------------------- mp.c */

/* One value's header, as mp_header() decodes it. */
struct mp_hdr {
	enum asockd_type	 type;
	size_t			 hlen;	/* header bytes; scalars: all of it */
	uint64_t		 n;	/* str/bin/ext: bytes; else: count */
};

/* The big-endian unsigned number in p[0..n), n <= 8. */
uint64_t mp_be(const unsigned char *p, size_t n);
/*
 * Decode the header of the value at p (avail > 0 bytes there).  h->type
 * is set even on failure when the format byte tells it.  Returns 0, or -1
 * when the header (for fixed-size scalars: the value) is cut short or the
 * byte is 0xc1, never used (h->type ASOCKD_T_NONE).
 */
int	 mp_header(const unsigned char *p, size_t avail, struct mp_hdr *h);
/* 1 if the body h announces fits in the left bytes after its header. */
int	 mp_fits(const struct mp_hdr *h, size_t left);
/*
 * Walk one whole value at p[*off] (structure, lengths, UTF-8, nesting at
 * most MP_MAX_DEPTH).  Returns 0 with *off past it, or -1 with a static
 * message in *why.
 */
int	 mp_walk(const unsigned char *p, size_t len, size_t *off,
	    const char **why);
/* Check an archive payload: one or more complete MessagePack values,
 * valid UTF-8 strings, nesting <= 64.  0 or -1 with *why. */
int	 mp_check(const unsigned char *msg, size_t len,
	    const char **why);

/* ---------------------------------------------------------------- utf8.c */

/* 1 if s[0..len) is valid UTF-8. */
int	 utf8_valid(const unsigned char *s, size_t len);

#endif /* ASOCKD_MP_H */
