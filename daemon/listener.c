/*
 * listener.c - listening sockets: bind, accept, and pausing under pressure.
 *
 * Every listener of the config is bound before any plugin code runs.  The
 * accept watcher takes up to ACCEPT_BATCH connections per event.  When the
 * process runs out of descriptors (EMFILE/ENFILE) or memory, accepting
 * stops on every listener and a timer re-arms it, so the loop does not
 * spin on a readable listener it cannot serve; a listener at its
 * max_connections stops accepting until one of its connections closes.
 * Connections wait in the kernel's backlog meanwhile; nothing is dropped.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "asockd.h"

#define ACCEPT_BATCH	64
#define ACCEPT_RETRY	0.1	/* seconds between retries under EMFILE */
#define PRESSURE_REPORT	60.0	/* seconds between "still" lines */

struct listeners	 listeners = TAILQ_HEAD_INITIALIZER(listeners);
unsigned int		 listener_share = 1;
static ev_timer		 accept_retry;
static int		 accept_paused;	/* out of fds: all stopped */
/* One episode of fd (or memory) pressure, logged at start, every
 * PRESSURE_REPORT seconds and at its end, not at every retry. */
static struct {
	int		 on;
	ev_tstamp	 since, reported;
	unsigned long	 fails;
} pressure;

/* Count a refusal of the access policy on l, by its reason. */
void
listener_refused(struct asockd_listener *l, int r)
{
	if (r >= POLICY_DENY && r <= POLICY_PROXY)
		CTR_ADD(l->ctr->refused[CTR_REFUSE_DENY + r - POLICY_DENY],
		    1);
}

static void	 listener_accept_cb(struct ev_loop *, ev_io *, int);

/*
 * This process's share of l's max_connections.  Every worker accepts from
 * the same socket; one at its share stops accepting and leaves the next
 * connection in the shared backlog for the others, so all of them
 * together hold max_connections (rounded up to a multiple of the workers).
 */
static unsigned int
listener_max(const struct asockd_listener *l)
{
	unsigned int	 max = (unsigned int)l->conf->max_connections;
	unsigned int	 n = l->conf->workers == 1 ? 1 : listener_share;

	if (n <= 1)
		return max;
	return max / n + (max % n != 0);
}

/* Replace a stale unix socket file; refuse one that is in use. */
static int
unix_prepare(struct listener_conf *lc)
{
	const struct sockaddr_un *sun =
	    (const struct sockaddr_un *)&lc->addr.ss;
	struct stat		 st;
	int			 fd, r;

	if (lstat(sun->sun_path, &st) == -1)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISSOCK(st.st_mode)) {
		log_errx("%s:%d: listener %s: %s exists and is not a socket",
		    lc->file, lc->line, lc->name, sun->sun_path);
		return -1;
	}
	/* a socket file nobody accepts on is stale */
	fd = socket(AF_UNIX, (lc->addr.kind == ASOCKD_UNIX ? SOCK_STREAM :
	    SOCK_DGRAM) | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	r = connect(fd, (const struct sockaddr *)sun, lc->addr.sslen);
	close(fd);
	if (r == 0) {
		log_errx("%s:%d: listener %s: %s is in use by another process",
		    lc->file, lc->line, lc->name, sun->sun_path);
		return -1;
	}
	log_info("listener %s: removing stale socket %s", lc->name,
	    sun->sun_path);
	if (unlink(sun->sun_path) == -1 && errno != ENOENT) {
		log_warn("unlink %s", sun->sun_path);
		return -1;
	}
	return 0;
}

/*
 * Give a freshly bound unix socket file its owner, group and mode: the
 * mode is set explicitly, so it does not depend on the umask (a socket
 * bound under umask 000 would be 0777, open to every local user).
 */
