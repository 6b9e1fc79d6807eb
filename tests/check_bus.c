/*
 * check_bus.c - the plugins' message bus (ABI 1.3), through the chat
 * plugin and the real daemon: the local bus across two workers, two
 * daemons sharing a real redis-server (started here on a free loopback
 * port), the outage and return of that Redis, and a slow member.
 *
 * Clients speak the chat protocol by hand (length-prefixed MessagePack
 * arrays of short strings), so a frame compares as bytes.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>

#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "asockd/plugin.h"
#include "harness.h"

#define TMO	5000	/* ms for every receive that must succeed */
#define NMSG	20	/* messages each talker says */
#define NTRY	40	/* clients tried until one lands on the other worker */

static const char ini_text[] =
	"[chat]\n"
	"history = 5\n";

/* presence rounds every second: slow workers (valgrind) stay alive */
static const char roster_ini[] =
	"[chat]\n"
	"history = 5\n"
	"presence_interval = 1.0\n";

/* every 0.2 s: a dead worker is declared in 0.6 s */
static const char fast_ini[] =
	"[chat]\n"
	"history = 5\n"
	"presence_interval = 0.2\n";

static const char big_ini[] =
	"[chat]\n"
	"max_text = 60000\n"
	"history = 0\n";

static int	free_port(void);

/* A daemon with two workers and one chat listener; bus may be NULL. */
static struct daemon *
start(const char *bus, const char *ini)
{
	struct daemon *d;
	char conf[1024], *dir, *p;

	p = h_write_file("chat.ini", ini);
	free(p);
	snprintf(conf, sizeof(conf),
	    "daemon: { log_level = \"debug\"; workers = 2;%s%s%s };\n"
	    "plugins: { chat = { path = \"chat.so\";\n"
	    "    config = \"@TMP@/chat.ini\"; }; };\n"
	    "listeners: (\n"
	    "  { name = \"room\"; listen = \"tcp://127.0.0.1:0\";\n"
	    "    plugin = \"chat\"; framing = \"archive\"; }\n"
	    ");\n", bus ? " bus = \"" : "", bus ? bus : "", bus ? "\";" : "");
	dir = h_expand("@PLUGIN_DIR@");
	d = h_daemon_start(conf, "-P", dir, (char *)NULL);
	free(dir);
	ck_assert_ptr_nonnull(d);
	/* both workers up, so that clients spread over them */
	ck_assert(h_log_wait(d, "worker 1 started", TMO));
	return (d);
}

/* Stop d: a clean exit, and no worker died on the way. */
static void
stop(struct daemon *d)
{
	ck_assert_int_eq(h_daemon_stop(d, 5000), 0);
	ck_assert_int_eq(h_log_count(d, "plugins loaded:"), 0);
	h_daemon_free(d);
}

/* Encode [a, b...] (strings, NULL-terminated) into buf; its length. */
static size_t
encode(unsigned char *buf, size_t cap, va_list ap)
{
	const char *a;
	size_t n = 1, alen, count = 0;

	while ((a = va_arg(ap, const char *)) != NULL) {
		alen = strlen(a);
		ck_assert_uint_lt(n + alen + 3, cap);
		if (alen > 255) {
			buf[n++] = 0xda;	/* str 16 */
			buf[n++] = alen >> 8;
			buf[n++] = alen & 0xff;
		} else if (alen > 31) {
			buf[n++] = 0xd9;	/* str 8 */
			buf[n++] = alen;
		} else
			buf[n++] = 0xa0 | alen;
		memcpy(buf + n, a, alen);
		n += alen;
		count++;
	}
	buf[0] = 0x90 | count;
	return (n);
}

/* Send one command frame [verb, args...]. */
static void
cmd(int fd, ...)
{
	static unsigned char buf[70000];
	size_t n;
	va_list ap;

	va_start(ap, fd);
	n = encode(buf + 4, sizeof(buf) - 4, ap);
	va_end(ap);
	buf[0] = n >> 24;
	buf[1] = n >> 16;
	buf[2] = n >> 8;
	buf[3] = n;
	ck_assert_int_eq(h_write_all(fd, buf, n + 4), (ssize_t)n + 4);
}


/* 1 when buf[0..len) is exactly [a, b...]. */
static int
is(const unsigned char *buf, ssize_t len, ...)
{
	unsigned char want[70000];
	size_t n;
	va_list ap;

	va_start(ap, len);
	n = encode(want, sizeof(want), ap);
	va_end(ap);
	return (len == (ssize_t)n && memcmp(buf, want, n) == 0);
}

/* Read frames until [verb, a, b] (b may be NULL); 1 found, 0 not. */
static int
wait_tmo(int fd, const char *verb, const char *a, const char *b, int tmo)
{
	static unsigned char buf[70000];
	ssize_t n;
	int i;

	for (i = 0; i < 10000; i++) {
		if ((n = h_read_frame(fd, buf, sizeof(buf), tmo)) < 0)
			return (0);
		if (b != NULL ? is(buf, n, verb, a, b, NULL) :
		    is(buf, n, verb, a, NULL))
			return (1);
	}
	return (0);
}

static int
wait_for(int fd, const char *verb, const char *a, const char *b)
{
	return (wait_tmo(fd, verb, a, b, TMO));
}

/* Connect to d's room and join as nick; wait for our own "joined". */
static int
join(struct daemon *d, const char *nick)
{
	int fd;

	fd = h_tcp_connect("127.0.0.1", h_port(d, "room"));
	ck_assert_int_ge(fd, 0);
	cmd(fd, "join", nick, NULL);
	ck_assert_msg(wait_for(fd, "joined", nick, NULL), "%s: no joined",
	    nick);
	return (fd);
}

/* The pid of the worker that accepted fd, from the debug log. */
static long
worker_of(struct daemon *d, int fd)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	char want[64], *log, *p, *line;
	long pid = -1;

	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	snprintf(want, sizeof(want), "peer 127.0.0.1:%d: accepted",
	    ntohs(sin.sin_port));
	ck_assert(h_log_wait(d, want, TMO));
	log = h_log_text(d);
	if ((p = strstr(log, want)) != NULL) {
		for (line = p; line > log && line[-1] != '\n'; line--)
			;
		if ((line = strstr(line, "asockd[")) != NULL && line < p)
			pid = strtol(line + 7, NULL, 10);
	}
	free(log);
	ck_assert_int_gt(pid, 0);
	return (pid);
}

/*
 * Read the next want "msg" frames of fd into seq (one line each,
 * "nick:text\n"), skipping joined/left.
 */
