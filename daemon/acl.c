/*
 * acl.c - address lists (allow, deny, proxy_trusted): CIDR entries kept
 * as sorted, disjoint ranges of 128-bit keys.
 *
 * Every address is compared in one canonical form: an IPv6 address as
 * itself, an IPv4 address as its IPv4-mapped IPv6 address (::ffff:a.b.c.d).
 * So "10.0.0.0/8" and "::ffff:10.0.0.0/104" are the same entry, and a
 * client that reaches a dual-stack [::] socket as ::ffff:10.1.2.3 matches
 * the IPv4 entries.  The entry "unix" matches Unix-socket peers, which
 * have no address.
 *
 * acl_finish() sorts the ranges and merges the ones that overlap or
 * touch, so a lookup is one binary search: 10,000 entries cost about
 * what 10 do (14 comparisons instead of 4).
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asockd.h"

struct acl_range {
	struct acl_key	 lo, hi;
};

struct acl {
	int			 refs;
	int			 has_unix;	/* "unix" was listed */
	size_t			 n, cap;
	struct acl_range	*r;
	char			**src;		/* the entries as written */
	size_t			 nsrc;
};

static int
key_cmp(const struct acl_key *a, const struct acl_key *b)
{
	if (a->hi != b->hi)
		return a->hi < b->hi ? -1 : 1;
	if (a->lo != b->lo)
		return a->lo < b->lo ? -1 : 1;
	return 0;
}

static uint64_t
be64(const unsigned char *p)
{
	uint64_t	 v = 0;
	int		 i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void
key_from16(struct acl_key *k, const unsigned char *p)
{
	k->hi = be64(p);
	k->lo = be64(p + 8);
}

static void
key_from4(struct acl_key *k, const unsigned char *p)
{
	k->hi = 0;
	k->lo = 0xffff00000000ULL | (uint64_t)p[0] << 24 |
	    (uint64_t)p[1] << 16 | (uint64_t)p[2] << 8 | p[3];
}

int
acl_key(const struct sockaddr *sa, socklen_t len, struct acl_key *k)
{
	if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		key_from4(k, (const unsigned char *)
		    &((const struct sockaddr_in *)sa)->sin_addr);
		return 0;
	}
	if (sa->sa_family == AF_INET6 &&
	    len >= sizeof(struct sockaddr_in6)) {
		key_from16(k, ((const struct sockaddr_in6 *)sa)->
		    sin6_addr.s6_addr);
		return 0;
	}
	return -1;
}

int
acl_key_v4(const struct acl_key *k)
{
	return k->hi == 0 && (k->lo >> 32) == 0xffff;
}

/* Keep the first bits (of 128) of k, clear the rest. */
static void
key_mask(struct acl_key *k, int bits)
{
	if (bits <= 0) {
		k->hi = k->lo = 0;
	} else if (bits < 64) {
		k->hi &= ~0ULL << (64 - bits);
		k->lo = 0;
	} else if (bits == 64) {
		k->lo = 0;
	} else if (bits < 128)
		k->lo &= ~0ULL << (128 - bits);
}

/* Set the bits after the first bits of k. */
static void
key_fill(struct acl_key *k, int bits)
{
	if (bits <= 0) {
		k->hi = k->lo = ~0ULL;
	} else if (bits < 64) {
		k->hi |= ~0ULL >> bits;
		k->lo = ~0ULL;
	} else if (bits == 64) {
		k->lo = ~0ULL;
	} else if (bits < 128)
		k->lo |= ~0ULL >> (bits - 64);
}

void
acl_key_prefix(struct acl_key *k, int prefix_v4, int prefix_v6)
{
	key_mask(k, acl_key_v4(k) ? 96 + prefix_v4 : prefix_v6);
}

void
acl_key_format(const struct acl_key *k, int bits, char *buf, size_t len)
{
	unsigned char	 b[16];
	char		 a[INET6_ADDRSTRLEN];
	int		 i, v4 = acl_key_v4(k);

	for (i = 0; i < 8; i++) {
		b[i] = (unsigned char)(k->hi >> (56 - 8 * i));
		b[8 + i] = (unsigned char)(k->lo >> (56 - 8 * i));
	}
	if (v4)
		inet_ntop(AF_INET, b + 12, a, sizeof(a));
	else
		inet_ntop(AF_INET6, b, a, sizeof(a));
	if (v4 ? bits >= 32 : bits >= 128)
		snprintf(buf, len, "%s", a);
	else
		snprintf(buf, len, "%s/%d", a, bits);
}

struct acl *
acl_new(void)
{
	struct acl	*a = xcalloc(1, sizeof(*a));

	a->refs = 1;
	return a;
}