static int
unix_perms(const struct listener_conf *lc)
{
	const struct sockaddr_un *sun =
	    (const struct sockaddr_un *)&lc->addr.ss;

	if ((lc->uid != (uid_t)-1 || lc->gid != (gid_t)-1) &&
	    chown(sun->sun_path, lc->uid, lc->gid) == -1) {
		log_err("%s:%d: listener %s: chown %s", lc->file, lc->line,
		    lc->name, sun->sun_path);
		unlink(sun->sun_path);
		return -1;
	}
	if (chmod(sun->sun_path, (mode_t)lc->mode) == -1) {
		log_err("%s:%d: listener %s: chmod %s", lc->file, lc->line,
		    lc->name, sun->sun_path);
		unlink(sun->sun_path);
		return -1;
	}
	return 0;
}

/* 1 when this process may bind port (CAP_NET_BIND_SERVICE, or high). */
static int
port_allowed(int port)
{
	FILE			*fp;
	char			 line[256];
	unsigned long long	 cap = 0;
	int			 start = 1024;

	if (port == 0)
		return 1;
	if ((fp = fopen("/proc/sys/net/ipv4/ip_unprivileged_port_start",
	    "re")) != NULL) {
		if (fscanf(fp, "%d", &start) != 1)
			start = 1024;
		fclose(fp);
	}
	if (port >= start)
		return 1;
	if ((fp = fopen("/proc/self/status", "re")) == NULL)
		return 1;	/* cannot tell: let bind decide */
	while (fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, "CapEff: %llx", &cap) == 1)
			break;
	fclose(fp);
	return (cap & (1ULL << 10)) != 0;	/* CAP_NET_BIND_SERVICE */
}