static void
read_msgs(int fd, int want, char *seq, size_t cap)
{
	static unsigned char buf[70000];
	ssize_t n;
	int got = 0, i;
	size_t off = strlen(seq), nl;

	for (i = 0; i < 10000 && got < want; i++) {
		n = h_read_frame(fd, buf, sizeof(buf), TMO);
		ck_assert_msg(n > 0, "%d of %d messages", got, want);
		/* [msg, nick, text]: 0x93 0xa3 "msg" ... */
		if (n < 5 || buf[0] != 0x93 || memcmp(buf + 1, "\xa3msg", 4))
			continue;
		/* then two fixstrs (the tests' nicks and texts are short) */
		nl = buf[5] & 0x1f;
		ck_assert_int_eq(buf[5] & 0xe0, 0xa0);
		ck_assert_int_eq(n, 5 + 1 + nl + 1 + (buf[6 + nl] & 0x1f));
		ck_assert_uint_lt(off + n, cap);
		off += snprintf(seq + off, cap - off, "%.*s:%.*s\n", (int)nl,
		    buf + 6, (int)(buf[6 + nl] & 0x1f), buf + 7 + nl);
		got++;
	}
	ck_assert_int_eq(got, want);
}

/*
 * Clients on both workers of one daemon, no Redis: each says NMSG
 * messages without waiting, and every client sees all of them, in one
 * order.
 */
START_TEST(test_local_two_workers)
{
	static char seq[NTRY][8192];
	struct daemon *d;
	int fd[NTRY], nfd = 0, other = -1, i, j;
	long pid0, pid;
	char nick[16], text[32];

	d = start(NULL, ini_text);
	fd[nfd++] = join(d, "c0");
	pid0 = worker_of(d, fd[0]);
	/* connect until one lands on the other worker (kernel's choice) */
	for (i = 1; i < NTRY; i++) {
		if (other == -1)
			usleep(10 * 1000);
		snprintf(nick, sizeof(nick), "c%d", i);
		fd[nfd] = join(d, nick);
		pid = worker_of(d, fd[nfd]);
		if (pid != pid0 && other == -1)
			other = nfd;
		nfd++;
		if (other != -1 && nfd >= 4)
			break;
	}
	ck_assert_msg(other != -1, "every client landed on one worker");
	/* the join of c0 is seen by the client on the other worker too */
	for (j = 0; j < NMSG; j++) {
		snprintf(text, sizeof(text), "a%d", j);
		cmd(fd[0], "say", text, NULL);
		snprintf(text, sizeof(text), "b%d", j);
		cmd(fd[other], "say", text, NULL);
	}
	for (i = 0; i < nfd; i++) {
		seq[i][0] = '\0';
		read_msgs(fd[i], 2 * NMSG, seq[i], sizeof(seq[i]));
		ck_assert_msg(strcmp(seq[i], seq[0]) == 0,
		    "client %d saw another order:\n%s\nthan client 0:\n%s", i,
		    seq[i], seq[0]);
	}
	ck_assert_ptr_nonnull(strstr(seq[0], "c0:a0\n"));
	snprintf(nick, sizeof(nick), "c%d:b0\n", other);
	ck_assert_ptr_nonnull(strstr(seq[0], nick));
	for (i = 0; i < nfd; i++)
		close(fd[i]);
	stop(d);
}
END_TEST

/*
 * A member that never reads, on one worker, while a member on each
 * worker reads everything another one says: the reader on the other
 * worker gets every message in order, the slow one is dropped.
 */
START_TEST(test_local_slow)
{
	static unsigned char buf[70000];
	static char text[60001];	/* 60,000 bytes and a NUL */
	struct daemon *d;
	int slow, fast[NTRY], nfast = 0, other = -1, i, k, sent, left = 0;
	long spid, pid;
	char nick[16];
	ssize_t n;

	d = start(NULL, big_ini);
	slow = join(d, "slow");
	spid = worker_of(d, slow);
	for (i = 0; i < NTRY && (other == -1 || nfast < 2); i++) {
		usleep(10 * 1000);
		snprintf(nick, sizeof(nick), "f%d", i);
		fast[nfast] = join(d, nick);
		pid = worker_of(d, fast[nfast]);
		if (pid != spid && other == -1)
			other = nfast;
		nfast++;
	}
	ck_assert_msg(other != -1, "every client landed on one worker");
	memset(text, 'x', sizeof(text) - 1);
	for (sent = 0; sent < 300; sent++) {
		cmd(fast[0], "say", text, NULL);
		/* every fast member gets it; left events may come between */
		for (k = 0; k < nfast; k++)
			for (i = 0; i < 4; i++) {
				n = h_read_frame(fast[k], buf, sizeof(buf),
				    TMO);
				ck_assert_int_gt(n, 0);
				if (is(buf, n, "left", "slow", NULL)) {
					left += k == other;
					continue;
				}
				if (n == 1 + 4 + 3 + 3 +
				    (ssize_t)sizeof(text) - 1)
					break;
			}
	}
	ck_assert_int_eq(left, 1);
	ck_assert(h_log_wait(d, "cannot keep up", TMO));
	ck_assert(h_wait_eof(slow, TMO));
	close(slow);
	for (k = 0; k < nfast; k++)
		close(fast[k]);
	stop(d);
}
END_TEST

/*
 * SIGHUP: the new workers subscribe with a backlog, so a client that
 * joins on them gets the history said before, and the master relays
 * between the old generation's members (still connected, their workers
 * retiring) and the new one's.
 */
START_TEST(test_local_reload)
{
	struct daemon *d;
	int old, young;

	d = start(NULL, ini_text);
	old = join(d, "old");
	cmd(old, "say", "before", NULL);
	ck_assert(wait_for(old, "msg", "old", "before"));
	ck_assert_int_eq(kill(d->pid, SIGHUP), 0);
	ck_assert(h_log_wait(d, "new worker(s)", 10000));
	ck_assert(h_log_wait(d, "worker 1 started", TMO));
	young = h_tcp_connect("127.0.0.1", h_port(d, "room"));
	ck_assert_int_ge(young, 0);
	cmd(young, "join", "young", NULL);
	ck_assert(wait_for(young, "msg", "old", "before"));
	ck_assert(wait_for(young, "joined", "young", NULL));
	ck_assert(wait_for(old, "joined", "young", NULL));
	cmd(old, "say", "after", NULL);
	ck_assert(wait_for(young, "msg", "old", "after"));
	close(old);
	ck_assert(wait_for(young, "left", "old", NULL));
	close(young);
	stop(d);
}
END_TEST

