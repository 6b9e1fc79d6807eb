/*
 * tlsinfo.c - test-only plugin: answers any input with what
 * host->tls_info (ABI 1.3) says of the connection, one "key=value" line
 * each, then closes.
 */
#include <errno.h>
#include <stdio.h>

#include <asockd/plugin.h>

static const struct asockd_host *host;

static int
tlsinfo_init(const struct asockd_host *h, struct asockd_instance *inst,
    void **pdata)
{
	host = h;
	*pdata = NULL;
	return 0;
}

static size_t
tlsinfo_receive(struct asockd_conn *c, const void *data, size_t len)
{
	struct asockd_tls_info	 ti;
	char			 buf[2048];
	int			 n, r;

	r = host->tls_info(c, &ti);
	n = snprintf(buf, sizeof(buf), "rc=%d\ntls=%d\nversion=%s\n"
	    "cipher=%s\nsni=%s\nalpn=%s\ncert=%d\nsubject=%s\nsha256=%s\n"
	    "verify=%ld %s\n", r, ti.tls, ti.version, ti.cipher, ti.sni,
	    ti.alpn, ti.client_cert, ti.client_subject, ti.client_sha256,
	    ti.verify_result, ti.verify_error);
	if (n > 0)
		(void)host->send(c, buf, (size_t)n < sizeof(buf) ? (size_t)n :
		    sizeof(buf) - 1);
	host->close(c);
	return len;
}

ASOCKD_PLUGIN_DEFINE(
	.name = "tlsinfo",
	.version = "1.0",
	.init = tlsinfo_init,
	.on_receive = tlsinfo_receive
);
