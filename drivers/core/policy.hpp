// SPDX-License-Identifier: GPL-2.0
// The idle policy's ages (drivers/zram_idle_policy.c runs the worker; what
// it decides lives here, where host tests reach it): the age at which a
// page counts as cold enough to recompress, backed off while recompressed
// pages keep coming back, and the older age past which it is also cold
// enough to group with its neighbours.
//
// Every read of a page tells how long it had gone untouched: the device
// counts reads by that age (age_bucket), for every page, recompressed or
// not.  A grouped page read alone costs the decompression of its whole
// group, so the policy groups only pages older than almost every page that
// came back lately; younger ones it recompresses page by page.  Swap makes
// this tell apart: a program's pages that went out while it ran come back
// at ages up to the time it runs, the pages it left behind stay out longer.
#pragma once

#include "zcx/abi.h"
#include "zcx/support/types.hpp"

namespace zcx {

constexpr unsigned int kAgeBuckets = ZCX_AGE_BUCKETS;

// Seconds below 8 one bucket each, then four buckets to each power of
// two (bounds 8, 10, 12, 14, 16, 20, ...: a bound at most 25 % above an
// age), the last from about 32 hours up.
constexpr unsigned int age_bucket(u32 age)
{
	if (age < 8)
		return age;
	const unsigned int top = 31 - static_cast<unsigned int>(__builtin_clz(age));
	const unsigned int k = 4 * (top - 1) + ((age >> (top - 2)) & 3);
	return k < kAgeBuckets ? k : kAgeBuckets - 1;
}

// The youngest age bucket k holds.
constexpr u32 age_bucket_floor(unsigned int k)
{
	if (k < 8)
		return k;
	return (4u + k % 4) << (k / 4 - 1);
}

// What reads the device has counted, in all, since it was made.
struct ReadAges {
	u64 recompressed; // reads of pages a secondary algorithm made
	u64 by_age[kAgeBuckets];
};

using PolicyAges = zcx_policy_ages;

// seconds: the clock the device's access times are kept in.
void policy_ages_reset(PolicyAges &a, u32 recompress_after, const ReadAges &now,
		       u32 seconds);
// At the start of each interval; true if it backed off.  group_pages:
// the policy's groups (0: none, and the group age is the age).
bool policy_ages_adapt(PolicyAges &a, u32 recompress_after,
		       unsigned int group_pages, const ReadAges &now, u32 seconds);

} // namespace zcx
