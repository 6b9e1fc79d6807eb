/*
 * asockd/test.h - libasockd-test, the plugin test kit.
 *
 * The kit runs a plugin against a simulated host in the test's own
 * process: no daemon, no sockets, no real time.  A test loads a plugin
 * (asockd_test_load) or hands it a descriptor it links
 * (asockd_test_new), opens listeners with a framing, and plays the peer:
 * it opens connections, feeds bytes in the chunks it chooses, sends EOF,
 * a reset or an urgent byte, stops and starts reading (backpressure),
 * sends datagrams, finishes the outbound connects the plugin asked for
 * and moves a virtual clock that fires timers and idle timeouts.  It then
 * reads what the plugin sent.
 *
 * The host table the plugin gets is the daemon's contract (plugin.h), to
 * the rule: callbacks never nest, a close asked for inside a callback
 * runs when it returns, on_close comes once, after every received byte
 * was delivered, and errors are negative errno values.  Framing, the
 * archive reader and writer and the INI checks are the daemon's own code,
 * built into the library.  What the plugin does against the contract
 * (a call on a connection after its on_close, a timer stopped twice,
 * on_receive consuming more than it got) is recorded as a violation.
 *
 * The kit provides the host table of ABI 1.2 (ASOCKD_TEST_ABI_MINOR),
 * whatever ASOCKD_ABI_MINOR the SDK is at: host->abi_minor is 2 and
 * host->size that of the 1.2 table.  A plugin built against a later
 * minor (up to the SDK's) still loads, so that it can be tested, and
 * must check host->abi_minor or host->size before it calls what a later
 * minor added (those members are NULL here); the kit notes it in the
 * log.  A plugin of another major, or built against a newer SDK, is
 * refused.
 *
 * Handles: struct asockd_test, its listeners and connections are owned
 * by the kit and stay valid until asockd_test_free, even after a
 * connection closed (so a test can ask why it closed).  Every call runs
 * on the test's thread.  Calls that can fail return 0 or a negative
 * errno; pointers to bytes are borrowed until the next call on the same
 * object unless noted.
 *
 * Build a test with:
 *   cc $(pkg-config --cflags asockd-test) t.c \
 *       $(pkg-config --libs asockd-test) -o t
 */
#ifndef ASOCKD_TEST_H
#define ASOCKD_TEST_H

#include <stddef.h>

#include <asockd/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The ABI version of the host table the kit hands plugins. */
#define ASOCKD_TEST_ABI_MAJOR	1
#define ASOCKD_TEST_ABI_MINOR	2

struct asockd_test;		/* one simulated host running one plugin */

/* Listener framing, as the listener option framing = ... */
enum asockd_test_framing {
	ASOCKD_TEST_RAW = 0,
	ASOCKD_TEST_LINE,
	ASOCKD_TEST_LENGTH,
	ASOCKD_TEST_ARCHIVE
};

/* --- the host and its plugin --- */

/*
 * Load the plugin at path (dlopen, the daemon's descriptor checks), give
 * it the INI settings ini (the text of an INI file, NULL for none),
 * checked against the plugin's settings table as the daemon checks a
 * file, and run its init hook.  Returns NULL when any step fails; then
 * *err (when err is not NULL) is a malloc'ed message for the test to
 * print and free: "FILE:LINE: ..." for a bad setting, with the
 * file named "ini".
 */
struct asockd_test *asockd_test_load(const char *path, const char *ini,
	    char **err);
/* The same for a descriptor linked into the test. */
struct asockd_test *asockd_test_new(const struct asockd_plugin *desc,
	    const char *ini, char **err);
/*
 * Close every open connection with ASOCKD_CLOSE_SHUTDOWN, run the
 * plugin's fini and free everything (unloading a loaded plugin).
 */
void	 asockd_test_free(struct asockd_test *t);
/* The plugin's validate hook (asockd -t): its return value, 0 without. */
int	 asockd_test_validate(struct asockd_test *t);

/*
 * Everything the plugin logged (host->log, conn_log) and the kit said,
 * one line each, since the start or the last asockd_test_log_clear.
 * Host-owned, valid until the next call on t.
 */
const char *asockd_test_log(struct asockd_test *t);
void	 asockd_test_log_clear(struct asockd_test *t);
/*
 * Contract violations seen so far (one line each), and how many.
 * "" and 0 for a plugin that kept the contract.
 */
const char *asockd_test_violations(struct asockd_test *t);
int	 asockd_test_nviolations(struct asockd_test *t);

/* --- listeners --- */

/*
 * A listener named name of the kind (enum asockd_listener_kind) with
 * the framing (enum asockd_test_framing; raw for datagram kinds).
 * Listener options start at the daemon's defaults.  NULL for a bad kind
 * or framing.
 */
struct asockd_listener *asockd_test_listener(struct asockd_test *t,
	    const char *name, int kind, int framing);
/*
 * Set a listener option, as in asockd.conf: "max_line", "max_frame",
 * "max_input", "sndq_high", "sndq_low", "sndq_max", "idle_timeout"
 * (seconds, 0: never; the daemon's default is 300 here too),
 * or the simulated kernel's "sndbuf": how many bytes a connection's
 * socket takes before the host has to queue (default 16384).  Applies to
 * connections opened afterwards.  -EINVAL for an unknown name or a
 * negative value.
 */
int	 asockd_test_option(struct asockd_listener *l, const char *name,
	    double value);

/* --- stream connections: the peer's side --- */