/*
 * One connection's commands at once (join, say, a bad frame, leave, join
 * again): it sees everything in the order they ran, as without a bus:
 * its error after its own events, its second history replay after its
 * own left, and nothing twice.
 */
START_TEST(test_local_one_conn_order)
{
	static unsigned char buf[70000];
	static const unsigned char bad[] = { 0, 0, 0, 1, 0xc0 };
	struct daemon *d;
	ssize_t n;
	int fd;

	d = start(NULL, ini_text);
	fd = h_tcp_connect("127.0.0.1", h_port(d, "room"));
	ck_assert_int_ge(fd, 0);
	cmd(fd, "join", "a", NULL);
	cmd(fd, "say", "hi", NULL);
	ck_assert_int_eq(h_write_all(fd, bad, sizeof(bad)), sizeof(bad));
	cmd(fd, "leave", NULL);
	cmd(fd, "join", "q", NULL);
	n = h_read_frame(fd, buf, sizeof(buf), TMO);
	ck_assert(is(buf, n, "joined", "a", NULL));
	n = h_read_frame(fd, buf, sizeof(buf), TMO);
	ck_assert(is(buf, n, "msg", "a", "hi", NULL));
	n = h_read_frame(fd, buf, sizeof(buf), TMO);
	ck_assert(is(buf, n, "error", "malformed message: not an array",
	    NULL));
	n = h_read_frame(fd, buf, sizeof(buf), TMO);
	ck_assert(is(buf, n, "left", "a", NULL));
	n = h_read_frame(fd, buf, sizeof(buf), TMO);
	ck_assert(is(buf, n, "msg", "a", "hi", NULL));	/* the replay */
	n = h_read_frame(fd, buf, sizeof(buf), TMO);
	ck_assert(is(buf, n, "joined", "q", NULL));
	/* and nothing more */
	ck_assert_int_lt(h_read_frame(fd, buf, sizeof(buf), 300), 0);
	close(fd);
	stop(d);
}
END_TEST

/*
 * A connection to d's room accepted by a worker other than pid (other
 * 1) or by pid itself (other 0); not joined.
 */
static int
conn_on(struct daemon *d, long pid, int other)
{
	int fd, i;

	for (i = 0; i < NTRY; i++) {
		fd = h_tcp_connect("127.0.0.1", h_port(d, "room"));
		ck_assert_int_ge(fd, 0);
		if ((worker_of(d, fd) != pid) == other)
			return (fd);
		close(fd);
		usleep(10 * 1000);
	}
	ck_abort_msg("no connection landed on the %s worker",
	    other ? "other" : "same");
	return (-1);
}

/*
 * Join fd as nick, again while the answer is "nick in use" (the room
 * has not freed it yet): 1 once joined, 0 after 50 tries (10 s).
 */
static int
join_free(int fd, const char *nick)
{
	static unsigned char buf[70000];
	ssize_t n;
	int i, k;

	for (i = 0; i < 50; i++) {
		cmd(fd, "join", nick, NULL);
		for (k = 0; k < 100; k++) {
			if ((n = h_read_frame(fd, buf, sizeof(buf), TMO)) < 0)
				return (0);
			if (is(buf, n, "joined", nick, NULL))
				return (1);
			if (is(buf, n, "error", "nick in use", NULL))
				break;
		}
		usleep(200 * 1000);
	}
	return (0);
}

/* How many [verb, a] frames fd gets until it is quiet for tmo ms. */
static int
count_frames(int fd, const char *verb, const char *a, int tmo)
{
	static unsigned char buf[70000];
	ssize_t n;
	int i, count = 0;

	for (i = 0; i < 10000; i++) {
		if ((n = h_read_frame(fd, buf, sizeof(buf), tmo)) < 0)
			break;
		count += is(buf, n, verb, a, NULL);
	}
	return (count);
}

/*
 * ann on one worker (or daemon a) holds the nick for the whole room:
 * a client of the other worker (of daemon b) that joins as ann is told
 * "nick in use"; once ann has left, it may.
 */
static void
nick_unique(struct daemon *a, struct daemon *b)
{
	int ann, fd;

	ann = join(a, "ann");
	fd = a == b ? conn_on(b, worker_of(a, ann), 1) :
	    h_tcp_connect("127.0.0.1", h_port(b, "room"));
	ck_assert_int_ge(fd, 0);
	cmd(fd, "join", "ann", NULL);
	ck_assert_msg(wait_for(fd, "error", "nick in use", NULL),
	    "a second ann on another worker");
	cmd(ann, "leave", NULL);
	ck_assert(wait_for(ann, "left", "ann", NULL));
	ck_assert_msg(join_free(fd, "ann"), "ann is not free after leave");
	close(ann);
	close(fd);
}

START_TEST(test_local_nick_unique)
{
	struct daemon *d;

	d = start(NULL, roster_ini);
	nick_unique(d, d);
	stop(d);
}
END_TEST

/*
 * Two clients on two workers join as zed at once: exactly one of them
 * is in the room, the other is told "nick in use", and every member
 * sees zed join once.
 */
START_TEST(test_local_nick_race)
{
	static unsigned char buf[70000];
	struct daemon *d;
	int o1, o2, z1, z2, joined = 0, refused = 0, i, k, loser = 0;
	int z[2];
	long pid;
	ssize_t n;

	d = start(NULL, roster_ini);
	o1 = join(d, "o1");
	pid = worker_of(d, o1);
	o2 = conn_on(d, pid, 1);
	cmd(o2, "join", "o2", NULL);
	ck_assert(wait_for(o2, "joined", "o2", NULL));
	ck_assert(wait_for(o1, "joined", "o2", NULL));
	z1 = conn_on(d, pid, 0);
	z2 = conn_on(d, pid, 1);
	cmd(z1, "join", "zed", NULL);
	cmd(z2, "join", "zed", NULL);
	z[0] = z1;
	z[1] = z2;
	for (i = 0; i < 2; i++)
		for (k = 0; k < 100; k++) {
			n = h_read_frame(z[i], buf, sizeof(buf), TMO);
			ck_assert_msg(n > 0, "zed %d: no answer", i);
			if (is(buf, n, "joined", "zed", NULL)) {
				joined++;
				break;
			}
			if (is(buf, n, "error", "nick in use", NULL)) {
				refused++;
				loser = i;
				break;
			}
		}
	ck_assert_int_eq(joined, 1);
	ck_assert_int_eq(refused, 1);
	/* the loser is not in the room, and may join under another nick;
	 * its own events and replies are in step (a bad command's error
	 * comes after its joined) */
	cmd(z[loser], "join", "zed2", NULL);
	cmd(z[loser], "say", "", NULL);
	n = h_read_frame(z[loser], buf, sizeof(buf), TMO);
	ck_assert(is(buf, n, "joined", "zed2", NULL));
	n = h_read_frame(z[loser], buf, sizeof(buf), TMO);
	ck_assert(is(buf, n, "error", "empty text", NULL));
	ck_assert_int_eq(count_frames(o1, "joined", "zed", 1000), 1);
	ck_assert_int_eq(count_frames(o2, "joined", "zed", 1000), 1);
	close(z1);
	close(z2);
	close(o1);
	close(o2);
	stop(d);
}
END_TEST

