/*
 * metrics.c - the master's GET /metrics, in the Prometheus text format.
 *
 * The master never runs plugin code, so the figures stay available while
 * a worker is stuck: it sums the workers' counter blocks (counters.c),
 * adds what it counts itself (master_stats, quarantine) and what it can
 * read from /proc (each worker's resident memory).  The HTTP side is the
 * least a scraper needs: one request per connection, GET /metrics only,
 * an answer with Content-Length, then close.  A client that does not send
 * its request within CLIENT_TIMEOUT is dropped; at most CLIENTS_MAX are
 * served at once (the rest are closed at once).
 */
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "asockd.h"

#define CLIENTS_MAX	16
#define CLIENT_TIMEOUT	10.0
#define REQUEST_MAX	4096

struct mclient {
	int		 fd;
	ev_io		 io;
	ev_timer	 timer;
	char		 req[REQUEST_MAX];
	size_t		 reqlen;
	char		*out;
	size_t		 outlen, off;
};

static int		 mfd = -1;
static ev_io		 accept_io;
static struct mclient	*clients[CLIENTS_MAX];

static const char *const refuse_names[CTR_REFUSE_MAX] = {
	"max_connections", "plugin", "deny", "allow", "rate",
	"max_per_source", "proxy"
};

/* The label value v, escaped as the exposition format wants. */
static void
label(FILE *fp, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			fprintf(fp, "\\%c", *v);
		else if (*v == '\n')
			fputs("\\n", fp);
		else
			fputc(*v, fp);
	}
}

