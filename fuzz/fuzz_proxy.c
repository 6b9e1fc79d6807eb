/*
 * fuzz_proxy.c - libFuzzer target: the PROXY protocol header parser
 * (daemon/proxyproto.c), fed as the policy step feeds it.
 *
 * Byte 0 picks the versions accepted (1, 2 or both) and the size of each
 * delivery (1..32 bytes, or everything at once); the rest is the stream.
 * Each call gets a heap copy of exactly the bytes delivered so far, so
 * AddressSanitizer catches a read past them.  Invariants: a header never
 * claims more bytes than it was given; "need more" means every byte so
 * far belongs to the header, so a longer input never shortens a found
 * header; TLVs lie inside the buffer; a written header parses back.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "asockd.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FUZZ_ASSERT(x)	do { if (!(x)) abort(); } while (0)

static void
check_tlvs(const unsigned char *buf, size_t len, const struct proxy_hdr *h)
{
	const unsigned char	*v;
	size_t			 vlen;
	int			 t;

	if (h->tlv == NULL)
		return;
	FUZZ_ASSERT(h->tlv >= buf && h->tlv + h->tlvlen <= buf + len);
	for (t = 0; t < 256; t += 17)
		if (proxy_tlv(h->tlv, h->tlvlen, t, &v, &vlen) == 0)
			FUZZ_ASSERT(v >= h->tlv && v + vlen <=
			    h->tlv + h->tlvlen);
}

static void
check_roundtrip(const struct proxy_hdr *h)
{
	unsigned char		 out[128];
	struct proxy_hdr	 back;
	const char		*why;
	size_t			 n;
	int			 v;

	if (h->local)
		return;
	for (v = 1; v <= 2; v++) {
		n = proxy_write(out, sizeof(out), v,
		    (const struct sockaddr *)&h->src, h->srclen,
		    (const struct sockaddr *)&h->dst, h->dstlen);
		FUZZ_ASSERT(n > 0);
		FUZZ_ASSERT(proxy_parse(out, n, v, &back, &why) == (ssize_t)n);
		FUZZ_ASSERT(!back.local && back.srclen == h->srclen &&
		    memcmp(&back.src, &h->src, h->srclen) == 0);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxy_hdr	 h;
	const char		*why;
	unsigned char		*buf;
	size_t			 step, have = 0;
	ssize_t			 r = 0;
	int			 versions;

	if (size < 1)
		return 0;
	versions = 1 + data[0] % 3;
	step = (data[0] >> 2) % 33;
	data++;
	size--;
	if (step == 0)
		step = size;
	while (have < size) {
		have += step;
		if (have > size)
			have = size;
		buf = malloc(have ? have : 1);
		FUZZ_ASSERT(buf != NULL);
		memcpy(buf, data, have);
		r = proxy_parse(buf, have, versions, &h, &why);
		FUZZ_ASSERT(r <= (ssize_t)have);
		if (r > 0) {
			check_tlvs(buf, have, &h);
			check_roundtrip(&h);
		}
		if (r < 0)
			FUZZ_ASSERT(why != NULL && *why != '\0');
		free(buf);
		if (r != 0)
			break;
	}
	/* the whole input at once agrees with the deliveries */
	buf = malloc(size ? size : 1);
	FUZZ_ASSERT(buf != NULL);
	memcpy(buf, data, size);
	if (r > 0)
		FUZZ_ASSERT(proxy_parse(buf, size, versions, &h, &why) == r);
	free(buf);
	return 0;
}
