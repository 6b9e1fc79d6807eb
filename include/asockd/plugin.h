/*
 * asockd/plugin.h - the handler plugin ABI of asockd.
 *
 * A plugin is a shared object that exports one descriptor, a const
 * struct asockd_plugin named ASOCKD_PLUGIN_SYMBOL ("asockd_plugin").  The
 * daemon reads the descriptor as data and checks its ABI version and size
 * before it calls any plugin code.  The ASOCKD_PLUGIN_DEFINE() macro below
 * fills in the version and size fields.
 *
 * Notifications follow MFC's CAsyncSocket: one optional callback per event
 * (accept, receive, send, out-of-band, connect, close, datagram, and a
 * message on the bus, ABI 1.3).  A NULL callback means "not interested".
 * The host does all reading and writing; plugins hand it bytes and get
 * bytes back.
 *
 * The contract (each rule is tested in tests/):
 *  1. Callbacks for one connection never nest.  What a plugin asks for inside
 *     a callback (send, close, abort, shutdown) takes effect without
 *     re-entering the plugin: sends are written or queued at once, a close
 *     or abort runs after the callback returns.  A connection is never freed
 *     while one of its callbacks runs.
 *  2. close is called exactly once per connection that was accepted (or
 *     whose outbound connect succeeded), after every received byte was
 *     delivered, with a reason telling a graceful end of stream from a
 *     reset, a local close, a timeout and a daemon shutdown.  After close
 *     returns the connection handle is invalid.
 *  3. send never drops bytes: what the kernel does not take at once is
 *     copied into the connection's output queue.  Above the high-water mark
 *     (listener option sndq_high) the host stops reading from the peer
 *     (unless the plugin paces itself: ASOCKD_F_OWN_FLOW) and
 *     host->writable() turns 0; once the queue drains the on_send
 *     notification fires, once.  It does not fire on every writable edge.
 *     The queue has a hard cap (sndq_max): a send past it aborts the
 *     connection with ASOCKD_CLOSE_OVERFLOW.
 *  4. Every host call that can fail returns 0 or a negative errno value;
 *     there is no thread-wide last-error state.  Predicates and getters
 *     return their value directly, as documented.
 *  5. Everything runs on one thread, the event loop's; host functions must
 *     not be called from other threads.
 *
 * Ownership is noted next to each declaration: "borrowed" pointers are
 * valid until the callback (or host call) returns, "copied" data the host
 * copies before the call returns, "owned by the plugin" is never freed by
 * the host.
 *
 * Build a plugin out of tree with:
 *   cc -shared -fPIC $(pkg-config --cflags asockd-plugin) my.c -o my.so
 */
#ifndef ASOCKD_PLUGIN_H
#define ASOCKD_PLUGIN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * ABI version.  A plugin built against a different major version is
 * refused.  Minor versions only append: a plugin built against minor N
 * loads in a daemon of minor >= N; a plugin may test host->abi_minor (or
 * host->size) before it calls a host function added in a later minor.
 */
#define ASOCKD_ABI_MAJOR	1
#define ASOCKD_ABI_MINOR	3

/* Name of the exported descriptor symbol. */
#define ASOCKD_PLUGIN_SYMBOL	asockd_plugin
#define ASOCKD_PLUGIN_SYMBOL_NAME	"asockd_plugin"

/* Opaque handles; their layout is private to the daemon. */
struct asockd_conn;		/* a stream connection (accepted or outbound) */
struct asockd_listener;		/* a configured listener */
struct asockd_instance;		/* one loaded plugin, as named in plugins: */
struct asockd_timer;		/* a timer started with host->timer_start */
struct asockd_reader;		/* archive reader over one message */
struct asockd_writer;		/* archive writer building one message */
struct asockd_child;		/* a child process (host->spawn, ABI 1.3) */

/* Why a connection ended; passed to on_close and logged. */
enum asockd_close_reason {
	ASOCKD_CLOSE_PEER = 1,	/* peer ended its stream (EOF), all data read */
	ASOCKD_CLOSE_RESET,	/* peer reset the connection (ECONNRESET) */
	ASOCKD_CLOSE_LOCAL,	/* the plugin called close() or abort() */
	ASOCKD_CLOSE_TIMEOUT,	/* idle_timeout expired */
	ASOCKD_CLOSE_ERROR,	/* a socket error other than a reset */
	ASOCKD_CLOSE_SHUTDOWN,	/* the daemon is stopping */
	ASOCKD_CLOSE_PROTOCOL,	/* the peer broke the framing or max_input */
	ASOCKD_CLOSE_CONNECT,	/* an outbound connect failed (no on_close) */
	ASOCKD_CLOSE_OVERFLOW	/* output queue past sndq_max (ABI 1.2) */
};

/* What kind of socket a listener has. */
enum asockd_listener_kind {
	ASOCKD_TCP = 1,
	ASOCKD_UDP,
	ASOCKD_UNIX,		/* unix: stream */
	ASOCKD_UNIX_DGRAM	/* unix-dgram: */
};

/* Log levels for host->log, from most to least severe. */
enum asockd_log_level {
	ASOCKD_LOG_ERR = 3,
	ASOCKD_LOG_WARNING = 4,
	ASOCKD_LOG_NOTICE = 5,
	ASOCKD_LOG_INFO = 6,
	ASOCKD_LOG_DEBUG = 7
};

/* Archive value types (MessagePack families), see host->rd_next_type. */
enum asockd_type {
	ASOCKD_T_NONE = 0,	/* end of message */
	ASOCKD_T_NIL,
	ASOCKD_T_BOOL,
	ASOCKD_T_UINT,		/* non-negative integer */
	ASOCKD_T_INT,		/* negative integer */
	ASOCKD_T_FLOAT,		/* float32 or float64: see rd_float_bits */
	ASOCKD_T_STR,
	ASOCKD_T_BIN,
	ASOCKD_T_ARRAY,
	ASOCKD_T_MAP,
	ASOCKD_T_EXT
};

