/*
 * control.c - the control socket (daemon.control) and asockctl's commands.
 *
 * The master listens on a unix socket, mode 0600, owned by daemon.user,
 * and takes one command per connection: a line "[json ]WORDS...", then
 * "ok\n" and the answer, or one line "error: ...", and the connection
 * closes.  SO_PEERCRED admits the socket's owner and root only.
 *
 * What only the workers know (connections; a kill; a listener that stops
 * or resumes accepting; the log level) the master asks every worker over
 * a socketpair each one got at its fork: a request line, the answer's
 * lines, a line ".".  A worker that does not answer within WORKER_WAIT
 * (its loop is stuck) is named in the answer instead of stalling it, and
 * its late answer is dropped.  One such fan-out runs at a time; other
 * clients wait their turn.  The master answers the rest (info,
 * listeners, plugins, workers) from its own state and the counters.
 *
 * A disabled listener keeps its socket: new clients wait in the backlog
 * (they are served, or refused once the backlog is full) until it is
 * enabled.  It stays disabled for new workers (a crash, a reload) too.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "asockd.h"

#define LINE_MAX_	1024
#define WORKER_WAIT	2.0	/* seconds a worker gets to answer */
#define CLIENT_WAIT	10.0	/* seconds a client gets to send its line */
#define COLS_MAX	12
#define DISABLED_MAX	64
#define ANSWER_MAX	(16 * 1024 * 1024)	/* from one worker */

/* A table of strings; numeric columns are numbers in JSON. */
struct table {
	int		 ncols;
	const char	*cols[COLS_MAX];
	int		 num[COLS_MAX];
	char		**cells;
	int		 ncells, cap;
};

struct wchan {
	int		 fd;
	int		 index;
	pid_t		 pid;
	int		 ready;
	int		 drop;		/* late answers to discard */
	int		 waiting;	/* the fan-out waits for it */
	ev_io		 io;
	char		*buf;
	size_t		 len, cap;
};

struct cclient {
	int		 fd;
	ev_io		 io;
	ev_timer	 timer;
	char		 line[LINE_MAX_];
	size_t		 len;
	int		 json;
	char		*out;
	size_t		 outlen, off;
	TAILQ_ENTRY(cclient) entry;	/* waiting for the fan-out */
	TAILQ_ENTRY(cclient) all;
};

/* The fan-out in progress: one request to a set of workers. */
struct fanout {
	struct cclient	*client;
	int		 kind;		/* F_* */
	char		 arg[128];
	char		 done[192];	/* what to say when it went well */
	int		 nwait;
	struct table	 t;
	char		 notes[2048];
	ev_timer	 timer;
};

enum { F_CONNS, F_KILL, F_DISABLE, F_ENABLE, F_LEVEL };

static int		 cfd = -1;
static char		*cpath;
static uid_t		 owner;
static ev_io		 accept_io;
static struct wchan	*chans[WORKER_SLOTS];
static struct fanout	*busy;
static TAILQ_HEAD(, cclient) queue = TAILQ_HEAD_INITIALIZER(queue);
static TAILQ_HEAD(, cclient) clients = TAILQ_HEAD_INITIALIZER(clients);
static char		 disabled[DISABLED_MAX][CTR_NAMELEN];
static int		 ndisabled;
/* worker side */
static int		 wfd = -1;
static ev_io		 wio;
static char		 wbuf[LINE_MAX_];
static size_t		 wlen;

static void	 client_run(struct cclient *);
static void	 fanout_done(void);

/* ------------------------------------------------------------- tables */

static void
table_init(struct table *t, const char *cols)
{
	char	*s, *p, *save = NULL;

	memset(t, 0, sizeof(*t));
	s = xstrdup(cols);
	for (p = strtok_r(s, " ", &save); p != NULL && t->ncols < COLS_MAX;
	    p = strtok_r(NULL, " ", &save)) {
		t->num[t->ncols] = p[0] == '#';
		t->cols[t->ncols++] = xstrdup(p + (p[0] == '#'));
	}
	free(s);
}

static void
table_cell(struct table *t, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) == -1)
		fatal("vasprintf");
	va_end(ap);
	if (t->ncells == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 64;
		t->cells = xrealloc(t->cells, t->cap * sizeof(*t->cells));
	}
	t->cells[t->ncells++] = s;
}

static void
table_free(struct table *t)
{
	int	 i;

	for (i = 0; i < t->ncells; i++)
		free(t->cells[i]);
	for (i = 0; i < t->ncols; i++)
		free((char *)(uintptr_t)t->cols[i]);
	free(t->cells);
	memset(t, 0, sizeof(*t));
}

static void
json_str(FILE *fp, const char *s)
{
	fputc('"', fp);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(fp, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(fp, "\\u%04x", *s);
		else
			fputc(*s, fp);
	}
	fputc('"', fp);
}

