/*
 * main.c - command line, start-up order, signals, shutdown.
 *
 * Start-up order: parse and validate the config (no side effects), load
 * every plugin and check its descriptor, bind every listener, then run
 * plugin init hooks, start accepting and report ready.  Any failure before
 * "ready" exits 1 with the reason on stderr.
 *
 * Shutdown (SIGTERM/SIGINT): stop accepting and close the listening
 * sockets, close every connection gracefully (its queued output is flushed
 * first), and exit 0 once none are left - or, after shutdown_timeout,
 * abort those that remain and exit 0 all the same.
 */
#include <sys/resource.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "asockd.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/usr/local/etc"
#endif
#define DEFAULT_CONFIG	SYSCONFDIR "/asockd/asockd.conf"

struct ev_loop		*loop;
struct config		*conf;
struct instances	 instances = TAILQ_HEAD_INITIALIZER(instances);
int			 shutting_down;

static ev_signal	 sig_term, sig_int, sig_hup;
static ev_timer		 shutdown_timer;

static const struct option longopts[] = {
	{ "config",	required_argument,	NULL, 'c' },
	{ "test",	no_argument,		NULL, 't' },
	{ "foreground",	no_argument,		NULL, 'f' },
	{ "log-level",	required_argument,	NULL, 'l' },
	{ "plugin-dir",	required_argument,	NULL, 'P' },
	{ "version",	no_argument,		NULL, 'V' },
	{ "help",	no_argument,		NULL, 'h' },
	{ NULL,		0,			NULL, 0 }
};

static void
usage(FILE *fp)
{
	fprintf(fp,
"usage: asockd [-ftVh] [-c FILE] [-l LEVEL] [-P DIR]\n"
"\n"
"asockd accepts connections on the endpoints its config file names and\n"
"hands every socket event to a handler plugin.\n"
"\n"
"  -c, --config FILE     config file (default %s)\n"
"  -t, --test            check the config, load every plugin, run its\n"
"                        validate hook, print \"configuration OK\" and exit\n"
"  -f, --foreground      stay in the foreground and log to stderr\n"
"                        (with <N> priority prefixes under systemd)\n"
"  -l, --log-level LEVEL err, warning, notice, info or debug\n"
"                        (overrides daemon.log_level)\n"
"  -P, --plugin-dir DIR  load plugins from DIR (overrides daemon.plugin_dir)\n"
"  -V, --version         print the version and the plugin ABI version\n"
"  -h, --help            this text\n"
"\n"
"Signals: SIGTERM or SIGINT stop gracefully (queued output is flushed,\n"
"at most daemon.shutdown_timeout seconds).\n"
"Docs: docs/config.md, docs/plugins.md, asockd(8), asockd.conf(5).\n",
	    DEFAULT_CONFIG);
}

static void
shutdown_timeout_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	log_warnx("shutdown: %u connection(s) still open after %.1f s:"
	    " aborting them", conn_count, conf->shutdown_timeout);
	conn_abort_all(ASOCKD_CLOSE_SHUTDOWN);
	ev_break(l, EVBREAK_ALL);
}

void
main_conn_gone(void)
{
	if (shutting_down && conn_count == 0)
		ev_break(loop, EVBREAK_ALL);
}

static void
shutdown_start(const char *why)
{
	if (shutting_down) {
		log_notice("%s again: not waiting for connections", why);
		conn_abort_all(ASOCKD_CLOSE_SHUTDOWN);
		ev_break(loop, EVBREAK_ALL);
		return;
	}
	shutting_down = 1;
	log_notice("%s: shutting down, %u connection(s) open", why,
	    conn_count);
	sd_notifyf("STOPPING=1\nSTATUS=stopping, %u connection(s) open",
	    conn_count);
	listener_close_all();
	conn_close_all(ASOCKD_CLOSE_SHUTDOWN);
	if (conn_count == 0) {
		ev_break(loop, EVBREAK_ALL);
		return;
	}
	ev_timer_init(&shutdown_timer, shutdown_timeout_cb,
	    conf->shutdown_timeout, 0.);
	ev_timer_start(loop, &shutdown_timer);
}

static void
signal_cb(struct ev_loop *l, ev_signal *w, int revents)
{
	switch (w->signum) {
	case SIGTERM:
		shutdown_start("SIGTERM");
		break;
	case SIGINT:
		shutdown_start("SIGINT");
		break;
	case SIGHUP:
		log_warnx("SIGHUP: configuration reload is not supported yet;"
		    " restart the daemon to apply a new configuration");
		break;
	}
}

static int
plugins_load(void)
{
	struct plugin_conf	*pc;
	struct asockd_instance	*inst;
	int			 errors = 0;

	TAILQ_FOREACH(pc, &conf->plugins, entry) {
		if ((inst = plugin_load(conf, pc)) == NULL) {
			errors++;
			continue;
		}
		TAILQ_INSERT_TAIL(&instances, inst, entry);
	}
	return errors ? -1 : 0;
}