typedef void (*asockd_timer_cb)(struct asockd_timer *t, void *arg);

/*
 * A child process ended (ABI 1.3): status is as waitpid(2) gives it (test
 * it with WIFEXITED, WEXITSTATUS, WIFSIGNALED, WTERMSIG).  ch is freed
 * when the callback returns.
 */
typedef void (*asockd_child_cb)(struct asockd_child *ch, int status,
    void *arg);
/* Called by host->ini_each for each key of a section, in file order. */
typedef int (*asockd_ini_cb)(const char *key, const char *value, int line,
    void *arg);

/* What host->spawn wires to the child's standard descriptors. */
#define ASOCKD_SPAWN_STDIO	0x01	/* stdin+stdout: one socketpair */
#define ASOCKD_SPAWN_STDERR	0x02	/* stderr: a socketpair of its own */

/* One resource limit for host->spawn, as setrlimit(2) takes it. */
struct asockd_rlimit {
	int	 resource;	/* RLIMIT_CPU, RLIMIT_NOFILE, ... */
	uint64_t cur;		/* soft limit (RLIM_INFINITY: none) */
	uint64_t max;		/* hard limit */
};

/*
 * How host->spawn starts a program (ABI 1.3).  Every pointer is borrowed
 * for the call only: the host copies nothing it needs afterwards.
 */
struct asockd_spawn {
	uint32_t size;		/* sizeof(struct asockd_spawn) */
	uint32_t flags;		/* ASOCKD_SPAWN_STDIO | ASOCKD_SPAWN_STDERR */
	/* argv[0] is the program's path as execve(2) takes it (no PATH
	 * search); NULL-terminated */
	const char *const *argv;
	const char *const *envp;	/* NULL-terminated; NULL: empty */
	const char *cwd;		/* NULL: the worker's (/) */
	uid_t	 uid;		/* (uid_t)-1: the worker's */
	gid_t	 gid;		/* (gid_t)-1: the worker's; also the only
				   supplementary group when set */
	int	 nice;		/* added to the worker's nice value */
	const struct asockd_rlimit *rlimits;
	size_t	 nrlimits;
};

/*
 * The host function table.  The daemon passes it to the plugin's init hook;
 * it stays valid until fini returns.  The table only grows: check
 * host->size (or host->abi_minor) before calling a member that a newer
 * minor version added.
 */
/*
 * What host->tls_info tells of a connection (ABI 1.3).  Filled by the
 * host, owned by the plugin (a copy: it stays valid after the call).
 * Strings are NUL-terminated, "" when there is nothing to say, and cut
 * short to fit.
 */
struct asockd_tls_info {
	int	 tls;			/* 1: TLS; 0: plaintext (all else
					   empty) */
	char	 version[16];		/* "TLSv1.2", "TLSv1.3" */
	char	 cipher[64];		/* "TLS_AES_256_GCM_SHA384" */
	char	 sni[256];		/* server name the client asked for */
	char	 alpn[256];		/* ALPN protocol agreed on */
	int	 client_cert;		/* 1: the client sent a certificate */
	char	 client_subject[512];	/* its subject, RFC 2253 */
	char	 client_sha256[96];	/* its SHA-256, "AB:CD:..." */
	/*
	 * The verification of the client certificate: 0 verified (or none
	 * asked for and sent), else OpenSSL's X509_V_ERR_* code, with its
	 * text in verify_error.  With verify_client = "require" or
	 * "optional" a certificate that fails is refused at the handshake,
	 * so a plugin sees 0 there.
	 */
	long	 verify_result;
	char	 verify_error[128];
};

struct asockd_host {
	uint16_t abi_major;	/* read-only: the daemon's ASOCKD_ABI_MAJOR */
	uint16_t abi_minor;	/* read-only: the daemon's ASOCKD_ABI_MINOR */
	uint32_t size;		/* read-only: sizeof(struct asockd_host) */
	const char *version;	/* read-only: the daemon's version string */

	/* --- logging (all levels) --- */

