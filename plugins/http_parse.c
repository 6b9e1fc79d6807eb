/*
 * http_parse.c - the http plugin's request parser (see http_parse.h).
 *
 * Everything here works on borrowed bytes and returns status lines; it
 * never sends, so the fuzz target links this file alone.  What it checks,
 * with the status each failure answers:
 *   - the request line: a token method, a target of visible characters,
 *     HTTP/1.x (400, 505); longer than max_line (414);
 *   - header fields: a token name, a colon, a value of visible
 *     characters, spaces and tabs only: NUL, CR and other controls are
 *     rejected (RFC 9110 5.5); no line folding; the block within
 *     max_header (400, 431);
 *   - Host: exactly one in HTTP/1.1, and a valid uri-host[:port] (400);
 *   - Content-Length digits only; Transfer-Encoding codings known
 *     (501 otherwise) with chunked last (400 otherwise);
 *   - the method known (501), GET or HEAD (405), no body (413);
 *   - the target in origin form or absolute form (400).
 */
#include <sys/types.h>

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "http_parse.h"

#define S_400	"400 Bad Request"

/* tchar[c] is 1 for the token characters of RFC 9110 5.6.2. */
static unsigned char tchar[256];
/* hchar[c] is 1 for the characters of a uri-host and port (RFC 3986). */
static unsigned char hchar[256];

void
http_parse_init(void)
{
	const char	*p;
	int		 ch;

	for (ch = 0; ch < 256; ch++)
		tchar[ch] = hchar[ch] = isascii(ch) && isalnum(ch);
	for (p = "!#$%&'*+-.^_`|~"; *p != '\0'; p++)
		tchar[(unsigned char)*p] = 1;
	/* unreserved, pct-encoded, sub-delims, IP-literal brackets, port */
	for (p = "-._~%!$&'()*+,;=[]:"; *p != '\0'; p++)
		hchar[(unsigned char)*p] = 1;
}

/* Next item of the comma-separated list [*pp, end), trimmed; 0 at end. */
static int
list_next(const char **pp, const char *end, const char **s, size_t *len)
{
	const char	*p = *pp, *e;

	while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
		p++;
	if (p == end)
		return (0);
	*s = p;
	while (p < end && *p != ',')
		p++;
	for (e = p; e > *s && (e[-1] == ' ' || e[-1] == '\t'); e--)
		;
	*len = e - *s;
	*pp = p;
	return (1);
}

/* 1 when the comma-separated list v contains token t (any case). */
static int
has_token(const char *v, size_t len, const char *t)
{
	const char	*s, *end = v + len;
	size_t		 tl = strlen(t), n;

	while (list_next(&v, end, &s, &n))
		if (n == tl && strncasecmp(s, t, tl) == 0)
			return (1);
	return (0);
}

static int
is_coding(const char *s, size_t n, const char *name)
{
	return (n == strlen(name) && strncasecmp(s, name, n) == 0);
}

/*
 * Transfer-Encoding (RFC 9112 6.1): codings this server does not know are
 * 501; chunked must come last, and once (400).  The value may carry
 * parameters (";q=..."); they are part of the item and make it unknown,
 * which is the safe answer.
 */
static const char *
parse_te(struct http_request *r, const char *v, size_t vl)
{
	const char	*s, *end = v + vl;
	size_t		 n;
	int		 chunked = 0, last = 0, any = 0;

	while (list_next(&v, end, &s, &n)) {
		any = 1;
		last = is_coding(s, n, "chunked");
		if (last && chunked++)
			return (S_400);
		if (!last && !is_coding(s, n, "gzip") &&
		    !is_coding(s, n, "x-gzip") && !is_coding(s, n, "deflate") &&
		    !is_coding(s, n, "compress") &&
		    !is_coding(s, n, "x-compress"))
			return ("501 Not Implemented");
	}
	if (!any || !last)
		return (S_400);
	r->has_body = 1;
	return (NULL);
}

/* A Host value or an absolute target's authority: uri-host [":" port]. */
static int
host_valid(const char *v, size_t vl)
{
	size_t	 i;

	for (i = 0; i < vl; i++)
		if (!hchar[(unsigned char)v[i]])
			return (0);
	return (1);
}

/* Next line of [p, end): returns its end (the '\n'), or NULL. */
static const char *
line_end(const char *p, const char *end)
{
	return (memchr(p, '\n', end - p));
}

