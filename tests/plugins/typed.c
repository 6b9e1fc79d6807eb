/*
 * typed.c - a test-only plugin for the host's archive API on an archive
 * listener.  Each message is an array whose first element names a command:
 *
 *   ["types"]            reply one frame holding, in order: nil, true,
 *                        -5, 300, 1.5f, 2.25, "é", bin "\0\1", {"k": 1}
 *   ["bcast", s]         wr_broadcast ["b", s] to every connection
 *   ["sum", ints...]     reply ["sum", total] (rd_int on every element)
 *   ["mismatch"]         reply ["rc", rd_str on an int, rd_int past end]
 *   anything else        reply ["bad"]
 */
#include <errno.h>
#include <string.h>

#include <asockd/plugin.h>

static const struct asockd_host *host;

static int
typed_init(const struct asockd_host *h, struct asockd_instance *inst,
    void **pdata)
{
	host = h;
	return 0;
}

static void
reply_types(struct asockd_conn *c)
{
	struct asockd_writer	*w = host->wr_new();

	host->wr_nil(w);
	host->wr_bool(w, 1);
	host->wr_int(w, -5);
	host->wr_uint(w, 300);
	host->wr_float(w, 1.5f);
	host->wr_double(w, 2.25);
	host->wr_str(w, "\xc3\xa9", 2);
	host->wr_bin(w, "\0\1", 2);
	host->wr_map(w, 1);
	host->wr_str(w, "k", 1);
	host->wr_uint(w, 1);
	host->wr_send(c, w);
	host->wr_free(w);
}

static void
typed_message(struct asockd_conn *c, const void *msg, size_t len)
{
	struct asockd_reader	*r = host->rd_open(msg, len);
	struct asockd_writer	*w = host->wr_new();
	const char		*s;
	size_t			 slen;
	uint32_t		 n, i;
	int64_t			 v, total = 0;
	int			 rc1, rc2;

	if (r == NULL || host->rd_array(r, &n) < 0 || n == 0 ||
	    host->rd_str(r, &s, &slen) < 0)
		goto bad;
	if (slen == 5 && memcmp(s, "types", 5) == 0) {
		reply_types(c);
	} else if (slen == 5 && memcmp(s, "bcast", 5) == 0 && n == 2 &&
	    host->rd_str(r, &s, &slen) == 0) {
		host->wr_array(w, 2);
		host->wr_str(w, "b", 1);
		host->wr_str(w, s, slen);
		host->wr_broadcast(host->conn_listener(c), w);
	} else if (slen == 3 && memcmp(s, "sum", 3) == 0) {
		for (i = 1; i < n; i++) {
			if (host->rd_int(r, &v) < 0)
				goto bad;
			total += v;
		}
		host->wr_array(w, 2);
		host->wr_str(w, "sum", 3);
		host->wr_int(w, total);
		host->wr_send(c, w);
	} else if (slen == 8 && memcmp(s, "mismatch", 8) == 0) {
		/* the message is ["mismatch", 7] */
		rc1 = host->rd_str(r, &s, &slen);	/* an int: -EPROTO */
		host->rd_int(r, &v);			/* consumes 7 */
		rc2 = host->rd_int(r, &v);		/* past the end */
		host->wr_array(w, 3);
		host->wr_str(w, "rc", 2);
		host->wr_int(w, rc1);
		host->wr_int(w, rc2);
		host->wr_send(c, w);
	} else
		goto bad;
	host->wr_free(w);
	return;		/* the reader is freed when the callback returns */
bad:
	host->wr_reset(w);
	host->wr_array(w, 1);
	host->wr_str(w, "bad", 3);
	host->wr_send(c, w);
	host->wr_free(w);
}

ASOCKD_PLUGIN_DEFINE(
	.name = "typed",
	.version = "1.0",
	.init = typed_init,
	.on_message = typed_message,
);