/* Aligned columns under an upper-case header, or a JSON array. */
static void
table_print(FILE *fp, const struct table *t, int json)
{
	const char *cell;
	size_t	 w[COLS_MAX];
	int	 i, j, nrows = t->ncells / t->ncols;

	if (json) {
		fputc('[', fp);
		for (i = 0; i < nrows; i++) {
			fputs(i ? ",{" : "{", fp);
			for (j = 0; j < t->ncols; j++) {
				if (j)
					fputc(',', fp);
				json_str(fp, t->cols[j]);
				fputc(':', fp);
				cell = t->cells[i * t->ncols + j];
				if (t->num[j])
					fputs(cell, fp);
				else
					json_str(fp, cell);
			}
			fputc('}', fp);
		}
		fputc(']', fp);
		return;
	}
	for (j = 0; j < t->ncols; j++)
		w[j] = strlen(t->cols[j]);
	for (i = 0; i < t->ncells; i++)
		if (strlen(t->cells[i]) > w[i % t->ncols])
			w[i % t->ncols] = strlen(t->cells[i]);
	for (i = -1; i < nrows; i++) {
		for (j = 0; j < t->ncols; j++) {
			const char *s = i < 0 ? t->cols[j] :
			    t->cells[i * t->ncols + j];
			char	 up[64];
			size_t	 k;

			if (i < 0) {
				for (k = 0; s[k] != '\0' && k < 63; k++)
					up[k] = s[k] >= 'a' && s[k] <= 'z' ?
					    s[k] - 32 : s[k];
				up[k] = '\0';
				s = up;
			}
			if (j == t->ncols - 1)
				fprintf(fp, "%s\n", s);
			else
				fprintf(fp, t->num[j] ? "%*s  " : "%-*s  ",
				    (int)w[j], s);
		}
	}
}

/* ------------------------------------------------------------- answers */

static void
client_free(struct cclient *c)
{
	TAILQ_REMOVE(&clients, c, all);
	ev_io_stop(proc.loop, &c->io);
	ev_timer_stop(proc.loop, &c->timer);
	close(c->fd);
	free(c->out);
	free(c);
}

static void
client_write_cb(struct ev_loop *l, ev_io *w, int revents)
{
	struct cclient	*c = w->data;
	ssize_t		 n;

	n = write(c->fd, c->out + c->off, c->outlen - c->off);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0 || (c->off += n) == c->outlen)
		client_free(c);
}

/* Send the answer text (taken over) and close. */
static void
client_answer(struct cclient *c, char *text, size_t len)
{
	c->out = text;
	c->outlen = len;
	ev_io_stop(proc.loop, &c->io);
	ev_timer_stop(proc.loop, &c->timer);
	ev_io_init(&c->io, client_write_cb, c->fd, EV_WRITE);
	c->io.data = c;
	ev_io_start(proc.loop, &c->io);
}

static void
client_error(struct cclient *c, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg, *s;
	int	 n;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		fatal("vasprintf");
	va_end(ap);
	n = xasprintf(&s, "error: %s\n", msg);
	free(msg);
	client_answer(c, s, n);
}

/* An answer built with fp = answer_start(); ...; answer_end(c, fp). */
struct answer {
	char	*buf;
	size_t	 len;
	FILE	*fp;
};

static FILE *
answer_start(struct answer *a)
{
	if ((a->fp = open_memstream(&a->buf, &a->len)) == NULL)
		fatal("open_memstream");
	fputs("ok\n", a->fp);
	return a->fp;
}

static void
answer_end(struct cclient *c, struct answer *a)
{
	fclose(a->fp);
	client_answer(c, a->buf, a->len);
}

/* ------------------------------------------------------------- master */

static int
is_disabled(const char *name)
{
	int	 i;

	for (i = 0; i < ndisabled; i++)
		if (strcmp(disabled[i], name) == 0)
			return i;
	return -1;
}

static struct asockd_listener *
listener_by_name(const char *name)
{
	struct asockd_listener	*l;

	TAILQ_FOREACH(l, &listeners, entry)
		if (strcmp(l->conf->name, name) == 0)
			return l;
	return NULL;
}

struct wsum {
	int		 workers;
	unsigned int	 conns;
	char		 live[WORKER_SLOTS];
};

static void
wsum_cb(const struct worker_view *v, void *arg)
{
	struct wsum	*s = arg;

	s->live[v->slot] = 1;
	s->conns += v->nconns;
	if (!v->retiring)
		s->workers++;
}

static const char *
level_name(int level)
{
	static const char *const names[] = {
		[LOG_ERR] = "err", [LOG_WARNING] = "warning",
		[LOG_NOTICE] = "notice", [LOG_INFO] = "info",
		[LOG_DEBUG] = "debug"
	};

	return level >= LOG_ERR && level <= LOG_DEBUG ? names[level] : "?";
}

