/*
 * asockd-replay - play a connection recorded by asockd (listener option
 * record = "DIR") into a plugin under libasockd-test, deterministically:
 * the same bytes in the same reads at the same (virtual) times, the
 * peer's EOF, urgent bytes, resets and the backpressure it caused.  It
 * prints what the plugin sent after each event and every contract
 * violation, so a bug seen in production becomes a unit test.
 *
 * Exit status: 0 when the replay ended as the recording did (same close
 * reason) with no contract violation, 1 when not, 2 for bad usage or a
 * file that is not a recording.  The file format is in record.c and
 * docs/testing-plugins.md.
 */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <asockd/test.h>

#define MAGIC		"ASOCKDREC1\n"
#define HDR		13	/* type, 64-bit usec, 32-bit length */
#define SHOW_MAX	256	/* bytes shown per event without --all */

static int	 show_all;

static const char *reasons[] = {
	[ASOCKD_CLOSE_PEER] = "peer", [ASOCKD_CLOSE_RESET] = "reset",
	[ASOCKD_CLOSE_LOCAL] = "local", [ASOCKD_CLOSE_TIMEOUT] = "timeout",
	[ASOCKD_CLOSE_ERROR] = "error", [ASOCKD_CLOSE_SHUTDOWN] = "shutdown",
	[ASOCKD_CLOSE_PROTOCOL] = "protocol",
	[ASOCKD_CLOSE_CONNECT] = "refused",
	[ASOCKD_CLOSE_OVERFLOW] = "overflow",
};

static const char *
reason_name(int r)
{
	if (r == 0)
		return "still open";
	if (r < 0 || (size_t)r >= sizeof(reasons) / sizeof(reasons[0]) ||
	    reasons[r] == NULL)
		return "?";
	return reasons[r];
}

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: asockd-replay [--all] [--ini FILE] --plugin"
	    " PLUGIN.so RECORDING\n"
	    "Replay a connection recorded by asockd (record = \"DIR\") into"
	    " a plugin\nunder libasockd-test and print what it sent.\n"
	    "  --plugin SO   the plugin to run\n"
	    "  --ini FILE    its INI settings file\n"
	    "  --all         print every byte sent (else 256 per event)\n"
	    "  --help        this text\n"
	    "  --version     the version\n");
}

static unsigned char *
slurp(const char *path, size_t *len)
{
	FILE		*fp;
	unsigned char	*buf = NULL;
	size_t		 cap = 0, n;

	*len = 0;
	if ((fp = fopen(path, "rb")) == NULL)
		return NULL;
	for (;;) {
		if (*len + 65536 + 1 > cap) {
			cap = cap ? cap * 2 : 65536 * 2;
			if ((buf = realloc(buf, cap)) == NULL) {
				fprintf(stderr, "asockd-replay: out of"
				    " memory\n");
				exit(2);
			}
		}
		n = fread(buf + *len, 1, 65536, fp);
		*len += n;
		if (n == 0)
			break;
	}
	if (ferror(fp)) {
		free(buf);
		fclose(fp);
		return NULL;
	}
	fclose(fp);
	buf[*len] = '\0';
	return buf;
}

/* The value of key in the accept event's "key=value" lines. */
static const char *
meta(const char *m, const char *key, char *out, size_t outlen)
{
	size_t		 kl = strlen(key), n;
	const char	*p, *e;

	for (p = m; p != NULL && *p != '\0'; p = e ? e + 1 : NULL) {
		e = strchr(p, '\n');
		if (strncmp(p, key, kl) == 0 && p[kl] == '=') {
			n = (e ? (size_t)(e - p) : strlen(p)) - kl - 1;
			if (n >= outlen)
				n = outlen - 1;
			memcpy(out, p + kl + 1, n);
			out[n] = '\0';
			return out;
		}
	}
	return NULL;
}

