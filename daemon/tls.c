/*
 * tls.c - the transport room: TLS under a connection's reads and writes
 * (OpenSSL 3).
 *
 * The contexts of a listener (its certificate, the SNI certificates, the
 * options) are built by the master from the parsed config before the
 * workers fork, so a key readable only by root works with daemon.user;
 * the workers inherit them.  A broken file fails the start-up or the
 * reload (the running configuration stays), each problem logged at the
 * FILE:LINE of its config key.
 *
 * The socket is reached through a BIO of our own: reads are recv(2), and
 * a write sends what the kernel takes and keeps the rest of the record in
 * a per-session buffer (obuf) instead of failing with a retry.  So OpenSSL
 * never asks to repeat a write with the same arguments (no WANT_WRITE on a
 * read or a write: what it wrote is always taken), the ciphertext waiting
 * is at most TLS_CORK_MAX bytes, and tls_writev() takes no new plaintext
 * until it has gone out: the connection's send queue keeps the plaintext,
 * and its backpressure works as for a plain socket.  A tls_writev() of
 * more than one record's plaintext gathers their ciphertext in one
 * buffer of the process and sends it with one send(2), not one per
 * record; only what the kernel does not take stays with the session.  A
 * write that wants to read (renegotiation, which is refused) is reported
 * by tls_write_wants_read().
 *
 * Session tickets: every worker of a generation derives the same ticket
 * keys from a random seed the master draws before it forks, one key per
 * hour of the clock; the key of the previous hour still decrypts (and the
 * ticket is then renewed), so a ticket resumes on whichever worker accepts
 * the next connection.  A reload draws a new seed.
 *
 * kTLS is not used: the kernel this was built on lacks CONFIG_TLS, and
 * kTLS needs OpenSSL's own socket BIO (see docs/performance.md).
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <arpa/inet.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "asockd.h"

#define TLS_REC		16384		/* plaintext bytes per record */
#define TLS_READ_BUF	(4 * (TLS_REC + 256))	/* read ahead, bytes */
#define TLS_CORK_MAX	(4 * (TLS_REC + 256))	/* records gathered */
#define TICKET_PERIOD	3600		/* seconds a ticket key encrypts */
#define EXPIRY_WARN	(30 * 86400)	/* -t warns this long before */
#define TLS_DEFAULT_SUITES	"TLS_AES_128_GCM_SHA256:" \
				"TLS_AES_256_GCM_SHA384:" \
				"TLS_CHACHA20_POLY1305_SHA256"

/* The contexts of one listener: its own certificate and the SNI ones. */
struct tls_ctxs {
	SSL_CTX			*def;
	SSL_CTX			**sni;		/* one per conf->sni */
	struct tls_conf		*conf;
	unsigned char		*alpn;		/* wire format, or NULL */
	size_t			 alpnlen;
	unsigned char		 seed[32];	/* ticket keys, see above */
	struct tkey {			/* derived keys, by period % 2 */
		uint64_t	 period;
		int		 valid;
		unsigned char	 name[16], aes[32], mac[32];
	}			 keys[2];
};

struct tls {
	SSL			*ssl;
	int			 fd;
	unsigned char		*obuf;		/* ciphertext not yet sent */
	size_t			 olen, ooff, ocap;
	int			 werr;		/* errno of a failed send */
	int			 rerr;		/* errno of a failed recv */
	unsigned int		 failed:1;	/* no close_notify then */
	unsigned int		 shut:1;	/* close_notify sent */
	unsigned int		 wr_wants_read:1;
	unsigned int		 cork:1;	/* bio_write gathers */
	char			 err[256];
};

static BIO_METHOD	*bio_meth;
static int		 ctxs_index = -1;	/* SSL_CTX ex_data: ctxs */
static EVP_CIPHER	*aes_cbc;		/* the ticket cipher */

/* ---------------------------------------------------------------- BIO */

/*
 * The ciphertext of a gathered tls_writev(), shared by every session of
 * the process (one runs at a time): it is sent before tls_writev()
 * returns, and what the kernel does not take moves to the session's own
 * obuf, so an idle session keeps nothing of it.
 */
static unsigned char	 gather[TLS_CORK_MAX];
static size_t		 glen;

/* Keep buf[0..len) in t's obuf until the socket takes it. */
static void
obuf_keep(struct tls *t, const void *buf, size_t len)
{
	if (t->ooff > 0 && t->ooff == t->olen)
		t->ooff = t->olen = 0;
	if (t->ocap - t->olen < len) {
		if (t->ooff > 0) {
			memmove(t->obuf, t->obuf + t->ooff,
			    t->olen - t->ooff);
			t->olen -= t->ooff;
			t->ooff = 0;
		}
		if (t->ocap - t->olen < len) {
			t->ocap = t->olen + len;
			t->obuf = xrealloc(t->obuf, t->ocap);
		}
	}
	memcpy(t->obuf + t->olen, buf, len);
	t->olen += len;
}

