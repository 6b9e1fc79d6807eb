/*
 * fuzz_length.c - libFuzzer target: length framing (see fuzz.h).
 */
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_frames(FRAMING_LENGTH, data, size);
	return 0;
}