static void
show_info(struct cclient *c)
{
	struct answer	 a;
	struct table	 t;
	struct wsum	*ws = xcalloc(1, sizeof(*ws));
	FILE		*fp = answer_start(&a);

	master_each_worker(wsum_cb, ws);
	table_init(&t, "key value");
#define KV(k, ...) do { table_cell(&t, "%s", k);			\
	table_cell(&t, __VA_ARGS__); } while (0)
	KV("version", "%s", PACKAGE_VERSION);
	KV("pid", "%ld", (long)getpid());
	KV("config", "%s", proc.conf->file);
	KV("uptime", "%.0f", ev_time() - master_stats.start_time);
	KV("generation", "%u", master_stats.generation);
	KV("workers", "%d", ws->workers);
	KV("listeners", "%u", listener_count());
	KV("connections", "%u", ws->conns);
	KV("reloads_ok", "%llu",
	    (unsigned long long)master_stats.reloads_ok);
	KV("reloads_failed", "%llu",
	    (unsigned long long)master_stats.reloads_failed);
	KV("workers_restarted", "%llu",
	    (unsigned long long)master_stats.restarts);
	KV("log_level", "%s", level_name(log_getlevel()));
#undef KV
	if (c->json) {
		int	 i;

		fputc('{', fp);
		for (i = 0; i < t.ncells; i += 2) {
			if (i)
				fputc(',', fp);
			json_str(fp, t.cells[i]);
			fputc(':', fp);
			if (strspn(t.cells[i + 1], "0123456789") ==
			    strlen(t.cells[i + 1]))
				fputs(t.cells[i + 1], fp);
			else
				json_str(fp, t.cells[i + 1]);
		}
		fputs("}\n", fp);
	} else {
		int	 i;

		for (i = 0; i < t.ncells; i += 2)
			fprintf(fp, "%-18s %s\n", t.cells[i], t.cells[i + 1]);
	}
	table_free(&t);
	free(ws);
	answer_end(c, &a);
}

static const struct ctr_listener *
sum_l(const struct ctr_sum *s, const char *name)
{
	int	 i;

	for (i = 0; i < s->nl; i++)
		if (strcmp(s->l[i].name, name) == 0)
			return &s->l[i];
	return NULL;
}

static void
show_listeners(struct cclient *c)
{
	struct answer			 a;
	struct table			 t;
	struct asockd_listener		*l;
	const struct ctr_listener	*cl;
	struct ctr_sum			 s;
	struct wsum			*ws = xcalloc(1, sizeof(*ws));
	FILE				*fp = answer_start(&a);
	unsigned long long		 acc, ref, clo;
	int				 r;

	master_each_worker(wsum_cb, ws);
	ctr_sum(&s, ws->live);
	table_init(&t, "name address plugin state #accepted #refused #closed");
	TAILQ_FOREACH(l, &listeners, entry) {
		acc = ref = clo = 0;
		if ((cl = sum_l(&s, l->conf->name)) != NULL) {
			acc = cl->accepted;
			for (r = 0; r < CTR_REFUSE_MAX; r++)
				ref += cl->refused[r];
			for (r = 0; r < CTR_REASONS; r++)
				clo += cl->closed[r];
		}
		table_cell(&t, "%s", l->conf->name);
		table_cell(&t, "%s", l->uri[0] ? l->uri : l->conf->listen);
		table_cell(&t, "%s", l->conf->plugin);
		table_cell(&t, "%s", quarantine_has(l->conf->plugin) ?
		    "quarantined" : l->fd == -1 ? "closed" :
		    is_disabled(l->conf->name) >= 0 ? "disabled" :
		    "accepting");
		table_cell(&t, "%llu", acc);
		table_cell(&t, "%llu", ref);
		table_cell(&t, "%llu", clo);
	}
	table_print(fp, &t, c->json);
	if (c->json)
		fputc('\n', fp);
	table_free(&t);
	ctr_sum_free(&s);
	free(ws);
	answer_end(c, &a);
}

