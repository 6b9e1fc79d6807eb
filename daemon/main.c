/*
 * main.c - command line and start-up.
 *
 * Start-up order: parse and validate the config (no side effects); for
 * -t, check what start-up would (config_test), load every plugin in a
 * child with the workers' identity, run its hooks and exit.  Otherwise
 * the master (master.c) binds every listener, forks the workers
 * (worker.c), which load and initialise the plugins and accept, and
 * reports ready once all of them are up.  Any failure before "ready"
 * exits 1 with the reason on stderr; without -f the command waits for
 * that outcome while the detached master starts (master.c: detach()).
 */
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
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
#ifndef PLUGINDIR
#define PLUGINDIR "/usr/local/lib/asockd"
#endif
#define OPT_PLUGIN_HELP	256	/* long option only */


static const struct option longopts[] = {
	{ "config",	required_argument,	NULL, 'c' },
	{ "test",	no_argument,		NULL, 't' },
	{ "test-dump",	no_argument,		NULL, 'T' },
	{ "foreground",	no_argument,		NULL, 'f' },
	{ "log-level",	required_argument,	NULL, 'l' },
	{ "plugin-dir",	required_argument,	NULL, 'P' },
	{ "plugin-help", required_argument,	NULL, OPT_PLUGIN_HELP },
	{ "version",	no_argument,		NULL, 'V' },
	{ "help",	no_argument,		NULL, 'h' },
	{ NULL,		0,			NULL, 0 }
};

static void
usage(FILE *fp)
{
	fprintf(fp,
"usage: asockd [-fTtVh] [-c FILE] [-l LEVEL] [-P DIR]\n"
"       asockd [-P DIR] --plugin-help NAME|PATH\n"
"\n"
"asockd accepts connections on the endpoints its config file names and\n"
"hands every socket event to a handler plugin.\n"
"\n"
"  -c, --config FILE     config file (default %s)\n"
"  -t, --test            check the config and what start-up checks (unix\n"
"                        socket directories, ports, file permissions), load\n"
"                        every plugin as daemon.user and run its init and\n"
"                        validate hooks, print \"configuration OK\" and exit\n"
"  -T, --test-dump       as -t, then print the config as the daemon\n"
"                        understands it (defaults filled in, @include and\n"
"                        conf.d/ merged) on stdout\n"
"  -f, --foreground      stay in the foreground and log to stderr\n"
"                        (with <N> priority prefixes under systemd);\n"
"                        without it asockd detaches and exits 0 once it\n"
"                        serves, or 1 with the reason if start-up fails\n"
"  -l, --log-level LEVEL err, warning, notice, info or debug\n"
"                        (overrides daemon.log_level)\n"
"  -P, --plugin-dir DIR  load plugins from DIR (overrides daemon.plugin_dir)\n"
"      --plugin-help NAME  print the settings a plugin declares for its INI\n"
"                        file (key, type, range, default, help) and exit;\n"
"                        NAME is DIR/NAME.so (DIR from -P, default %s),\n"
"                        a path with a '/' is used as is\n"
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
"(-f) or syslog.  Plugins share state over a message bus that the master\n"
"relays between its workers, or, with daemon.bus, a Redis shared by every\n"
"asockd that names it (docs/scaling.md).\n"
"Docs: docs/config.md, docs/plugins.md, asockd(8), asockd.conf(5).\n",
	    DEFAULT_CONFIG, PLUGINDIR);
}

static int
plugins_load(void)
{
	struct plugin_conf	*pc;
	struct asockd_instance	*inst;
	int			 errors = 0;

	TAILQ_FOREACH(pc, &proc.conf->plugins, entry) {
		if ((inst = plugin_load(proc.conf, pc)) == NULL) {
			errors++;
			continue;
		}
		TAILQ_INSERT_TAIL(&proc.instances, inst, entry);
	}
	return errors ? -1 : 0;
}

/* The workers' part of -t: load, init and validate every plugin. */
static int
plugins_check(void)
{
	struct asockd_instance	*inst;
	int			 errors = 0;

	if (plugins_load() == -1)
		errors++;
	TAILQ_FOREACH(inst, &proc.instances, entry) {
		if (plugin_init(inst) == -1 || plugin_validate(inst) == -1)
			errors++;
	}
	plugin_unload_all(&proc.instances);
	return errors ? -1 : 0;
}

/*
 * Run plugins_check() in a child that first switches to daemon.user and
 * daemon.group as a worker does (worker_privs), so that plugin code never
 * runs as root here either, and a file only root can read fails now
 * rather than at start-up.
 */