static int
plugins_init(void)
{
	struct asockd_instance	*inst;

	TAILQ_FOREACH(inst, &instances, entry)
		if (plugin_init(inst) == -1)
			return -1;
	return 0;
}

static void
plugins_unload(void)
{
	struct asockd_instance	*inst;

	while ((inst = TAILQ_LAST(&instances, instances)) != NULL) {
		TAILQ_REMOVE(&instances, inst, entry);
		plugin_unload(inst);
	}
}

/* asockd -t: config, plugins, their validate hooks. */
static int
config_test(void)
{
	struct asockd_instance	*inst;
	int			 errors = 0;

	if (plugins_load() == -1)
		errors++;
	TAILQ_FOREACH(inst, &instances, entry) {
		if (plugin_init(inst) == -1 || plugin_validate(inst) == -1)
			errors++;
	}
	plugins_unload();
	if (errors) {
		fprintf(stderr, "%s: configuration has errors\n", conf->file);
		return 1;
	}
	printf("%s: configuration OK\n", conf->file);
	return 0;
}

/* Room for many connections: raise the soft fd limit to the hard one. */
static void
raise_nofile(void)
{
	struct rlimit	 rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			log_warn("setrlimit(RLIMIT_NOFILE)");
	}
}

static void
signals_init(void)
{
	struct sigaction	 sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	ev_signal_init(&sig_term, signal_cb, SIGTERM);
	ev_signal_init(&sig_int, signal_cb, SIGINT);
	ev_signal_init(&sig_hup, signal_cb, SIGHUP);
	ev_signal_start(loop, &sig_term);
	ev_signal_start(loop, &sig_int);
	ev_signal_start(loop, &sig_hup);
	/* signal watchers alone do not keep the loop alive */
	ev_unref(loop);
	ev_unref(loop);
	ev_unref(loop);
}

int
main(int argc, char *argv[])
{
	const char	*config_file = DEFAULT_CONFIG;
	const char	*plugin_dir = NULL;
	int		 ch, test = 0, foreground = 0, level = -1;

	log_init(LOG_TO_STDERR, LOG_INFO);
	while ((ch = getopt_long(argc, argv, "c:tfl:P:Vh", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			config_file = optarg;
			break;
		case 't':
			test = 1;
			break;
		case 'f':
			foreground = 1;
			break;
		case 'l':
			if ((level = log_level_parse(optarg)) == -1) {
				fprintf(stderr, "asockd: unknown log level '%s'"
				    " (err, warning, notice, info, debug)\n",
				    optarg);
				return 1;
			}
			break;
		case 'P':
			plugin_dir = optarg;
			break;
		case 'V':
			printf("asockd %s (plugin ABI %d.%d)\n",
			    PACKAGE_VERSION, ASOCKD_ABI_MAJOR,
			    ASOCKD_ABI_MINOR);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "asockd: unexpected argument '%s'\n",
		    argv[optind]);
		usage(stderr);
		return 1;
	}

	if (level != -1)
		log_setlevel(level);
	if ((conf = config_load(config_file, plugin_dir)) == NULL) {
		fprintf(stderr, "asockd: %s: configuration has errors\n",
		    config_file);
		return 1;
	}
	if (level == -1)
		log_setlevel(conf->log_level);
	if ((loop = ev_default_loop(EVFLAG_AUTO)) == NULL)
		fatalx("cannot initialise libev");
	if (test) {
		int rc = config_test();

		config_free(conf);
		return rc;
	}

	raise_nofile();
	if (plugins_load() == -1) {
		log_warnx("%s: a plugin could not be loaded", conf->file);
		return 1;
	}
	if (listener_open_all(conf, &instances) == -1) {
		log_warnx("%s: a listener could not be opened", conf->file);
		listener_free_all();
		plugins_unload();
		return 1;
	}
	if (!foreground) {
		if (daemon(0, 0) == -1)
			fatal("daemon");
		log_init(LOG_TO_SYSLOG, log_getlevel());
	}
	signals_init();
	conn_oob_init();
	connect_init();
	if (plugins_init() == -1) {
		listener_free_all();
		plugins_unload();
		return 1;
	}
	listener_start_all();
	log_notice("asockd %s ready: %u listener(s)", PACKAGE_VERSION,
	    listener_count());
	sd_notifyf("READY=1\nSTATUS=serving %u listener(s)\nMAINPID=%ld",
	    listener_count(), (long)getpid());

	ev_run(loop, 0);

	/* every connection is closed before plugins are finalised */
	if (conn_count > 0)
		conn_abort_all(ASOCKD_CLOSE_SHUTDOWN);
	listener_free_all();
	plugins_unload();
	config_free(conf);
	ev_loop_destroy(loop);
	log_notice("stopped");
	return 0;
}
