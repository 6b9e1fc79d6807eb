/*
 * asockd/client.h - a small blocking client for asockd's archive
 * (MessagePack) listeners.
 *
 * Wire format of an archive listener (docs/archive.md): each frame is a
 * 4-byte big-endian unsigned length N (1..max_frame) followed by N bytes
 * of payload holding one or more complete MessagePack values; strings are
 * UTF-8.
 *
 * The library has a writer and a reader of its own, the same calls a
 * plugin has (host->wr_*, host->rd_*), so a program needs no MessagePack
 * library and no other header than this one.  A typical session:
 *
 *	struct asockd_client *cl;
 *	const char *s;
 *	size_t len;
 *	uint32_t n;
 *
 *	if (asockd_client_connect("tcp://127.0.0.1:7010", 5000, &cl) != 0)
 *		...
 *	asockd_client_send_strings(cl, "join", "alice", NULL);
 *	while (asockd_client_recv(cl, 5000) == 0) {
 *		if (asockd_client_rd_array(cl, &n) == 0 && n >= 1 &&
 *		    asockd_client_rd_str(cl, &s, &len) == 0)
 *			printf("%.*s\n", (int)len, s);
 *	}
 *	asockd_client_close(cl);
 *
 * Every frame a server sends is checked before any of it is read, with
 * the daemon's own checker (counts and lengths against the bytes there,
 * UTF-8, nesting at most 64): the reader allocates nothing, whatever a
 * server declares.
 *
 * Every call that can fail returns 0 or a negative errno value.  Timeouts
 * are in milliseconds; -1 waits forever, 0 does not wait at all.  The
 * socket is non-blocking underneath: the calls wait with poll(2), so a
 * caller may also poll asockd_client_fd() itself and then call
 * asockd_client_recv() with a timeout of 0.  A client is not thread-safe.
 *
 * Link with $(pkg-config --cflags --libs asockd-client).
 */
#ifndef ASOCKD_CLIENT_H
#define ASOCKD_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Default and absolute limits for one frame's payload. */
#define ASOCKD_CLIENT_MAX_FRAME		(1024 * 1024)
#define ASOCKD_CLIENT_FRAME_LIMIT	0xffffffffUL

struct asockd_client;		/* opaque */

/* The type of the next value (asockd_client_rd_next_type). */
enum asockd_client_type {
	ASOCKD_CLIENT_T_NONE = 0,	/* end of the frame, or no frame */
	ASOCKD_CLIENT_T_NIL,
	ASOCKD_CLIENT_T_BOOL,
	ASOCKD_CLIENT_T_UINT,		/* non-negative integer */
	ASOCKD_CLIENT_T_INT,		/* negative integer */
	ASOCKD_CLIENT_T_FLOAT,		/* float 32 or float 64 */
	ASOCKD_CLIENT_T_STR,
	ASOCKD_CLIENT_T_BIN,
	ASOCKD_CLIENT_T_ARRAY,
	ASOCKD_CLIENT_T_MAP,
	ASOCKD_CLIENT_T_EXT
};

/*
 * Check uri without connecting.  uri is "tcp://HOST:PORT",
 * "udp://HOST:PORT", "unix:PATH" or "unix-dgram:PATH", parsed by the
 * daemon's own address parser: HOST is an IPv4 address, an IPv6 address
 * in brackets, a name, or "*" or nothing for the wildcard 0.0.0.0, which
 * connected to is this host ("tcp://:7007" reaches a listener on
 * "tcp://:7007").  Returns SOCK_STREAM or SOCK_DGRAM, or -EINVAL with a
 * message in err (errlen bytes, NUL-terminated; err may be NULL).
 */
int	asockd_client_uri_check(const char *uri, char *err, size_t errlen);
/*
 * Open a socket to uri and connect it, waiting at most timeout_ms.  A
 * name is resolved with getaddrinfo (blocking) and each address tried in
 * turn.  A datagram socket is connected to its peer (unix-dgram sockets
 * are auto-bound to an abstract address so the peer can answer).  The fd
 * is non-blocking and close-on-exec; it belongs to the caller.  Used by
 * asockd-cat for listeners of every kind.  Returns 0 and sets *fd,
 * -EINVAL for a malformed uri (asockd_client_uri_check says why),
 * -EHOSTUNREACH when a name does not resolve, -ETIMEDOUT, or the connect
 * error.
 */