/*
 * A peer connects to l from peer ("127.0.0.1:40000", "[::1]:5",
 * "unix:/x"; NULL for a made-up loopback address).  on_accept runs; its
 * refusal (a negative errno) is returned, and *out (when not NULL) is
 * set either way.
 */
int	 asockd_test_accept(struct asockd_listener *l, const char *peer,
	    struct asockd_conn **out);
/*
 * The peer sends len bytes (one read on the host side).  The host
 * delivers what the framing makes of them unless the connection is
 * paused or over its high-water mark (then they wait, in order).
 * -EPIPE once the host closed or is closing the connection (the bytes
 * are dropped, as the daemon stops reading), -ENOTCONN while an outbound
 * connect is pending.
 */
int	 asockd_test_feed(struct asockd_conn *c, const void *buf,
	    size_t len);
/* The same, cut into reads of chunk bytes (chunk 0: one read). */
int	 asockd_test_feed_chunks(struct asockd_conn *c, const void *buf,
	    size_t len, size_t chunk);
/* The peer shuts down its write side: EOF after the bytes fed. */
int	 asockd_test_eof(struct asockd_conn *c);
/*
 * The host closes c as a stopping daemon does: gracefully, the queue
 * flushed, on_close with ASOCKD_CLOSE_SHUTDOWN.
 */
int	 asockd_test_shutdown(struct asockd_conn *c);
/* The peer resets the connection (bytes not yet delivered are lost). */
int	 asockd_test_reset(struct asockd_conn *c);
/* One urgent byte (MSG_OOB); ignored by a plugin without on_oob. */
int	 asockd_test_oob(struct asockd_conn *c, unsigned char byte);
/*
 * reading 0: the peer stops reading, so what the plugin sends fills the
 * simulated socket (sndbuf), then the host's queue, until writable()
 * turns 0; reading 1: the peer reads again, the queue drains and on_send
 * fires once it is at the low-water mark.  Peers start reading.
 */
int	 asockd_test_peer_reading(struct asockd_conn *c, int reading);
/*
 * What the peer has read so far (all bytes, framing included), and
 * forget it.  Borrowed until the next call on c.
 */
const void *asockd_test_output(struct asockd_conn *c, size_t *len);
void	 asockd_test_output_clear(struct asockd_conn *c);
/*
 * The next whole message the peer read, framing removed (the line
 * without its terminator, the frame's payload; on a raw connection all
 * it read), consumed from the output; NULL when no whole one is there.
 * Borrowed until the next call on c.
 */
const void *asockd_test_message(struct asockd_conn *c, size_t *len);
/*
 * 0 while the connection is open (or connecting), else the reason
 * on_close got (enum asockd_close_reason); ASOCKD_CLOSE_CONNECT for a
 * failed outbound connect and for a connection on_accept refused.
 */
int	 asockd_test_closed(struct asockd_conn *c);
/* 1 once the peer saw the end of the stream or a reset (2). */
int	 asockd_test_peer_eof(struct asockd_conn *c);

/* --- outbound connections --- */

/*
 * The oldest outbound connect the plugin started (host->connect) that
 * the test has not finished, and its target (borrowed); NULL for none.
 */
struct asockd_conn *asockd_test_connect_next(struct asockd_test *t,
	    const char **target);
/*
 * Finish a pending connect: err 0 connects it (the connection then
 * behaves as an accepted one, raw framing, the daemon's defaults), a
 * negative errno fails it.  on_connect(c, err) runs.  -EALREADY for a
 * connect that is not pending.
 */
int	 asockd_test_connect_finish(struct asockd_conn *c, int err);

/* --- datagrams --- */

/* A datagram from `from` (as for asockd_test_accept) arrives at l. */
int	 asockd_test_datagram(struct asockd_listener *l, const void *buf,
	    size_t len, const char *from);
/*
 * The oldest datagram the plugin sent from l (host->sendto) that the
 * test has not taken, with its destination in to ("127.0.0.1:5") when
 * to is not NULL; NULL when none.  Borrowed until the next call on l.
 */
const void *asockd_test_sent_datagram(struct asockd_listener *l,
	    size_t *len, char *to, size_t tolen);

/* --- time --- */

/*
 * Move the virtual clock on by seconds, firing timers and idle timeouts
 * that fall due, in order, each at its own time.  The clock starts at 0.
 */
void	 asockd_test_advance(struct asockd_test *t, double seconds);
double	 asockd_test_now(struct asockd_test *t);
/*
 * Run n more turns of the simulated loop.  Every call above already
 * runs the loop until nothing moves (at most 8 turns), which is all a
 * plugin needs unless it keeps sending while the peer reads (chargen).
 */
void	 asockd_test_run(struct asockd_test *t, int n);

/* --- contract checks --- */

/*
 * Run the plugin through the standard sequences on fresh connections of
 * l, with input the bytes a peer sends in one session: the whole input
 * at once, then split at every byte boundary and a byte at a time (the
 * output and close reason must not change, unless the plugin's output
 * is not deterministic), bytes after the host closed the connection, a
 * reset while output is queued, and a reset arriving inside each
 * callback the plugin has (on_accept, on_receive/on_message, on_send,
 * on_eof, timers), all followed by a long wait for timers.  Each run
 * must end with on_close once and no contract violation.  Returns the
 * number of problems; each is a line in asockd_test_report.
 */
int	 asockd_test_contract(struct asockd_listener *l, const void *input,
	    size_t len);
/* The problems the contract checks found, one line each; "" for none. */
const char *asockd_test_report(struct asockd_test *t);

#ifdef __cplusplus
}
#endif

#endif /* ASOCKD_TEST_H */
