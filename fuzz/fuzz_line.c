/*
 * fuzz_line.c - libFuzzer target: line framing (see fuzz.h).
 */
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_frames(FRAMING_LINE, data, size);
	return 0;
}