static void
show_plugins(struct cclient *c)
{
	struct answer		 a;
	struct table		 t;
	struct plugin_conf	*pc;
	struct ctr_sum		 s;
	struct wsum		*ws = xcalloc(1, sizeof(*ws));
	FILE			*fp = answer_start(&a);
	uint64_t		 calls, timed, ns, crashes;
	int			 i, b;

	master_each_worker(wsum_cb, ws);
	ctr_sum(&s, ws->live);
	table_init(&t, "name path #callbacks #avg_us #crashes quarantined");
	TAILQ_FOREACH(pc, &proc.conf->plugins, entry) {
		calls = timed = ns = crashes = 0;
		for (i = 0; i < s.np; i++)
			if (strcmp(s.p[i].name, pc->name) == 0) {
				calls = s.p[i].calls;
				ns = s.p[i].time_ns;
				crashes = s.p[i].crashes;
				for (b = 0; b < CTR_BUCKETS; b++)
					timed += s.p[i].hist[b];
			}
		table_cell(&t, "%s", pc->name);
		table_cell(&t, "%s", pc->path);
		table_cell(&t, "%llu", (unsigned long long)calls);
		table_cell(&t, "%.1f", timed ? ns / 1e3 / timed : 0.0);
		table_cell(&t, "%llu", (unsigned long long)crashes);
		table_cell(&t, "%s", quarantine_has(pc->name) ? "yes" : "no");
	}
	table_print(fp, &t, c->json);
	if (c->json)
		fputc('\n', fp);
	table_free(&t);
	ctr_sum_free(&s);
	free(ws);
	answer_end(c, &a);
}

static void
workers_cb(const struct worker_view *v, void *arg)
{
	struct table		*t = arg;
	const struct ctr_block	*b = &ctr_shm[v->slot];
	uint64_t		 s0 = CTR_GET(b->stall_ns[0]);
	uint64_t		 s1 = CTR_GET(b->stall_ns[1]);

	table_cell(t, "%d", v->index);
	table_cell(t, "%u", v->gen);
	table_cell(t, "%ld", (long)v->pid);
	table_cell(t, "%s", v->retiring ? "retiring" : v->ready ? "serving" :
	    "starting");
	table_cell(t, "%u", v->nconns);
	table_cell(t, "%llu", (unsigned long long)CTR_GET(b->iterations));
	table_cell(t, "%.3f", (s0 > s1 ? s0 : s1) / 1e6);
	table_cell(t, "%.1f", v->beat_age);
}

static void
show_workers(struct cclient *c)
{
	struct answer	 a;
	struct table	 t;
	FILE		*fp = answer_start(&a);

	table_init(&t, "worker #generation #pid state #connections #loops"
	    " #stall_ms #beat_age");
	master_each_worker(workers_cb, &t);
	table_print(fp, &t, c->json);
	if (c->json)
		fputc('\n', fp);
	table_free(&t);
	answer_end(c, &a);
}

/* Send the request line to the worker's channel; -1 when it fails. */
static int
chan_send(struct wchan *w, const char *line)
{
	size_t	 len = strlen(line);

	/* a line is far below the socket buffer: it goes in one write */
	if (write(w->fd, line, len) != (ssize_t)len)
		return -1;
	return 0;
}

static void
note(struct fanout *f, const char *fmt, ...)
{
	size_t	 len = strlen(f->notes);
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(f->notes + len, sizeof(f->notes) - len, fmt, ap);
	va_end(ap);
}

static void
fanout_timeout_cb(struct ev_loop *l, ev_timer *t, int revents)
{
	int	 i;

	for (i = 0; i < WORKER_SLOTS; i++)
		if (chans[i] != NULL && chans[i]->waiting) {
			chans[i]->waiting = 0;
			chans[i]->drop++;
			note(busy, "worker %d (pid %ld) did not answer within"
			    " %.0f s\n", chans[i]->index, (long)chans[i]->pid,
			    WORKER_WAIT);
		}
	busy->nwait = 0;
	fanout_done();
}

/*
 * Ask every ready worker (slot -1) or the one in slot; the answers come
 * to chan_cb, then fanout_done answers the client.
 */
static void
fanout_start(struct cclient *c, int kind, const char *arg, int slot,
    const char *done)
{
	static const char *const verbs[] = {
		"conns", "kill", "disable", "enable", "log-level"
	};
	struct fanout	*f = xcalloc(1, sizeof(*f));
	char		 line[256];
	int		 i;

	f->client = c;
	f->kind = kind;
	snprintf(f->arg, sizeof(f->arg), "%s", arg ? arg : "");
	snprintf(f->done, sizeof(f->done), "%s", done ? done : "");
	if (kind == F_CONNS)
		table_init(&f->t, "id listener peer #age #in #out #queued"
		    " state");
	busy = f;
	snprintf(line, sizeof(line), "%s %s\n", verbs[kind], f->arg);
	for (i = 0; i < WORKER_SLOTS; i++) {
		if (chans[i] == NULL || !chans[i]->ready ||
		    (slot != -1 && i != slot))
			continue;
		if (chan_send(chans[i], line) == -1) {
			note(f, "worker %d (pid %ld): %s\n", chans[i]->index,
			    (long)chans[i]->pid, strerror(errno));
			continue;
		}
		chans[i]->waiting = 1;
		f->nwait++;
	}
	ev_timer_init(&f->timer, fanout_timeout_cb, WORKER_WAIT, 0.);
	ev_timer_start(proc.loop, &f->timer);
	if (f->nwait == 0)
		fanout_done();
}