	/* printf-style log line, prefixed with the plugin's name. */
	void	(*log)(struct asockd_instance *inst, int level,
		    const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));
	/* Log line prefixed with the connection's listener, id and peer. */
	void	(*conn_log)(struct asockd_conn *c, int level,
		    const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));

	/* --- settings from the plugin's INI file (config = "x.ini") --- */

	/*
	 * Typed getters with defaults.  A missing key (or no INI file) gives
	 * def.  A value that does not parse as the type returns -EINVAL,
	 * leaves *out at def and logs "FILE:LINE: ..." naming the key.
	 * The string returned by ini_str is owned by the host and valid until
	 * fini returns.
	 */
	const char *(*ini_str)(struct asockd_instance *inst,
		    const char *section, const char *key, const char *def);
	int	(*ini_int)(struct asockd_instance *inst, const char *section,
		    const char *key, long long def, long long *out);
	int	(*ini_bool)(struct asockd_instance *inst, const char *section,
		    const char *key, int def, int *out);
	int	(*ini_double)(struct asockd_instance *inst, const char *section,
		    const char *key, double def, double *out);

	/* Plugin-wide data, as stored by init (*pdata). */
	void	*(*instance_data)(struct asockd_instance *inst);

	/* --- stream connections --- */

	/*
	 * Queue len bytes for the peer.  The bytes are written at once when
	 * the queue is empty and the kernel takes them; the rest is copied.
	 * Returns 0, -EPIPE once the connection is closing or its write side
	 * was shut down, or -ENOTCONN while an outbound connect is pending.
	 * Bytes that would take the queue past the listener's sndq_max are
	 * not queued: the call returns -ENOBUFS and the connection is aborted
	 * with ASOCKD_CLOSE_OVERFLOW (a safety net: stop sending while
	 * writable() is 0 and resume in on_send).
	 * buf is borrowed for the call only.
	 */
	int	(*send)(struct asockd_conn *c, const void *buf, size_t len);
	/* 1 while the output queue is at or under its high-water mark. */
	int	(*writable)(struct asockd_conn *c);
	/* Bytes waiting in the output queue. */
	size_t	(*queued)(struct asockd_conn *c);
	/*
	 * Graceful close: stop reading, flush the queue, then close; on_close
	 * follows with ASOCKD_CLOSE_LOCAL.  Inside a callback it takes effect
	 * when the callback returns.  Returns 0, or -EALREADY when closing.
	 */
	int	(*close)(struct asockd_conn *c);
	/* Close now, discarding queued output (a TCP peer gets a reset). */
	int	(*abort)(struct asockd_conn *c);
	/* shutdown(SHUT_WR) once the queue has drained; reading continues. */
	int	(*shutdown_write)(struct asockd_conn *c);
	/*
	 * Peer and local addresses.  *len is in/out as for getpeername(2).
	 * Returns 0 or -errno (-ENOSPC when the buffer is too small).  On a
	 * listener with proxy_protocol the peer (here and in peer_name) is
	 * the client the PROXY header named (see proxy_addr).
	 */
	int	(*peer_addr)(struct asockd_conn *c, struct sockaddr *sa,
		    socklen_t *len);
	int	(*local_addr)(struct asockd_conn *c, struct sockaddr *sa,
		    socklen_t *len);
	/* "[::1]:5000", "127.0.0.1:5000" or "unix:/path"; host-owned, valid
	 * while the connection lives. */
	const char *(*peer_name)(struct asockd_conn *c);
	/* Per-connection user data, owned by the plugin (free it in
	 * on_close). */
	void	(*set_udata)(struct asockd_conn *c, void *udata);
	void	*(*udata)(struct asockd_conn *c);
	/* The plugin instance and listener (NULL for outbound) of c. */
	struct asockd_instance *(*conn_instance)(struct asockd_conn *c);
	struct asockd_listener *(*conn_listener)(struct asockd_conn *c);
	/* Listener name as configured; host-owned. */
	const char *(*listener_name)(struct asockd_listener *l);
	/*
	 * paused non-zero: stop delivering receive notifications (on_receive,
	 * on_message) for c; 0: resume.  Bytes the kernel holds, and whole
	 * messages already read but not yet delivered, stay where they are
	 * and are delivered in order after the resume; nothing is lost.
	 * Returns 0, or -ENOTCONN once the connection is closed.
	 */
	int	(*pause_receive)(struct asockd_conn *c, int paused);

	/* --- timers --- */

	/*
	 * Call cb(t, arg) after `after` seconds, then every `repeat` seconds
	 * when repeat > 0.  When c is not NULL the timer belongs to that
	 * connection and is stopped and freed by the host when the
	 * connection closes (before on_close); its callback never nests with
	 * the connection's other callbacks.  Returns the timer, owned by the
	 * host; NULL only for invalid arguments.
	 */
	struct asockd_timer *(*timer_start)(struct asockd_instance *inst,
		    struct asockd_conn *c, double after, double repeat,
		    asockd_timer_cb cb, void *arg);
	/* Stop and free t.  Safe inside t's own callback. */
	void	(*timer_stop)(struct asockd_timer *t);

	/* --- datagrams --- */

	/*
	 * Send one datagram from listener l to addr.  Returns 0, or -errno
	 * (-EAGAIN when the socket buffer is full: datagrams are not queued).
	 */
	int	(*sendto)(struct asockd_listener *l, const void *buf,
		    size_t len,
		    const struct sockaddr *addr, socklen_t addrlen);

	/* --- outbound connections --- */

	/*
	 * Start a non-blocking connect to "tcp://host:port" (host an IPv4
	 * literal, "[v6]" literal or a name) or "unix:/path".  Names are
	 * resolved on a helper thread, never on the event loop, and their
	 * addresses tried in turn until one connects.  The outcome arrives
	 * as on_connect(c, 0) or on_connect(c, -errno); after a failure the
	 * handle is freed when on_connect returns and on_close is not
	 * called.  udata is set on c before on_connect.  Returns 0 and sets
	 * *out (may be NULL); -EINVAL for a malformed target,
	 * -EPROTONOSUPPORT for udp:// or unix-dgram:, or the error of a
	 * literal address's connect(2) that failed at once (then
	 * on_connect is not called).  Since ABI 1.3 target may be
	 * "tls://host:port": the connect, then a verified TLS client
	 * handshake (the system's CA store, SNI, the certificate must name
	 * host) before on_connect, which gets -EPROTO when the handshake
	 * fails and -ETIMEDOUT when it takes over 10 s; the plugin then
	 * sends and receives plaintext.
	 */
	int	(*connect)(struct asockd_instance *inst, const char *target,
		    void *udata, struct asockd_conn **out);

	/* --- archive layer (ABI 1.1) --- */

	/*
	 * Reader over one message (a borrowed buffer, for example the one
	 * on_message got).  The reader itself is host-owned and valid until
	 * rd_free or the end of the callback, whichever comes first.  Getters
	 * return 0, -EPROTO on a type mismatch (nothing consumed), -ENODATA
	 * past the end, -EBADMSG on malformed or non-UTF-8 data.
	 */
	struct asockd_reader *(*rd_open)(const void *buf, size_t len);
	void	(*rd_free)(struct asockd_reader *r);
	enum asockd_type (*rd_next_type)(struct asockd_reader *r);
	int	(*rd_nil)(struct asockd_reader *r);
	int	(*rd_bool)(struct asockd_reader *r, int *v);
	int	(*rd_int)(struct asockd_reader *r, int64_t *v);
	int	(*rd_uint)(struct asockd_reader *r, uint64_t *v);
	int	(*rd_float)(struct asockd_reader *r, float *v);
	int	(*rd_double)(struct asockd_reader *r, double *v);
	/* *s points into the message (borrowed), not NUL-terminated. */
	int	(*rd_str)(struct asockd_reader *r, const char **s, size_t *len);
	int	(*rd_bin)(struct asockd_reader *r, const void **p, size_t *len);
	int	(*rd_array)(struct asockd_reader *r, uint32_t *count);
	int	(*rd_map)(struct asockd_reader *r, uint32_t *count);
	/* Skip one whole value (arrays and maps with their contents). */
	int	(*rd_skip)(struct asockd_reader *r);

	/*
	 * Writer: build a message with typed putters, then send it as one
	 * frame (wr_send, wr_broadcast) or take its bytes (wr_data).  Writers
	 * are owned by the plugin: wr_free releases one.  Putters return 0 or
	 * -EINVAL (invalid UTF-8 in wr_str), -EMSGSIZE over max_frame.
	 */
	struct asockd_writer *(*wr_new)(void);
	void	(*wr_free)(struct asockd_writer *w);
	void	(*wr_reset)(struct asockd_writer *w);
	int	(*wr_nil)(struct asockd_writer *w);
	int	(*wr_bool)(struct asockd_writer *w, int v);
	int	(*wr_int)(struct asockd_writer *w, int64_t v);
	int	(*wr_uint)(struct asockd_writer *w, uint64_t v);
	int	(*wr_float)(struct asockd_writer *w, float v);
	int	(*wr_double)(struct asockd_writer *w, double v);
	int	(*wr_str)(struct asockd_writer *w, const char *s, size_t len);
	int	(*wr_bin)(struct asockd_writer *w, const void *p, size_t len);
	int	(*wr_array)(struct asockd_writer *w, uint32_t count);
	int	(*wr_map)(struct asockd_writer *w, uint32_t count);
	/* The encoded message, without the frame header; borrowed. */
	const void *(*wr_data)(struct asockd_writer *w, size_t *len);
	/*
	 * Send the message as one frame in the listener's framing (length
	 * prefix for length/archive listeners).  Same queueing and
	 * backpressure rules as send.  The writer is left as it was.
	 */
	int	(*wr_send)(struct asockd_conn *c, struct asockd_writer *w);
	/* Send it to every open connection of listener l; returns 0 or the
	 * first error; connections that fail are closed, others still get
	 * it. */
	int	(*wr_broadcast)(struct asockd_listener *l,
		    struct asockd_writer *w);
	/*
	 * Send one framed message of raw bytes: a 4-byte big-endian length
	 * before it on length/archive listeners, "\n" after it on line
	 * listeners, nothing on raw ones.  -EMSGSIZE over max_frame /
	 * max_line (or an empty frame), -EINVAL for a line containing "\n".
	 */
	int	(*send_frame)(struct asockd_conn *c, const void *buf,
		    size_t len);

	/* --- archive values (ABI 1.2): ext, float width, raw values --- */

	/*
	 * The width of the float at the cursor: 32 (float 32) or 64
	 * (float 64); rd_next_type says ASOCKD_T_FLOAT for both.  Nothing
	 * is consumed.  -EPROTO when the next value is not a float, and the
	 * errors of the getters.
	 */
	int	(*rd_float_bits)(struct asockd_reader *r);
	/*
	 * An ext value: its type (-128..127; -1 is the timestamp) and its
	 * body.  *p points into the message (borrowed), like rd_bin.
	 */
	int	(*rd_ext)(struct asockd_reader *r, int8_t *type,
		    const void **p, size_t *len);
	/*
	 * One whole value (an array or map with its contents), checked as
	 * rd_skip checks it, as its encoded MessagePack bytes: *p points
	 * into the message (borrowed).  Store or forward it as it came.
	 */
	int	(*rd_raw)(struct asockd_reader *r, const void **p,
		    size_t *len);
	/*
	 * Copy the next whole value from r into w, bytes unchanged (ext
	 * values and float widths included).  The cursor moves only when
	 * the value was copied: -EMSGSIZE from the writer leaves both as
	 * they were.
	 */
	int	(*rd_copy)(struct asockd_reader *r, struct asockd_writer *w);
	/*
	 * Put an ext value; p (len bytes) is copied.  -EINVAL for a
	 * timestamp (type -1) whose body is not 4, 8 or 12 bytes or whose
	 * nanoseconds are 10^9 or more; other types are not interpreted.
	 */
	int	(*wr_ext)(struct asockd_writer *w, int8_t type, const void *p,
		    size_t len);
	/*
	 * Put encoded MessagePack bytes (for example from rd_raw, or stored
	 * earlier); p is copied.  They must be one or more whole, valid
	 * values (as an archive frame is checked), else -EINVAL and nothing
	 * is written.  Each value in p counts as one element of an
	 * enclosing wr_array or wr_map.
	 */
	int	(*wr_raw)(struct asockd_writer *w, const void *p, size_t len);

	/* --- PROXY protocol (ABI 1.3) --- */

	/*
	 * The load balancer's own address, for a connection that began
	 * with a PROXY header (peer_addr and peer_name are then the client
	 * the header named; after a v2 LOCAL or a v1 UNKNOWN header both
	 * are the balancer).  *len is in/out as for getpeername(2).
	 * -ENOENT for a connection without a header (and outbound ones),
	 * -ENOSPC when *len is too small.
	 */
	int	(*proxy_addr)(struct asockd_conn *c, struct sockaddr *sa,
		    socklen_t *len);
	/*
	 * The value of a TLV of the connection's v2 header: type is one of
	 * ASOCKD_PP2_* or any other type number.  *val is borrowed until
	 * on_close (not NUL-terminated).  -ENOENT when the header had no
	 * such TLV (a v1 header has none).
	 */
	int	(*proxy_tlv)(struct asockd_conn *c, int type, const void **val,
		    size_t *len);
	/*
	 * As connect, and the new connection's first bytes are a PROXY
	 * header of version (1 or 2) that names client (an accepted
	 * connection): its peer (peer_addr) as the source, the address it
	 * reached as the destination.  Whatever the plugin sends follows
	 * the header; with a "tls://" target the header goes in the clear
	 * before the TLS handshake, what follows through TLS.  -EINVAL for
	 * another version or a client that is not an accepted connection,
	 * and the errors of connect.
	 */
	int	(*connect_proxy)(struct asockd_instance *inst,
		    const char *target, void *udata, struct asockd_conn **out,
		    struct asockd_conn *client, int version);

	/* --- child processes and foreign descriptors (ABI 1.3) --- */

	/*
	 * Start a program (vfork + execve: the worker waits only until the
	 * child has exec'd, a few system calls).  The child gets a session
	 * and process group of its own, SIGTERM when the worker dies
	 * (PR_SET_PDEATHSIG), default signal handlers, an empty signal
	 * mask, the limits, nice value, directory and ids of sp, and
	 * exactly three descriptors:
	 * with ASOCKD_SPAWN_STDIO its stdin and stdout are one end of a
	 * socketpair whose other end is fds[0]; with ASOCKD_SPAWN_STDERR
	 * its stderr is a socketpair whose other end is fds[1]; the ones
	 * not asked for are /dev/null (fds[i] -1).  Every other descriptor
	 * is closed.  fds[0] and fds[1] are non-blocking and close-on-exec
	 * and owned by the plugin: hand them to attach_fd.
	 * The host reaps the child (it owns SIGCHLD), logs its exit with
	 * the status, and calls on_exit(ch, status, arg) exactly once, also
	 * when the worker stops (it kills what is left first).  Returns 0
	 * and sets *out (may be NULL; the handle is host-owned, valid until
	 * on_exit returns); -EINVAL for bad arguments, -EPERM when uid/gid
	 * need privileges the worker lacks, -ENOENT, -EACCES or -ENOTDIR
	 * when argv[0] is not an executable file or cwd not a directory
	 * (checked before the fork); then no child runs and on_exit is not
	 * called.  A step that fails in the child after all (an exec
	 * error such as ENOEXEC, setrlimit, the ids) is its exit: the host
	 * logs the step and the error, and on_exit gets exit status 127.
	 */
	int	(*spawn)(struct asockd_instance *inst,
		    const struct asockd_spawn *sp, asockd_child_cb on_exit,
		    void *arg, int fds[2], struct asockd_child **out);
	/*
	 * SIGTERM to the child's process group now, and SIGKILL after
	 * timeout seconds if it has not exited (timeout <= 0: at once).
	 * Returns 0, or -EALREADY when a kill is already under way.
	 */
	int	(*child_kill)(struct asockd_child *ch, double timeout);
	/* The child's process id. */
	pid_t	(*child_pid)(struct asockd_child *ch);
	/*
	 * Watch a foreign descriptor with the rules of a connection: fd
	 * must be a connected stream socket (a socketpair end from spawn,
	 * or any other); -ENOTSOCK otherwise.  On success the host owns fd
	 * and *out is an open connection like an outbound one that has
	 * connected (no on_connect): on_receive, on_send, on_eof and
	 * on_close of inst's descriptor, backpressure, shutdown_write and
	 * close as for any connection.  name (copied; NULL: "fd N") is its
	 * peer name in the log.  udata is set before any callback.  On
	 * failure fd is left to the caller.
	 */
	int	(*attach_fd)(struct asockd_instance *inst, int fd,
		    const char *name, void *udata, struct asockd_conn **out);
	/*
	 * Call fn(key, value, line, arg) for each key of the INI file's
	 * section, in file order (a settings table takes any key of a
	 * section with a row named "*").  Stops at the first non-zero
	 * return of fn and returns it; 0 otherwise (also without a file).
	 * key and value are host-owned, valid until fini returns.
	 */
	int	(*ini_each)(struct asockd_instance *inst, const char *section,
		    asockd_ini_cb fn, void *arg);

	/* --- message bus (ABI 1.3) --- */

	/*
	 * The bus carries messages (bytes; archive-encoded by convention)
	 * on named channels between the plugins of every worker of the
	 * daemon, and with daemon.bus = "redis://..." of every asockd that
	 * uses that Redis.  Every subscriber of a channel sees its
	 * messages in one order, the publisher's own subscribers included:
	 * a message comes back through the bus, never inside the publish
	 * call.  Delivery is at most once: a subscriber that falls too far
	 * behind, or a bus that is down, loses messages (counted, logged).
	 *
	 * A channel name is 1..ASOCKD_BUS_CHANNEL_MAX bytes of
	 * [A-Za-z0-9._:/-]; -EINVAL otherwise.  channel and data are
	 * copied.
	 *
	 * bus_publish returns 0 once the message is on its way; -EMSGSIZE
	 * for len 0 or over ASOCKD_BUS_MSG_MAX; -ENOBUFS when the bus's
	 * bounded outgoing queue is full; -ENOTCONN while the Redis bus is
	 * down.  After an error nothing was sent: the plugin decides (the
	 * chat plugin then serves the message to its own worker only).
	 */
	int	(*bus_publish)(struct asockd_instance *inst,
		    const char *channel, const void *data, size_t len);
	/*
	 * Subscribe inst to channel: its on_bus gets every message
	 * published on it from now on, preceded by up to backlog (at most
	 * ASOCKD_BUS_BACKLOG_MAX) of the newest messages the bus kept from
	 * before, oldest first.  The backlog and the live messages arrive
	 * after the call returns, never inside it.  Returns 0; -EINVAL for
	 * a bad name or backlog; -ENOTSUP when the plugin has no on_bus;
	 * -EALREADY when inst is subscribed to channel already.
	 */
	int	(*bus_subscribe)(struct asockd_instance *inst,
		    const char *channel, unsigned int backlog);
	/* Stop delivery of channel to inst: 0, or -ENOENT when it was not
	 * subscribed.  Safe inside on_bus. */
	int	(*bus_unsubscribe)(struct asockd_instance *inst,
		    const char *channel);

	/* --- TLS (ABI 1.3) --- */

	/*
	 * Fill *out (owned by the caller) with the TLS facts of c: whether
	 * it speaks TLS, the protocol version, the cipher, the SNI name,
	 * the ALPN protocol and the client certificate.  0 (also for a
	 * plaintext connection: out->tls = 0), -EINVAL for a NULL argument,
	 * -ENOTCONN for an outbound connection not yet connected.  Valid
	 * from on_accept to on_close included.
	 */
	int	(*tls_info)(struct asockd_conn *c, struct asockd_tls_info *out);
};