/* Print what the plugin sent since the last event, escaped. */
static void
print_sent(struct asockd_conn *c, double now)
{
	const unsigned char	*p;
	size_t			 len, i;

	p = asockd_test_output(c, &len);
	if (len == 0)
		return;
	printf("%.6f sent %zu bytes: \"", now, len);
	for (i = 0; i < len && (show_all || i < SHOW_MAX); i++) {
		if (p[i] == '\n')
			fputs("\\n", stdout);
		else if (p[i] == '\r')
			fputs("\\r", stdout);
		else if (p[i] == '\t')
			fputs("\\t", stdout);
		else if (p[i] == '"' || p[i] == '\\')
			printf("\\%c", p[i]);
		else if (p[i] >= 0x20 && p[i] < 0x7f)
			putchar(p[i]);
		else
			printf("\\x%02x", p[i]);
	}
	if (i < len)
		printf("\"... (%zu more bytes)\n", len - i);
	else
		printf("\"\n");
	asockd_test_output_clear(c);
}

static struct asockd_listener *
listener_from(struct asockd_test *t, const char *m)
{
	static const char *opts[] = { "idle_timeout", "sndq_high",
	    "sndq_low", "sndq_max", "max_input", "max_line", "max_frame" };
	struct asockd_listener	*l;
	char			 name[128], v[64];
	size_t			 i;
	int			 kind, framing;

	if (meta(m, "listener", name, sizeof(name)) == NULL)
		snprintf(name, sizeof(name), "replay");
	kind = meta(m, "kind", v, sizeof(v)) ? atoi(v) : ASOCKD_TCP;
	framing = meta(m, "framing", v, sizeof(v)) ? atoi(v) : 0;
	if ((l = asockd_test_listener(t, name, kind, framing)) == NULL)
		return NULL;
	for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		if (meta(m, opts[i], v, sizeof(v)) != NULL)
			(void)asockd_test_option(l, opts[i], strtod(v, NULL));
	return l;
}

/* Play one event at its time; 1 for the close event. */
static int
play(struct asockd_test *t, struct asockd_conn *c, int type,
    const unsigned char *p, size_t len, int *recorded)
{
	switch (type) {
	case 'R':
		printf("%.6f read %zu bytes\n", asockd_test_now(t), len);
		if (asockd_test_feed(c, p, len) != 0)
			printf("%.6f   (not delivered: the replay's"
			    " connection is %s)\n", asockd_test_now(t),
			    reason_name(asockd_test_closed(c)));
		break;
	case 'E':
		printf("%.6f eof\n", asockd_test_now(t));
		(void)asockd_test_eof(c);
		break;
	case 'O':
		printf("%.6f oob 0x%02x\n", asockd_test_now(t),
		    len ? p[0] : 0);
		(void)asockd_test_oob(c, len ? p[0] : 0);
		break;
	case 'B':
		printf("%.6f backpressure %s\n", asockd_test_now(t),
		    len && p[0] ? "on (the peer stops reading)" :
		    "off (the peer reads again)");
		(void)asockd_test_peer_reading(c, !(len && p[0]));
		break;
	case 'C':
		*recorded = len ? p[0] : 0;
		printf("%.6f close (%s)\n", asockd_test_now(t),
		    reason_name(*recorded));
		(void)asockd_test_peer_reading(c, 1);
		if (*recorded == ASOCKD_CLOSE_RESET ||
		    *recorded == ASOCKD_CLOSE_ERROR)
			(void)asockd_test_reset(c);
		else if (*recorded == ASOCKD_CLOSE_SHUTDOWN)
			(void)asockd_test_shutdown(c);
		return 1;
	default:
		printf("%.6f unknown event '%c' (%zu bytes) skipped\n",
		    asockd_test_now(t), type, len);
	}
	return 0;
}

static int
replay(const char *file, const unsigned char *buf, size_t len,
    struct asockd_test *t)
{
	struct asockd_listener	*l = NULL;
	struct asockd_conn	*c = NULL;
	const char		*v;
	char			 peer[160], name[128], *m;
	size_t			 off = sizeof(MAGIC) - 1, n;
	uint64_t		 us;
	int			 i, type, recorded = -1, done = 0, got;

