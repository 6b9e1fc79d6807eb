/*
 * proxyinfo.c - test-only plugin for the PROXY protocol host calls (ABI
 * 1.3).  Line commands on an accepted connection:
 *   "info\n"       -> "peer=P addr=X lb=L alpn=A authority=H tls=T\n":
 *                     P is host->peer_name, X host->peer_addr's address,
 *                     L host->proxy_addr's ("none" for -ENOENT) and A, H,
 *                     T the v2 TLVs ("-" when absent);
 *   "fwd PORT V\n" -> host->connect_proxy to tcp://127.0.0.1:PORT with
 *                     a version V header for this connection; once
 *                     connected the outbound one sends "hello\n" and is
 *                     closed, and this one gets "sent\n".
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <asockd/plugin.h>

static const struct asockd_host *host;
static struct asockd_instance *self;

static int
pi_init(const struct asockd_host *h, struct asockd_instance *inst,
    void **pdata)
{
	host = h;
	self = inst;
	*pdata = NULL;
	if (h->abi_minor < 3 || h->size < offsetof(struct asockd_host,
	    connect_proxy) + sizeof(h->connect_proxy)) {
		h->log(inst, ASOCKD_LOG_ERR, "needs ABI 1.3");
		return -ENOTSUP;
	}
	return 0;
}

static void
tlv(struct asockd_conn *c, int type, char *buf, size_t len)
{
	const void	*v;
	size_t		 n;

	if (host->proxy_tlv(c, type, &v, &n) < 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.*s", (int)n, (const char *)v);
}

/* The address of sa (r from the host call that filled it) as text. */
static void
addr_text(int r, const struct sockaddr_storage *ss, char *buf, size_t len)
{
	if (r == -ENOENT)
		snprintf(buf, len, "none");
	else if (r < 0)
		snprintf(buf, len, "error");
	else if (ss->ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr,
		    buf, len);
	else if (ss->ss_family == AF_INET6)
		inet_ntop(AF_INET6,
		    &((const struct sockaddr_in6 *)ss)->sin6_addr, buf, len);
	else
		snprintf(buf, len, "unix");
}

static void
info(struct asockd_conn *c)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);
	char			 pa[80], lb[80], a[64], h[128], t[64];
	char			 out[512];
	int			 r;

	r = host->peer_addr(c, (struct sockaddr *)&ss, &len);
	addr_text(r, &ss, pa, sizeof(pa));
	len = sizeof(ss);
	r = host->proxy_addr(c, (struct sockaddr *)&ss, &len);
	addr_text(r, &ss, lb, sizeof(lb));
	tlv(c, ASOCKD_PP2_ALPN, a, sizeof(a));
	tlv(c, ASOCKD_PP2_AUTHORITY, h, sizeof(h));
	tlv(c, ASOCKD_PP2_SSL_VERSION, t, sizeof(t));
	snprintf(out, sizeof(out), "peer=%s addr=%s lb=%s alpn=%s "
	    "authority=%s tls=%s\n", host->peer_name(c), pa, lb, a, h, t);
	(void)host->send(c, out, strlen(out));
}

static void
fwd(struct asockd_conn *c, const char *args)
{
	char	 target[64];
	int	 port, v, r;

	if (sscanf(args, "%d %d", &port, &v) != 2) {
		(void)host->send(c, "usage\n", 6);
		return;
	}
	snprintf(target, sizeof(target), "tcp://127.0.0.1:%d", port);
	r = host->connect_proxy(self, target, c, NULL, c, v);
	if (r < 0) {
		char	 out[64];

		snprintf(out, sizeof(out), "error %d\n", -r);
		(void)host->send(c, out, strlen(out));
	}
}

static void
pi_connect(struct asockd_conn *o, int err)
{
	struct asockd_conn	*c = host->udata(o);

	if (err != 0)
		return;
	(void)host->send(o, "hello\n", 6);
	host->close(o);
	if (c != NULL)
		(void)host->send(c, "sent\n", 5);
}

static size_t
pi_receive(struct asockd_conn *c, const void *data, size_t len)
{
	const char	*p = data, *nl;
	char		 line[128];
	size_t		 off = 0, n;

	while (off < len && (nl = memchr(p + off, '\n', len - off)) != NULL) {
		n = (size_t)(nl - (p + off));
		if (n >= sizeof(line))
			n = sizeof(line) - 1;
		memcpy(line, p + off, n);
		line[n] = '\0';
		off = (size_t)(nl - p) + 1;
		if (strcmp(line, "info") == 0)
			info(c);
		else if (strncmp(line, "fwd ", 4) == 0)
			fwd(c, line + 4);
		else
			(void)host->send(c, "?\n", 2);
	}
	return off;
}

static void
pi_close(struct asockd_conn *c, int reason)
{
	/* an outbound connection points at its client: nothing to free */
}

ASOCKD_PLUGIN_DEFINE(
	.name = "proxyinfo",
	.version = "1.0",
	.init = pi_init,
	.on_receive = pi_receive,
	.on_connect = pi_connect,
	.on_close = pi_close
);