/* One worker's answer (lines, without the final "."). */
static void
fanout_answer(struct wchan *w, char *text)
{
	struct fanout	*f = busy;
	char		*line, *save = NULL, *fld[8];
	int		 n;

	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "err ", 4) == 0) {
			note(f, "%s\n", line + 4);
			continue;
		}
		if (f->kind != F_CONNS)
			continue;
		for (n = 0; n < 8; n++)
			if ((fld[n] = strsep(&line, "\t")) == NULL)
				break;
		if (n < 8)
			continue;
		/* ids are WORKER-SLOT:N, unique among the live workers */
		for (n = 0; n < WORKER_SLOTS && chans[n] != w; n++)
			;
		table_cell(&f->t, "%d:%s", n, fld[0]);
		for (n = 1; n < 8; n++)
			table_cell(&f->t, "%s", fld[n]);
	}
}

static void
fanout_done(void)
{
	struct fanout	*f = busy;
	struct cclient	*c = f->client, *next;
	struct answer	 a;
	FILE		*fp;
	char		*nl;

	if (f->nwait > 0)
		return;
	ev_timer_stop(proc.loop, &f->timer);
	busy = NULL;
	if (f->kind == F_KILL && f->notes[0] != '\0') {
		if ((nl = strchr(f->notes, '\n')) != NULL)
			*nl = '\0';
		client_error(c, "%s", f->notes);
	} else {
		fp = answer_start(&a);
		if (f->kind == F_CONNS) {
			if (c->json) {
				fputs("{\"connections\":", fp);
				table_print(fp, &f->t, 1);
				fputs(",\"notes\":", fp);
				json_str(fp, f->notes);
				fputs("}\n", fp);
			} else {
				table_print(fp, &f->t, 0);
				fputs(f->notes, fp);
			}
		} else
			fputs(f->notes[0] != '\0' ? f->notes : f->done, fp);
		answer_end(c, &a);
	}
	if (f->t.ncols > 0)
		table_free(&f->t);
	free(f);
	/* the next client waiting for a fan-out */
	if ((next = TAILQ_FIRST(&queue)) != NULL) {
		TAILQ_REMOVE(&queue, next, entry);
		client_run(next);
	}
}

/* The channel's watcher is unref'd (it must not keep the loop alive). */
static void
chan_stop(struct wchan *w)
{
	if (!ev_is_active(&w->io))
		return;
	ev_ref(proc.loop);
	ev_io_stop(proc.loop, &w->io);
}

static void
chan_cb(struct ev_loop *l, ev_io *io, int revents)
{
	struct wchan	*w = io->data;
	char		*end;
	ssize_t		 n;

	if (w->cap - w->len < 4096) {
		if (w->cap >= ANSWER_MAX) {
			log_warnx("control: worker %d: answer over %d bytes:"
			    " dropped", w->index, ANSWER_MAX);
			w->len = 0;
		} else {
			w->cap = w->cap ? w->cap * 2 : 65536;
			w->buf = xrealloc(w->buf, w->cap);
		}
	}
	n = read(w->fd, w->buf + w->len, w->cap - 1 - w->len);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		/* it is dying: control_worker_gone follows */
		chan_stop(w);
		return;
	}
	w->len += n;
	w->buf[w->len] = '\0';
	/* every answer ends with a line "." */
	while ((end = strstr(w->buf, "\n.\n")) != NULL ||
	    strncmp(w->buf, ".\n", 2) == 0) {
		size_t	 used;

		if (strncmp(w->buf, ".\n", 2) == 0) {
			end = w->buf;
			*end = '\0';
			used = 2;
		} else {
			end[1] = '\0';
			used = end + 3 - w->buf;
		}
		if (w->drop > 0)
			w->drop--;
		else if (w->waiting && busy != NULL) {
			w->waiting = 0;
			fanout_answer(w, w->buf);
			busy->nwait--;
			memmove(w->buf, w->buf + used, w->len - used);
			w->len -= used;
			w->buf[w->len] = '\0';
			fanout_done();
			continue;
		}
		memmove(w->buf, w->buf + used, w->len - used);
		w->len -= used;
		w->buf[w->len] = '\0';
	}
}

static const char usage_text[] =
    "show info|listeners|plugins|workers, show conns [LISTENER],"
    " kill conn ID, disable listener NAME, enable listener NAME, reload,"
    " reopen-logs, log-level LEVEL";