	while (off < len && !done) {
		if (len - off < HDR) {
			printf("%s: truncated event at byte %zu: replay"
			    " ends there\n", file, off);
			break;
		}
		type = buf[off];
		for (us = 0, i = 0; i < 8; i++)
			us = us << 8 | buf[off + 1 + i];
		n = (size_t)buf[off + 9] << 24 | (size_t)buf[off + 10] << 16 |
		    (size_t)buf[off + 11] << 8 | buf[off + 12];
		off += HDR;
		if (n > len - off) {
			printf("%s: truncated event at byte %zu: replay"
			    " ends there\n", file, off - HDR);
			break;
		}
		if (c == NULL && type != 'A') {
			fprintf(stderr, "asockd-replay: %s: no accept event"
			    " first\n", file);
			return 2;
		}
		if (type == 'A') {
			if ((m = strndup((const char *)buf + off, n)) ==
			    NULL || (l = listener_from(t, m)) == NULL) {
				fprintf(stderr, "asockd-replay: %s: bad"
				    " accept event\n", file);
				free(m);
				return 2;
			}
			v = meta(m, "peer", peer, sizeof(peer));
			printf("%.6f accept from %s on listener %s\n", 0.0,
			    v ? v : "?", meta(m, "listener", name,
			    sizeof(name)) ? name : "?");
			got = asockd_test_accept(l, v, &c);
			free(m);
			if (got < 0)
				printf("%.6f   refused by the plugin: %s\n",
				    asockd_test_now(t), strerror(-got));
		} else {
			asockd_test_advance(t, us / 1e6 - asockd_test_now(t));
			done = play(t, c, type, buf + off, n, &recorded);
		}
		print_sent(c, asockd_test_now(t));
		off += n;
	}
	if (c == NULL) {
		fprintf(stderr, "asockd-replay: %s: no events\n", file);
		return 2;
	}
	asockd_test_run(t, 64);
	print_sent(c, asockd_test_now(t));
	got = asockd_test_closed(c);
	printf("end: the recording closed (%s), the replay %s%s\n",
	    recorded < 0 ? "not recorded" : reason_name(recorded),
	    got ? "closed " : "is ", got ? reason_name(got) : "still open");
	if (asockd_test_nviolations(t) > 0)
		printf("contract violations:\n%s",
		    asockd_test_violations(t));
	else
		printf("contract violations: none\n");
	return asockd_test_nviolations(t) > 0 || (recorded >= 0 &&
	    got != recorded) ? 1 : 0;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "plugin", required_argument, NULL, 'p' },
		{ "ini", required_argument, NULL, 'i' },
		{ "all", no_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct asockd_test	*t;
	unsigned char		*buf, *ini = NULL;
	const char		*plugin = NULL, *inifile = NULL;
	char			*err;
	size_t			 len, inilen;
	int			 ch, rc;

	while ((ch = getopt_long(argc, argv, "ap:i:hV", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'a':
			show_all = 1;
			break;
		case 'p':
			plugin = optarg;
			break;
		case 'i':
			inifile = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("asockd-replay %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (plugin == NULL || optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	if ((buf = slurp(argv[optind], &len)) == NULL) {
		fprintf(stderr, "asockd-replay: %s: %s\n", argv[optind],
		    strerror(errno));
		return 2;
	}
	if (len < sizeof(MAGIC) - 1 || memcmp(buf, MAGIC,
	    sizeof(MAGIC) - 1) != 0) {
		fprintf(stderr, "asockd-replay: %s: not an asockd recording"
		    " (no %.10s header)\n", argv[optind], MAGIC);
		free(buf);
		return 2;
	}
	if (inifile != NULL && (ini = slurp(inifile, &inilen)) == NULL) {
		fprintf(stderr, "asockd-replay: %s: %s\n", inifile,
		    strerror(errno));
		free(buf);
		return 2;
	}
	t = asockd_test_load(plugin, (const char *)ini, &err);
	free(ini);
	if (t == NULL) {
		fprintf(stderr, "asockd-replay: %s\n", err ? err : plugin);
		free(err);
		free(buf);
		return 2;
	}
	rc = replay(argv[optind], buf, len, t);
	asockd_test_free(t);
	free(buf);
	return rc;
}