/* Send what fits of buf: the bytes sent, or -1 (t->werr set). */
static ssize_t
sock_send(struct tls *t, const void *buf, size_t len)
{
	ssize_t	 n;

	do
		n = send(t->fd, buf, len, MSG_NOSIGNAL);
	while (n == -1 && errno == EINTR);
	if (n == -1) {
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			t->werr = errno;
			return -1;
		}
		n = 0;
	}
	return n;
}

/*
 * Send the gathered records: 0 when all went, 1 when the socket is full
 * (the rest is in obuf), -1 on an error.
 */
static int
gather_flush(struct tls *t)
{
	ssize_t	 n;

	if (glen == 0)
		return 0;
	n = sock_send(t, gather, glen);
	if (n >= 0 && (size_t)n < glen)
		obuf_keep(t, gather + n, glen - (size_t)n);
	glen = 0;
	return n == -1 ? -1 : t->olen > t->ooff;
}

static int
bio_write(BIO *b, const char *buf, int len)
{
	struct tls	*t = BIO_get_data(b);
	ssize_t		 n = 0;

	BIO_clear_retry_flags(b);
	if (t->werr != 0)
		return -1;
	if (t->cork && glen + (size_t)len <= sizeof(gather)) {
		memcpy(gather + glen, buf, len);
		glen += (size_t)len;
		return len;
	}
	if (t->cork && gather_flush(t) == -1)
		return -1;
	if (t->olen == t->ooff && (n = sock_send(t, buf, len)) == -1)
		return -1;
	if (n < len)	/* keep the rest: OpenSSL must never retry a write */
		obuf_keep(t, buf + n, (size_t)(len - n));
	return len;
}

static int
bio_read(BIO *b, char *buf, int len)
{
	struct tls	*t = BIO_get_data(b);
	ssize_t		 n;

	BIO_clear_retry_flags(b);
	do
		n = recv(t->fd, buf, len, 0);
	while (n == -1 && errno == EINTR);
	if (n == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			BIO_set_retry_read(b);
		else
			t->rerr = errno;
		return -1;
	}
	return (int)n;
}

static long
bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int
bio_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

/* ---------------------------------------------------------------- tickets */

/* SHA-256(seed || label || period): one of the period's ticket keys. */
static void
ticket_derive(const struct tls_ctxs *x, const char *label, uint64_t period,
    unsigned char out[32])
{
	unsigned char	 in[sizeof(x->seed) + 8 + 8];
	unsigned int	 outlen = 32;
	size_t		 i;

	memcpy(in, x->seed, sizeof(x->seed));
	memset(in + sizeof(x->seed), 0, 8);
	memcpy(in + sizeof(x->seed), label, strlen(label));
	for (i = 0; i < 8; i++)
		in[sizeof(x->seed) + 8 + i] = (unsigned char)(period >>
		    (56 - 8 * i));
	if (!EVP_Digest(in, sizeof(in), out, &outlen, EVP_sha256(), NULL))
		fatalx("EVP_Digest: %s", ERR_reason_error_string(
		    ERR_get_error()));
}

/* The keys of a period, derived once (three digests per period, not
 * three per ticket). */
static const struct tkey *
ticket_key(struct tls_ctxs *x, uint64_t period)
{
	struct tkey	*k = &x->keys[period % 2];
	unsigned char	 name[32];

	if (!k->valid || k->period != period) {
		ticket_derive(x, "name", period, name);
		memcpy(k->name, name, sizeof(k->name));
		ticket_derive(x, "aes", period, k->aes);
		ticket_derive(x, "mac", period, k->mac);
		k->period = period;
		k->valid = 1;
	}
	return k;
}

static int
ticket_keys(const struct tkey *k, unsigned char *iv, EVP_CIPHER_CTX *cctx,
    EVP_MAC_CTX *hctx, int enc)
{
	OSSL_PARAM	 params[3];

	params[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY,
	    (void *)(uintptr_t)k->mac, sizeof(k->mac));
	params[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)(uintptr_t)"SHA256", 0);
	params[2] = OSSL_PARAM_construct_end();
	/* fetched once: EVP_aes_256_cbc() would look it up every time */
	if (!EVP_CipherInit_ex(cctx, aes_cbc, NULL, k->aes, iv, enc) ||
	    !EVP_MAC_CTX_set_params(hctx, params))
		return -1;
	return 0;
}

/*
 * OpenSSL's ticket key callback: encrypt with this hour's key; decrypt
 * with this hour's or the last hour's (2: renew the ticket); 0 for a key
 * we do not know (a full handshake follows).
 */