static int
plugins_check_as_worker(void)
{
	pid_t	 pid;
	int	 status;

	fflush(NULL);
	if ((pid = fork()) == -1) {
		log_warn("fork");
		return -1;
	}
	if (pid == 0) {
		ev_loop_fork(proc.loop);
		if (worker_privs(proc.conf, 1) == -1) {
			log_warnx("%s: cannot switch to daemon.user/group as "
			    "the workers do", proc.conf->file);
			_exit(1);
		}
		status = plugins_check() == -1 ? 1 : 0;
		fflush(NULL);
		_exit(status);
	}
	while (waitpid(pid, &status, 0) == -1) {
		if (errno != EINTR) {
			log_warn("waitpid");
			return -1;
		}
	}
	if (WIFSIGNALED(status)) {
		log_warnx("%s: plugin check killed by signal %d",
		    proc.conf->file, WTERMSIG(status));
		return -1;
	}
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* The directory of path (a file start-up creates) must exist. */
static int
dir_check(const char *path, const char *key)
{
	struct stat	 st;
	const char	*why = NULL;
	char		*dir, *slash;
	int		 rc = 0;

	if (path == NULL)
		return 0;
	dir = xstrdup(path);
	if ((slash = strrchr(dir, '/')) == NULL) {
		free(dir);
		return 0;
	}
	slash[slash == dir] = '\0';
	if (stat(dir, &st) == -1)
		why = strerror(errno);
	else if (!S_ISDIR(st.st_mode))
		why = "not a directory";
	if (why != NULL) {
		log_warnx("%s: %s: %s: directory %s: %s", proc.conf->file, key,
		    path, dir, why);
		rc = -1;
	}
	free(dir);
	return rc;
}

/*
 * asockd -t: what start-up checks, short of binding and serving.  The
 * master's part here (daemon.user/group exist, listeners' socket
 * directories and ports, the log and pid files' directories), the
 * workers' part in a child with the workers' identity.
 */
static int
config_test(FILE *okfp)
{
	int	 errors = 0;

	if (worker_privs(proc.conf, 0) == -1)
		errors++;
	else if (plugins_check_as_worker() == -1)
		errors++;
	if (listener_check_all(proc.conf) == -1)
		errors++;
	if (tls_load_all(proc.conf) == -1)
		errors++;
	if (dir_check(proc.conf->log_file, "daemon.log_file") == -1 ||
	    dir_check(proc.conf->pidfile, "daemon.pidfile") == -1 ||
	    dir_check(proc.conf->control, "daemon.control") == -1)
		errors++;
	if (errors) {
		fprintf(stderr, "%s: configuration has errors\n",
		    proc.conf->file);
		return 1;
	}
	fprintf(okfp, "%s: configuration OK\n", proc.conf->file);
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
	const char	*plugin_dir = NULL, *plugin_help_arg = NULL;
	char		*abs_config = NULL;
	int		 ch, rc, test = 0, foreground = 0, level = -1;

	log_init(LOG_TO_STDERR, LOG_INFO);
	/* files the daemon reads or runs may be owned by root or by us */
	perm_init();
	while ((ch = getopt_long(argc, argv, "c:tTfl:P:Vh", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			config_file = optarg;
			break;
		case 't':
			test = 1;
			break;
		case 'T':
			test = 2;
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
		case OPT_PLUGIN_HELP:
			plugin_help_arg = optarg;
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
	if (plugin_help_arg != NULL)
		return plugin_help(plugin_help_arg,
		    plugin_dir ? plugin_dir : PLUGINDIR);
	/*
	 * An absolute config path: paths in the config are relative to its
	 * directory, and a reload must find it again after daemon(3) moved
	 * the working directory to /.  A missing file keeps its name, for
	 * the error message.
	 */
	if ((abs_config = realpath(config_file, NULL)) != NULL)
		config_file = abs_config;
	if ((proc.conf = config_load(config_file, plugin_dir)) == NULL) {
		log_errx("%s: configuration has errors", config_file);
		free(abs_config);
		return 1;
	}
	if (level == -1)
		log_setlevel(proc.conf->log_level);
	if ((proc.loop = ev_default_loop(EVFLAG_AUTO)) == NULL)
		fatalx("cannot initialise libev");
	if (test) {
		rc = config_test(test == 2 ? stderr : stdout);
		if (rc == 0 && test == 2)
			config_dump(stdout, proc.conf);
		config_free(proc.conf);
	} else {
		raise_nofile();
		rc = master_run(plugin_dir, foreground);
		if (proc.conf != NULL)
			config_free(proc.conf);
	}
	free(abs_config);
	ev_loop_destroy(proc.loop);
	return rc;
}