/*
 * A worker holding a member dies (SIGKILL): the room sees that member
 * leave within seconds (presence rounds every 0.2 s) and its nick is
 * free again.  The master starts a new worker meanwhile.
 */
static void
worker_killed(const char *bus)
{
	struct daemon *d;
	int vic, obs, fd;
	long pid;

	d = start(bus, fast_ini);
	if (bus != NULL)
		ck_assert(h_log_wait(d, "bus: redis 127.0.0.1", TMO));
	vic = join(d, "vic");
	pid = worker_of(d, vic);
	obs = conn_on(d, pid, 1);
	cmd(obs, "join", "obs", NULL);
	ck_assert(wait_for(obs, "joined", "obs", NULL));
	ck_assert_int_eq(kill((pid_t)pid, SIGKILL), 0);
	ck_assert_msg(wait_tmo(obs, "left", "vic", NULL, 10000),
	    "the dead worker's member was not announced gone");
	close(vic);
	fd = h_tcp_connect("127.0.0.1", h_port(d, "room"));
	ck_assert_int_ge(fd, 0);
	ck_assert_msg(join_free(fd, "vic"), "vic is not free");
	ck_assert(wait_for(obs, "joined", "vic", NULL));
	close(fd);
	close(obs);
	ck_assert_int_eq(h_daemon_stop(d, 5000), 0);
	h_daemon_free(d);
}

START_TEST(test_local_worker_killed)
{
	worker_killed(NULL);
}
END_TEST

/*
 * A worker that only stopped (SIGSTOP) is declared gone: its member
 * leaves for the others; once it runs again, it ignores the gone about
 * itself and its next round brings the member back: the room sees it
 * join again and hears it.
 */
START_TEST(test_local_worker_stopped_back)
{
	struct daemon *d;
	int vic, obs;
	long pid;

	d = start(NULL, fast_ini);
	vic = join(d, "vic");
	pid = worker_of(d, vic);
	obs = conn_on(d, pid, 1);
	cmd(obs, "join", "obs", NULL);
	ck_assert(wait_for(obs, "joined", "obs", NULL));
	ck_assert_int_eq(kill((pid_t)pid, SIGSTOP), 0);
	ck_assert_msg(wait_tmo(obs, "left", "vic", NULL, 10000),
	    "the stopped worker's member was not announced gone");
	ck_assert_int_eq(kill((pid_t)pid, SIGCONT), 0);
	ck_assert_msg(wait_tmo(obs, "joined", "vic", NULL, 10000),
	    "the member did not come back with its worker");
	cmd(vic, "say", "back", NULL);
	ck_assert(wait_for(vic, "msg", "vic", "back"));
	ck_assert(wait_for(obs, "msg", "vic", "back"));
	close(vic);
	close(obs);
	stop(d);
}
END_TEST

/*
 * 70 members of 1,000-byte nicks on one worker: its presence round is
 * over the bus's 64 KiB limit, so it goes in chunks, the last one
 * flagged.  Were it refused, the other worker would declare it gone;
 * were a chunk taken for the last, the members of the next ones would
 * be dropped: either way the observer would see members leave.
 */
START_TEST(test_local_presence_chunks)
{
	static const char long_ini[] =
		"[chat]\n"
		"max_nick = 1024\n"
		"history = 0\n"
		"presence_interval = 0.5\n";
	static unsigned char buf[70000];
	static char nick[1001];
	struct daemon *d;
	int fd[70], obs, i, left = 0;
	long pid;
	ssize_t n;

	d = start(NULL, long_ini);
	obs = join(d, "obs");
	pid = worker_of(d, obs);
	memset(nick, 'n', sizeof(nick) - 1);
	for (i = 0; i < 70; i++) {
		fd[i] = conn_on(d, pid, 1);
		snprintf(nick + 995, 6, "%05d", i);
		cmd(fd[i], "join", nick, NULL);
		ck_assert(wait_for(fd[i], "joined", nick, NULL));
	}
	/* 8 rounds and more (gone after 3): nobody leaves */
	for (i = 0; i < 100000; i++) {
		if ((n = h_read_frame(obs, buf, sizeof(buf), 4000)) < 0)
			break;
		left += n > 5 && memcmp(buf, "\x92\xa4left", 6) == 0;
	}
	ck_assert_int_eq(left, 0);
	ck_assert_int_eq(h_log_count(d, "not heard from"), 0);
	for (i = 0; i < 70; i++)
		close(fd[i]);
	close(obs);
	stop(d);
}
END_TEST

/*
 * A frame that comes while the worker is syncing (here: its Redis is
 * not there, so it waits 1.5 presence intervals for an answer) is held,
 * then run in order: not lost, not refused.
 */
START_TEST(test_sync_holds_frames)
{
	static const char slow_ini[] =
		"[chat]\n"
		"presence_interval = 4.0\n";
	char uri[64];
	struct daemon *d;
	int fd;

	/* nothing listens there: the bus stays down */
	snprintf(uri, sizeof(uri), "redis://127.0.0.1:%d", free_port());
	d = start(uri, slow_ini);
	fd = h_tcp_connect("127.0.0.1", h_port(d, "room"));
	ck_assert_int_ge(fd, 0);
	cmd(fd, "join", "early", NULL);
	cmd(fd, "say", "first", NULL);
	ck_assert(h_log_wait(d, "holding its frames until", TMO));
	ck_assert_msg(wait_tmo(fd, "joined", "early", NULL, 15000),
	    "the held join was not run");
	ck_assert(wait_for(fd, "msg", "early", "first"));
	close(fd);
	stop(d);
}
END_TEST

/* ------------------------------------------------------------ Redis */

static pid_t	 redis_pid = -1;
static int	 redis_port;

static int
free_port(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd, port;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	port = ntohs(sin.sin_port);
	close(fd);
	return (port);
}

static const char *redis_pass;	/* --requirepass, or NULL */