static int
ticket_cb(SSL *s, unsigned char name[16], unsigned char *iv,
    EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
	SSL_CTX			*ctx = SSL_get_SSL_CTX(s);
	struct tls_ctxs		*x = SSL_CTX_get_ex_data(ctx, ctxs_index);
	const struct tkey	*k;
	uint64_t		 now = (uint64_t)time(NULL) / TICKET_PERIOD;
	int			 i;

	if (x == NULL)
		return -1;
	if (enc) {
		k = ticket_key(x, now);
		memcpy(name, k->name, sizeof(k->name));
		if (RAND_bytes(iv, EVP_CIPHER_get_iv_length(aes_cbc)) != 1 ||
		    ticket_keys(k, iv, cctx, hctx, 1) == -1)
			return -1;
		return 1;
	}
	for (i = 0; i < 2; i++) {	/* this hour's key, then the last's */
		k = ticket_key(x, now - i);
		if (memcmp(name, k->name, sizeof(k->name)) != 0)
			continue;
		if (ticket_keys(k, iv, cctx, hctx, 0) == -1)
			return -1;
		return i == 0 ? 1 : 2;
	}
	return 0;
}

/* ---------------------------------------------------------------- contexts */

static void
ssl_errors(char *buf, size_t len)
{
	unsigned long	 e, last = 0;
	const char	*r;

	/* the innermost reason is the most telling one */
	while ((e = ERR_get_error()) != 0)
		last = e;
	r = last != 0 ? ERR_reason_error_string(last) : NULL;
	snprintf(buf, len, "%s", r != NULL ? r : "unknown error");
}

static void
ctx_err(const char *file, int line, const char *what, const char *path,
    const char *why)
{
	if (path != NULL)
		log_warnx("%s:%d: tls: %s: %s: %s", file, line, what, path,
		    why);
	else
		log_warnx("%s:%d: tls: %s: %s", file, line, what, why);
}