int	asockd_client_dial(const char *uri, int timeout_ms, int *fd);

/*
 * Connect to an archive listener ("tcp://..." or "unix:..." only).
 * Returns 0 and sets *out (owned by the caller: asockd_client_close), or
 * -errno as asockd_client_dial, -EPROTOTYPE for a datagram uri, -ENOMEM.
 */
int	asockd_client_connect(const char *uri, int timeout_ms,
	    struct asockd_client **out);
/* Close the socket and free the client; NULL is ignored. */
void	asockd_client_close(struct asockd_client *cl);
/* The socket, for poll(2); owned by the client. */
int	asockd_client_fd(struct asockd_client *cl);
/*
 * Largest payload accepted by asockd_client_recv and sent by
 * asockd_client_send (default ASOCKD_CLIENT_MAX_FRAME).  Returns 0 or
 * -EINVAL for 0 or more than ASOCKD_CLIENT_FRAME_LIMIT.
 */
int	asockd_client_set_max_frame(struct asockd_client *cl, size_t max);

/* --- writing: the pending message --- */

/*
 * Append one value to the client's pending message; send it as one frame
 * with asockd_client_send().  After wr_array(cl, n) write exactly n
 * values, after wr_map(cl, n) exactly n key/value pairs: the writer does
 * not track nesting.  Each returns 0, -EINVAL for a str that is not valid
 * UTF-8 (send such bytes with wr_bin) or a wr_raw that is not whole
 * MessagePack values, -EMSGSIZE for a length above 2^32 - 1, or -ENOMEM.
 * A failed call leaves the message as it was.  Bytes are copied.
 */
int	asockd_client_wr_nil(struct asockd_client *cl);
int	asockd_client_wr_bool(struct asockd_client *cl, int v);
int	asockd_client_wr_int(struct asockd_client *cl, int64_t v);
int	asockd_client_wr_uint(struct asockd_client *cl, uint64_t v);
int	asockd_client_wr_float(struct asockd_client *cl, float v);
int	asockd_client_wr_double(struct asockd_client *cl, double v);
int	asockd_client_wr_str(struct asockd_client *cl, const char *s,
	    size_t len);
int	asockd_client_wr_bin(struct asockd_client *cl, const void *p,
	    size_t len);
/* An ext value of application type (-128..127; negatives are reserved
 * by MessagePack) holding len bytes. */
int	asockd_client_wr_ext(struct asockd_client *cl, int type,
	    const void *p, size_t len);
int	asockd_client_wr_array(struct asockd_client *cl, uint32_t count);
int	asockd_client_wr_map(struct asockd_client *cl, uint32_t count);
/* Values already encoded elsewhere: one or more whole values, checked. */
int	asockd_client_wr_raw(struct asockd_client *cl, const void *p,
	    size_t len);
/* The pending message (borrowed until the next wr_* or send); NULL, with
 * *len 0, when it is empty. */
const void *asockd_client_wr_data(struct asockd_client *cl, size_t *len);
/* Empty the pending message. */
void	asockd_client_wr_reset(struct asockd_client *cl);

/* --- sending --- */

/*
 * Send the pending message as one frame, waiting at most timeout_ms for
 * the kernel to take it, and empty it (also on failure).  Returns 0,
 * -EMSGSIZE when the message is empty or over max_frame, -ETIMEDOUT (the
 * frame may then have been sent in part: close the client), or the write
 * error (-EPIPE, -ECONNRESET...).
 */
int	asockd_client_send(struct asockd_client *cl, int timeout_ms);
/* Send payload (len bytes, already MessagePack) as one frame. */
int	asockd_client_send_frame(struct asockd_client *cl, const void *payload,
	    size_t len, int timeout_ms);