/* TLV types for host->proxy_tlv (HAProxy's proxy-protocol.txt). */
#define ASOCKD_PP2_ALPN		0x01	/* the negotiated ALPN, "h2" */
#define ASOCKD_PP2_AUTHORITY	0x02	/* the TLS SNI or Host name */
#define ASOCKD_PP2_SSL		0x20	/* the SSL block as it came */
/* The TLS version ("TLSv1.3"), from inside the SSL block. */
#define ASOCKD_PP2_SSL_VERSION	0x21

/* Limits of the message bus (ABI 1.3). */
#define ASOCKD_BUS_CHANNEL_MAX	128	/* bytes of a channel name */
#define ASOCKD_BUS_MSG_MAX	65536	/* bytes of one message */
#define ASOCKD_BUS_BACKLOG_MAX	1000	/* messages kept per channel */

/*
 * A setting of the plugin's INI file, declared in the descriptor's
 * settings table (ABI 1.2).  When a plugin declares a table the host
 * checks the INI file against it before init runs, at start-up and in
 * asockd -t: a key the table does not name, or a value that is not of the
 * type or outside the range, is an error reported as FILE:LINE, and the
 * plugin does not load.  The getters (host->ini_*) then return the
 * table's default for a key the file does not set, whatever def they are
 * given.  asockd --plugin-help NAME prints the table.
 */
