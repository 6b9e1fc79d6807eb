/*
 * proxyproto.c - the PROXY protocol header (HAProxy's proxy-protocol.txt),
 * versions 1 (text) and 2 (binary): a decoder with no socket of its own,
 * so the fuzz target links it alone.
 *
 * proxy_parse() looks at the bytes received so far and says: a whole
 * header of N bytes, more bytes needed (the bytes so far are a proper
 * beginning of a header, so a reader may consume all of them), or not a
 * header.  It never asks for a byte past the header's end, which is what
 * lets the caller read exactly the header and leave what follows it in
 * the socket for the plugin.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asockd.h"

static const unsigned char v2sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

#define V1_MAX		107	/* "PROXY ... \r\n", the spec's bound */

/* n bytes of buf are a beginning of s (or all of it): 1. */
static int
prefix_of(const unsigned char *buf, size_t n, const char *s, size_t slen)
{
	return memcmp(buf, s, n < slen ? n : slen) == 0;
}

/* A port of 1 to 5 digits, no sign, no leading zero: 0 or -1. */
static int
port_parse(const char *s, uint16_t *port)
{
	char	*end;
	long	 v;

	if (*s < '0' || *s > '9' || strlen(s) > 5 || (s[0] == '0' && s[1]))
		return -1;
	v = strtol(s, &end, 10);
	if (*end != '\0' || v > 65535)
		return -1;
	*port = htons((uint16_t)v);
	return 0;
}

static int
v1_addr(int v6, const char *a, const char *p, struct sockaddr_storage *ss,
    socklen_t *len)
{
	struct sockaddr_in	*s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (v6) {
		s6->sin6_family = AF_INET6;
		*len = sizeof(*s6);
		if (inet_pton(AF_INET6, a, &s6->sin6_addr) != 1)
			return -1;
		return port_parse(p, &s6->sin6_port);
	}
	s4->sin_family = AF_INET;
	*len = sizeof(*s4);
	if (inet_pton(AF_INET, a, &s4->sin_addr) != 1)
		return -1;
	return port_parse(p, &s4->sin_port);
}

static ssize_t
v1_parse(const unsigned char *buf, size_t len, struct proxy_hdr *h,
    const char **why)
{
	char		 line[V1_MAX + 1], *f[7], *save = NULL, *t;
	const unsigned char *cr;
	size_t		 n;
	int		 nf = 0, v6;

	cr = memchr(buf, '\r', len < V1_MAX ? len : V1_MAX);
	if (cr == NULL) {
		if (len >= V1_MAX) {
			*why = "v1 header longer than 107 bytes";
			return -1;
		}
		if (memchr(buf, '\n', len) != NULL) {
			*why = "v1 header ends without CR LF";
			return -1;
		}
		return 0;
	}
	n = (size_t)(cr - buf);
	if (n + 1 == len)
		return 0;		/* the LF is still to come */
	if (buf[n + 1] != '\n') {
		*why = "v1 header ends without CR LF";
		return -1;
	}
	memcpy(line, buf, n);
	line[n] = '\0';
	if (strlen(line) != n) {
		*why = "v1 header holds a NUL byte";
		return -1;
	}
	for (t = strtok_r(line, " ", &save); t != NULL && nf < 7;
	    t = strtok_r(NULL, " ", &save))
		f[nf++] = t;
	if (nf < 2 || strcmp(f[0], "PROXY") != 0) {
		*why = "v1 header without PROXY";
		return -1;
	}
	if (strcmp(f[1], "UNKNOWN") == 0) {
		h->local = 1;	/* whatever follows is ignored */
		return (ssize_t)(n + 2);
	}
	if (strcmp(f[1], "TCP4") != 0 && strcmp(f[1], "TCP6") != 0) {
		*why = "v1 header with an unknown protocol";
		return -1;
	}
	v6 = f[1][3] == '6';
	if (nf != 6 || t != NULL || line[n - 1] == ' ' ||
	    v1_addr(v6, f[2], f[4], &h->src, &h->srclen) == -1 ||
	    v1_addr(v6, f[3], f[5], &h->dst, &h->dstlen) == -1) {
		*why = "v1 header with bad addresses";
		return -1;
	}
	return (ssize_t)(n + 2);
}

static ssize_t
v2_parse(const unsigned char *buf, size_t len, struct proxy_hdr *h,
    const char **why)
{
	struct sockaddr_in	*s4;
	struct sockaddr_in6	*s6;
	const unsigned char	*a;
	size_t			 alen, need, total;
	int			 cmd, fam;

	if (len < 16)
		return 0;
	if ((buf[12] >> 4) != 2) {
		*why = "v2 header of another version";
		return -1;
	}
	cmd = buf[12] & 0x0f;
	fam = buf[13];
	alen = (size_t)buf[14] << 8 | buf[15];
	if (cmd > 1) {
		*why = "v2 header with an unknown command";
		return -1;
	}
	if (alen > PROXY_V2_MAX) {
		*why = "v2 header larger than " DEF_STR(PROXY_V2_MAX)
		    " bytes";
		return -1;
	}
	total = 16 + alen;
	if (len < total)
		return 0;
	a = buf + 16;
	h->local = 1;
	need = 0;
	switch (fam) {
	case 0x11:	/* TCP over IPv4 */
	case 0x12:	/* UDP over IPv4 */
		need = 12;
		break;
	case 0x21:	/* TCP over IPv6 */
	case 0x22:
		need = 36;
		break;
	case 0x31:	/* unix stream, datagram */
	case 0x32:
		need = 216;
		break;
	case 0x00:	/* UNSPEC */
		break;
	default:
		*why = "v2 header with an unknown address family";
		return -1;
	}
	if (alen < need) {
		*why = "v2 header too short for its addresses";
		return -1;
	}
	h->tlv = a + need;
	h->tlvlen = alen - need;
	if (cmd == 0 || (fam != 0x11 && fam != 0x21))
		return (ssize_t)total;	/* LOCAL, UNSPEC, UDP, unix */
	h->local = 0;
	memset(&h->src, 0, sizeof(h->src));
	memset(&h->dst, 0, sizeof(h->dst));
	if (fam == 0x11) {
		s4 = (struct sockaddr_in *)&h->src;
		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, a, 4);
		memcpy(&s4->sin_port, a + 8, 2);
		s4 = (struct sockaddr_in *)&h->dst;
		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, a + 4, 4);
		memcpy(&s4->sin_port, a + 10, 2);
		h->srclen = h->dstlen = sizeof(*s4);
	} else {
		s6 = (struct sockaddr_in6 *)&h->src;
		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, a, 16);
		memcpy(&s6->sin6_port, a + 32, 2);
		s6 = (struct sockaddr_in6 *)&h->dst;
		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, a + 16, 16);
		memcpy(&s6->sin6_port, a + 34, 2);
		h->srclen = h->dstlen = sizeof(*s6);
	}
	return (ssize_t)total;
}