/* What listener_bind() needs of a unix socket path, checked for -t. */
static int
unix_check(const struct listener_conf *lc)
{
	const struct sockaddr_un *sun =
	    (const struct sockaddr_un *)&lc->addr.ss;
	struct stat		 st;
	char			 dir[sizeof(sun->sun_path)], *slash;
	const char		*why = NULL;

	snprintf(dir, sizeof(dir), "%s", sun->sun_path);
	if ((slash = strrchr(dir, '/')) != NULL)
		slash[slash == dir] = '\0';
	if (stat(dir, &st) == -1)
		why = strerror(errno);
	else if (!S_ISDIR(st.st_mode))
		why = "not a directory";
	else if (access(dir, W_OK | X_OK) == -1)
		why = strerror(errno);
	if (why != NULL) {
		log_errx("%s:%d: listener %s: cannot bind %s: directory %s:"
		    " %s", lc->file, lc->line, lc->name, sun->sun_path, dir,
		    why);
		return -1;
	}
	if (lstat(sun->sun_path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
		log_errx("%s:%d: listener %s: %s exists and is not a socket",
		    lc->file, lc->line, lc->name, sun->sun_path);
		return -1;
	}
	return 0;
}

int
listener_check_all(const struct config *cf)
{
	struct listener_conf	*lc;
	int			 errors = 0;

	TAILQ_FOREACH(lc, &cf->listeners, entry) {
		switch (lc->addr.kind) {
		case ASOCKD_UNIX:
		case ASOCKD_UNIX_DGRAM:
			if (unix_check(lc) == -1)
				errors++;
			break;
		case ASOCKD_TCP:
		case ASOCKD_UDP:
			if (port_allowed(lc->addr.port))
				break;
			log_errx("%s:%d: listener %s: port %d is privileged"
			    " and this process may not bind it (no "
			    "CAP_NET_BIND_SERVICE)", lc->file, lc->line,
			    lc->name, lc->addr.port);
			errors++;
			break;
		}
	}
	return errors ? -1 : 0;
}

static int
listener_bind(struct asockd_listener *l)
{
	struct listener_conf	*lc = l->conf;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen = sizeof(ss);
	int			 fd, type, r, one = 1;
	mode_t			 mask = 0;
	int			 stream = l->kind == ASOCKD_TCP ||
				    l->kind == ASOCKD_UNIX;

	type = (stream ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK |
	    SOCK_CLOEXEC;
	if ((l->kind == ASOCKD_UNIX || l->kind == ASOCKD_UNIX_DGRAM) &&
	    unix_prepare(lc) == -1)
		return -1;
	if ((fd = socket(lc->addr.ss.ss_family, type, 0)) == -1) {
		log_err("%s:%d: listener %s: socket", lc->file, lc->line,
		    lc->name);
		return -1;
	}
	if (lc->addr.ss.ss_family != AF_UNIX)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (lc->addr.ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &lc->ipv6only,
		    sizeof(lc->ipv6only));
	/* a unix socket file is born 0600 and then given its mode */
	if (lc->addr.ss.ss_family == AF_UNIX)
		mask = umask(0177);
	r = bind(fd, (struct sockaddr *)&lc->addr.ss, lc->addr.sslen);
	if (lc->addr.ss.ss_family == AF_UNIX)
		umask(mask);
	if (r == -1) {
		log_err("%s:%d: listener %s: bind %s", lc->file, lc->line,
		    lc->name, lc->listen);
		close(fd);
		return -1;
	}
	if (lc->addr.ss.ss_family == AF_UNIX && unix_perms(lc) == -1) {
		close(fd);
		return -1;
	}
	if (stream && listen(fd, lc->backlog) == -1) {
		log_err("%s:%d: listener %s: listen", lc->file, lc->line,
		    lc->name);
		close(fd);
		return -1;
	}
	l->fd = fd;
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == -1)
		sslen = 0;
	addr_uri(l->kind, (struct sockaddr *)&ss, sslen, l->uri,
	    sizeof(l->uri));
	return 0;
}

/* Take a socket-activated fd for l when one carries its name. */
static int
listener_inherit(struct asockd_listener *l, int *fds, char **names, int n)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	int			 i, type, want, acc;

	for (i = 0; i < n; i++) {
		if (fds[i] == -1 || strcmp(names[i], l->conf->name) != 0)
			continue;
		len = sizeof(type);
		want = (l->kind == ASOCKD_TCP || l->kind == ASOCKD_UNIX) ?
		    SOCK_STREAM : SOCK_DGRAM;
		if (getsockopt(fds[i], SOL_SOCKET, SO_TYPE, &type, &len) == -1
		    || type != want) {
			log_errx("listener %s: inherited fd %d is not a %s"
			    " socket", l->conf->name, fds[i],
			    want == SOCK_STREAM ? "stream" : "datagram");
			return -1;
		}
		/* accept(2) on a stream socket never listen()ed: EINVAL */
		len = sizeof(acc);
		if (want == SOCK_STREAM && (getsockopt(fds[i], SOL_SOCKET,
		    SO_ACCEPTCONN, &acc, &len) == -1 || !acc)) {
			log_errx("listener %s: inherited fd %d is not"
			    " listening (a socket unit needs ListenStream="
			    " and Accept=no)", l->conf->name, fds[i]);
			return -1;
		}
		len = sizeof(ss);
		if (getsockname(fds[i], (struct sockaddr *)&ss, &len) == -1)
			len = 0;
		if (len > 0 && ss.ss_family != l->conf->addr.ss.ss_family) {
			log_errx("listener %s: inherited fd %d has another"
			    " address family than %s", l->conf->name, fds[i],
			    l->conf->listen);
			return -1;
		}
		l->fd = fds[i];
		fds[i] = -1;
		l->inherited = 1;
		if (fd_nonblock(l->fd) == -1)
			return -1;
		addr_uri(l->kind, (struct sockaddr *)&ss, len, l->uri,
		    sizeof(l->uri));
		return 1;
	}
	return 0;
}

/* The PROXY header of a connection to arg was read: serve it. */
static void
listener_proxied(void *arg, int fd, const struct sockaddr *sa,
    socklen_t len, struct policy_peer *pp)
{
	struct asockd_listener	*l = arg;

	if (l->fd == -1 || l->inst == NULL) {
		close(fd);
		policy_peer_free(pp);
		return;
	}
	conn_accept(l, fd, sa, len, pp);
}

