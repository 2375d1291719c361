// SPDX-License-Identifier: GPL-2.0
/*
 * lol selftests, x86_64: CPU features. Both checks read XCR0 as well as
 * cpuid, because a CPU may have a bank the kernel does not enable.
 */
#include <cpuid.h>
#include <stdint.h>

#include "processor.h"

static uint32_t xcr0(void)
{
	uint32_t lo, hi;

	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return lo;
}

bool lol_x86_has_avx(void)
{
	unsigned int a, b, c, d;

	__cpuid(1, a, b, c, d);
	if (!(c & bit_OSXSAVE) || !(c & bit_AVX))
		return false;
	return (xcr0() & 0x6) == 0x6;
}

bool lol_x86_has_avx512(void)
{
	unsigned int a, b, c, d;

	if (!lol_x86_has_avx())
		return false;
	__cpuid_count(7, 0, a, b, c, d);
	return (b & bit_AVX512F) && (xcr0() & 0xe0) == 0xe0;
}