static int
alpn_cb(SSL *s, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	const struct tls_ctxs	*x = arg;
	unsigned char		*o;

	if (SSL_select_next_proto(&o, outlen, x->alpn, x->alpnlen, in,
	    inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	*out = o;
	return SSL_TLSEXT_ERR_OK;
}

static int
servername_cb(SSL *s, int *alert, void *arg)
{
	const struct tls_ctxs	*x = arg;
	const char		*name;
	size_t			 i;

	name = SSL_get_servername(s, TLSEXT_NAMETYPE_host_name);
	if (name == NULL)
		return SSL_TLSEXT_ERR_OK;
	for (i = 0; i < x->conf->nsni; i++)
		if (strcasecmp(name, x->conf->sni[i].server_name) == 0) {
			SSL_set_SSL_CTX(s, x->sni[i]);
			break;
		}
	return SSL_TLSEXT_ERR_OK;
}

/* Warn about a certificate that expired or expires within 30 days. */
static void
expiry_check(X509 *x, const char *file, int line, const char *path, int n)
{
	const ASN1_TIME	*na = X509_get0_notAfter(x);
	time_t		 soon = time(NULL) + EXPIRY_WARN;
	char		 when[64];
	BIO		*m;
	int		 len;

	if ((m = BIO_new(BIO_s_mem())) == NULL)
		fatalx("BIO_new");
	ASN1_TIME_print(m, na);
	len = BIO_read(m, when, sizeof(when) - 1);
	when[len > 0 ? len : 0] = '\0';
	BIO_free(m);
	if (X509_cmp_current_time(na) <= 0)
		log_warnx("%s:%d: tls: certificate: %s: certificate #%d "
		    "expired on %s", file, line, path, n, when);
	else if (X509_cmp_time(na, &soon) <= 0)
		log_warnx("%s:%d: tls: certificate: %s: certificate #%d "
		    "expires on %s, within 30 days", file, line, path, n, when);
}

/*
 * The chain in path: each certificate must be issued by the next (leaf
 * first); each expiry is checked.  -1 after logging.
 */
static int
chain_check(const char *path, const char *file, int line)
{
	X509	*prev = NULL, *x;
	FILE	*fp;
	int	 n = 0, rc = 0;

	if ((fp = fopen(path, "r")) == NULL) {
		ctx_err(file, line, "certificate", path, strerror(errno));
		return -1;
	}
	while ((x = PEM_read_X509(fp, NULL, NULL, NULL)) != NULL) {
		n++;
		expiry_check(x, file, line, path, n);
		if (prev != NULL && rc == 0 &&
		    X509_check_issued(x, prev) != X509_V_OK) {
			log_warnx("%s:%d: tls: certificate: %s: chain out of "
			    "order: certificate #%d did not issue #%d (the "
			    "leaf comes first, then each issuer)", file, line,
			    path, n, n - 1);
			rc = -1;
		}
		X509_free(prev);
		prev = x;
	}
	X509_free(prev);
	ERR_clear_error();
	fclose(fp);
	return rc;
}

/* The certificate and key of path pair into ctx.  -1 after logging. */
static int
ctx_cert(SSL_CTX *ctx, const char *cert, int cline, const char *key,
    int kline, const char *file)
{
	char	 err[512];

	if (access(cert, R_OK) == -1) {
		ctx_err(file, cline, "certificate", cert, strerror(errno));
		return -1;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		ssl_errors(err, sizeof(err));
		ctx_err(file, cline, "certificate", cert, err);
		return -1;
	}
	if (chain_check(cert, file, cline) == -1)
		return -1;
	/* StrictModes: the key proves who we are */
	if (perm_check(key, NULL, err, sizeof(err)) == -1) {
		ctx_err(file, kline, "key", key, errno == EPERM ? err :
		    strerror(errno));
		return -1;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 &&
	    ERR_GET_REASON(ERR_peek_last_error()) !=
	    X509_R_KEY_VALUES_MISMATCH) {
		ssl_errors(err, sizeof(err));
		ctx_err(file, kline, "key", key, err);
		return -1;
	}
	if (ERR_peek_error() != 0 || SSL_CTX_check_private_key(ctx) != 1) {
		ERR_clear_error();
		log_warnx("%s:%d: tls: key: %s does not match the certificate"
		    " %s", file, kline, key, cert);
		return -1;
	}
	return 0;
}

/* Everything but the certificate, the same for the SNI contexts. */
static int
ctx_options(SSL_CTX *ctx, struct tls_ctxs *x)
{
	struct tls_conf	*tc = x->conf;
	STACK_OF(X509_NAME) *names;
	int		 lo = TLS1_3_VERSION, hi = TLS1_2_VERSION, v;
	int		 mode;
	size_t		 i;
	char		 err[512];

	for (i = 0; tc->protocols != NULL && tc->protocols[i] != NULL; i++) {
		v = strcmp(tc->protocols[i], "TLSv1.3") == 0 ?
		    TLS1_3_VERSION : TLS1_2_VERSION;
		lo = v < lo ? v : lo;
		hi = v > hi ? v : hi;
	}
	if (tc->protocols == NULL) {
		lo = TLS1_2_VERSION;
		hi = TLS1_3_VERSION;
	}
	SSL_CTX_set_min_proto_version(ctx, lo);
	SSL_CTX_set_max_proto_version(ctx, hi);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	/*
	 * One recv for a record, not one for its header and one for the
	 * rest; and up to four records in one recv (a bulk stream needs
	 * a quarter of the wake-ups).  With SSL_MODE_RELEASE_BUFFERS the
	 * buffer goes while the connection is idle.
	 */
	SSL_CTX_set_read_ahead(ctx, 1);
	SSL_CTX_set_default_read_buffer_len(ctx, TLS_READ_BUF);
	if (tc->ciphers != NULL &&
	    SSL_CTX_set_cipher_list(ctx, tc->ciphers) != 1) {
		ssl_errors(err, sizeof(err));
		ctx_err(tc->file, tc->ciphers_line, "ciphers", tc->ciphers,
		    err);
		return -1;
	}
	/*
	 * TLS 1.3 suites in the server's order: AES-128-GCM first (as
	 * Mozilla's guidelines and most servers), not OpenSSL's default
	 * AES-256-GCM-SHA384 first: the same strength in practice, a
	 * cheaper handshake (SHA-256) and faster records.
	 */
	if (SSL_CTX_set_ciphersuites(ctx, tc->ciphersuites != NULL ?
	    tc->ciphersuites : TLS_DEFAULT_SUITES) != 1) {
		ssl_errors(err, sizeof(err));
		ctx_err(tc->file, tc->suites_line, "ciphersuites",
		    tc->ciphersuites, err);
		return -1;
	}
	if (tc->client_ca != NULL) {
		if (SSL_CTX_load_verify_locations(ctx, tc->client_ca,
		    NULL) != 1 || (names = SSL_load_client_CA_file(
		    tc->client_ca)) == NULL) {
			ssl_errors(err, sizeof(err));
			ctx_err(tc->file, tc->ca_line, "client_ca",
			    tc->client_ca, err);
			return -1;
		}
		SSL_CTX_set_client_CA_list(ctx, names);
	}
	mode = SSL_VERIFY_NONE;
	if (tc->verify_client != TLS_VERIFY_NONE)
		mode = SSL_VERIFY_PEER;
	if (tc->verify_client == TLS_VERIFY_REQUIRE)
		mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
	SSL_CTX_set_verify(ctx, mode, NULL);
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"asockd",
	    6);
	/* no per-process cache: a ticket must resume on any worker */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	if (tc->session_tickets) {
		SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_cb);
		/*
		 * One ticket per handshake, not OpenSSL's two (meant for a
		 * client that opens parallel connections, one ticket each):
		 * a client resumes with one, and gets a new one then.  The
		 * second cost 6% of a full handshake's CPU.
		 */
		SSL_CTX_set_num_tickets(ctx, 1);
	} else {
		SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
		SSL_CTX_set_num_tickets(ctx, 0);
	}
	if (x->alpn != NULL)
		SSL_CTX_set_alpn_select_cb(ctx, alpn_cb, x);
	if (!SSL_CTX_set_ex_data(ctx, ctxs_index, x))
		fatalx("SSL_CTX_set_ex_data");
	return 0;
}