enum asockd_setting_type {
	ASOCKD_SET_STRING = 1,	/* any text (read with host->ini_str) */
	ASOCKD_SET_INT,		/* integer, strtoll base 0 (host->ini_int) */
	ASOCKD_SET_DOUBLE,	/* finite number (host->ini_double) */
	ASOCKD_SET_BOOL,	/* yes/no, true/false, on/off, 1/0 */
	ASOCKD_SET_ENUM		/* one of choices (read with host->ini_str) */
};

struct asockd_setting {
	const char *section;	/* INI section without [], "" before any */
	/* the key; NULL ends the table; "*" (ABI 1.3): any key of the
	 * section not named by another row (read them with ini_each) */
	const char *name;
	int	 type;		/* enum asockd_setting_type */
	const char *def;	/* default as written in the file; NULL: none */
	/*
	 * Inclusive range of an INT or DOUBLE value, checked when
	 * min < max (leave both 0 for no range).
	 */
	double	 min;
	double	 max;
	const char *choices;	/* ENUM: the values, separated by '|' */
	const char *help;	/* one line for --plugin-help */
};

/*
 * Descriptor flags (ABI 1.3; plugins built for earlier minors have 0).
 *
 * ASOCKD_F_OWN_FLOW: the plugin paces its reads itself, with
 * pause_receive, writable() and on_send.  The host then never stops
 * reading a connection because that connection's own output queue is
 * over its high-water mark (rule 3 of the contract); writable(),
 * on_send and the sndq_max cap work as before.  A plugin that relays
 * between two connections needs it: holding a side's reads for that
 * side's output deadlocks against a peer that only reads while its
 * answers are read (an echo upstream, a program such as cat).
 */
