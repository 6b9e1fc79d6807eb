/*
 * http_parse.h - the http plugin's request parser (plugins/http_parse.c).
 *
 * The parser reads one request head (request line, header fields, the
 * empty line) from the front of a buffer and checks it against RFC 9110
 * and RFC 9112 as far as a GET/HEAD-only server needs.  It keeps no state
 * between calls and allocates nothing: every pointer in struct
 * http_request borrows the caller's buffer.  The plugin (plugins/http.c)
 * and the fuzz target (fuzz/fuzz_http.c) are its only users.
 */
#ifndef HTTP_PARSE_H
#define HTTP_PARSE_H

#include <stddef.h>

/* One parsed request head; pointers borrow the input buffer. */
struct http_request {
	const char	*method;
	size_t		 methodlen;
	const char	*target;	/* the request-target as sent */
	size_t		 targetlen;
	/*
	 * The path and query of the target: the target itself in origin
	 * form, what follows the authority in absolute form ("/" when
	 * nothing does), NULL in other forms (authority, asterisk).
	 */
	const char	*path;
	size_t		 pathlen;
	int		 minor;		/* HTTP/1.minor */
	int		 head;		/* HEAD: no body in the answer */
	int		 keepalive;
	int		 has_host;
	int		 has_body;	/* Content-Length > 0 or chunked */
};

/* What a request may be. */
struct http_limits {
	size_t		 max_line;	/* request line, without CR LF */
	size_t		 max_header;	/* header block, with line ends */
};

/* Not exported from http.so: the plugin's descriptor is its only symbol. */
#define HTTP_HIDDEN	__attribute__((visibility("hidden")))

/* Outcomes of http_parse(). */
enum http_parse_result {
	HTTP_PARSE_OK,		/* a whole head that a GET/HEAD server serves */
	HTTP_PARSE_MORE,	/* incomplete: wait for more bytes */
	HTTP_PARSE_ERROR	/* answer *status and close the connection */
};

/* Fill the character tables; call once before http_parse. */
HTTP_HIDDEN void http_parse_init(void);
/*
 * Parse the request head at the front of [p, p + len).  OK: *used is the
 * length of the head (with any empty lines before it, RFC 9112 2.2).
 * MORE: *used is the number of leading empty lines that may be dropped.
 * ERROR: *status is the status line to answer ("400 Bad Request"); r holds
 * what was parsed so far (head, keepalive, minor).  A request with a body
 * or a method other than GET and HEAD is an error (405, 413, 501): the
 * server reads no bodies.
 */
HTTP_HIDDEN enum http_parse_result http_parse(struct http_request *r,
	    const char *p, size_t len, const struct http_limits *lim,
	    size_t *used, const char **status);
/*
 * Decode the path of r (percent-decoded, no query) into buf.  Returns 0,
 * -1 for a malformed path (400), -2 for a path that would leave a
 * document root ("." or ".." segment, NUL or backslash; 404), -3 when it
 * does not fit in buflen (404: no file has such a name).
 */
HTTP_HIDDEN int http_path_decode(const struct http_request *r, char *buf,
	    size_t buflen);

#endif /* HTTP_PARSE_H */