static void
accept_retry_cb(struct ev_loop *lp, ev_timer *w, int revents)
{
	accept_paused = 0;
	listener_start_all();
}

/* accept4 failed for want of fds or memory: log the episode sparingly. */
static void
pressure_fail(const struct asockd_listener *l)
{
	ev_tstamp	 now = ev_now(proc.loop);

	if (!pressure.on) {
		pressure.on = 1;
		pressure.since = pressure.reported = now;
		pressure.fails = 1;
		log_warnx("listener %s: accept4: %s (not accepting; retrying"
		    " every %.1f s)", l->conf->name, strerror(errno),
		    ACCEPT_RETRY);
		return;
	}
	pressure.fails++;
	if (now - pressure.reported >= PRESSURE_REPORT) {
		pressure.reported = now;
		log_warnx("listener %s: accept4: %s: still failing after"
		    " %.0f s (%lu attempts)", l->conf->name, strerror(errno),
		    now - pressure.since, pressure.fails);
	}
}

static void
pressure_end(void)
{
	if (!pressure.on)
		return;
	pressure.on = 0;
	log_notice("resuming accepting connections after %.1f s (%lu accept4"
	    " attempts failed)", ev_now(proc.loop) - pressure.since,
	    pressure.fails);
}

/*
 * Add a listener for lc to the list and bind it, or take its socket from
 * the nfds activated fds.  No plugin yet: the worker sets l->inst.
 */
static int
listener_open(struct listener_conf *lc, int *fds, char **names, int nfds)
{
	struct asockd_listener	*l;
	int			 r;

	l = xcalloc(1, sizeof(*l));
	l->conf = lc;
	l->ctr = &ctr_sink;
	l->kind = lc->addr.kind;
	l->fd = -1;
	TAILQ_INIT(&l->conns);
	TAILQ_INSERT_TAIL(&listeners, l, entry);
	if ((r = listener_inherit(l, fds, names, nfds)) == -1)
		return -1;
	if (r == 0 && listener_bind(l) == -1)
		return -1;
	log_notice("listener %s: listening on %s%s", lc->name, l->uri,
	    l->inherited ? " (socket activation)" : "");
	return 0;
}

int
listener_open_all(struct config *cf)
{
	struct listener_conf	*lc;
	int			*fds = NULL, nfds, i, rv = 0;
	char			**names = NULL;

	ev_init(&accept_retry, accept_retry_cb);
	policy_on_proxied(listener_proxied);
	nfds = sd_listen_fds(&fds, &names);
	TAILQ_FOREACH(lc, &cf->listeners, entry)
		if (listener_open(lc, fds, names, nfds) == -1) {
			rv = -1;
			break;
		}
	for (i = 0; i < nfds; i++) {
		if (fds[i] != -1) {
			if (rv == 0)
				log_warnx("socket activation: fd %d (%s) "
				    "matches no listener: closed", fds[i],
				    names[i]);
			close(fds[i]);
		}
		free(names[i]);
	}
	free(fds);
	free(names);
	return rv;
}

static int
fd_in(struct listeners *head, int fd)
{
	struct asockd_listener	*l;

	TAILQ_FOREACH(l, head, entry)
		if (l->fd == fd)
			return 1;
	return 0;
}

void
listener_drop(struct listeners *head, struct listeners *keep, int logit)
{
	struct asockd_listener	*l;

	while ((l = TAILQ_FIRST(head)) != NULL) {
		TAILQ_REMOVE(head, l, entry);
		if (l->fd != -1 && !fd_in(keep, l->fd)) {
			if (logit)
				log_notice("listener %s: closed (not in the"
				    " new configuration)", l->conf->name);
			listener_shut(l);
		}
		policy_proxy_cancel(l);
		free(l);
	}
}