#define ASOCKD_F_OWN_FLOW	0x01

/*
 * The plugin descriptor.  Export exactly one, const, named asockd_plugin;
 * use ASOCKD_PLUGIN_DEFINE so the version and size fields are right.
 * Every hook and callback is optional.
 */
struct asockd_plugin {
	uint16_t abi_major;	/* ASOCKD_ABI_MAJOR the plugin was built with */
	uint16_t abi_minor;	/* ASOCKD_ABI_MINOR the plugin was built with */
	uint32_t size;		/* sizeof(struct asockd_plugin) at build time */
	const char *name;	/* short name, for logs */
	const char *version;	/* the plugin's own version string */
	uint32_t flags;		/* ASOCKD_F_* (ABI 1.3); 0 before */

	/* --- lifecycle hooks --- */

	/*
	 * Called once when the daemon starts (and in each worker process).
	 * host is valid until fini returns; store it.  Set *pdata to the
	 * plugin's own state (owned by the plugin).  Return 0, or -errno to
	 * make start-up fail (log why with host->log first).
	 */
	int	(*init)(const struct asockd_host *host,
		    struct asockd_instance *inst, void **pdata);
	/*
	 * asockd -t: check settings (read them with host->ini_*), log each
	 * problem, return 0 or -EINVAL.  Called after init, before fini.
	 */
	int	(*validate)(struct asockd_instance *inst);
	/* Called once at exit, after every connection was closed. */
	void	(*fini)(struct asockd_instance *inst);