/* Start redis-server on redis_port (picked on the first call). */
static void
redis_start(void)
{
	char port[16], *dir;
	int i, fd;

	if (redis_port == 0)
		redis_port = free_port();
	snprintf(port, sizeof(port), "%d", redis_port);
	dir = h_expand("@TMP@");
	if ((redis_pid = fork()) == 0) {
		if (chdir(dir) == -1)
			_exit(127);
		if (redis_pass != NULL)
			execlp("redis-server", "redis-server", "--port", port,
			    "--bind", "127.0.0.1", "--save", "", "--appendonly",
			    "no", "--loglevel", "warning", "--requirepass",
			    redis_pass, (char *)NULL);
		else
			execlp("redis-server", "redis-server", "--port", port,
			    "--bind", "127.0.0.1", "--save", "", "--appendonly",
			    "no", "--loglevel", "warning", (char *)NULL);
		_exit(127);
	}
	free(dir);
	ck_assert_int_gt(redis_pid, 0);
	for (i = 0; i < 100; i++) {
		if ((fd = h_tcp_connect("127.0.0.1", redis_port)) >= 0) {
			close(fd);
			return;
		}
		usleep(50 * 1000);
	}
	ck_abort_msg("redis-server did not start on port %d", redis_port);
}

/* Start redis-server for a test: 1, or 0 (skipped) without one. */
static int
redis_up(void)
{
	if (!h_have("redis-server"))
		return 0;
	redis_start();
	return 1;
}

static void
redis_kill(void)
{
	if (redis_pid > 0) {
		kill(redis_pid, SIGKILL);
		waitpid(redis_pid, NULL, 0);
		redis_pid = -1;
	}
}

static char *
bus_uri(void)
{
	static char uri[64];

	snprintf(uri, sizeof(uri), "redis://127.0.0.1:%d", redis_port);
	return (uri);
}

/*
 * Two daemons on one redis-server: a member of each says NMSG messages
 * at once and both see all of them in one order; a third daemon started
 * afterwards replays the history it got from Redis.
 */
START_TEST(test_redis_two_daemons)
{
	static char sa[8192], sb[8192], sc[8192];
	struct daemon *a, *b, *c;
	int fa, fb, fc, j;
	char text[32];

	if (!redis_up())
		return;
	a = start(bus_uri(), ini_text);
	b = start(bus_uri(), ini_text);
	ck_assert(h_log_wait(a, "bus: redis 127.0.0.1", TMO));
	ck_assert(h_log_wait(b, "bus: redis 127.0.0.1", TMO));
	fa = join(a, "ann");
	fb = join(b, "bob");
	/* ann sees bob join from the other daemon */
	for (j = 0; j < NMSG; j++) {
		snprintf(text, sizeof(text), "a%d", j);
		cmd(fa, "say", text, NULL);
		snprintf(text, sizeof(text), "b%d", j);
		cmd(fb, "say", text, NULL);
	}
	sa[0] = sb[0] = '\0';
	read_msgs(fa, 2 * NMSG, sa, sizeof(sa));
	read_msgs(fb, 2 * NMSG, sb, sizeof(sb));
	ck_assert_msg(strcmp(sa, sb) == 0, "ann saw:\n%s\nbob saw:\n%s", sa,
	    sb);
	ck_assert_ptr_nonnull(strstr(sa, "ann:a0\n"));
	ck_assert_ptr_nonnull(strstr(sa, "bob:b0\n"));

	/* a daemon that was not there gets the last 5 messages */
	c = start(bus_uri(), ini_text);
	ck_assert(h_log_wait(c, "bus: redis 127.0.0.1", TMO));
	usleep(300 * 1000);	/* both workers read the backlog */
	fc = h_tcp_connect("127.0.0.1", h_port(c, "room"));
	ck_assert_int_ge(fc, 0);
	cmd(fc, "join", "cat", NULL);
	sc[0] = '\0';
	read_msgs(fc, 5, sc, sizeof(sc));
	ck_assert_msg(strcmp(sc, sa + strlen(sa) - strlen(sc)) == 0 &&
	    strlen(sc) > 10, "history on c:\n%s\nnot the end of:\n%s", sc,
	    sa);
	close(fa);
	close(fb);
	close(fc);
	stop(a);
	stop(b);
	stop(c);
	redis_kill();
}
END_TEST

/*
 * redis-server dies mid-chat: each daemon keeps serving its members
 * (a message comes back to its sender at once), one warning is logged;
 * once it is back, messages cross daemons again within seconds.
 */
START_TEST(test_redis_outage)
{
	struct daemon *a, *b;
	int fa, fb, i, found = 0;
	char text[32];

	if (!redis_up())
		return;
	a = start(bus_uri(), ini_text);
	b = start(bus_uri(), ini_text);
	ck_assert(h_log_wait(a, "bus: redis 127.0.0.1", TMO));
	ck_assert(h_log_wait(b, "bus: redis 127.0.0.1", TMO));
	fa = join(a, "ann");
	fb = join(b, "bob");
	cmd(fa, "say", "before", NULL);
	ck_assert(wait_for(fb, "msg", "ann", "before"));

	redis_kill();
	/* both workers of a noticed (one warning each) */
	for (i = 0; i < 100 && h_log_count(a, "publishing fails until") < 2;
	    i++)
		usleep(50 * 1000);
	ck_assert_int_eq(h_log_count(a, "publishing fails until"), 2);
	for (i = 0; i < 5; i++) {
		snprintf(text, sizeof(text), "during%d", i);
		cmd(fa, "say", text, NULL);
		ck_assert_msg(wait_for(fa, "msg", "ann", text),
		    "ann not served during the outage");
	}
	/* one warning per worker for the whole outage (retries are
	 * quiet) */
	usleep(1500 * 1000);
	ck_assert_int_eq(h_log_count(a, "publishing fails until"), 2);

	redis_start();
	ck_assert(h_log_wait(a, "connected again", 10000));
	ck_assert(h_log_wait(b, "connected again", 10000));
	/* ask until a message crosses (bounded: 50 tries, 10 s) */
	for (i = 0; i < 50 && !found; i++) {
		snprintf(text, sizeof(text), "after%d", i);
		cmd(fa, "say", text, NULL);
		found = wait_tmo(fb, "msg", "ann", text, 200);
	}
	ck_assert_msg(found, "no message crossed after Redis came back");
	close(fa);
	close(fb);
	stop(a);
	stop(b);
	redis_kill();
}
END_TEST

/* Two daemons on one redis-server: one ann in the whole room. */
START_TEST(test_redis_nick_unique)
{
	struct daemon *a, *b;

	if (!redis_up())
		return;
	a = start(bus_uri(), roster_ini);
	b = start(bus_uri(), roster_ini);
	ck_assert(h_log_wait(a, "bus: redis 127.0.0.1", TMO));
	ck_assert(h_log_wait(b, "bus: redis 127.0.0.1", TMO));
	nick_unique(a, b);
	stop(a);
	stop(b);
	redis_kill();
}
END_TEST