static void
head(FILE *fp, const char *name, const char *type, const char *help)
{
	fprintf(fp, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

#define LFOR(s, i)	for ((i) = 0; (i) < (s)->nl; (i)++)
#define PFOR(s, i)	for ((i) = 0; (i) < (s)->np; (i)++)

/* One counter per listener: name{listener="..."} value. */
static void
per_listener(FILE *fp, const struct ctr_sum *s, const char *name,
    const char *help, size_t off)
{
	int	 i;

	head(fp, name, "counter", help);
	LFOR(s, i) {
		fprintf(fp, "%s{listener=\"", name);
		label(fp, s->l[i].name);
		fprintf(fp, "\"} %llu\n", (unsigned long long)
		    *(const uint64_t *)(const void *)((const char *)&s->l[i] +
		    off));
	}
}

struct live {
	char	 slots[WORKER_SLOTS];
};

static void
live_cb(const struct worker_view *v, void *arg)
{
	((struct live *)arg)->slots[v->slot] = 1;
}

static void
listeners_out(FILE *fp, const struct ctr_sum *s, const struct live *lv)
{
	const struct ctr_block	*b;
	long long		*active;
	int			 i, j, k, r;

	per_listener(fp, s, "asockd_connections_accepted_total",
	    "Connections accepted.", offsetof(struct ctr_listener, accepted));
	/* open now: accepted minus closed, over the workers alive */
	active = xcalloc(s->nl + 1, sizeof(*active));
	for (k = 0; k < WORKER_SLOTS; k++) {
		if (!lv->slots[k])
			continue;
		b = &ctr_shm[k];
		for (j = 0; j < b->nlisteners; j++) {
			LFOR(s, i)
				if (strcmp(s->l[i].name,
				    b->listeners[j].name) == 0)
					break;
			active[i] += CTR_GET(b->listeners[j].accepted);
			for (r = 0; r < CTR_REASONS; r++)
				active[i] -= CTR_GET(b->listeners[j].closed[r]);
		}
	}
	head(fp, "asockd_connections_active", "gauge",
	    "Connections open now.");
	LFOR(s, i) {
		fputs("asockd_connections_active{listener=\"", fp);
		label(fp, s->l[i].name);
		fprintf(fp, "\"} %lld\n", active[i] < 0 ? 0 : active[i]);
	}
	free(active);
	head(fp, "asockd_connections_refused_total", "counter",
	    "Connections refused, by reason (max_connections: a worker"
	    " stopped accepting at its share; plugin: on_accept failed;"
	    " deny, allow, rate, max_per_source, proxy: the access"
	    " policy).");
	LFOR(s, i)
		for (r = 0; r < CTR_REFUSE_MAX; r++) {
			if (refuse_names[r] == NULL)
				continue;
			fputs("asockd_connections_refused_total{listener=\"",
			    fp);
			label(fp, s->l[i].name);
			fprintf(fp, "\",reason=\"%s\"} %llu\n", refuse_names[r],
			    (unsigned long long)s->l[i].refused[r]);
		}
	head(fp, "asockd_connections_closed_total", "counter",
	    "Connections closed, by close reason.");
	LFOR(s, i)
		for (r = ASOCKD_CLOSE_PEER; r <= ASOCKD_CLOSE_OVERFLOW; r++) {
			fputs("asockd_connections_closed_total{listener=\"",
			    fp);
			label(fp, s->l[i].name);
			fprintf(fp, "\",reason=\"%s\"} %llu\n",
			    conn_reason_name(r),
			    (unsigned long long)s->l[i].closed[r]);
		}
	per_listener(fp, s, "asockd_received_bytes_total", "Bytes received.",
	    offsetof(struct ctr_listener, bytes_in));
	per_listener(fp, s, "asockd_sent_bytes_total", "Bytes sent (taken by"
	    " the kernel).", offsetof(struct ctr_listener, bytes_out));
	per_listener(fp, s, "asockd_received_messages_total", "Messages"
	    " received (framed: messages; raw: reads; datagrams).",
	    offsetof(struct ctr_listener, msgs_in));
	per_listener(fp, s, "asockd_sent_messages_total", "Messages sent"
	    " (host send calls that were accepted or queued).",
	    offsetof(struct ctr_listener, msgs_out));
	per_listener(fp, s, "asockd_framing_errors_total", "Connections"
	    " aborted for breaking the framing.",
	    offsetof(struct ctr_listener, framing_errors));
	per_listener(fp, s, "asockd_backpressure_pauses_total", "Times"
	    " reading stopped because the output queue passed sndq_high.",
	    offsetof(struct ctr_listener, backpressure));
}

static void
plugins_out(FILE *fp, const struct ctr_sum *s)
{
	uint64_t	 cum;
	int		 i, b;

	head(fp, "asockd_plugin_callbacks_total", "counter",
	    "Calls into the plugin's code.");
	PFOR(s, i) {
		fputs("asockd_plugin_callbacks_total{plugin=\"", fp);
		label(fp, s->p[i].name);
		fprintf(fp, "\"} %llu\n", (unsigned long long)s->p[i].calls);
	}
	head(fp, "asockd_plugin_callback_seconds", "histogram",
	    "Time of the plugin's callbacks (outermost calls).");
	PFOR(s, i) {
		for (cum = 0, b = 0; b < CTR_BUCKETS; b++) {
			cum += s->p[i].hist[b];
			fputs("asockd_plugin_callback_seconds_bucket{plugin=\"",
			    fp);
			label(fp, s->p[i].name);
			if (b < CTR_BUCKETS - 1)
				fprintf(fp, "\",le=\"%g\"} %llu\n",
				    ctr_bounds[b], (unsigned long long)cum);
			else
				fprintf(fp, "\",le=\"+Inf\"} %llu\n",
				    (unsigned long long)cum);
		}
		fputs("asockd_plugin_callback_seconds_sum{plugin=\"", fp);
		label(fp, s->p[i].name);
		fprintf(fp, "\"} %.9f\n", s->p[i].time_ns / 1e9);
		fputs("asockd_plugin_callback_seconds_count{plugin=\"", fp);
		label(fp, s->p[i].name);
		fprintf(fp, "\"} %llu\n", (unsigned long long)cum);
	}
	head(fp, "asockd_plugin_crashes_total", "counter",
	    "Workers killed by the plugin's code.");
	PFOR(s, i) {
		fputs("asockd_plugin_crashes_total{plugin=\"", fp);
		label(fp, s->p[i].name);
		fprintf(fp, "\"} %llu\n", (unsigned long long)s->p[i].crashes);
	}
	head(fp, "asockd_plugin_quarantined", "gauge",
	    "1 while the plugin is quarantined (until a reload).");
	PFOR(s, i) {
		fputs("asockd_plugin_quarantined{plugin=\"", fp);
		label(fp, s->p[i].name);
		fprintf(fp, "\"} %d\n", quarantine_has(s->p[i].name));
	}
}

/* Resident memory of pid in bytes, from /proc; -1 when unknown. */
static long long
rss_bytes(pid_t pid)
{
	char		 path[64];
	FILE		*fp;
	long long	 size, rss;
	int		 n;

	snprintf(path, sizeof(path), "/proc/%ld/statm", (long)pid);
	if ((fp = fopen(path, "re")) == NULL)
		return -1;
	n = fscanf(fp, "%lld %lld", &size, &rss);
	fclose(fp);
	return n == 2 ? rss * sysconf(_SC_PAGESIZE) : -1;
}

struct wout {
	FILE		*fp;
	int		 what;
};

enum {
	W_PID, W_CONNS, W_ITER, W_STALL, W_BEAT, W_RSS, W_COUNT
};

static const char *const wnames[W_COUNT][3] = {
	{ "asockd_worker_pid", "gauge", "The worker's process id." },
	{ "asockd_worker_connections", "gauge",
	    "Connections the worker holds (updated every 0.5 s)." },
	{ "asockd_worker_loop_iterations_total", "counter",
	    "Turns of the worker's event loop." },
	{ "asockd_worker_loop_stall_seconds", "gauge",
	    "The longest turn of the event loop in the last 30 to 60 s." },
	{ "asockd_worker_heartbeat_age_seconds", "gauge",
	    "Seconds since the worker's loop last beat (0.5 s normally;"
	    " a stuck plugin makes it grow)." },
	{ "asockd_worker_resident_memory_bytes", "gauge",
	    "The worker's resident set size." },
};

static void
worker_cb(const struct worker_view *v, void *arg)
{
	struct wout		*wo = arg;
	const struct ctr_block	*b = &ctr_shm[v->slot];
	uint64_t		 s0, s1;
	long long		 rss;

	fprintf(wo->fp, "%s{worker=\"%d\",generation=\"%u\"} ",
	    wnames[wo->what][0], v->index, v->gen);
	switch (wo->what) {
	case W_PID:
		fprintf(wo->fp, "%ld\n", (long)v->pid);
		break;
	case W_CONNS:
		fprintf(wo->fp, "%u\n", v->nconns);
		break;
	case W_ITER:
		fprintf(wo->fp, "%llu\n",
		    (unsigned long long)CTR_GET(b->iterations));
		break;
	case W_STALL:
		s0 = CTR_GET(b->stall_ns[0]);
		s1 = CTR_GET(b->stall_ns[1]);
		fprintf(wo->fp, "%.6f\n", (s0 > s1 ? s0 : s1) / 1e9);
		break;
	case W_BEAT:
		fprintf(wo->fp, "%.3f\n", v->beat_age);
		break;
	case W_RSS:
		rss = rss_bytes(v->pid);
		fprintf(wo->fp, "%lld\n", rss < 0 ? 0 : rss);
		break;
	}
}

char *
metrics_text(size_t *len)
{
	struct ctr_sum	 s;
	struct live	*lv;
	struct wout	 wo;
	char		*buf = NULL;
	FILE		*fp;
	double		 now = ev_time();

	if ((fp = open_memstream(&buf, len)) == NULL)
		fatal("open_memstream");
	lv = xcalloc(1, sizeof(*lv));
	master_each_worker(live_cb, lv);
	ctr_sum(&s, lv->slots);

	head(fp, "asockd_build_info", "gauge", "The daemon's version.");
	fprintf(fp, "asockd_build_info{version=\"%s\"} 1\n", PACKAGE_VERSION);
	head(fp, "asockd_start_time_seconds", "gauge",
	    "When the master started, in seconds since the epoch.");
	fprintf(fp, "asockd_start_time_seconds %.3f\n",
	    master_stats.start_time);
	head(fp, "asockd_uptime_seconds", "gauge", "Seconds since the"
	    " master started.");
	fprintf(fp, "asockd_uptime_seconds %.3f\n",
	    now - master_stats.start_time);
	head(fp, "asockd_reloads_total", "counter",
	    "Reloads (SIGHUP), by result.");
	fprintf(fp, "asockd_reloads_total{result=\"ok\"} %llu\n"
	    "asockd_reloads_total{result=\"failed\"} %llu\n",
	    (unsigned long long)master_stats.reloads_ok,
	    (unsigned long long)master_stats.reloads_failed);
	head(fp, "asockd_worker_restarts_total", "counter",
	    "Workers that died unasked (and were replaced).");
	fprintf(fp, "asockd_worker_restarts_total %llu\n",
	    (unsigned long long)master_stats.restarts);
	head(fp, "asockd_generation", "gauge", "The number of the newest"
	    " generation of workers (1 at start, one more per reload).");
	fprintf(fp, "asockd_generation %u\n", master_stats.generation);

	head(fp, "asockd_bus_dropped_messages_total", "counter",
	    "Plugin bus messages lost: publishes refused (Redis down, a full"
	    " queue), messages for a subscriber that fell behind, and those"
	    " lost with a Redis connection.");
	fprintf(fp, "asockd_bus_dropped_messages_total %llu\n",
	    (unsigned long long)s.bus_dropped);

	listeners_out(fp, &s, lv);
	plugins_out(fp, &s);
	wo.fp = fp;
	for (wo.what = 0; wo.what < W_COUNT; wo.what++) {
		head(fp, wnames[wo.what][0], wnames[wo.what][1],
		    wnames[wo.what][2]);
		master_each_worker(worker_cb, &wo);
	}
	ctr_sum_free(&s);
	free(lv);
	if (fclose(fp) != 0)
		fatal("open_memstream");
	return buf;
}

static void
client_free(struct mclient *m)
{
	int	 i;

	ev_io_stop(proc.loop, &m->io);
	ev_timer_stop(proc.loop, &m->timer);
	close(m->fd);
	for (i = 0; i < CLIENTS_MAX; i++)
		if (clients[i] == m)
			clients[i] = NULL;
	free(m->out);
	free(m);
}

static void
client_answer(struct mclient *m, const char *status, const char *body,
    size_t len)
{
	char	*hdr;
	int	 n;

	n = xasprintf(&hdr, "HTTP/1.1 %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n\r\n", status,
	    strncmp(status, "200", 3) == 0 ?
	    "text/plain; version=0.0.4; charset=utf-8" : "text/plain", len);
	m->out = xmalloc(n + len);
	memcpy(m->out, hdr, n);
	memcpy(m->out + n, body, len);
	m->outlen = n + len;
	free(hdr);
	ev_io_stop(proc.loop, &m->io);
	ev_io_set(&m->io, m->fd, EV_WRITE);
	ev_io_start(proc.loop, &m->io);
}

static void
client_request(struct mclient *m)
{
	char	*text, *sp, *path;
	size_t	 len;

	if ((sp = strchr(m->req, ' ')) == NULL) {
		client_answer(m, "400 Bad Request", "bad request\n", 12);
		return;
	}
	path = sp + 1;
	if (strncmp(m->req, "GET ", 4) != 0) {
		client_answer(m, "405 Method Not Allowed", "GET only\n", 9);
		return;
	}
	if (strncmp(path, "/metrics ", 9) != 0 &&
	    strncmp(path, "/metrics?", 9) != 0) {
		client_answer(m, "404 Not Found", "try /metrics\n", 13);
		return;
	}
	text = metrics_text(&len);
	client_answer(m, "200 OK", text, len);
	free(text);
}

static void
client_cb(struct ev_loop *l, ev_io *w, int revents)
{
	struct mclient	*m = w->data;
	ssize_t		 n;

	if (m->out != NULL) {
		n = write(m->fd, m->out + m->off, m->outlen - m->off);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0 || (m->off += n) == m->outlen)
			client_free(m);
		return;
	}
	n = read(m->fd, m->req + m->reqlen, sizeof(m->req) - 1 - m->reqlen);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		client_free(m);
		return;
	}
	m->reqlen += n;
	m->req[m->reqlen] = '\0';
	if (strstr(m->req, "\r\n\r\n") != NULL ||
	    strstr(m->req, "\n\n") != NULL)
		client_request(m);
	else if (m->reqlen == sizeof(m->req) - 1)
		client_answer(m, "431 Request Header Fields Too Large",
		    "request too large\n", 18);
}

