/*
 * values.c - a test-only plugin for the archive calls of ABI 1.2: ext
 * values, float widths and raw values, on an archive listener.  Each frame
 * is one array whose first element names a command; the reply is one
 * frame holding every following element, passed on as the command says:
 *
 *   ["copy", v...]      each v with rd_copy
 *   ["raw", v...]       each v with rd_raw, then wr_raw
 *   ["typed", v...]     ext with rd_ext/wr_ext, floats with rd_float_bits
 *                       and rd_float/wr_float or rd_double/wr_double,
 *                       anything else with rd_copy
 *   ["describe", v...]  one string per v: "f32", "f64", "ext T N" or "-"
 *
 * Each reply must equal the elements' bytes as the client sent them (in
 * the shortest encodings).  Anything else is answered with ["bad", rc].
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <asockd/plugin.h>

static const struct asockd_host *host;

static int
values_init(const struct asockd_host *h, struct asockd_instance *inst,
    void **pdata)
{
	/* A plugin probes for calls of a later minor before it uses them. */
	if (h->abi_minor < 2 || h->size < offsetof(struct asockd_host,
	    wr_raw) + sizeof(h->wr_raw)) {
		h->log(inst, ASOCKD_LOG_ERR, "needs ABI 1.2");
		return -ENOTSUP;
	}
	host = h;
	return 0;
}

/* Pass one value on with the typed calls of its kind. */
static int
typed(struct asockd_reader *r, struct asockd_writer *w)
{
	const void	*p;
	size_t		 len;
	int8_t		 type;
	double		 d;
	float		 f;
	int		 rv;

	switch (host->rd_next_type(r)) {
	case ASOCKD_T_EXT:
		if ((rv = host->rd_ext(r, &type, &p, &len)) != 0)
			return rv;
		return host->wr_ext(w, type, p, len);
	case ASOCKD_T_FLOAT:
		if (host->rd_float_bits(r) == 32) {
			if ((rv = host->rd_float(r, &f)) != 0)
				return rv;
			return host->wr_float(w, f);
		}
		if ((rv = host->rd_double(r, &d)) != 0)
			return rv;
		return host->wr_double(w, d);
	default:
		return host->rd_copy(r, w);
	}
}

static int
describe(struct asockd_reader *r, struct asockd_writer *w)
{
	char		 buf[64];
	const void	*p;
	size_t		 len;
	int8_t		 type;
	int		 rv, bits;

	if ((bits = host->rd_float_bits(r)) > 0)
		snprintf(buf, sizeof(buf), "f%d", bits);
	else if (host->rd_ext(r, &type, &p, &len) == 0) {
		snprintf(buf, sizeof(buf), "ext %d %zu", type, len);
		return host->wr_str(w, buf, strlen(buf));
	} else
		snprintf(buf, sizeof(buf), "-");
	if ((rv = host->rd_skip(r)) != 0)
		return rv;
	return host->wr_str(w, buf, strlen(buf));
}

static void
values_message(struct asockd_conn *c, const void *msg, size_t len)
{
	struct asockd_reader	*r = host->rd_open(msg, len);
	struct asockd_writer	*w = host->wr_new();
	const char		*s;
	const void		*p;
	size_t			 slen, plen;
	uint32_t		 n, i;
	int			 rv = 0;

	if ((rv = host->rd_array(r, &n)) != 0 || n < 2 ||
	    (rv = host->rd_str(r, &s, &slen)) != 0)
		goto bad;
	if (slen == 8 && memcmp(s, "describe", 8) == 0)
		host->wr_array(w, n - 1);
	for (i = 1; i < n && rv == 0; i++) {
		if (slen == 4 && memcmp(s, "copy", 4) == 0)
			rv = host->rd_copy(r, w);
		else if (slen == 3 && memcmp(s, "raw", 3) == 0) {
			if ((rv = host->rd_raw(r, &p, &plen)) == 0)
				rv = host->wr_raw(w, p, plen);
		} else if (slen == 5 && memcmp(s, "typed", 5) == 0)
			rv = typed(r, w);
		else if (slen == 8 && memcmp(s, "describe", 8) == 0)
			rv = describe(r, w);
		else
			rv = -EINVAL;
	}
	if (rv != 0)
		goto bad;
	host->wr_send(c, w);
	host->wr_free(w);
	return;
bad:
	host->wr_reset(w);
	host->wr_array(w, 2);
	host->wr_str(w, "bad", 3);
	host->wr_int(w, rv);
	host->wr_send(c, w);
	host->wr_free(w);
}

ASOCKD_PLUGIN_DEFINE(
	.name = "values",
	.version = "1.0",
	.init = values_init,
	.on_message = values_message,
);