START_TEST(test_redis_worker_killed)
{
	if (!redis_up())
		return;
	worker_killed(bus_uri());
	redis_kill();
}
END_TEST

/*
 * Daemon b starts after more than the backlog was said since ann
 * joined on a: b learns ann from a's presence, not from the backlog,
 * and its client cannot join as ann.
 */
START_TEST(test_redis_late_instance)
{
	struct daemon *a, *b;
	int ann, talk, fd, i;
	char text[32];

	if (!redis_up())
		return;
	a = start(bus_uri(), roster_ini);
	ck_assert(h_log_wait(a, "bus: redis 127.0.0.1", TMO));
	ann = join(a, "ann");
	talk = join(a, "talk");
	for (i = 0; i <= ASOCKD_BUS_BACKLOG_MAX; i++) {
		snprintf(text, sizeof(text), "m%d", i);
		cmd(talk, "say", text, NULL);
		if (i % 100 == 0)	/* keep both members' queues short */
			ck_assert(wait_for(talk, "msg", "talk", text));
	}
	/* (the last one, m1000, is back: all of them were published) */
	b = start(bus_uri(), roster_ini);
	ck_assert(h_log_wait(b, "bus: redis 127.0.0.1", TMO));
	fd = h_tcp_connect("127.0.0.1", h_port(b, "room"));
	ck_assert_int_ge(fd, 0);
	cmd(fd, "join", "ann", NULL);
	ck_assert_msg(wait_for(fd, "error", "nick in use", NULL),
	    "b did not know ann, older than the backlog");
	close(fd);
	close(talk);
	close(ann);
	stop(a);
	stop(b);
	redis_kill();
}
END_TEST

/*
 * While redis-server is down each daemon serves its own members: x
 * joins on both, na joins on a, lv leaves a.  Once it is back, the
 * presence rounds mend the room: b's member sees na join and lv leave,
 * and exactly one x is told "nick in use" (the same one everywhere:
 * the lower token keeps it).
 */
START_TEST(test_redis_outage_reconcile)
{
	static const char slow_ini[] =
		"[chat]\n"
		"history = 0\n"
		"presence_interval = 1.0\n";
	static unsigned char buf[70000];
	struct daemon *a, *b;
	int oa, ob, xa, xb, na, lv, i, refused = 0, met = 0, seen = 0;
	int x[2];
	ssize_t n;

	if (!redis_up())
		return;
	a = start(bus_uri(), slow_ini);
	b = start(bus_uri(), slow_ini);
	ck_assert(h_log_wait(a, "bus: redis 127.0.0.1", TMO));
	ck_assert(h_log_wait(b, "bus: redis 127.0.0.1", TMO));
	oa = join(a, "oa");
	ob = join(b, "ob");
	ck_assert(wait_for(oa, "joined", "ob", NULL));
	lv = join(a, "lv");
	ck_assert(wait_for(ob, "joined", "lv", NULL));

	redis_kill();
	for (i = 0; i < 100 && (h_log_count(a, "publishing fails until") < 2 ||
	    h_log_count(b, "publishing fails until") < 2); i++)
		usleep(50 * 1000);
	xa = join(a, "x");
	xb = join(b, "x");
	na = join(a, "na");
	close(lv);

	redis_start();
	ck_assert(h_log_wait(a, "connected again", 10000));
	ck_assert(h_log_wait(b, "connected again", 10000));
	/* (in either order) */
	for (i = 0; i < 10000 && seen != 3; i++) {
		if ((n = h_read_frame(ob, buf, sizeof(buf), 10000)) < 0)
			break;
		if (is(buf, n, "joined", "na", NULL))
			seen |= 1;
		if (is(buf, n, "left", "lv", NULL))
			seen |= 2;
	}
	ck_assert_msg(seen == 3, "b's member did not see na join (%d) and "
	    "lv leave (%d) during the outage", seen & 1, seen >> 1);
	/* one of the two x is told, within seconds; the other is not */
	x[0] = xa;
	x[1] = xb;
	for (i = 0; i < 2; i++)
		while ((n = h_read_frame(x[i], buf, sizeof(buf), 5000)) > 0)
			if (is(buf, n, "error", "nick in use", NULL)) {
				refused++;
				met = i;
			}
	ck_assert_int_eq(refused, 1);
	/* the one still in the room is heard by both daemons' members */
	cmd(x[!met], "say", "still here", NULL);
	ck_assert(wait_for(oa, "msg", "x", "still here"));
	ck_assert(wait_for(ob, "msg", "x", "still here"));
	close(xa);
	close(xb);
	close(na);
	close(oa);
	close(ob);
	stop(a);
	stop(b);
	redis_kill();
}
END_TEST

/* ------------------------------------------------------------ calls */

static void
line_expect(int fd, const char *want)
{
	char got[512];
	size_t n = 0;

	while (n < sizeof(got) - 1 && h_read_n(fd, got + n, 1, TMO) == 1 &&
	    got[n] != '\n')
		n++;
	got[n] = '\0';
	ck_assert_str_eq(got, want);
}

/* The next two lines are a and b, in either order. */
static void
line_either(int fd, const char *a, const char *b)
{
	char got[2][512];
	size_t n;
	int i;

	for (i = 0; i < 2; i++) {
		n = 0;
		while (n < sizeof(got[i]) - 1 &&
		    h_read_n(fd, got[i] + n, 1, TMO) == 1 && got[i][n] != '\n')
			n++;
		got[i][n] = '\0';
	}
	ck_assert_msg((strcmp(got[0], a) == 0 && strcmp(got[1], b) == 0) ||
	    (strcmp(got[0], b) == 0 && strcmp(got[1], a) == 0),
	    "got '%s', '%s'; want '%s' and '%s'", got[0], got[1], a, b);
}

static void
line_send(int fd, const char *s)
{
	ck_assert_int_eq(h_write_all(fd, s, strlen(s)), (ssize_t)strlen(s));
}

/*
 * The bus calls through tests/plugins/busprobe.so, on one worker: their
 * errors, delivery after (never inside) publish, a backlog joined to the
 * live messages, unsubscribe (also inside on_bus).
 */