static void
client_timeout_cb(struct ev_loop *l, ev_timer *t, int revents)
{
	client_free(t->data);
}

static void
accept_cb(struct ev_loop *l, ev_io *w, int revents)
{
	struct mclient	*m;
	int		 fd, i;

	while ((fd = accept4(mfd, NULL, NULL, SOCK_NONBLOCK |
	    SOCK_CLOEXEC)) != -1) {
		for (i = 0; i < CLIENTS_MAX && clients[i] != NULL; i++)
			;
		if (i == CLIENTS_MAX) {
			close(fd);
			continue;
		}
		m = xcalloc(1, sizeof(*m));
		m->fd = fd;
		clients[i] = m;
		ev_io_init(&m->io, client_cb, fd, EV_READ);
		m->io.data = m;
		ev_io_start(l, &m->io);
		ev_timer_init(&m->timer, client_timeout_cb, CLIENT_TIMEOUT, 0.);
		m->timer.data = m;
		ev_timer_start(l, &m->timer);
	}
	if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
	    errno != ECONNABORTED)
		log_warn("metrics: accept4");
}

int
metrics_open(const struct config *cf)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);
	char			 uri[160];
	int			 one = 1;

	mfd = socket(cf->metrics_addr.ss.ss_family, SOCK_STREAM |
	    SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (mfd == -1) {
		log_err("metrics: socket");
		return -1;
	}
	setsockopt(mfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(mfd, (const struct sockaddr *)&cf->metrics_addr.ss,
	    cf->metrics_addr.sslen) == -1 || listen(mfd, 64) == -1) {
		log_err("%s: daemon.metrics: bind %s", cf->file, cf->metrics);
		close(mfd);
		mfd = -1;
		return -1;
	}
	if (getsockname(mfd, (struct sockaddr *)&ss, &len) == 0) {
		addr_uri(ASOCKD_TCP, (struct sockaddr *)&ss, len, uri,
		    sizeof(uri));
		log_info("metrics: serving GET /metrics on %s", uri);
	}
	ev_io_init(&accept_io, accept_cb, mfd, EV_READ);
	ev_io_start(proc.loop, &accept_io);
	ev_unref(proc.loop);
	return 0;
}

void
metrics_close(void)
{
	int	 i;

	for (i = 0; i < CLIENTS_MAX; i++)
		if (clients[i] != NULL)
			client_free(clients[i]);
	if (mfd == -1)
		return;
	ev_ref(proc.loop);
	ev_io_stop(proc.loop, &accept_io);
	close(mfd);
	mfd = -1;
}