int
listener_swap(struct config *nc, struct listeners *oldl)
{
	struct listener_conf	*lc;
	struct asockd_listener	*l, *o;

	TAILQ_INIT(oldl);
	TAILQ_CONCAT(oldl, &listeners, entry);
	TAILQ_FOREACH(lc, &nc->listeners, entry) {
		TAILQ_FOREACH(o, oldl, entry)
			if (o->fd != -1 && o->kind == lc->addr.kind &&
			    strcmp(o->conf->name, lc->name) == 0 &&
			    strcmp(o->conf->listen, lc->listen) == 0)
				break;
		if (o == NULL) {
			/* activation's fds were taken at start-up */
			if (listener_open(lc, NULL, NULL, 0) == -1) {
				listener_drop(&listeners, oldl, 0);
				TAILQ_CONCAT(&listeners, oldl, entry);
				return -1;
			}
			continue;
		}
		/* the old socket is kept, and with it its IPV6_V6ONLY */
		if (o->conf->ipv6only != lc->ipv6only &&
		    lc->addr.ss.ss_family == AF_INET6)
			log_warnx("%s:%d: listener %s: ipv6only changes only "
			    "when the daemon restarts (the socket is kept "
			    "across a reload)", lc->file, lc->line, lc->name);
		l = xcalloc(1, sizeof(*l));
		l->conf = lc;
		l->ctr = &ctr_sink;
		l->kind = o->kind;
		l->fd = o->fd;
		l->inherited = o->inherited;
		memcpy(l->uri, o->uri, sizeof(l->uri));
		TAILQ_INIT(&l->conns);
		TAILQ_INSERT_TAIL(&listeners, l, entry);
	}
	return 0;
}

void
listener_start_all(void)
{
	struct asockd_listener	*l;

	TAILQ_FOREACH(l, &listeners, entry) {
		if (l->fd == -1 || l->inst == NULL)
			continue;
		if (l->kind == ASOCKD_UDP || l->kind == ASOCKD_UNIX_DGRAM) {
			dgram_start(l);
			continue;
		}
		if (accept_paused || l->disabled ||
		    l->nconns >= listener_max(l))
			continue;
		if (!ev_is_active(&l->io)) {
			ev_io_init(&l->io, listener_accept_cb, l->fd, EV_READ);
			l->io.data = l;
			ev_io_start(proc.loop, &l->io);
		}
		l->paused = 0;
	}
}

void
listener_stop_all(void)
{
	struct asockd_listener	*l;

	TAILQ_FOREACH(l, &listeners, entry)
		ev_io_stop(proc.loop, &l->io);
	ev_timer_stop(proc.loop, &accept_retry);
}

void
listener_shut(struct asockd_listener *l)
{
	const struct sockaddr_un *sun;

	policy_proxy_cancel(l);
	if (l->fd == -1)
		return;
	close(l->fd);
	l->fd = -1;
	sun = (const struct sockaddr_un *)&l->conf->addr.ss;
	if ((l->kind == ASOCKD_UNIX || l->kind == ASOCKD_UNIX_DGRAM) &&
	    !l->inherited)
		unlink(sun->sun_path);
}

void
listener_close_all(void)
{
	struct asockd_listener	*l;

	listener_stop_all();
	TAILQ_FOREACH(l, &listeners, entry)
		listener_shut(l);
}

/* Free the listener structs (after every connection is gone). */
void
listener_free_all(void)
{
	struct asockd_listener	*l;

	listener_close_all();
	while ((l = TAILQ_FIRST(&listeners)) != NULL) {
		TAILQ_REMOVE(&listeners, l, entry);
		policy_proxy_cancel(l);
		free(l);
	}
}

void
listener_conn_gone(struct asockd_listener *l)
{
	if (l->paused && !accept_paused && !proc.shutting_down && l->fd != -1 &&
	    !l->disabled && l->nconns < listener_max(l)) {
		l->paused = 0;
		ev_io_start(proc.loop, &l->io);
	}
}

