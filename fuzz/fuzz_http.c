/*
 * fuzz_http.c - libFuzzer target: the http plugin's request parser.
 *
 * The plugin source is compiled into the target and driven through its
 * own descriptor with a fake host table, the way the daemon drives it:
 * the input is cut into reads (the first byte picks the read size), each
 * read is appended to what the plugin left unconsumed, and on_receive must
 * consume no more than it was given.  Two instances run: the default
 * (fixed "hello" answer) and one with a document root, so the path
 * checks that keep requests inside the root are fuzzed too.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../plugins/http.c"

struct fake_inst {
	const char	*root;
	void		*pdata;
};

static int	 closed;
static size_t	 sent;

static void
f_log(struct asockd_instance *inst, int level, const char *fmt, ...)
{
}

static const char *
f_ini_str(struct asockd_instance *inst, const char *section,
    const char *key, const char *def)
{
	struct fake_inst *fi = (struct fake_inst *)inst;

	if (strcmp(key, "root") == 0 && fi->root != NULL)
		return fi->root;
	return def;
}

static int
f_ini_int(struct asockd_instance *inst, const char *section,
    const char *key, long long def, long long *res)
{
	*res = def;
	return 0;
}

static int
f_ini_bool(struct asockd_instance *inst, const char *section,
    const char *key, int def, int *res)
{
	*res = def;
	return 0;
}

static void *
f_instance_data(struct asockd_instance *inst)
{
	return ((struct fake_inst *)inst)->pdata;
}

static struct asockd_instance *cur_inst;

static struct asockd_instance *
f_conn_instance(struct asockd_conn *c)
{
	return cur_inst;
}

static int
f_send(struct asockd_conn *c, const void *buf, size_t len)
{
	if (closed)
		return -EPIPE;
	sent += len;
	return 0;
}

static int
f_close(struct asockd_conn *c)
{
	if (closed)
		return -EALREADY;
	closed = 1;
	return 0;
}

static struct asockd_host fake_host;
static struct fake_inst plain, rooted;
static char rootdir[] = "/tmp/asockd-fuzz-root.XXXXXX";

static void
cleanup(void)
{
	char	 path[256];

	snprintf(path, sizeof(path), "%s/index.html", rootdir);
	unlink(path);
	rmdir(rootdir);
}

static void
setup(void)
{
	char	 path[256];
	FILE	*f;

	fake_host.abi_major = ASOCKD_ABI_MAJOR;
	fake_host.abi_minor = ASOCKD_ABI_MINOR;
	fake_host.size = sizeof(fake_host);
	fake_host.log = f_log;
	fake_host.ini_str = f_ini_str;
	fake_host.ini_int = f_ini_int;
	fake_host.ini_bool = f_ini_bool;
	fake_host.instance_data = f_instance_data;
	fake_host.conn_instance = f_conn_instance;
	fake_host.send = f_send;
	fake_host.close = f_close;
	if (mkdtemp(rootdir) == NULL)
		abort();
	atexit(cleanup);
	snprintf(path, sizeof(path), "%s/index.html", rootdir);
	if ((f = fopen(path, "w")) != NULL) {
		fputs("<p>hi</p>\n", f);
		fclose(f);
	}
	rooted.root = rootdir;
	if (ASOCKD_PLUGIN_SYMBOL.init(&fake_host,
	    (struct asockd_instance *)&plain, &plain.pdata) != 0 ||
	    ASOCKD_PLUGIN_SYMBOL.init(&fake_host,
	    (struct asockd_instance *)&rooted, &rooted.pdata) != 0)
		abort();
}

static void
drive(struct fake_inst *fi, const uint8_t *data, size_t size)
{
	static unsigned char	 buf[65536];
	struct asockd_conn	*c = (struct asockd_conn *)&buf;
	size_t			 have = 0, chunk, off = 0, used;

	cur_inst = (struct asockd_instance *)fi;
	closed = 0;
	chunk = size > 0 ? (size_t)data[0] % 64 + 1 : 1;
	while (off < size && !closed) {
		size_t n = size - off < chunk ? size - off : chunk;

		if (have + n > sizeof(buf))
			break;		/* the daemon's max_input */
		memcpy(buf + have, data + off, n);
		have += n;
		off += n;
		used = ASOCKD_PLUGIN_SYMBOL.on_receive(c, buf, have);
		if (used > have)
			abort();
		memmove(buf, buf + used, have - used);
		have -= used;
	}
}

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int	 ready;

	if (!ready) {
		setup();
		ready = 1;
	}
	drive(&plain, data, size);
	drive(&rooted, data, size);
	return 0;
}