ssize_t
proxy_parse(const unsigned char *buf, size_t len, int versions,
    struct proxy_hdr *h, const char **why)
{
	memset(h, 0, sizeof(*h));
	*why = "not a PROXY header";
	if (len == 0)
		return 0;
	if ((versions & PROXY_V1) && prefix_of(buf, len, "PROXY ", 6)) {
		if (len < 6)
			return 0;
		h->version = 1;
		return v1_parse(buf, len, h, why);
	}
	if ((versions & PROXY_V2) && prefix_of(buf, len,
	    (const char *)v2sig, sizeof(v2sig))) {
		if (len < sizeof(v2sig))
			return 0;
		h->version = 2;
		return v2_parse(buf, len, h, why);
	}
	return -1;
}

int
proxy_tlv(const unsigned char *tlv, size_t len, int type,
    const unsigned char **val, size_t *vlen)
{
	size_t	 off = 0, n;

	while (off + 3 <= len) {
		n = (size_t)tlv[off + 1] << 8 | tlv[off + 2];
		if (off + 3 + n > len)
			return -1;
		if (tlv[off] == type) {
			*val = tlv + off + 3;
			*vlen = n;
			return 0;
		}
		off += 3 + n;
	}
	return -1;
}

size_t
proxy_write(unsigned char *buf, size_t cap, int version,
    const struct sockaddr *src, socklen_t srclen,
    const struct sockaddr *dst, socklen_t dstlen)
{
	const struct sockaddr_in	*a4 = (const void *)src;
	const struct sockaddr_in	*b4 = (const void *)dst;
	const struct sockaddr_in6	*a6 = (const void *)src;
	const struct sockaddr_in6	*b6 = (const void *)dst;
	char				 x[INET6_ADDRSTRLEN];
	char				 y[INET6_ADDRSTRLEN];
	int				 n, inet;

	inet = src != NULL && dst != NULL && src->sa_family ==
	    dst->sa_family && ((src->sa_family == AF_INET &&
	    srclen >= sizeof(*a4) && dstlen >= sizeof(*b4)) ||
	    (src->sa_family == AF_INET6 && srclen >= sizeof(*a6) &&
	    dstlen >= sizeof(*b6)));
	if (version == 1) {
		if (!inet)
			n = snprintf((char *)buf, cap, "PROXY UNKNOWN\r\n");
		else if (src->sa_family == AF_INET) {
			inet_ntop(AF_INET, &a4->sin_addr, x, sizeof(x));
			inet_ntop(AF_INET, &b4->sin_addr, y, sizeof(y));
			n = snprintf((char *)buf, cap, "PROXY TCP4 %s %s %u "
			    "%u\r\n", x, y, ntohs(a4->sin_port),
			    ntohs(b4->sin_port));
		} else {
			inet_ntop(AF_INET6, &a6->sin6_addr, x, sizeof(x));
			inet_ntop(AF_INET6, &b6->sin6_addr, y, sizeof(y));
			n = snprintf((char *)buf, cap, "PROXY TCP6 %s %s %u "
			    "%u\r\n", x, y, ntohs(a6->sin6_port),
			    ntohs(b6->sin6_port));
		}
		return n > 0 && (size_t)n < cap ? (size_t)n : 0;
	}
	if (cap < 16 + 36)
		return 0;
	memcpy(buf, v2sig, sizeof(v2sig));
	buf[12] = 0x21;			/* version 2, PROXY */
	if (!inet) {
		buf[13] = 0x00;
		buf[14] = buf[15] = 0;
		return 16;
	}
	if (src->sa_family == AF_INET) {
		buf[13] = 0x11;
		buf[14] = 0;
		buf[15] = 12;
		memcpy(buf + 16, &a4->sin_addr, 4);
		memcpy(buf + 20, &b4->sin_addr, 4);
		memcpy(buf + 24, &a4->sin_port, 2);
		memcpy(buf + 26, &b4->sin_port, 2);
		return 28;
	}
	buf[13] = 0x21;
	buf[14] = 0;
	buf[15] = 36;
	memcpy(buf + 16, &a6->sin6_addr, 16);
	memcpy(buf + 32, &b6->sin6_addr, 16);
	memcpy(buf + 48, &a6->sin6_port, 2);
	memcpy(buf + 50, &b6->sin6_port, 2);
	return 52;
}
