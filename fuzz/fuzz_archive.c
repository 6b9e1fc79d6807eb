/*
 * fuzz_archive.c - libFuzzer target: archive framing (see fuzz.h).
 */
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_frames(FRAMING_ARCHIVE, data, size);
	/* The reader over arbitrary, unvalidated bytes. */
	if (size > 0) {
		const char	*why;
		int		 valid;

		valid = mp_check(data, size, &why) == 0;
		fuzz_reader(data, size, valid);
	}
	return 0;
}