/* Length of the line without its "\r\n" or "\n". */
static size_t
line_len(const char *p, const char *nl)
{
	return (nl > p && nl[-1] == '\r' ? nl - p - 1 : nl - p);
}

/* Parse the request line.  Returns NULL, or an error status. */
static const char *
parse_request_line(struct http_request *r, const char *p, size_t len)
{
	const char	*end = p + len, *sp;

	for (sp = p; sp < end && tchar[(unsigned char)*sp]; sp++)
		;
	if (sp == p || sp == end || *sp != ' ')
		return (S_400);
	r->method = p;
	r->methodlen = sp - p;
	r->head = r->methodlen == 4 && memcmp(r->method, "HEAD", 4) == 0;
	p = sp + 1;
	if ((sp = memchr(p, ' ', end - p)) == NULL || sp == p)
		return (S_400);
	r->target = p;
	r->targetlen = sp - p;
	for (; p < sp; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return (S_400);
	p = sp + 1;
	if (end - p != 8 || memcmp(p, "HTTP/", 5) != 0 ||
	    !isdigit((unsigned char)p[5]) || p[6] != '.' ||
	    !isdigit((unsigned char)p[7]))
		return (S_400);
	if (p[5] != '1')
		return ("505 HTTP Version Not Supported");
	r->minor = p[7] - '0';
	r->keepalive = r->minor >= 1;
	return (NULL);
}

/* Parse one header line into r.  Returns NULL or an error status. */
static const char *
parse_header(struct http_request *r, const char *p, size_t len)
{
	const char	*colon, *v, *end = p + len;
	size_t		 nl, vl, i;

	for (colon = p; colon < end && tchar[(unsigned char)*colon]; colon++)
		;
	if (colon == p || colon == end || *colon != ':')
		return (S_400);
	nl = colon - p;
	for (v = colon + 1; v < end && (*v == ' ' || *v == '\t'); v++)
		;
	vl = end - v;
	while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
		vl--;
	/* field-value: VCHAR, obs-text, SP, HTAB; never NUL or CR */
	for (i = 0; i < vl; i++)
		if (((unsigned char)v[i] < ' ' && v[i] != '\t') ||
		    v[i] == 0x7f)
			return (S_400);
	switch (nl) {
	case 4:
		if (strncasecmp(p, "host", 4) == 0) {
			if (r->has_host || !host_valid(v, vl))
				return (S_400);
			r->has_host = 1;
		}
		break;
	case 10:
		if (strncasecmp(p, "connection", 10) == 0) {
			if (has_token(v, vl, "close"))
				r->keepalive = 0;
			else if (has_token(v, vl, "keep-alive"))
				r->keepalive = 1;
		}
		break;
	case 14:
		if (strncasecmp(p, "content-length", 14) == 0) {
			if (vl == 0 || strspn(v, "0123456789") < vl)
				return (S_400);
			if (strspn(v, "0") < vl)
				r->has_body = 1;
		}
		break;
	case 17:
		if (strncasecmp(p, "transfer-encoding", 17) == 0)
			return (parse_te(r, v, vl));
		break;
	}
	return (NULL);
}

/*
 * Where the path of the target starts: origin form "/..." or absolute
 * form "http://authority/...".  NULL path for other forms; -1 for an
 * absolute form with an empty or malformed authority.
 */
static int
parse_target(struct http_request *r)
{
	const char	*t = r->target, *end = t + r->targetlen, *a;
	size_t		 skip;

	r->path = NULL;
	if (t < end && *t == '/') {
		r->path = t;
		r->pathlen = r->targetlen;
		return (0);
	}
	if (r->targetlen > 7 && strncasecmp(t, "http://", 7) == 0)
		skip = 7;
	else if (r->targetlen > 8 && strncasecmp(t, "https://", 8) == 0)
		skip = 8;
	else
		return (0);
	for (a = t + skip; a < end && *a != '/' && *a != '?' && *a != '#';
	    a++)
		;
	if (a == t + skip || !host_valid(t + skip, a - t - skip))
		return (-1);
	if (a < end && *a == '/') {
		r->path = a;
		r->pathlen = end - a;
	} else {
		r->path = "/";
		r->pathlen = 1;
	}
	return (0);
}

static int
method_is(const struct http_request *r, const char *m)
{
	return (r->methodlen == strlen(m) && memcmp(r->method, m, r->methodlen)
	    == 0);
}

/* The checks on a whole head, in the order of their status codes. */
static const char *
check_request(struct http_request *r)
{
	static const char *const known[] = {
		"POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE",
		"PATCH"
	};
	size_t	 i;

	if (r->minor >= 1 && !r->has_host)
		return (S_400);
	if (!r->head && !method_is(r, "GET")) {
		for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			if (method_is(r, known[i]))
				return ("405 Method Not Allowed");
		return ("501 Not Implemented");
	}
	if (r->has_body)
		return ("413 Content Too Large");
	if (parse_target(r) == -1 || r->path == NULL)
		return (S_400);
	return (NULL);
}

enum http_parse_result
http_parse(struct http_request *r, const char *p, size_t len,
    const struct http_limits *lim, size_t *used, const char **status)
{
	const char	*start = p, *end = p + len, *nl;
	size_t		 ll, hdr;

	memset(r, 0, sizeof(*r));
	*used = 0;
	*status = NULL;
	/* Empty lines before a request are ignored (RFC 9112 2.2). */
	while (p < end && (*p == '\r' || *p == '\n')) {
		if (*p == '\r' && (end - p < 2 || p[1] != '\n'))
			break;
		p += *p == '\r' ? 2 : 1;
	}
	if ((nl = line_end(p, end)) == NULL) {
		if ((size_t)(end - p) > lim->max_line) {
			*status = "414 URI Too Long";
			return (HTTP_PARSE_ERROR);
		}
		*used = p - start;
		return (HTTP_PARSE_MORE);
	}
	if ((ll = line_len(p, nl)) > lim->max_line) {
		*status = "414 URI Too Long";
		return (HTTP_PARSE_ERROR);
	}
	if ((*status = parse_request_line(r, p, ll)) != NULL)
		return (HTTP_PARSE_ERROR);
	/* Headers, up to the empty line. */
	hdr = 0;
	for (p = nl + 1;; p = nl + 1) {
		if ((nl = line_end(p, end)) == NULL) {
			if (hdr + (end - p) > lim->max_header) {
				*status = "431 Request Header Fields Too Large";
				return (HTTP_PARSE_ERROR);
			}
			return (HTTP_PARSE_MORE);
		}
		hdr += nl + 1 - p;
		if (hdr > lim->max_header) {
			*status = "431 Request Header Fields Too Large";
			return (HTTP_PARSE_ERROR);
		}
		if ((ll = line_len(p, nl)) == 0)
			break;
		if (*p == ' ' || *p == '\t') {	/* obsolete line folding */
			*status = S_400;
			return (HTTP_PARSE_ERROR);
		}
		if ((*status = parse_header(r, p, ll)) != NULL)
			return (HTTP_PARSE_ERROR);
	}
	if ((*status = check_request(r)) != NULL)
		return (HTTP_PARSE_ERROR);
	*used = nl + 1 - start;
	return (HTTP_PARSE_OK);
}

static int
hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return (ch - '0');
	ch = tolower(ch);
	if (ch >= 'a' && ch <= 'f')
		return (ch - 'a' + 10);
	return (-1);
}