static void
calls(const char *bus)
{
	struct daemon *d;
	char conf[1024], want[64], *dir;
	int fd;

	snprintf(conf, sizeof(conf),
	    "daemon: { log_level = \"debug\"; workers = 1;%s%s%s };\n"
	    "plugins: { bp = { path = \"@TEST_PLUGIN_DIR@/busprobe.so\"; };"
	    " };\n"
	    "listeners: ( { name = \"bp\"; listen = \"tcp://127.0.0.1:0\";"
	    " plugin = \"bp\"; } );\n",
	    bus ? " bus = \"" : "", bus ? bus : "", bus ? "\";" : "");
	dir = h_expand("@PLUGIN_DIR@");
	d = h_daemon_start(conf, "-P", dir, (char *)NULL);
	free(dir);
	ck_assert_ptr_nonnull(d);
	if (bus != NULL)
		ck_assert(h_log_wait(d, "bus: redis 127.0.0.1", TMO));
	fd = h_tcp_connect("127.0.0.1", h_port(d, "bp"));
	ck_assert_int_ge(fd, 0);

	line_send(fd, "sub a 0\nsub a 0\nsub bad! 0\nsub b 1001\n");
	line_expect(fd, "sub 0");
	snprintf(want, sizeof(want), "sub %d", -EALREADY);
	line_expect(fd, want);
	snprintf(want, sizeof(want), "sub %d", -EINVAL);
	line_expect(fd, want);
	line_expect(fd, want);
	/* the reply to pub comes first: delivery is never inside it */
	line_send(fd, "pub a hello\n");
	line_expect(fd, "pub 0");
	line_expect(fd, "bus a hello");
	line_send(fd, "pub bad! x\nbig\nempty\n");
	snprintf(want, sizeof(want), "pub %d", -EINVAL);
	line_expect(fd, want);
	snprintf(want, sizeof(want), "pub %d", -EMSGSIZE);
	line_expect(fd, want);
	line_expect(fd, want);
	/* unsubscribed: a's message does not come, c's does */
	line_send(fd, "unsub a\nunsub a\nsub c 0\n");
	line_expect(fd, "unsub 0");
	snprintf(want, sizeof(want), "unsub %d", -ENOENT);
	line_expect(fd, want);
	line_expect(fd, "sub 0");
	line_send(fd, "pub a x\npub c y\n");
	line_expect(fd, "pub 0");
	line_expect(fd, "pub 0");
	line_expect(fd, "bus c y");
	/* a backlog of 2 out of 3, then the live ones, in order */
	line_send(fd, "pub k m1\npub k m2\npub k m3\n");
	line_expect(fd, "pub 0");
	line_expect(fd, "pub 0");
	line_expect(fd, "pub 0");
	usleep(200 * 1000);	/* published before the subscription */
	line_send(fd, "sub k 2\npub k m4\n");
	line_expect(fd, "sub 0");
	line_expect(fd, "pub 0");
	line_expect(fd, "bus k m2");
	line_expect(fd, "bus k m3");
	line_expect(fd, "bus k m4");
	/* unsubscribe inside on_bus: o's second message does not come */
	line_send(fd, "once o\npub o 1\npub o 2\npub c end\n");
	line_expect(fd, "sub 0");
	line_expect(fd, "pub 0");
	line_expect(fd, "pub 0");
	line_expect(fd, "pub 0");
	/* (channels are ordered each on its own: o and c in either order) */
	line_either(fd, "bus o 1", "bus c end");
	usleep(300 * 1000);
	line_send(fd, "pub c end2\n");
	line_expect(fd, "pub 0");
	line_expect(fd, "bus c end2");
	close(fd);
	ck_assert_int_eq(h_log_count(d, "NESTED"), 0);
	stop(d);
}

/*
 * Two subscribers of one channel in one worker (the plugin loaded twice):
 * the second one asks for a backlog while messages keep coming, and
 * gets a gapless, duplicate-free run ending with the live ones.
 */
static void
two_subscribers(const char *bus)
{
	struct daemon *d;
	char conf[1024], line[64], want[64], *dir;
	int f1, f2, i, n, last = 0;
	size_t k;

	snprintf(conf, sizeof(conf),
	    "daemon: { log_level = \"debug\"; workers = 1;%s%s%s };\n"
	    "plugins: { bp = { path = \"@TEST_PLUGIN_DIR@/busprobe.so\"; };"
	    " bp2 = { path = \"@TEST_PLUGIN_DIR@/busprobe.so\"; }; };\n"
	    "listeners: ( { name = \"bp\"; listen = \"tcp://127.0.0.1:0\";"
	    " plugin = \"bp\"; },\n"
	    "  { name = \"bp2\"; listen = \"tcp://127.0.0.1:0\";"
	    " plugin = \"bp2\"; } );\n",
	    bus ? " bus = \"" : "", bus ? bus : "", bus ? "\";" : "");
	dir = h_expand("@PLUGIN_DIR@");
	d = h_daemon_start(conf, "-P", dir, (char *)NULL);
	free(dir);
	ck_assert_ptr_nonnull(d);
	if (bus != NULL)
		ck_assert(h_log_wait(d, "bus: redis 127.0.0.1", TMO));
	f1 = h_tcp_connect("127.0.0.1", h_port(d, "bp"));
	f2 = h_tcp_connect("127.0.0.1", h_port(d, "bp2"));
	ck_assert(f1 >= 0 && f2 >= 0);
	line_send(f1, "sub t 0\n");
	line_expect(f1, "sub 0");
	for (i = 1; i <= 20; i++) {
		snprintf(line, sizeof(line), "pub t m%d\n", i);
		line_send(f1, line);
	}
	/* the second subscription while the first one's messages flow */
	line_send(f2, "sub t 5\n");
	line_expect(f2, "sub 0");
	for (i = 21; i <= 40; i++) {
		snprintf(line, sizeof(line), "pub t m%d\n", i);
		line_send(f1, line);
	}
	/* f2: consecutive numbers, at least 5 before m21, up to m40 */
	for (n = 0; n < 45 && last != 40; n++) {
		k = 0;
		while (k < sizeof(line) - 1 &&
		    h_read_n(f2, line + k, 1, TMO) == 1 && line[k] != '\n')
			k++;
		line[k] = '\0';
		ck_assert_msg(strncmp(line, "bus t m", 7) == 0, "f2: %s", line);
		i = atoi(line + 7);
		ck_assert_msg(last == 0 || i == last + 1,
		    "f2 got m%d after m%d", i, last);
		ck_assert_msg(last != 0 || (i <= 16 && i >= 1),
		    "f2 started at m%d: backlog missing", i);
		last = i;
	}
	ck_assert_int_eq(last, 40);
	/* f1 saw every one of them in order, between its 40 replies */
	for (n = 0, last = 0; n < 80; n++) {
		k = 0;
		while (k < sizeof(line) - 1 &&
		    h_read_n(f1, line + k, 1, TMO) == 1 && line[k] != '\n')
			k++;
		line[k] = '\0';
		if (strcmp(line, "pub 0") == 0)
			continue;
		snprintf(want, sizeof(want), "bus t m%d", last + 1);
		ck_assert_str_eq(line, want);
		last++;
	}
	ck_assert_int_eq(last, 40);
	close(f1);
	close(f2);
	stop(d);
}