/* Carry out the command line of c. */
static void
client_run(struct cclient *c)
{
	struct answer	 a;
	char		*w[4], *p = c->line, *colon;
	int		 n, level, slot;
	char		 arg[128], done[64];

	for (n = 0; n < 4 && (w[n] = strsep(&p, " ")) != NULL; )
		if (*w[n] != '\0')
			n++;
	if (n > 0 && strcmp(w[0], "json") == 0) {
		c->json = 1;
		memmove(w, w + 1, sizeof(w[0]) * 3);
		n--;
	}
	if (p != NULL && *p != '\0') {
		client_error(c, "too many words (%s)", usage_text);
		return;
	}
	if (n >= 1 && busy != NULL && (strcmp(w[0], "kill") == 0 ||
	    strcmp(w[0], "disable") == 0 || strcmp(w[0], "enable") == 0 ||
	    strcmp(w[0], "log-level") == 0 || (n >= 2 &&
	    strcmp(w[0], "show") == 0 && strcmp(w[1], "conns") == 0))) {
		TAILQ_INSERT_TAIL(&queue, c, entry);	/* its turn comes */
		return;
	}
	if (n == 2 && strcmp(w[0], "show") == 0 && strcmp(w[1], "info") == 0)
		show_info(c);
	else if (n == 2 && strcmp(w[0], "show") == 0 &&
	    strcmp(w[1], "listeners") == 0)
		show_listeners(c);
	else if (n == 2 && strcmp(w[0], "show") == 0 &&
	    strcmp(w[1], "plugins") == 0)
		show_plugins(c);
	else if (n == 2 && strcmp(w[0], "show") == 0 &&
	    strcmp(w[1], "workers") == 0)
		show_workers(c);
	else if ((n == 2 || n == 3) && strcmp(w[0], "show") == 0 &&
	    strcmp(w[1], "conns") == 0) {
		if (n == 3 && listener_by_name(w[2]) == NULL)
			client_error(c, "no listener '%s'", w[2]);
		else
			fanout_start(c, F_CONNS, n == 3 ? w[2] : NULL, -1,
			    NULL);
	} else if (n == 3 && strcmp(w[0], "kill") == 0 &&
	    strcmp(w[1], "conn") == 0) {
		if ((colon = strchr(w[2], ':')) == NULL ||
		    (slot = atoi(w[2])) < 0 || slot >= WORKER_SLOTS ||
		    chans[slot] == NULL || strspn(colon + 1, "0123456789") !=
		    strlen(colon + 1) || colon[1] == '\0')
			client_error(c, "no connection '%s' (ids are"
			    " WORKER:N, as show conns prints them)", w[2]);
		else {
			snprintf(arg, sizeof(arg), "connection %s: aborted\n",
			    w[2]);
			fanout_start(c, F_KILL, colon + 1, slot, arg);
		}
	} else if (n == 3 && (strcmp(w[0], "disable") == 0 ||
	    strcmp(w[0], "enable") == 0) && strcmp(w[1], "listener") == 0) {
		if (listener_by_name(w[2]) == NULL) {
			client_error(c, "no listener '%s'", w[2]);
			return;
		}
		if (w[0][0] == 'd' && is_disabled(w[2]) < 0 &&
		    ndisabled < DISABLED_MAX)
			snprintf(disabled[ndisabled++], CTR_NAMELEN, "%s",
			    w[2]);
		else if (w[0][0] == 'e' && (n = is_disabled(w[2])) >= 0)
			memcpy(disabled[n], disabled[--ndisabled],
			    CTR_NAMELEN);
		log_notice("control: %s listener %s", w[0], w[2]);
		snprintf(arg, sizeof(arg), "listener %s: %s\n", w[2],
		    w[0][0] == 'd' ? "disabled (new clients wait in the"
		    " backlog)" : "accepting");
		fanout_start(c, w[0][0] == 'd' ? F_DISABLE : F_ENABLE, w[2],
		    -1, arg);
	} else if (n == 1 && strcmp(w[0], "reload") == 0) {
		log_notice("control: reload");
		kill(getpid(), SIGHUP);
		fprintf(answer_start(&a), "reloading %s (the log tells the"
		    " outcome)\n", proc.conf->file);
		answer_end(c, &a);
	} else if (n == 1 && strcmp(w[0], "reopen-logs") == 0) {
		kill(getpid(), SIGUSR1);
		fputs("reopening the log file (as SIGUSR1)\n",
		    answer_start(&a));
		answer_end(c, &a);
	} else if (n == 2 && strcmp(w[0], "log-level") == 0) {
		if ((level = log_level_parse(w[1])) == -1) {
			client_error(c, "unknown log level '%s' (err, warning,"
			    " notice, info, debug)", w[1]);
			return;
		}
		log_setlevel(level);
		log_notice("control: log level %s", w[1]);
		snprintf(done, sizeof(done), "log level %s\n", w[1]);
		snprintf(arg, sizeof(arg), "%d", level);
		fanout_start(c, F_LEVEL, arg, -1, done);
	} else
		client_error(c, "unknown command '%s%s%s' (%s)",
		    n > 0 ? w[0] : "", n > 1 ? " " : "", n > 1 ? w[1] : "",
		    usage_text);
}

