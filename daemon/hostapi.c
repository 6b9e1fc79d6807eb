/*
 * hostapi.c - the host function table handed to plugins (struct
 * asockd_host).  Each entry is a thin, checked wrapper around the daemon
 * function that does the work; every call that can fail returns 0 or a
 * negative errno.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "asockd.h"

static void
host_log(struct asockd_instance *inst, int level, const char *fmt, ...)
{
	char	 buf[1536];
	va_list	 ap;

	if (level > log_getlevel())
		return;
	if (level < LOG_ERR)
		level = LOG_ERR;
	if (level > LOG_DEBUG)
		level = LOG_DEBUG;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	logit(level, "plugin %s: %s", inst ? inst->name : "?", buf);
}

static void
host_conn_log(struct asockd_conn *c, int level, const char *fmt, ...)
{
	va_list	 ap;

	if (level < LOG_ERR)
		level = LOG_ERR;
	if (level > LOG_DEBUG)
		level = LOG_DEBUG;
	va_start(ap, fmt);
	vconn_log(c, level, fmt, ap);
	va_end(ap);
}

/*
 * The entry for section/key: from the file, else (for a plugin with a
 * settings table) the table's default, made up in *tmp.  NULL: unset.
 */
static const struct ini_entry *
host_ini_find(struct asockd_instance *inst, const char *section,
    const char *key, struct ini_entry *tmp)
{
	const struct ini_entry	*e;
	const struct asockd_setting *s;

	if (inst == NULL || key == NULL)
		return NULL;
	if (section == NULL)
		section = "";
	if ((e = ini_find(inst->ini, section, key)) != NULL)
		return e;
	s = ini_setting(inst->desc, section, key);
	if (s == NULL || s->def == NULL)
		return NULL;
	memset(tmp, 0, sizeof(*tmp));
	tmp->section = (char *)(uintptr_t)section;
	tmp->key = (char *)(uintptr_t)key;
	tmp->value = (char *)(uintptr_t)s->def;
	return tmp;
}

static const char *
host_ini_str(struct asockd_instance *inst, const char *section,
    const char *key, const char *def)
{
	struct ini_entry	 tmp;
	const struct ini_entry	*e = host_ini_find(inst, section, key, &tmp);

	/* a default from the table is the plugin's own static string */
	return e ? e->value : def;
}

/* Only a value from the file can be bad: the table's were checked. */
static int
ini_bad(struct asockd_instance *inst, const struct ini_entry *e,
    const char *what)
{
	log_warnx("%s:%d: [%s] %s: '%s' is not %s", inst->ini->file, e->line,
	    e->section, e->key, e->value, what);
	return -EINVAL;
}

static int
host_ini_int(struct asockd_instance *inst, const char *section,
    const char *key, long long def, long long *out)
{
	struct ini_entry	 tmp;
	const struct ini_entry	*e = host_ini_find(inst, section, key, &tmp);

	*out = def;
	if (e == NULL)
		return 0;
	if (ini_parse_int(e->value, out) == -1)
		return ini_bad(inst, e, "an integer");
	return 0;
}

static int
host_ini_bool(struct asockd_instance *inst, const char *section,
    const char *key, int def, int *out)
{
	struct ini_entry	 tmp;
	const struct ini_entry	*e = host_ini_find(inst, section, key, &tmp);

	*out = def;
	if (e == NULL)
		return 0;
	if (ini_parse_bool(e->value, out) == -1)
		return ini_bad(inst, e,
		    "a boolean (yes/no, true/false, on/off, 1/0)");
	return 0;
}

static int
host_ini_double(struct asockd_instance *inst, const char *section,
    const char *key, double def, double *out)
{
	struct ini_entry	 tmp;
	const struct ini_entry	*e = host_ini_find(inst, section, key, &tmp);

	*out = def;
	if (e == NULL)
		return 0;
	if (ini_parse_double(e->value, out) == -1)
		return ini_bad(inst, e, "a number");
	return 0;
}

static void *
host_instance_data(struct asockd_instance *inst)
{
	return inst->pdata;
}