static void
ctxs_free(void *p)
{
	struct tls_ctxs	*x = p;
	size_t		 i;

	if (x == NULL)
		return;
	SSL_CTX_free(x->def);
	for (i = 0; x->sni != NULL && i < x->conf->nsni; i++)
		SSL_CTX_free(x->sni[i]);
	free(x->sni);
	free(x->alpn);
	OPENSSL_cleanse(x->seed, sizeof(x->seed));
	OPENSSL_cleanse(x->keys, sizeof(x->keys));
	free(x);
}

static SSL_CTX *
ctx_new(struct tls_ctxs *x, const char *cert, int cline, const char *key,
    int kline)
{
	SSL_CTX	*ctx;

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		fatalx("SSL_CTX_new: %s", ERR_reason_error_string(
		    ERR_get_error()));
	if (ctx_options(ctx, x) == -1 ||
	    ctx_cert(ctx, cert, cline, key, kline, x->conf->file) == -1) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* Build one listener's contexts; NULL after logging. */
static struct tls_ctxs *
ctxs_build(struct tls_conf *tc)
{
	struct tls_ctxs		*x;
	struct tls_sni_conf	*e;
	size_t			 i, n, off;
	int			 bad = 0;

	x = xcalloc(1, sizeof(*x));
	x->conf = tc;
	for (n = 0, i = 0; tc->alpn != NULL && tc->alpn[i] != NULL; i++)
		n += 1 + strlen(tc->alpn[i]);
	if (n > 0) {
		x->alpn = xmalloc(n);
		x->alpnlen = n;
		for (off = 0, i = 0; tc->alpn[i] != NULL; i++) {
			x->alpn[off] = (unsigned char)strlen(tc->alpn[i]);
			memcpy(x->alpn + off + 1, tc->alpn[i], x->alpn[off]);
			off += 1 + x->alpn[off];
		}
	}
	if (RAND_bytes(x->seed, sizeof(x->seed)) != 1)
		fatalx("RAND_bytes: no randomness for the ticket keys");
	if ((x->def = ctx_new(x, tc->certificate, tc->cert_line, tc->key,
	    tc->key_line)) == NULL)
		bad = 1;
	x->sni = xcalloc(tc->nsni > 0 ? tc->nsni : 1, sizeof(*x->sni));
	for (i = 0; i < tc->nsni; i++) {
		e = &tc->sni[i];
		if ((x->sni[i] = ctx_new(x, e->certificate, e->cert_line,
		    e->key, e->key_line)) == NULL)
			bad = 1;
	}
	if (bad) {
		ctxs_free(x);
		return NULL;
	}
	if (tc->nsni > 0) {
		SSL_CTX_set_tlsext_servername_callback(x->def, servername_cb);
		SSL_CTX_set_tlsext_servername_arg(x->def, x);
	}
	return x;
}

static void
tls_init_once(void)
{
	if (bio_meth != NULL)
		return;
	ctxs_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	if ((bio_meth = BIO_meth_new(BIO_get_new_index() |
	    BIO_TYPE_SOURCE_SINK, "asockd")) == NULL ||
	    !BIO_meth_set_write(bio_meth, bio_write) ||
	    !BIO_meth_set_read(bio_meth, bio_read) ||
	    !BIO_meth_set_ctrl(bio_meth, bio_ctrl) ||
	    !BIO_meth_set_create(bio_meth, bio_create))
		fatalx("BIO_meth_new");
	if ((aes_cbc = EVP_CIPHER_fetch(NULL, "AES-256-CBC", NULL)) == NULL)
		fatalx("EVP_CIPHER_fetch AES-256-CBC: %s",
		    ERR_reason_error_string(ERR_get_error()));
}

int
tls_load_all(struct config *conf)
{
	struct listener_conf	*l;
	struct tls_ctxs		*x;
	int			 errors = 0;

	tls_init_once();
	TAILQ_FOREACH(l, &conf->listeners, entry) {
		if (l->tls == NULL || l->tls->ctx != NULL)
			continue;
		if ((x = ctxs_build(l->tls)) == NULL) {
			errors++;
			continue;
		}
		l->tls->ctx = x;
		l->tls->ctx_free = ctxs_free;
	}
	if (errors == 0)
		return 0;
	/* all or nothing: a failed reload keeps the old contexts */
	TAILQ_FOREACH(l, &conf->listeners, entry)
		if (l->tls != NULL && l->tls->ctx != NULL) {
			ctxs_free(l->tls->ctx);
			l->tls->ctx = NULL;
		}
	return -1;
}

/* ---------------------------------------------------------------- sessions */

struct tls *
tls_server(struct tls_conf *tc, int fd)
{
	struct tls_ctxs	*x = tc->ctx;
	struct tls	*t;
	BIO		*b;

	if (x == NULL)
		fatalx("tls_server: listener without contexts");
	t = xcalloc(1, sizeof(*t));
	t->fd = fd;
	if ((t->ssl = SSL_new(x->def)) == NULL || (b = BIO_new(bio_meth)) ==
	    NULL)
		fatalx("SSL_new: %s", ERR_reason_error_string(
		    ERR_get_error()));
	BIO_set_data(b, t);
	SSL_set_bio(t->ssl, b, b);
	SSL_set_accept_state(t->ssl);
	return t;
}

static SSL_CTX	*client_ctx;	/* outbound tls:// */

struct tls *
tls_client(int fd, const char *host)
{
	unsigned char	 ip[16];
	struct tls	*t;
	BIO		*b;
	int		 literal;

	tls_init_once();
	if (client_ctx == NULL) {
		if ((client_ctx = SSL_CTX_new(TLS_client_method())) == NULL)
			fatalx("SSL_CTX_new: %s", ERR_reason_error_string(
			    ERR_get_error()));
		SSL_CTX_set_min_proto_version(client_ctx, TLS1_2_VERSION);
		SSL_CTX_set_options(client_ctx, SSL_OP_NO_RENEGOTIATION |
		    SSL_OP_NO_COMPRESSION);
		SSL_CTX_set_mode(client_ctx, SSL_MODE_RELEASE_BUFFERS);
		if (SSL_CTX_set_default_verify_paths(client_ctx) != 1)
			log_warnx("tls: no system CA store: outbound TLS "
			    "connections will not verify");
		SSL_CTX_set_verify(client_ctx, SSL_VERIFY_PEER, NULL);
	}
	t = xcalloc(1, sizeof(*t));
	t->fd = fd;
	if ((t->ssl = SSL_new(client_ctx)) == NULL ||
	    (b = BIO_new(bio_meth)) == NULL)
		fatalx("SSL_new: %s", ERR_reason_error_string(
		    ERR_get_error()));
	BIO_set_data(b, t);
	SSL_set_bio(t->ssl, b, b);
	SSL_set_connect_state(t->ssl);
	literal = inet_pton(AF_INET, host, ip) == 1 ||
	    inet_pton(AF_INET6, host, ip) == 1;
	/* SNI takes names only; the certificate must name host either way */
	if (!literal)
		SSL_set_tlsext_host_name(t->ssl, host);
	if ((literal ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl),
	    host) : SSL_set1_host(t->ssl, host)) != 1)
		fatalx("SSL_set1_host: %s", ERR_reason_error_string(
		    ERR_get_error()));
	return t;
}

