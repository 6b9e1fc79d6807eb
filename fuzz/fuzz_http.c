/*
 * fuzz_http.c - libFuzzer target: the http plugin's request parser
 * (plugins/http_parse.c, linked alone: no plugin, no host).
 *
 * The input is a byte stream cut into reads (the first byte picks the
 * read size), as the daemon would deliver it.  After each read the bytes
 * not yet used are parsed again from a heap copy of exactly that length,
 * so AddressSanitizer catches any read past them, and every request found
 * is consumed, as the plugin does.  Invariants checked (abort() is a
 * crash to the fuzzer):
 *   - used never exceeds what was given; an error names a status line;
 *   - every pointer of a parsed request lies inside the request's bytes;
 *   - a parsed request is GET or HEAD, has no body, and has a path;
 *   - a decoded path starts with '/', holds no NUL, backslash, "." or
 *     ".." segment, and fits the buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../plugins/http_parse.h"

#define FZ_ASSERT(x)	do { if (!(x)) abort(); } while (0)

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
inside(const char *p, size_t n, const char *buf, size_t len)
{
	return (p >= buf && p + n <= buf + len);
}

static void
check_path(const struct http_request *r)
{
	char	 path[256];
	size_t	 n;
	int	 rv;

	rv = http_path_decode(r, path, sizeof(path));
	FZ_ASSERT(rv >= -3 && rv <= 0);
	if (rv != 0)
		return;
	n = strlen(path);
	FZ_ASSERT(n > 0 && n < sizeof(path) && path[0] == '/');
	FZ_ASSERT(strchr(path, '\\') == NULL);
	FZ_ASSERT(strstr(path, "/../") == NULL && strstr(path, "/./") == NULL);
	FZ_ASSERT(!(n >= 3 && strcmp(path + n - 3, "/..") == 0));
	FZ_ASSERT(!(n >= 2 && strcmp(path + n - 2, "/.") == 0));
}

/* Parse what [buf, buf + len) holds; returns the bytes used, -1 at an
 * error (the plugin answers and closes). */
static long
parse_all(const char *buf, size_t len, const struct http_limits *lim)
{
	struct http_request	 r;
	const char		*status;
	size_t			 off = 0, used;
	char			*copy;
	enum http_parse_result	 rv;

	for (;;) {
		copy = malloc(len - off + 1);
		FZ_ASSERT(copy != NULL);
		memcpy(copy, buf + off, len - off);
		rv = http_parse(&r, copy, len - off, lim, &used, &status);
		FZ_ASSERT(used <= len - off);
		if (rv == HTTP_PARSE_ERROR) {
			FZ_ASSERT(status != NULL && strlen(status) > 4);
			free(copy);
			return (-1);
		}
		if (rv == HTTP_PARSE_MORE) {
			free(copy);
			return ((long)(off + used));
		}
		FZ_ASSERT(used > 0);
		FZ_ASSERT(inside(r.method, r.methodlen, copy, used));
		FZ_ASSERT(inside(r.target, r.targetlen, copy, used));
		FZ_ASSERT(r.path != NULL && r.pathlen > 0);
		FZ_ASSERT(inside(r.path, r.pathlen, copy, used) ||
		    (r.pathlen == 1 && r.path[0] == '/'));
		FZ_ASSERT(!r.has_body);
		FZ_ASSERT(r.head ? r.methodlen == 4 &&
		    memcmp(r.method, "HEAD", 4) == 0 : r.methodlen == 3 &&
		    memcmp(r.method, "GET", 3) == 0);
		check_path(&r);
		free(copy);
		off += used;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int		 ready;
	static char		 buf[65536];
	struct http_limits	 lim;
	size_t			 have = 0, chunk, off, n;
	long			 used;

	if (!ready) {
		http_parse_init();
		ready = 1;
	}
	if (size < 1)
		return (0);
	/* The first byte: read size, and small or default limits. */
	chunk = (size_t)data[0] % 64 + 1;
	lim.max_line = data[0] & 0x80 ? 64 : 8192;
	lim.max_header = data[0] & 0x80 ? 256 : 16384;
	for (off = 1; off < size; off += n) {
		n = size - off < chunk ? size - off : chunk;
		if (have + n > sizeof(buf))
			break;		/* the daemon's max_input */
		memcpy(buf + have, data + off, n);
		have += n;
		if ((used = parse_all(buf, have, &lim)) < 0)
			break;
		FZ_ASSERT((size_t)used <= have);
		memmove(buf, buf + used, have - used);
		have -= (size_t)used;
	}
	return (0);
}