static int
host_send(struct asockd_conn *c, const void *buf, size_t len)
{
	if (buf == NULL && len > 0)
		return -EINVAL;
	return conn_send(c, buf, len);
}

static int
host_writable(struct asockd_conn *c)
{
	return conn_writable(c);
}

static size_t
host_queued(struct asockd_conn *c)
{
	return conn_queued(c);
}

static int
host_close(struct asockd_conn *c)
{
	if (conn_closing(c))
		return -EALREADY;
	conn_close(c, ASOCKD_CLOSE_LOCAL);
	return 0;
}

static int
host_abort(struct asockd_conn *c)
{
	if (conn_aborting(c))
		return -EALREADY;
	conn_abort(c, ASOCKD_CLOSE_LOCAL);
	return 0;
}

static int
host_shutdown_write(struct asockd_conn *c)
{
	return conn_shutdown_write(c);
}

static int
sock_addr(struct asockd_conn *c, struct sockaddr *sa, socklen_t *len,
    int peer)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sslen = sizeof(ss);
	const struct policy_peer *pp;
	int			 fd = conn_fd(c), r;

	if (fd == -1)
		return -ENOTCONN;
	/* behind a balancer the peer is who the PROXY header names */
	if (peer && (pp = conn_policy(c)) != NULL && pp->proxied) {
		if (pp->peerlen > *len)
			return -ENOSPC;
		memcpy(sa, &pp->peer, pp->peerlen);
		*len = pp->peerlen;
		return 0;
	}
	r = peer ? getpeername(fd, (struct sockaddr *)&ss, &sslen) :
	    getsockname(fd, (struct sockaddr *)&ss, &sslen);
	if (r == -1)
		return -errno;
	if (sslen > *len)
		return -ENOSPC;
	memcpy(sa, &ss, sslen);
	*len = sslen;
	return 0;
}

static int
host_peer_addr(struct asockd_conn *c, struct sockaddr *sa, socklen_t *len)
{
	return sock_addr(c, sa, len, 1);
}

static int
host_local_addr(struct asockd_conn *c, struct sockaddr *sa, socklen_t *len)
{
	return sock_addr(c, sa, len, 0);
}

static const char *
host_peer_name(struct asockd_conn *c)
{
	return conn_peer(c);
}

static void
host_set_udata(struct asockd_conn *c, void *udata)
{
	conn_set_udata(c, udata);
}

static void *
host_udata(struct asockd_conn *c)
{
	return conn_udata(c);
}

static struct asockd_instance *
host_conn_instance(struct asockd_conn *c)
{
	return conn_instance(c);
}

static struct asockd_listener *
host_conn_listener(struct asockd_conn *c)
{
	return conn_listener(c);
}

static const char *
host_listener_name(struct asockd_listener *l)
{
	return listener_name(l);
}

static int
host_pause_receive(struct asockd_conn *c, int paused)
{
	if (conn_closed(c))
		return -ENOTCONN;
	conn_pause_receive(c, paused);
	return 0;
}

static int
host_sendto(struct asockd_listener *l, const void *buf, size_t len,
    const struct sockaddr *addr, socklen_t addrlen)
{
	return dgram_sendto(l, buf, len, addr, addrlen);
}

static int
host_connect(struct asockd_instance *inst, const char *target, void *udata,
    struct asockd_conn **out)
{
	if (target == NULL)
		return -EINVAL;
	return connect_start(inst, target, udata, out);
}

static int
host_proxy_addr(struct asockd_conn *c, struct sockaddr *sa, socklen_t *len)
{
	const struct policy_peer *pp = conn_policy(c);

	if (sa == NULL || len == NULL)
		return -EINVAL;
	if (pp == NULL || !pp->proxied)
		return -ENOENT;
	if (pp->lblen > *len)
		return -ENOSPC;
	memcpy(sa, &pp->lb, pp->lblen);
	*len = pp->lblen;
	return 0;
}

