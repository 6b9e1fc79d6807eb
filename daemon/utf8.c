/*
 * utf8.c - strict UTF-8 validation for the archive layer.
 *
 * Strings cross the wire as UTF-8 and are checked at the boundary, both
 * when a peer's message is framed and when a plugin writes one.  "Strict"
 * is the definition of the Unicode standard (table 3-7, well-formed byte
 * sequences): no overlong forms, no UTF-16 surrogates (U+D800..U+DFFF),
 * nothing above U+10FFFF, no stray continuation bytes.  NUL is valid.
 */
#include "mp.h"

int
utf8_valid(const unsigned char *s, size_t len)
{
	size_t		 i = 0, need;
	unsigned char	 c, lo, hi;

	while (i < len) {
		c = s[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		/*
		 * The range of the second byte depends on the first: that is
		 * what rules out overlongs, surrogates and > U+10FFFF.
		 */
		lo = 0x80;
		hi = 0xbf;
		if (c >= 0xc2 && c <= 0xdf)
			need = 1;
		else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			if (c == 0xe0)
				lo = 0xa0;
			else if (c == 0xed)
				hi = 0x9f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			if (c == 0xf0)
				lo = 0x90;
			else if (c == 0xf4)
				hi = 0x8f;
		} else
			return 0;	/* 0x80..0xc1, 0xf5..0xff */
		if (len - i - 1 < need)
			return 0;
		if (s[i + 1] < lo || s[i + 1] > hi)
			return 0;
		for (i += 2; need > 1; need--, i++)
			if ((s[i] & 0xc0) != 0x80)
				return 0;
	}
	return 1;
}