static void
client_read_cb(struct ev_loop *l, ev_io *io, int revents)
{
	struct cclient	*c = io->data;
	char		*nl;
	ssize_t		 n;

	n = read(c->fd, c->line + c->len, sizeof(c->line) - 1 - c->len);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		client_free(c);
		return;
	}
	c->len += n;
	c->line[c->len] = '\0';
	if ((nl = strchr(c->line, '\n')) == NULL) {
		if (c->len == sizeof(c->line) - 1)
			client_error(c, "command too long");
		return;
	}
	*nl = '\0';
	if (nl > c->line && nl[-1] == '\r')
		nl[-1] = '\0';
	ev_io_stop(l, io);
	ev_timer_stop(l, &c->timer);
	client_run(c);
}

static void
client_timeout_cb(struct ev_loop *l, ev_timer *t, int revents)
{
	client_free(t->data);
}

static void
accept_cb(struct ev_loop *l, ev_io *io, int revents)
{
	struct cclient	*c;
	struct ucred	 cr;
	socklen_t	 len = sizeof(cr);
	int		 fd;
	char		 msg[128];

	while ((fd = accept4(cfd, NULL, NULL, SOCK_NONBLOCK |
	    SOCK_CLOEXEC)) != -1) {
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == -1 ||
		    (cr.uid != owner && cr.uid != 0)) {
			log_warnx("control: refused a client with uid %ld"
			    " (pid %ld)", (long)cr.uid, (long)cr.pid);
			snprintf(msg, sizeof(msg), "error: uid %ld may not use"
			    " this socket\n", (long)cr.uid);
			(void)write(fd, msg, strlen(msg));
			close(fd);
			continue;
		}
		c = xcalloc(1, sizeof(*c));
		c->fd = fd;
		TAILQ_INSERT_TAIL(&clients, c, all);
		ev_io_init(&c->io, client_read_cb, fd, EV_READ);
		c->io.data = c;
		ev_io_start(l, &c->io);
		ev_timer_init(&c->timer, client_timeout_cb, CLIENT_WAIT, 0.);
		c->timer.data = c;
		ev_timer_start(l, &c->timer);
	}
}

int
control_open(const struct config *cf)
{
	struct sockaddr_un	 sun;
	uid_t			 uid;
	gid_t			 gid;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", cf->control);
	/* a socket file nobody answers on is stale */
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) != -1) {
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
			log_errx("%s: daemon.control: %s is in use by another"
			    " process", cf->file, cf->control);
			close(fd);
			return -1;
		}
		close(fd);
	}
	unlink(cf->control);
	cfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (cfd == -1 || bind(cfd, (struct sockaddr *)&sun,
	    sizeof(sun)) == -1) {
		log_err("%s: daemon.control: bind %s", cf->file, cf->control);
		if (cfd != -1)
			close(cfd);
		cfd = -1;
		return -1;
	}
	cpath = xstrdup(cf->control);
	owner = geteuid();
	if (worker_ids(cf, &uid, &gid) == 1 && uid != (uid_t)-1)
		owner = uid;
	if (chmod(cf->control, 0600) == -1 || (owner != geteuid() &&
	    chown(cf->control, owner, gid) == -1) || listen(cfd, 16) == -1) {
		log_err("%s: daemon.control: %s", cf->file, cf->control);
		control_close();
		return -1;
	}
	log_info("control: listening on %s", cf->control);
	ev_io_init(&accept_io, accept_cb, cfd, EV_READ);
	ev_io_start(proc.loop, &accept_io);
	ev_unref(proc.loop);
	return 0;
}

void
control_forget(void)
{
	struct cclient	*c;
	int		 i;

	/* a new worker must not answer the master's clients */
	while ((c = TAILQ_FIRST(&clients)) != NULL) {
		if (busy != NULL && busy->client == c)
			busy->client = NULL;
		client_free(c);
	}
	TAILQ_INIT(&queue);
	if (busy != NULL) {
		ev_timer_stop(proc.loop, &busy->timer);
		if (busy->t.ncols > 0)
			table_free(&busy->t);
		free(busy);
		busy = NULL;
	}
	for (i = 0; i < WORKER_SLOTS; i++)
		if (chans[i] != NULL) {
			chan_stop(chans[i]);
			close(chans[i]->fd);
			free(chans[i]->buf);
			free(chans[i]);
			chans[i] = NULL;
		}
	if (cfd != -1) {
		ev_ref(proc.loop);
		ev_io_stop(proc.loop, &accept_io);
		close(cfd);
		cfd = -1;
	}
	free(cpath);
	cpath = NULL;
}

void
control_close(void)
{
	if (cpath != NULL && unlink(cpath) == -1 && errno != ENOENT)
		log_warn("unlink %s", cpath);
	control_forget();
}