static void
listener_accept_cb(struct ev_loop *lp, ev_io *w, int revents)
{
	struct asockd_listener	*l = w->data;
	struct sockaddr_storage	 ss;
	struct linger		 lg = { 1, 0 };
	socklen_t		 len;
	struct policy_peer	*pp;
	int			 fd, i, r, slot = -1;

	for (i = 0; i < ACCEPT_BATCH; i++) {
		if (l->nconns >= listener_max(l)) {
			log_notice("listener %s: max_connections (%d) reached"
			    " (%u in this worker), not accepting",
			    l->conf->name, l->conf->max_connections,
			    listener_max(l));
			ev_io_stop(lp, &l->io);
			l->paused = 1;
			CTR_ADD(l->ctr->refused[CTR_REFUSE_MAXCONN], 1);
			return;
		}
		len = sizeof(ss);
		fd = accept4(l->fd, (struct sockaddr *)&ss, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			switch (errno) {
			case EAGAIN:
#if EAGAIN != EWOULDBLOCK
			case EWOULDBLOCK:
#endif
				pressure_end();
				return;
			case EINTR:
			case ECONNABORTED:
			case EPROTO:
				continue;
			case EMFILE:
			case ENFILE:
			case ENOBUFS:
			case ENOMEM:
				pressure_fail(l);
				/* stop everything; retry from a timer */
				listener_stop_all();
				accept_paused = 1;
				ev_timer_set(&accept_retry, ACCEPT_RETRY, 0.);
				ev_timer_start(lp, &accept_retry);
				return;
			default:
				log_warn("listener %s: accept4", l->conf->name);
				return;
			}
		}
		if (len == 0 || ss.ss_family == AF_UNIX) {
			/* unix peers are mostly unnamed: name the listener */
			struct sockaddr_un *sun = (struct sockaddr_un *)&ss;

			if (len <= offsetof(struct sockaddr_un, sun_path) ||
			    sun->sun_path[0] == '\0') {
				len = l->conf->addr.sslen;
				memcpy(&ss, &l->conf->addr.ss, len);
			}
		}
		pressure_end();
		if (l->conf->proxy_protocol != 0) {
			/* the peer is who the PROXY header names */
			if (!policy_proxy_trusted(l->conf, l->kind, fd,
			    (struct sockaddr *)&ss, len)) {
				CTR_ADD(l->ctr->refused[CTR_REFUSE_PROXY], 1);
				setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg,
				    sizeof(lg));
				close(fd);
			} else
				policy_proxy_start(l->conf, l->kind, fd,
				    (struct sockaddr *)&ss, len, l);
			continue;
		}
		if (policy_active(l->conf) && (r = policy_admit(l->conf,
		    l->kind, fd, (struct sockaddr *)&ss, len, &slot)) < 0) {
			/* refused: closed at once, no plugin callback */
			listener_refused(l, -r);
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
			close(fd);
			continue;
		}
		pp = NULL;
		if (slot != -1) {
			pp = xcalloc(1, sizeof(*pp));
			pp->slot = slot;
		}
		conn_accept(l, fd, (struct sockaddr *)&ss, len, pp);
	}
}

/*
 * Disabled, a listener keeps its socket (clients queue in the backlog and
 * are served once it is enabled again) and this worker stops accepting.
 */
void
listener_disable(struct asockd_listener *l, int on)
{
	l->disabled = on != 0;
	if (on)
		ev_io_stop(proc.loop, &l->io);
	else if (!proc.shutting_down)
		listener_start_all();
}

const char *
listener_name(const struct asockd_listener *l)
{
	return l->conf->name;
}

unsigned int
listener_count(void)
{
	struct asockd_listener	*l;
	unsigned int		 n = 0;

	TAILQ_FOREACH(l, &listeners, entry)
		n++;
	return n;
}