/* Record why the session failed, for tls_error(). */
static void
tls_fail(struct tls *t, int sslerr)
{
	long	 vr;

	t->failed = 1;
	if (sslerr == SSL_ERROR_SYSCALL) {
		ERR_clear_error();
		snprintf(t->err, sizeof(t->err), "%s", t->rerr ?
		    strerror(t->rerr) : t->werr ? strerror(t->werr) :
		    "the peer closed without close_notify");
		return;
	}
	ssl_errors(t->err, sizeof(t->err));
	vr = SSL_get_verify_result(t->ssl);
	if (vr != X509_V_OK) {
		size_t	 n = strlen(t->err);

		/* ours is the server's side, or the client's (tls://) */
		snprintf(t->err + n, sizeof(t->err) - n, " (%s certificate:"
		    " %s)", SSL_is_server(t->ssl) ? "client" : "server",
		    X509_verify_cert_error_string(vr));
	}
}

int
tls_handshake(struct tls *t)
{
	int	 r, e;

	ERR_clear_error();
	if ((r = SSL_do_handshake(t->ssl)) == 1)
		return 1;
	e = SSL_get_error(t->ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
		return 0;
	tls_fail(t, e);
	return -1;
}

int
tls_want_write(const struct tls *t)
{
	return t->olen > t->ooff;
}

ssize_t
tls_read(struct tls *t, void *buf, size_t cap)
{
	size_t	 got = 0, n;
	int	 e;

	t->wr_wants_read = 0;
	while (got < cap) {
		ERR_clear_error();
		if (SSL_read_ex(t->ssl, (char *)buf + got, cap - got, &n)) {
			got += n;
			/*
			 * Nothing buffered: stop, as a plain recv would; the
			 * socket says when more comes (no recv for EAGAIN).
			 */
			if (!SSL_has_pending(t->ssl))
				break;
			continue;
		}
		e = SSL_get_error(t->ssl, 0);
		if (got > 0)
			break;	/* what ended the loop shows again */
		switch (e) {
		case SSL_ERROR_WANT_READ:
		case SSL_ERROR_WANT_WRITE:
			errno = EAGAIN;
			return -1;
		case SSL_ERROR_ZERO_RETURN:
			return 0;		/* close_notify */
		case SSL_ERROR_SYSCALL:
			tls_fail(t, e);
			errno = t->rerr ? t->rerr : ECONNRESET;
			return -1;
		default:
			if (ERR_GET_REASON(ERR_peek_last_error()) ==
			    SSL_R_UNEXPECTED_EOF_WHILE_READING) {
				tls_fail(t, e);
				errno = ECONNRESET;	/* truncated */
				return -1;
			}
			tls_fail(t, e);
			errno = EPROTO;
			return -1;
		}
	}
	return got;
}

int
tls_pending(const struct tls *t)
{
	/* decrypted bytes, or records read ahead and not yet decrypted */
	return SSL_has_pending(t->ssl);
}

int
tls_flush(struct tls *t)
{
	ssize_t	 n;

	while (t->olen > t->ooff) {
		n = send(t->fd, t->obuf + t->ooff, t->olen - t->ooff,
		    MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 1;
			t->werr = errno;
			return -1;
		}
		t->ooff += n;
	}
	t->olen = t->ooff = 0;
	if (t->ocap > TLS_REC * 2) {
		/* a burst is over: an idle session keeps a small buffer */
		free(t->obuf);
		t->obuf = NULL;
		t->ocap = 0;
	}
	return 0;
}

ssize_t
tls_writev(struct tls *t, const struct iovec *iov, int cnt)
{
	unsigned char	 stage[TLS_REC];
	const unsigned char *p;
	size_t		 total = 0, off = 0, len, rem, n;
	int		 i = 0, j, e, r;

	if ((r = tls_flush(t)) != 0)
		return r == 1 ? 0 : -1;
	for (j = 0; j < cnt && total <= TLS_REC; j++)
		total += iov[j].iov_len;
	t->cork = total > TLS_REC;	/* more than one record: gather */
	total = 0;
	while (i < cnt) {
		rem = iov[i].iov_len - off;
		if (rem == 0) {
			i++;
			off = 0;
			continue;
		}
		p = (const unsigned char *)iov[i].iov_base + off;
		if (rem >= TLS_REC || i == cnt - 1)
			len = rem < TLS_REC ? rem : TLS_REC;
		else {
			/* small pieces (a frame header) share a record */
			for (len = 0, j = i; j < cnt && len < TLS_REC; j++) {
				n = iov[j].iov_len - (j == i ? off : 0);
				if (n > TLS_REC - len)
					n = TLS_REC - len;
				memcpy(stage + len, (const unsigned char *)
				    iov[j].iov_base + (j == i ? off : 0), n);
				len += n;
			}
			p = stage;
		}
		ERR_clear_error();
		if (!SSL_write_ex(t->ssl, p, len, &n)) {
			e = SSL_get_error(t->ssl, 0);
			if (e == SSL_ERROR_WANT_READ) {
				t->wr_wants_read = 1;
				break;
			}
			if (e == SSL_ERROR_WANT_WRITE)
				break;
			if (total > 0)
				break;
			t->cork = 0;
			glen = 0;
			tls_fail(t, e);
			errno = t->werr ? t->werr : EPROTO;
			return -1;
		}
		total += n;
		/* advance n bytes over the iovecs */
		while (n > 0 && i < cnt) {
			rem = iov[i].iov_len - off;
			if (n < rem) {
				off += n;
				n = 0;
			} else {
				n -= rem;
				i++;
				off = 0;
			}
		}
		if (t->cork) {
			if (glen + TLS_REC + 256 <= sizeof(gather))
				continue;	/* room for one more */
			if (gather_flush(t) == -1)
				break;	/* werr: the next call reports it */
		}
		if (t->olen > t->ooff)
			break;		/* the socket is full */
	}
	if (t->cork) {
		t->cork = 0;
		(void)gather_flush(t);	/* what stays shows in tls_want_write */
	}
	return total;
}

ssize_t
tls_flush_queue(struct tls *t, struct sendq *q)
{
	struct iovec	 iov[ASOCKD_IOV_MAX];
	ssize_t		 n, total = 0;
	int		 cnt;

	while (q->len > 0) {
		cnt = sendq_iov(q, iov, ASOCKD_IOV_MAX);
		if ((n = tls_writev(t, iov, cnt)) == -1)
			return -1;
		if (n == 0)
			break;
		sendq_consume(q, (size_t)n);
		total += n;
		if (tls_want_write(t) || t->wr_wants_read)
			break;
	}
	return total;
}

int
tls_write_wants_read(const struct tls *t)
{
	return t->wr_wants_read;
}

void
tls_shutdown(struct tls *t)
{
	if (t->shut || t->failed || !SSL_is_init_finished(t->ssl))
		return;
	t->shut = 1;
	ERR_clear_error();
	SSL_shutdown(t->ssl);	/* close_notify: into obuf at worst */
	ERR_clear_error();
	tls_flush(t);
}

void
tls_free(struct tls *t)
{
	if (t == NULL)
		return;
	SSL_free(t->ssl);
	free(t->obuf);
	free(t);
}

/*
 * Handshake failures are logged at most LOGS_PER_MIN times a minute per
 * source address, so that a scanner cannot flood the log.
 */
#define LOG_SLOTS	64
#define LOGS_PER_MIN	10

static struct {
	char		 host[64];
	time_t		 window;
	unsigned int	 count;
} logslots[LOG_SLOTS];

int
tls_log_ok(const char *peer, unsigned int *suppressed)
{
	const char	*colon = strrchr(peer, ':');
	size_t		 len = colon != NULL ? (size_t)(colon - peer) :
			    strlen(peer);
	unsigned int	 h = 5381, i, slot;
	time_t		 now = time(NULL) / 60;

	if (len >= sizeof(logslots[0].host))
		len = sizeof(logslots[0].host) - 1;
	for (i = 0; i < len; i++)
		h = h * 33 + (unsigned char)peer[i];
	slot = h % LOG_SLOTS;
	*suppressed = 0;
	if (strncmp(logslots[slot].host, peer, len) != 0 ||
	    logslots[slot].host[len] != '\0' ||
	    logslots[slot].window != now) {
		if (logslots[slot].window != now &&
		    strncmp(logslots[slot].host, peer, len) == 0 &&
		    logslots[slot].count > LOGS_PER_MIN)
			*suppressed = logslots[slot].count - LOGS_PER_MIN;
		memcpy(logslots[slot].host, peer, len);
		logslots[slot].host[len] = '\0';
		logslots[slot].window = now;
		logslots[slot].count = 0;
	}
	return ++logslots[slot].count <= LOGS_PER_MIN;
}

void
tls_info(const struct tls *t, struct asockd_tls_info *out)
{
	const unsigned char	*alpn;
	unsigned char		 md[EVP_MAX_MD_SIZE];
	unsigned int		 alen, mdlen, i;
	const char		*s;
	X509			*x;
	BIO			*m;
	int			 n;
	long			 vr;

	out->tls = 1;
	snprintf(out->version, sizeof(out->version), "%s",
	    SSL_get_version(t->ssl));
	s = SSL_get_cipher_name(t->ssl);
	snprintf(out->cipher, sizeof(out->cipher), "%s", s ? s : "");
	s = SSL_get_servername(t->ssl, TLSEXT_NAMETYPE_host_name);
	snprintf(out->sni, sizeof(out->sni), "%s", s ? s : "");
	SSL_get0_alpn_selected(t->ssl, &alpn, &alen);
	if (alen >= sizeof(out->alpn))
		alen = sizeof(out->alpn) - 1;
	if (alen > 0)	/* no ALPN: alpn is NULL */
		memcpy(out->alpn, alpn, alen);
	out->alpn[alen] = '\0';
	vr = SSL_get_verify_result(t->ssl);
	out->verify_result = vr;
	if (vr != X509_V_OK)
		snprintf(out->verify_error, sizeof(out->verify_error), "%s",
		    X509_verify_cert_error_string(vr));
	if ((x = SSL_get0_peer_certificate(t->ssl)) == NULL)
		return;
	out->client_cert = 1;
	if ((m = BIO_new(BIO_s_mem())) == NULL)
		fatalx("BIO_new");
	X509_NAME_print_ex(m, X509_get_subject_name(x), 0, XN_FLAG_RFC2253);
	n = BIO_read(m, out->client_subject, sizeof(out->client_subject) - 1);
	out->client_subject[n > 0 ? n : 0] = '\0';
	BIO_free(m);
	if (X509_digest(x, EVP_sha256(), md, &mdlen) == 1)
		for (i = 0; i < mdlen && 3 * i + 3 <=
		    sizeof(out->client_sha256); i++)
			snprintf(out->client_sha256 + 3 * i, 4, "%02X%s", md[i],
			    i + 1 < mdlen ? ":" : "");
}

const char *
tls_error(const struct tls *t)
{
	return t->err[0] != '\0' ? t->err : "unknown error";
}