	/* --- stream notifications --- */

	/*
	 * A connection was accepted.  Return 0 to keep it, or a negative
	 * errno to refuse it: the host aborts it at once and on_close is not
	 * called.  A refused TCP client gets a reset (its next read or write
	 * fails with ECONNRESET); a unix-socket client sees the end of the
	 * stream.  The errno is only logged, and what the plugin sent before
	 * refusing may be lost.  The plugin may send from here (a greeting)
	 * when it keeps the connection.
	 */
	int	(*on_accept)(struct asockd_conn *c);
	/*
	 * Bytes arrived (raw framing).  data is borrowed.  Return how many
	 * bytes were consumed (0..len); the rest stays buffered and is handed
	 * again, in front of new bytes, at the next notification.  A buffer
	 * that fills up (max_input) without being consumed closes the
	 * connection with ASOCKD_CLOSE_PROTOCOL.
	 */
	size_t	(*on_receive)(struct asockd_conn *c, const void *data,
		    size_t len);
	/*
	 * The output queue went over its high-water mark and has drained to
	 * its low-water mark: the plugin may send more.
	 */
	void	(*on_send)(struct asockd_conn *c);
	/* TCP urgent data arrived (one byte, MSG_OOB). */
	void	(*on_oob)(struct asockd_conn *c, unsigned char byte);
	/* An outbound connect finished: err is 0 or a negative errno. */
	void	(*on_connect)(struct asockd_conn *c, int err);
	/*
	 * The connection ended; reason is an enum asockd_close_reason.  No
	 * host call that sends works any more; free the udata here.
	 */
	void	(*on_close)(struct asockd_conn *c, int reason);
	/*
	 * The peer shut down its write side (EOF) and every byte was
	 * delivered.  When this callback is set the connection stays open for
	 * sending until the plugin calls close; when it is NULL the host
	 * closes gracefully (flushing the queue) and on_close gets
	 * ASOCKD_CLOSE_PEER.
	 */
	void	(*on_eof)(struct asockd_conn *c);

	/* --- message notifications (framed listeners, ABI 1.1) --- */

	/*
	 * One whole message arrived on a line/length/archive listener: the
	 * line without its terminator, or the frame's payload.  msg is
	 * borrowed.  For archive listeners open a reader with host->rd_open.
	 */
	void	(*on_message)(struct asockd_conn *c, const void *msg,
		    size_t len);

	/* --- datagram notifications --- */

	/*
	 * A datagram arrived on a udp:// or unix-dgram: listener.  data and
	 * from are borrowed.  Answer with host->sendto(l, ..., from, fromlen).
	 */
	void	(*on_datagram)(struct asockd_listener *l, const void *data,
		    size_t len, const struct sockaddr *from,
		    socklen_t fromlen);

	/* --- settings (ABI 1.2) --- */

	/*
	 * The plugin's INI settings, an array ending with a NULL name (owned
	 * by the plugin, static).  NULL: the plugin declares none and reads
	 * its file with the getters only, unchecked by the host.  An empty
	 * table (only the terminator) means "takes no settings".
	 */
	const struct asockd_setting *settings;
	/* sizeof(struct asockd_setting); set by ASOCKD_PLUGIN_DEFINE. */
	uint32_t setting_size;

	/* --- message bus (ABI 1.3) --- */

	/*
	 * A message arrived on a channel inst subscribed to (see
	 * host->bus_subscribe).  channel and data are borrowed.  It runs on
	 * the loop like every callback and never nests with another one;
	 * messages published from here are delivered later, in bus order.
	 */
	void	(*on_bus)(struct asockd_instance *inst, const char *channel,
		    const void *data, size_t len);
};

/* The descriptor the plugin exports (defined by ASOCKD_PLUGIN_DEFINE). */
extern const struct asockd_plugin ASOCKD_PLUGIN_SYMBOL;

#ifdef __cplusplus
}
#endif

/*
 * Define the descriptor with the right version and size fields, for
 * example:
 *   ASOCKD_PLUGIN_DEFINE(.name = "echo", .version = "1.0",
 *       .on_receive = echo_receive);
 *
 * In C the arguments are designated initializers.  In C++ (C++11 and
 * later) the same arguments work, in any order: each becomes an
 * assignment to a member of a descriptor built by a function, constexpr
 * from C++14 on (so the descriptor is constant data); at most
 * ASOCKD_PLUGIN_MAX_ARGS (32) of them.  The definition comes after the
 * extern "C" declaration above, so the symbol has C linkage either way.
 */
#ifndef __cplusplus
#define ASOCKD_PLUGIN_DEFINE(...)					\
	const struct asockd_plugin ASOCKD_PLUGIN_SYMBOL = {		\
		.abi_major = ASOCKD_ABI_MAJOR,				\
		.abi_minor = ASOCKD_ABI_MINOR,				\
		.size = sizeof(struct asockd_plugin),			\
		.setting_size = sizeof(struct asockd_setting),		\
		__VA_ARGS__						\
	}