static int
host_proxy_tlv(struct asockd_conn *c, int type, const void **val,
    size_t *len)
{
	const struct policy_peer *pp = conn_policy(c);
	const unsigned char	*v;
	size_t			 n;

	if (val == NULL || len == NULL)
		return -EINVAL;
	if (pp == NULL || pp->tlv == NULL)
		return -ENOENT;
	if (type == ASOCKD_PP2_SSL_VERSION) {
		/* a sub-TLV after the SSL block's client byte and verify */
		if (proxy_tlv(pp->tlv, pp->tlvlen, ASOCKD_PP2_SSL, &v,
		    &n) == -1 || n < 5 || proxy_tlv(v + 5, n - 5, type, &v,
		    &n) == -1)
			return -ENOENT;
	} else if (proxy_tlv(pp->tlv, pp->tlvlen, type, &v, &n) == -1)
		return -ENOENT;
	*val = v;
	*len = n;
	return 0;
}

static int
host_connect_proxy(struct asockd_instance *inst, const char *target,
    void *udata, struct asockd_conn **out, struct asockd_conn *client,
    int version)
{
	const struct policy_peer *pp;
	struct sockaddr_storage	 src, dst;
	socklen_t		 srclen = sizeof(src), dstlen = sizeof(dst);
	unsigned char		 hdr[128];
	struct asockd_conn	*c;
	size_t			 n;
	int			 r;

	if (target == NULL || client == NULL || conn_listener(client) ==
	    NULL || (version != 1 && version != 2))
		return -EINVAL;
	if ((r = sock_addr(client, (struct sockaddr *)&src, &srclen, 1)) < 0)
		return r;
	pp = conn_policy(client);
	if (pp != NULL && pp->proxied && pp->dstlen > 0) {
		memcpy(&dst, &pp->dst, pp->dstlen);
		dstlen = pp->dstlen;
	} else if ((r = sock_addr(client, (struct sockaddr *)&dst, &dstlen,
	    0)) < 0)
		return r;
	n = proxy_write(hdr, sizeof(hdr), version, (struct sockaddr *)&src,
	    srclen, (struct sockaddr *)&dst, dstlen);
	if (n == 0)
		return -EINVAL;
	if ((r = connect_start(inst, target, udata, &c)) < 0)
		return r;
	(void)conn_preface(c, hdr, n);
	if (out != NULL)
		*out = c;
	return 0;
}

static int
host_send_frame(struct asockd_conn *c, const void *buf, size_t len)
{
	if (buf == NULL && len > 0)
		return -EINVAL;
	return conn_send_frame(c, buf, len);
}

static int
host_tls_info(struct asockd_conn *c, struct asockd_tls_info *out)
{
	if (c == NULL || out == NULL)
		return -EINVAL;
	return conn_tls_info(c, out);
}

static int
host_wr_send(struct asockd_conn *c, struct asockd_writer *w)
{
	const void	*p;
	size_t		 len;

	p = archive_wr_data(w, &len);
	return conn_send_frame(c, p, len);
}

static int
host_wr_broadcast(struct asockd_listener *l, struct asockd_writer *w)
{
	const void	*p;
	size_t		 len;

	if (l == NULL)
		return -EINVAL;
	p = archive_wr_data(w, &len);
	return conn_broadcast_frame(l, p, len);
}

static int
host_spawn(struct asockd_instance *inst, const struct asockd_spawn *sp,
    asockd_child_cb on_exit, void *arg, int fds[2],
    struct asockd_child **out)
{
	if (inst == NULL || fds == NULL)
		return -EINVAL;
	return child_spawn(inst, sp, on_exit, arg, fds, out);
}

static int
host_child_kill(struct asockd_child *ch, double timeout)
{
	return child_kill(ch, timeout);
}

static pid_t
host_child_pid(struct asockd_child *ch)
{
	return child_pid(ch);
}

static int
host_attach_fd(struct asockd_instance *inst, int fd, const char *name,
    void *udata, struct asockd_conn **out)
{
	struct asockd_conn	*c;
	char			 buf[32];
	int			 type;
	socklen_t		 len = sizeof(type);

	if (inst == NULL || fd < 0)
		return -EINVAL;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == -1)
		return errno == ENOTSOCK ? -ENOTSOCK : -errno;
	if (type != SOCK_STREAM)
		return -ENOTSOCK;
	if (fd_nonblock(fd) == -1)
		return -EIO;
	if (name == NULL) {
		snprintf(buf, sizeof(buf), "fd %d", fd);
		name = buf;
	}
	c = conn_attach(inst, fd, name, udata);
	if (out != NULL)
		*out = c;
	return 0;
}

