/*
 * asockctl.c - asockctl(8): send one command to asockd's control socket.
 *
 * The socket is -s SOCKET, else daemon.control of the config file (-c,
 * default the installed one; a relative path is relative to the file).
 * The protocol is one line, "[json ]COMMAND...", and the answer: "ok"
 * and the text to print, or one line "error: ...", which is printed to
 * stderr with exit code 1.  Nothing here knows the commands: the daemon
 * checks them, so asockctl and the daemon cannot disagree.
 */
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <errno.h>
#include <getopt.h>
#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef SYSCONFDIR
#define SYSCONFDIR	"/usr/local/etc"
#endif
#define DEFAULT_CONFIG	SYSCONFDIR "/asockd/asockd.conf"
#define ANSWER_WAIT	10	/* seconds */

static void
usage(FILE *fp)
{
	fprintf(fp,
"usage: asockctl [-s SOCKET | -c FILE] [--json] COMMAND\n"
"\n"
"Commands:\n"
"  show info | listeners | plugins | workers\n"
"  show conns [LISTENER]     connections of every worker\n"
"  kill conn ID              abort one (ID as show conns prints it)\n"
"  disable listener NAME     stop accepting (clients wait in the backlog)\n"
"  enable listener NAME      accept again\n"
"  reload                    reload the configuration (as SIGHUP)\n"
"  reopen-logs               reopen daemon.log_file (as SIGUSR1)\n"
"  log-level LEVEL           err, warning, notice, info or debug\n"
"\n"
"  -s, --socket SOCKET  the control socket (default: daemon.control of the\n"
"                       config file)\n"
"  -c, --config FILE    config file to read it from (default %s)\n"
"  -j, --json           answer in JSON\n"
"  -h, --help           this text\n", DEFAULT_CONFIG);
}

/* daemon.control of the config file (malloc'd), or NULL after a message. */
static char *
socket_of(const char *file)
{
	config_t	 cf;
	const char	*v, *slash;
	char		*path;

	config_init(&cf);
	if (config_read_file(&cf, file) != CONFIG_TRUE) {
		if (config_error_line(&cf) == 0)
			fprintf(stderr, "asockctl: %s: %s\n", file,
			    strerror(errno));
		else
			fprintf(stderr, "asockctl: %s:%d: %s\n", file,
			    config_error_line(&cf), config_error_text(&cf));
		config_destroy(&cf);
		return NULL;
	}
	if (config_lookup_string(&cf, "daemon.control", &v) != CONFIG_TRUE) {
		fprintf(stderr, "asockctl: %s: no daemon.control (use -s"
		    " SOCKET)\n", file);
		config_destroy(&cf);
		return NULL;
	}
	if (v[0] == '/' || (slash = strrchr(file, '/')) == NULL)
		path = strdup(v);
	else if (asprintf(&path, "%.*s/%s", (int)(slash - file), file,
	    v) == -1)
		path = NULL;
	config_destroy(&cf);
	if (path == NULL) {
		fprintf(stderr, "asockctl: out of memory\n");
		exit(1);
	}
	return path;
}

/* What main allocates, freed at exit whichever way it returns. */
static char	*answer, *sock_found;

static void
cleanup(void)
{
	free(answer);
	free(sock_found);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "socket",	required_argument,	NULL, 's' },
		{ "config",	required_argument,	NULL, 'c' },
		{ "json",	no_argument,		NULL, 'j' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL,		0,			NULL, 0 }
	};
	struct sockaddr_un	 sun;
	struct timeval		 tv = { ANSWER_WAIT, 0 };
	const char		*config = DEFAULT_CONFIG;
	char			*sock = NULL, line[1024], *buf = NULL, *nl;
	size_t			 len = 0, cap = 0;
	ssize_t			 n;
	int			 ch, fd, json = 0, i;

	atexit(cleanup);
	while ((ch = getopt_long(argc, argv, "s:c:jh", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 's':
			sock = optarg;
			break;
		case 'c':
			config = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind == argc) {
		usage(stderr);
		return 1;
	}
	snprintf(line, sizeof(line), "%s", json ? "json" : "");
	for (i = optind; i < argc; i++) {
		if (strlen(line) + strlen(argv[i]) + 3 > sizeof(line)) {
			fprintf(stderr, "asockctl: command too long\n");
			return 1;
		}
		if (line[0] != '\0')
			strcat(line, " ");
		strcat(line, argv[i]);
	}
	strcat(line, "\n");
	if (sock == NULL && (sock = sock_found = socket_of(config)) == NULL)
		return 1;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(sock) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "asockctl: %s: path too long\n", sock);
		return 1;
	}
	memcpy(sun.sun_path, sock, strlen(sock) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		fprintf(stderr, "asockctl: %s: %s (is asockd running with"
		    " daemon.control?)\n", sock, strerror(errno));
		return 1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (write(fd, line, strlen(line)) != (ssize_t)strlen(line)) {
		fprintf(stderr, "asockctl: %s: %s\n", sock, strerror(errno));
		return 1;
	}
	for (;;) {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 65536;
			if ((buf = realloc(buf, cap)) == NULL) {
				fprintf(stderr, "asockctl: out of memory\n");
				return 1;
			}
			answer = buf;
		}
		n = read(fd, buf + len, cap - 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			fprintf(stderr, "asockctl: %s: %s\n", sock,
			    errno == EAGAIN ? "no answer in time" :
			    strerror(errno));
			return 1;
		}
		if (n == 0)
			break;
		len += n;
	}
	close(fd);
	buf[len] = '\0';
	if (strncmp(buf, "ok\n", 3) == 0) {
		fputs(buf + 3, stdout);
		return 0;
	}
	if ((nl = strchr(buf, '\n')) != NULL)
		*nl = '\0';
	fprintf(stderr, "asockctl: %s\n", strncmp(buf, "error: ", 7) == 0 ?
	    buf + 7 : len ? buf : "the daemon closed without an answer");
	return 1;
}