START_TEST(test_two_subscribers_local)
{
	two_subscribers(NULL);
}
END_TEST

START_TEST(test_two_subscribers_redis)
{
	if (!redis_up())
		return;
	two_subscribers(bus_uri());
	redis_kill();
}
END_TEST

START_TEST(test_calls_local)
{
	calls(NULL);
}
END_TEST

START_TEST(test_calls_redis)
{
	if (!redis_up())
		return;
	calls(bus_uri());
	redis_kill();
}
END_TEST

/*
 * A Redis with a password: the right one (and a database) works, a
 * wrong one is logged once and publishing fails, nothing blocks.
 */
START_TEST(test_redis_auth)
{
	struct daemon *d;
	char uri[96], *dir, conf[1024];
	int fd;

	redis_pass = "s3cret";
	if (!redis_up())
		return;
	snprintf(uri, sizeof(uri), "redis://:s3cret@127.0.0.1:%d/3",
	    redis_port);
	calls(uri);

	snprintf(conf, sizeof(conf),
	    "daemon: { log_level = \"debug\"; workers = 1;"
	    " bus = \"redis://:wrong@127.0.0.1:%d\"; };\n"
	    "plugins: { bp = { path = \"@TEST_PLUGIN_DIR@/busprobe.so\"; };"
	    " };\n"
	    "listeners: ( { name = \"bp\"; listen = \"tcp://127.0.0.1:0\";"
	    " plugin = \"bp\"; } );\n", redis_port);
	dir = h_expand("@PLUGIN_DIR@");
	d = h_daemon_start(conf, "-P", dir, (char *)NULL);
	free(dir);
	ck_assert_ptr_nonnull(d);
	ck_assert(h_log_wait(d, "AUTH: WRONGPASS", TMO));
	fd = h_tcp_connect("127.0.0.1", h_port(d, "bp"));
	ck_assert_int_ge(fd, 0);
	snprintf(conf, sizeof(conf), "pub %d", -ENOTCONN);
	line_send(fd, "pub a x\n");
	line_expect(fd, conf);
	usleep(2500 * 1000);	/* retries meanwhile stay quiet */
	ck_assert_int_eq(h_log_count(d, "publishing fails until"), 1);
	close(fd);
	stop(d);
	redis_kill();
	redis_pass = NULL;
}
END_TEST

/*
 * A worker that stops reading (SIGSTOP) while the other worker's
 * members chat: the master queues, then drops, for the stopped one
 * only, and never blocks; the others get every message.  Once it runs
 * again it is told how many it missed.
 */
START_TEST(test_local_stopped_worker)
{
	static unsigned char buf[70000];
	static char text[60001];	/* 60,000 bytes and a NUL */
	struct daemon *d;
	int fd[NTRY], nfd = 0, talker = -1, i, sent;
	long pid0 = 0, pid, stopped;
	ssize_t n;
	char nick[16];

	if (getenv("ASOCKD_WRAPPER") != NULL && *getenv("ASOCKD_WRAPPER")) {
		/* under valgrind the stopped worker's share of the relay is
		 * not reliably drained in time; the plain and ASan runs
		 * keep this test */
		fprintf(stderr, "check_bus: %s skipped under a wrapper\n",
		    __func__);
		return;
	}

	d = start(NULL, big_ini);
	/* one client per worker */
	for (i = 0; i < NTRY && talker == -1; i++) {
		usleep(10 * 1000);
		snprintf(nick, sizeof(nick), "s%d", i);
		fd[nfd] = join(d, nick);
		pid = worker_of(d, fd[nfd]);
		if (i == 0)
			pid0 = pid;
		else if (pid != pid0)
			talker = nfd;
		nfd++;
	}
	ck_assert_msg(talker != -1, "every client landed on one worker");
	stopped = pid0;
	ck_assert_int_eq(kill((pid_t)stopped, SIGSTOP), 0);
	memset(text, 'x', sizeof(text) - 1);
	/* 300 x 60 kB: far more than the socket and the 8 MiB queue */
	for (sent = 0; sent < 300; sent++) {
		cmd(fd[talker], "say", text, NULL);
		for (i = 0; i < 4; i++) {
			n = h_read_frame(fd[talker], buf, sizeof(buf), TMO);
			ck_assert_msg(n > 0, "talker starved at %d", sent);
			if (n == 1 + 4 + 3 + 3 + (ssize_t)sizeof(text) - 1)
				break;
		}
	}
	ck_assert(h_log_wait(d, "is not keeping up: dropping", TMO));
	ck_assert_int_eq(kill((pid_t)stopped, SIGCONT), 0);
	ck_assert(h_log_wait(d, "caught up;", 10000));
	for (i = 0; i < nfd; i++)
		close(fd[i]);
	stop(d);
}
END_TEST

static Suite *
bus_suite(void)
{
	Suite *s = suite_create("bus");
	TCase *tc = tcase_create("bus");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_calls_local);
	tcase_add_test(tc, test_calls_redis);
	tcase_add_test(tc, test_two_subscribers_local);
	tcase_add_test(tc, test_two_subscribers_redis);
	tcase_add_test(tc, test_local_two_workers);
	tcase_add_test(tc, test_local_slow);
	tcase_add_test(tc, test_local_stopped_worker);
	tcase_add_test(tc, test_local_reload);
	tcase_add_test(tc, test_local_one_conn_order);
	tcase_add_test(tc, test_redis_auth);
	tcase_add_test(tc, test_redis_two_daemons);
	tcase_add_test(tc, test_redis_outage);
	tcase_add_test(tc, test_local_nick_unique);
	tcase_add_test(tc, test_local_nick_race);
	tcase_add_test(tc, test_local_worker_killed);
	tcase_add_test(tc, test_sync_holds_frames);
	tcase_add_test(tc, test_local_presence_chunks);
	tcase_add_test(tc, test_local_worker_stopped_back);
	tcase_add_test(tc, test_redis_nick_unique);
	tcase_add_test(tc, test_redis_worker_killed);
	tcase_add_test(tc, test_redis_late_instance);
	tcase_add_test(tc, test_redis_outage_reconcile);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	return (h_run_suite(bus_suite()));
}