static int
host_ini_each(struct asockd_instance *inst, const char *section,
    asockd_ini_cb fn, void *arg)
{
	const struct ini_entry	*e;
	int			 r;

	if (inst == NULL || fn == NULL)
		return -EINVAL;
	if (inst->ini == NULL)
		return 0;
	if (section == NULL)
		section = "";
	TAILQ_FOREACH(e, &inst->ini->entries, entry)
		if (strcmp(e->section, section) == 0 &&
		    (r = fn(e->key, e->value, e->line, arg)) != 0)
			return r;
	return 0;
}

const struct asockd_host host_api = {
	.abi_major = ASOCKD_ABI_MAJOR,
	.abi_minor = ASOCKD_ABI_MINOR,
	.size = sizeof(struct asockd_host),
	.version = PACKAGE_VERSION,
	.log = host_log,
	.conn_log = host_conn_log,
	.ini_str = host_ini_str,
	.ini_int = host_ini_int,
	.ini_bool = host_ini_bool,
	.ini_double = host_ini_double,
	.instance_data = host_instance_data,
	.send = host_send,
	.writable = host_writable,
	.queued = host_queued,
	.close = host_close,
	.abort = host_abort,
	.shutdown_write = host_shutdown_write,
	.peer_addr = host_peer_addr,
	.local_addr = host_local_addr,
	.peer_name = host_peer_name,
	.set_udata = host_set_udata,
	.udata = host_udata,
	.conn_instance = host_conn_instance,
	.conn_listener = host_conn_listener,
	.listener_name = host_listener_name,
	.pause_receive = host_pause_receive,
	.timer_start = timer_start,
	.timer_stop = timer_stop,
	.sendto = host_sendto,
	.connect = host_connect,
	.rd_open = archive_rd_open,
	.rd_free = archive_rd_free,
	.rd_next_type = archive_rd_next_type,
	.rd_nil = archive_rd_nil,
	.rd_bool = archive_rd_bool,
	.rd_int = archive_rd_int,
	.rd_uint = archive_rd_uint,
	.rd_float = archive_rd_float,
	.rd_double = archive_rd_double,
	.rd_str = archive_rd_str,
	.rd_bin = archive_rd_bin,
	.rd_array = archive_rd_array,
	.rd_map = archive_rd_map,
	.rd_skip = archive_rd_skip,
	.wr_new = archive_wr_new,
	.wr_free = archive_wr_free,
	.wr_reset = archive_wr_reset,
	.wr_nil = archive_wr_nil,
	.wr_bool = archive_wr_bool,
	.wr_int = archive_wr_int,
	.wr_uint = archive_wr_uint,
	.wr_float = archive_wr_float,
	.wr_double = archive_wr_double,
	.wr_str = archive_wr_str,
	.wr_bin = archive_wr_bin,
	.wr_array = archive_wr_array,
	.wr_map = archive_wr_map,
	.wr_data = archive_wr_data,
	.wr_send = host_wr_send,
	.wr_broadcast = host_wr_broadcast,
	.send_frame = host_send_frame,
	.rd_float_bits = archive_rd_float_bits,
	.rd_ext = archive_rd_ext,
	.rd_raw = archive_rd_raw,
	.rd_copy = archive_rd_copy,
	.wr_ext = archive_wr_ext,
	.wr_raw = archive_wr_raw,
	.proxy_addr = host_proxy_addr,
	.proxy_tlv = host_proxy_tlv,
	.connect_proxy = host_connect_proxy,
	.spawn = host_spawn,
	.child_kill = host_child_kill,
	.child_pid = host_child_pid,
	.attach_fd = host_attach_fd,
	.ini_each = host_ini_each,
	/* --- message bus (ABI 1.3) --- */
	.bus_publish = bus_publish,
	.bus_subscribe = bus_subscribe,
	.bus_unsubscribe = bus_unsubscribe,
	/* --- TLS (ABI 1.3) --- */
	.tls_info = host_tls_info,
};