struct acl *
acl_ref(struct acl *a)
{
	if (a != NULL)
		a->refs++;
	return a;
}

void
acl_free(struct acl *a)
{
	if (a == NULL || --a->refs > 0)
		return;
	while (a->nsrc > 0)
		free(a->src[--a->nsrc]);
	free(a->src);
	free(a->r);
	free(a);
}

static int	 add(struct acl *, const char *, char *, size_t);

int
acl_add(struct acl *a, const char *s, char *err, size_t errlen)
{
	if (add(a, s, err, errlen) == -1)
		return -1;
	a->src = xrealloc(a->src, (a->nsrc + 1) * sizeof(*a->src));
	a->src[a->nsrc++] = xstrdup(s);
	return 0;
}

/* "[ "10.0.0.0/8", "unix" ]": the entries as they were added (asockd -T). */
void
acl_print(const struct acl *a, FILE *fp)
{
	size_t	 i;

	fputs("[", fp);
	for (i = 0; i < a->nsrc; i++)
		fprintf(fp, "%s \"%s\"", i > 0 ? "," : "", a->src[i]);
	fputs(" ]", fp);
}

static int
add(struct acl *a, const char *s, char *err, size_t errlen)
{
	unsigned char	 b[16];
	char		 host[INET6_ADDRSTRLEN + 1], *end;
	const char	*slash;
	struct acl_key	 k;
	long		 bits;
	int		 v4, max;
	size_t		 n;

	if (strcmp(s, "unix") == 0) {
		a->has_unix = 1;
		return 0;
	}
	slash = strchr(s, '/');
	n = slash != NULL ? (size_t)(slash - s) : strlen(s);
	if (n == 0 || n >= sizeof(host)) {
		snprintf(err, errlen, "'%s' is not an address, a CIDR "
		    "prefix or \"unix\"", s);
		return -1;
	}
	memcpy(host, s, n);
	host[n] = '\0';
	if (inet_pton(AF_INET, host, b) == 1) {
		v4 = 1;
		key_from4(&k, b);
	} else if (inet_pton(AF_INET6, host, b) == 1) {
		v4 = 0;
		key_from16(&k, b);
	} else {
		snprintf(err, errlen, "'%s' is not an address, a CIDR "
		    "prefix or \"unix\"", s);
		return -1;
	}
	max = v4 ? 32 : 128;
	bits = max;
	if (slash != NULL) {
		bits = strtol(slash + 1, &end, 10);
		if (slash[1] < '0' || slash[1] > '9' || *end != '\0' ||
		    bits > max) {
			snprintf(err, errlen, "'%s': prefix length must be "
			    "0..%d", s, max);
			return -1;
		}
	}
	if (v4)
		bits += 96;
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 8;
		a->r = xrealloc(a->r, a->cap * sizeof(*a->r));
	}
	key_mask(&k, (int)bits);
	a->r[a->n].lo = k;
	key_fill(&k, (int)bits);
	a->r[a->n].hi = k;
	a->n++;
	return 0;
}

static int
range_cmp(const void *x, const void *y)
{
	return key_cmp(&((const struct acl_range *)x)->lo,
	    &((const struct acl_range *)y)->lo);
}

/* The key after k; 0 when k is the last key of all. */
static int
key_next(const struct acl_key *k, struct acl_key *next)
{
	*next = *k;
	if (++next->lo == 0 && ++next->hi == 0)
		return 0;
	return 1;
}

void
acl_finish(struct acl *a)
{
	struct acl_key	 next;
	size_t		 i, o;

	if (a->n == 0)
		return;
	qsort(a->r, a->n, sizeof(*a->r), range_cmp);
	for (o = 0, i = 1; i < a->n; i++) {
		/* merge a range that overlaps or touches the last one */
		if (!key_next(&a->r[o].hi, &next) ||
		    key_cmp(&a->r[i].lo, &next) <= 0) {
			if (key_cmp(&a->r[i].hi, &a->r[o].hi) > 0)
				a->r[o].hi = a->r[i].hi;
			continue;
		}
		a->r[++o] = a->r[i];
	}
	a->n = o + 1;
}

int
acl_match(const struct acl *a, const struct acl_key *k)
{
	size_t	 lo = 0, hi = a->n, mid;

	/* the last range whose start is <= k */
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (key_cmp(&a->r[mid].lo, k) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && key_cmp(k, &a->r[lo - 1].hi) <= 0;
}

int
acl_match_unix(const struct acl *a)
{
	return a->has_unix;
}

size_t
acl_ranges(const struct acl *a)
{
	return a->n;
}