void
control_worker_new(int slot, int fd, int index, pid_t pid)
{
	struct wchan	*w = xcalloc(1, sizeof(*w));

	w->fd = fd;
	w->index = index;
	w->pid = pid;
	ev_io_init(&w->io, chan_cb, fd, EV_READ);
	w->io.data = w;
	ev_io_start(proc.loop, &w->io);
	ev_unref(proc.loop);
	chans[slot] = w;
}

void
control_worker_ready(int slot)
{
	char	 line[CTR_NAMELEN + 16];
	int	 i;

	if (chans[slot] == NULL)
		return;
	chans[slot]->ready = 1;
	/* what was disabled stays so; the answers are not awaited */
	for (i = 0; i < ndisabled; i++) {
		snprintf(line, sizeof(line), "disable %s\n", disabled[i]);
		if (chan_send(chans[slot], line) == 0)
			chans[slot]->drop++;
	}
}

void
control_worker_gone(int slot, int retired)
{
	struct wchan	*w = chans[slot];

	if (w == NULL)
		return;
	chans[slot] = NULL;
	if (w->waiting && busy != NULL) {
		/* a retiring worker that finished is no failure: the
		 * answer is its successor's */
		if (!retired)
			note(busy, "worker %d (pid %ld) exited before it "
			    "answered\n", w->index, (long)w->pid);
		busy->nwait--;
	}
	chan_stop(w);
	close(w->fd);
	free(w->buf);
	free(w);
	if (busy != NULL)
		fanout_done();
}

/* ------------------------------------------------------------- worker */

static void
wsend(const char *s)
{
	size_t	 off = 0, len = strlen(s);
	ssize_t	 n;

	/* the master reads at once; a full buffer is waited out */
	while (off < len) {
		n = write(wfd, s + off, len - off);
		if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
			usleep(1000);
			continue;
		}
		if (n <= 0)
			return;
		off += n;
	}
}

static void
worker_conns(const char *only)
{
	struct asockd_listener	*l;
	struct asockd_conn	*c;
	struct conn_info	 ci;
	char			 line[512];

	TAILQ_FOREACH(l, &listeners, entry) {
		if (*only != '\0' && strcmp(only, l->conf->name) != 0)
			continue;
		for (c = conn_next(l, NULL); c != NULL; c = conn_next(l, c)) {
			conn_info(c, &ci);
			snprintf(line, sizeof(line), "%llu\t%s\t%s\t%.1f\t%llu"
			    "\t%llu\t%zu\t%s\n", (unsigned long long)ci.id,
			    l->conf->name, ci.peer, ci.age,
			    (unsigned long long)ci.bytes_in,
			    (unsigned long long)ci.bytes_out, ci.queued,
			    ci.state);
			wsend(line);
		}
	}
}

static void
worker_request(char *line)
{
	struct asockd_listener	*l;
	struct asockd_conn	*c;
	char			*arg, msg[256];

	if ((arg = strchr(line, ' ')) != NULL)
		*arg++ = '\0';
	else
		arg = line + strlen(line);
	if (strcmp(line, "conns") == 0)
		worker_conns(arg);
	else if (strcmp(line, "kill") == 0) {
		if ((c = conn_find(strtoull(arg, NULL, 10))) == NULL ||
		    conn_closed(c)) {
			snprintf(msg, sizeof(msg), "err no connection %s in"
			    " this worker\n", arg);
			wsend(msg);
		} else {
			conn_log(c, LOG_NOTICE, "aborted by asockctl");
			conn_abort(c, ASOCKD_CLOSE_LOCAL);
		}
	} else if (strcmp(line, "disable") == 0 ||
	    strcmp(line, "enable") == 0) {
		TAILQ_FOREACH(l, &listeners, entry)
			if (strcmp(l->conf->name, arg) == 0 && l->fd != -1 &&
			    l->inst != NULL)
				listener_disable(l, line[0] == 'd');
	} else if (strcmp(line, "log-level") == 0)
		log_setlevel(atoi(arg));
	wsend(".\n");
}

static void
worker_cb(struct ev_loop *l, ev_io *io, int revents)
{
	char	*nl;
	ssize_t	 n;

	n = read(wfd, wbuf + wlen, sizeof(wbuf) - 1 - wlen);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		ev_ref(l);
		ev_io_stop(l, io);
		return;
	}
	wlen += n;
	wbuf[wlen] = '\0';
	while ((nl = strchr(wbuf, '\n')) != NULL) {
		*nl = '\0';
		worker_request(wbuf);
		wlen -= nl + 1 - wbuf;
		memmove(wbuf, nl + 1, wlen + 1);
	}
	if (wlen == sizeof(wbuf) - 1)
		wlen = 0;
}

void
control_child(int fd)
{
	wfd = fd;
	ev_io_init(&wio, worker_cb, fd, EV_READ);
	ev_io_start(proc.loop, &wio);
	ev_unref(proc.loop);
}
