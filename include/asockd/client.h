/*
 * asockd/client.h - a small blocking client for asockd's archive
 * (MessagePack) listeners.
 *
 * Wire format of an archive listener: each frame is a 4-byte big-endian
 * unsigned length N (1..max_frame) followed by N bytes of payload holding
 * one or more complete MessagePack values; strings are UTF-8.
 *
 * The library builds on msgpack-c: messages are packed with a
 * msgpack_packer and read back as msgpack_unpacked values.  A typical
 * session:
 *
 *	struct asockd_client *cl;
 *	msgpack_unpacked u;
 *
 *	if (asockd_client_connect("tcp://127.0.0.1:7007", 5000, &cl) != 0)
 *		...
 *	asockd_client_send_strings(cl, "join", "alice", NULL);
 *	if (asockd_client_recv(cl, 5000) == 0) {
 *		msgpack_unpacked_init(&u);
 *		while (asockd_client_next(cl, &u) == 0)
 *			msgpack_object_print(stdout, u.data);
 *		msgpack_unpacked_destroy(&u);
 *	}
 *	asockd_client_close(cl);
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

#include <msgpack.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Default and absolute limits for one frame's payload. */
#define ASOCKD_CLIENT_MAX_FRAME		(1024 * 1024)
#define ASOCKD_CLIENT_FRAME_LIMIT	0xffffffffUL

struct asockd_client;		/* opaque */

/*
 * Open a socket to uri and connect it, waiting at most timeout_ms.  uri is
 * "tcp://HOST:PORT" (HOST an IPv4 literal, "[v6]" literal or a name),
 * "udp://HOST:PORT", "unix:/path" or "unix-dgram:/path".  A datagram
 * socket is connected to its peer (unix-dgram sockets are auto-bound to
 * an abstract address so the peer can answer).  The fd is non-blocking
 * and close-on-exec; it belongs to the caller.  Used by asockd-cat for
 * listeners of every kind.  Returns 0 and sets *fd, -EINVAL for a
 * malformed uri, -ETIMEDOUT, or the connect error.
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
 * -EINVAL for 0.
 */
int	asockd_client_set_max_frame(struct asockd_client *cl, size_t max);

/* --- sending --- */

/*
 * The packer of the client's pending message: pack one or more values
 * with msgpack_pack_*() and send them as one frame with
 * asockd_client_send().  Owned by the client.
 */
msgpack_packer *asockd_client_packer(struct asockd_client *cl);
/*
 * Send what was packed as one frame, waiting at most timeout_ms for the
 * kernel to take it, and clear the pending message (also on failure).
 * Returns 0, -EMSGSIZE when the message is empty or over max_frame,
 * -ETIMEDOUT (the frame may then have been sent in part: close the
 * client), or the write error (-EPIPE, -ECONNRESET...).
 */
int	asockd_client_send(struct asockd_client *cl, int timeout_ms);
/* Send payload (len bytes, already MessagePack) as one frame. */
int	asockd_client_send_frame(struct asockd_client *cl, const void *payload,
	    size_t len, int timeout_ms);
/*
 * Pack an array of the NUL-terminated strings given (up to a NULL) and
 * send it as one frame, waiting at most 5 seconds:
 * asockd_client_send_strings(cl, "say", "hello", NULL) sends
 * ["say", "hello"].  Returns as asockd_client_send.
 */
int	asockd_client_send_strings(struct asockd_client *cl, ...)
	    __attribute__((sentinel));

/* --- receiving --- */

/*
 * Wait at most timeout_ms for the next whole frame; partial reads are
 * buffered across calls.  Returns 0 when a frame is ready (read it with
 * asockd_client_frame or asockd_client_next), -EAGAIN when timeout_ms is
 * 0 and no whole frame is buffered yet, -ETIMEDOUT, -ENOTCONN when the
 * peer closed between frames, -EPROTO when it closed inside a frame,
 * -EMSGSIZE for a frame over max_frame or of length 0 (the stream cannot
 * be resynchronised: close the client), or the read error.
 */
int	asockd_client_recv(struct asockd_client *cl, int timeout_ms);
/*
 * The payload of the frame the last successful asockd_client_recv
 * returned; borrowed until the next recv or close.  NULL (and *len 0)
 * when there is none.
 */
const void *asockd_client_frame(struct asockd_client *cl, size_t *len);
/*
 * Unpack the next MessagePack value of the current frame into u (which
 * the caller initialised with msgpack_unpacked_init and destroys with
 * msgpack_unpacked_destroy).  Returns 0, -ENODATA after the last value,
 * -EBADMSG when the payload is malformed or truncated, -ENOMEM.
 */
int	asockd_client_next(struct asockd_client *cl, msgpack_unpacked *u);

#ifdef __cplusplus
}
#endif

#endif /* ASOCKD_CLIENT_H */