int
http_path_decode(const struct http_request *r, char *buf, size_t buflen)
{
	const char	*p = r->path, *end = r->path + r->pathlen;
	const char	*seg;
	size_t		 n = 0;
	int		 hi, lo, ch, toolong = 0;

	if (p == NULL || p == end || *p != '/' || buflen == 0)
		return (-1);
	while (p < end && *p != '?' && *p != '#') {
		ch = (unsigned char)*p++;
		if (ch == '%') {
			if (end - p < 2 || (hi = hexval(p[0])) < 0 ||
			    (lo = hexval(p[1])) < 0)
				return (-1);
			ch = hi * 16 + lo;
			p += 2;
		}
		if (ch == '\0' || ch == '\\')
			return (-2);
		/* keep checking the rest: a bad escape is still a 400 */
		if (n + 1 >= buflen)
			toolong = 1;
		else
			buf[n++] = (char)ch;
	}
	buf[n] = '\0';
	if (toolong)
		return (-3);
	/* Reject "." and ".." segments after decoding. */
	for (seg = buf; seg != NULL; seg = strchr(seg + 1, '/')) {
		if (strcmp(seg, "/..") == 0 || strncmp(seg, "/../", 4) == 0 ||
		    strcmp(seg, "/.") == 0 || strncmp(seg, "/./", 3) == 0)
			return (-2);
	}
	return (0);
}