/*
 * Send an array of the NUL-terminated strings given (up to a NULL) as one
 * frame, waiting at most 5 seconds:
 * asockd_client_send_strings(cl, "say", "hello", NULL) sends
 * ["say", "hello"].  The pending message is replaced.  Returns as
 * asockd_client_send, or -EINVAL for a string that is not UTF-8.
 */
int	asockd_client_send_strings(struct asockd_client *cl, ...)
#if defined(__GNUC__)
	    __attribute__((sentinel))
#endif
	    ;

/* --- receiving --- */

/*
 * Wait at most timeout_ms for the next whole frame; partial reads are
 * buffered across calls.  Returns 0 when a frame is ready and checked
 * (read its values with asockd_client_rd_*), -EAGAIN when timeout_ms is 0
 * and no whole frame is buffered yet, -ETIMEDOUT, -ENOTCONN when the peer
 * closed between frames, -EPROTO when it closed inside a frame, or the
 * read error.  A frame the server should never have sent:
 * -EBADMSG when its payload is not valid MessagePack as docs/archive.md
 * defines it (the frame is skipped and the stream is still in step: the
 * next recv reads the next frame), -EMSGSIZE for a frame over max_frame or
 * of length 0 (the stream cannot be resynchronised: close the client).
 * asockd_client_why() says what was wrong.
 */
int	asockd_client_recv(struct asockd_client *cl, int timeout_ms);
/*
 * Why the last asockd_client_recv returned -EBADMSG or -EMSGSIZE ("bad
 * archive payload: length past the end of the frame"): a static string,
 * or NULL after a recv that succeeded.
 */
const char *asockd_client_why(struct asockd_client *cl);
/*
 * The payload of the frame the last asockd_client_recv returned (also
 * one refused with -EBADMSG, to log it); borrowed until the next recv or
 * close.  NULL (and *len 0) when there is none.
 */
const void *asockd_client_frame(struct asockd_client *cl, size_t *len);

/* --- reading the current frame --- */

/*
 * A cursor over the values of the current frame, from its start after
 * each successful asockd_client_recv.  rd_next_type says what comes next
 * without consuming it (ASOCKD_CLIENT_T_NONE at the end).  Each getter
 * reads one value of its type and moves past it; it returns 0, -EPROTO
 * when the next value has another type (nothing is consumed, so try
 * another getter), or -ENODATA at the end of the frame or without one.
 * Strings, binaries and ext data point into the frame: borrowed until the
 * next recv or close, not NUL-terminated; strings are valid UTF-8.
 */
enum asockd_client_type asockd_client_rd_next_type(struct asockd_client *cl);
int	asockd_client_rd_nil(struct asockd_client *cl);
int	asockd_client_rd_bool(struct asockd_client *cl, int *v);
/* Any integer that fits int64_t (larger ones: -EPROTO). */
int	asockd_client_rd_int(struct asockd_client *cl, int64_t *v);
/* Non-negative integers. */
int	asockd_client_rd_uint(struct asockd_client *cl, uint64_t *v);
/* float 32 and float 64 (integers are not floats); *is32 (may be NULL)
 * tells which it was. */
int	asockd_client_rd_double(struct asockd_client *cl, double *v,
	    int *is32);
int	asockd_client_rd_str(struct asockd_client *cl, const char **s,
	    size_t *len);
int	asockd_client_rd_bin(struct asockd_client *cl, const void **p,
	    size_t *len);
int	asockd_client_rd_ext(struct asockd_client *cl, int *type,
	    const void **p, size_t *len);
/* Array and map headers: read the elements (map: key, value, ...) next.
 * A count is never larger than the bytes left in the frame. */
int	asockd_client_rd_array(struct asockd_client *cl, uint32_t *count);
int	asockd_client_rd_map(struct asockd_client *cl, uint32_t *count);
/* Skip one whole value (an array or map with its contents). */
int	asockd_client_rd_skip(struct asockd_client *cl);
/* One whole value's encoded bytes, to keep, forward or decode with
 * another MessagePack library. */
int	asockd_client_rd_raw(struct asockd_client *cl, const void **p,
	    size_t *len);

#ifdef __cplusplus
}
#endif

#endif /* ASOCKD_CLIENT_H */