#else
#if __cplusplus >= 201402L
#define ASOCKD_CXX_CONSTEXPR_	constexpr
#else
#define ASOCKD_CXX_CONSTEXPR_
#endif
#define ASOCKD_PLUGIN_MAX_ARGS	32
/* ASOCKD_SET_(d, .a = 1, .b = 2) -> d .a = 1; d .b = 2; */
#define ASOCKD_A1_(d, x) d x;
#define ASOCKD_A2_(d, x, ...) d x; ASOCKD_A1_(d, __VA_ARGS__)
#define ASOCKD_A3_(d, x, ...) d x; ASOCKD_A2_(d, __VA_ARGS__)
#define ASOCKD_A4_(d, x, ...) d x; ASOCKD_A3_(d, __VA_ARGS__)
#define ASOCKD_A5_(d, x, ...) d x; ASOCKD_A4_(d, __VA_ARGS__)
#define ASOCKD_A6_(d, x, ...) d x; ASOCKD_A5_(d, __VA_ARGS__)
#define ASOCKD_A7_(d, x, ...) d x; ASOCKD_A6_(d, __VA_ARGS__)
#define ASOCKD_A8_(d, x, ...) d x; ASOCKD_A7_(d, __VA_ARGS__)
#define ASOCKD_A9_(d, x, ...) d x; ASOCKD_A8_(d, __VA_ARGS__)
#define ASOCKD_A10_(d, x, ...) d x; ASOCKD_A9_(d, __VA_ARGS__)
#define ASOCKD_A11_(d, x, ...) d x; ASOCKD_A10_(d, __VA_ARGS__)
#define ASOCKD_A12_(d, x, ...) d x; ASOCKD_A11_(d, __VA_ARGS__)
#define ASOCKD_A13_(d, x, ...) d x; ASOCKD_A12_(d, __VA_ARGS__)
#define ASOCKD_A14_(d, x, ...) d x; ASOCKD_A13_(d, __VA_ARGS__)
#define ASOCKD_A15_(d, x, ...) d x; ASOCKD_A14_(d, __VA_ARGS__)
#define ASOCKD_A16_(d, x, ...) d x; ASOCKD_A15_(d, __VA_ARGS__)
#define ASOCKD_A17_(d, x, ...) d x; ASOCKD_A16_(d, __VA_ARGS__)
#define ASOCKD_A18_(d, x, ...) d x; ASOCKD_A17_(d, __VA_ARGS__)
#define ASOCKD_A19_(d, x, ...) d x; ASOCKD_A18_(d, __VA_ARGS__)
#define ASOCKD_A20_(d, x, ...) d x; ASOCKD_A19_(d, __VA_ARGS__)
#define ASOCKD_A21_(d, x, ...) d x; ASOCKD_A20_(d, __VA_ARGS__)
#define ASOCKD_A22_(d, x, ...) d x; ASOCKD_A21_(d, __VA_ARGS__)
#define ASOCKD_A23_(d, x, ...) d x; ASOCKD_A22_(d, __VA_ARGS__)
#define ASOCKD_A24_(d, x, ...) d x; ASOCKD_A23_(d, __VA_ARGS__)
#define ASOCKD_A25_(d, x, ...) d x; ASOCKD_A24_(d, __VA_ARGS__)
#define ASOCKD_A26_(d, x, ...) d x; ASOCKD_A25_(d, __VA_ARGS__)
#define ASOCKD_A27_(d, x, ...) d x; ASOCKD_A26_(d, __VA_ARGS__)
#define ASOCKD_A28_(d, x, ...) d x; ASOCKD_A27_(d, __VA_ARGS__)
#define ASOCKD_A29_(d, x, ...) d x; ASOCKD_A28_(d, __VA_ARGS__)
#define ASOCKD_A30_(d, x, ...) d x; ASOCKD_A29_(d, __VA_ARGS__)
#define ASOCKD_A31_(d, x, ...) d x; ASOCKD_A30_(d, __VA_ARGS__)
#define ASOCKD_A32_(d, x, ...) d x; ASOCKD_A31_(d, __VA_ARGS__)
#define ASOCKD_NTH_(_1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11,	\
	_12, _13, _14, _15, _16, _17, _18, _19, _20, _21, _22, _23, _24, \
	_25, _26, _27, _28, _29, _30, _31, _32, N, ...) N
#define ASOCKD_SET_(d, ...)						\
	ASOCKD_NTH_(__VA_ARGS__, ASOCKD_A32_, ASOCKD_A31_, ASOCKD_A30_,	\
	    ASOCKD_A29_, ASOCKD_A28_, ASOCKD_A27_, ASOCKD_A26_,		\
	    ASOCKD_A25_, ASOCKD_A24_, ASOCKD_A23_, ASOCKD_A22_,		\
	    ASOCKD_A21_, ASOCKD_A20_, ASOCKD_A19_, ASOCKD_A18_,		\
	    ASOCKD_A17_, ASOCKD_A16_, ASOCKD_A15_, ASOCKD_A14_,		\
	    ASOCKD_A13_, ASOCKD_A12_, ASOCKD_A11_, ASOCKD_A10_,		\
	    ASOCKD_A9_, ASOCKD_A8_, ASOCKD_A7_, ASOCKD_A6_, ASOCKD_A5_,	\
	    ASOCKD_A4_, ASOCKD_A3_, ASOCKD_A2_, ASOCKD_A1_)(d, __VA_ARGS__)
#define ASOCKD_PLUGIN_DEFINE(...)					\
	static ASOCKD_CXX_CONSTEXPR_ struct asockd_plugin		\
	asockd_plugin_make_()						\
	{								\
		struct asockd_plugin d_ = {};				\
		d_.abi_major = ASOCKD_ABI_MAJOR;			\
		d_.abi_minor = ASOCKD_ABI_MINOR;			\
		d_.size = sizeof(struct asockd_plugin);			\
		d_.setting_size = sizeof(struct asockd_setting);	\
		ASOCKD_SET_(d_, __VA_ARGS__)				\
		return d_;						\
	}								\
	const struct asockd_plugin ASOCKD_PLUGIN_SYMBOL =		\
	    asockd_plugin_make_()
#endif

#endif /* ASOCKD_PLUGIN_H */
