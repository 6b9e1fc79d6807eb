/*
 * main.c - command line and start-up.
 *
 * Start-up order: parse and validate the config (no side effects); for
 * -t, load every plugin, run its validate hook and exit.  Otherwise the
 * master (master.c) binds every listener, forks the workers (worker.c),
 * which load and initialise the plugins and accept, and reports ready once
 * all of them are up.  Any failure before "ready" exits 1 with the reason
 * on stderr.
 */
#include <sys/resource.h>

#include <getopt.h>
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
"A master process binds the listeners and runs daemon.workers worker\n"
"processes (0: one per CPU) that load the plugins and serve; a worker that\n"
"dies is replaced.  Signals to the master: SIGTERM or SIGINT stop\n"
"gracefully (queued output is flushed, at most daemon.shutdown_timeout\n"
"seconds); SIGHUP reloads the config without dropping a connection (an\n"
"invalid one is logged and ignored); SIGUSR1 reopens daemon.log_file\n"
"after rotation.  Logs go to daemon.log_file when set, else to stderr\n"
"(-f) or syslog.\n"
"Docs: docs/config.md, docs/plugins.md, asockd(8), asockd.conf(5).\n",
	    DEFAULT_CONFIG);
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
	plugin_unload_all(&instances);
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

int
main(int argc, char *argv[])
{
	const char	*config_file = DEFAULT_CONFIG;
	const char	*plugin_dir = NULL;
	char		*abs_config = NULL;
	int		 ch, rc, test = 0, foreground = 0, level = -1;

	log_init(LOG_TO_STDERR, LOG_INFO);
	/* files the daemon reads or runs may be owned by root or by us */
	perm_init();
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
	/*
	 * An absolute config path: paths in the config are relative to its
	 * directory, and a reload must find it again after daemon(3) moved
	 * the working directory to /.  A missing file keeps its name, for
	 * the error message.
	 */
	if ((abs_config = realpath(config_file, NULL)) != NULL)
		config_file = abs_config;
	if ((conf = config_load(config_file, plugin_dir)) == NULL) {
		fprintf(stderr, "asockd: %s: configuration has errors\n",
		    config_file);
		free(abs_config);
		return 1;
	}
	if (level == -1)
		log_setlevel(conf->log_level);
	if ((loop = ev_default_loop(EVFLAG_AUTO)) == NULL)
		fatalx("cannot initialise libev");
	if (test) {
		rc = config_test();
		config_free(conf);
	} else {
		raise_nofile();
		rc = master_run(plugin_dir, foreground);
		if (conf != NULL)
			config_free(conf);
	}
	free(abs_config);
	ev_loop_destroy(loop);
	return rc;
}
