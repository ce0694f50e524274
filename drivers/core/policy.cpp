// SPDX-License-Identifier: GPL-2.0
// The idle policy's ages (policy.hpp).
#include "policy.hpp"

#include "zcx/support/utility.hpp"

namespace zcx {

namespace {

// The effective age grows up to this many times recompress_after.
constexpr u64 kMaxBackoff = 16;
// Fewer reads back than this lately are noise, never a back-off; fewer
// pages recompressed, no evidence that the age can step back; fewer reads
// at recompressible ages, none that grouping should wait.
constexpr u64 kMinComebacks = 32;

// Reads at an age tell of pages that age for about as long again: the
// reads of lately are halved once every group age, not every interval (a
// 2 s interval would forget in 10 s that pages came back at 30).
void take_ages(PolicyAges &a, const ReadAges &now, u32 seconds)
{
	const bool halve = seconds - a.ages_halved >= max(a.group_age, 1u);
	if (halve)
		a.ages_halved = seconds;
	for (unsigned int k = 0; k < kAgeBuckets; k++) {
		a.recent_ages[k] = (halve ? a.recent_ages[k] / 2 : a.recent_ages[k]) +
				   (now.by_age[k] - a.ages_seen[k]);
		a.ages_seen[k] = now.by_age[k];
	}
}

// The youngest bucket bound past which at most 1/share of the reads of
// lately at ages recompress_after and up fell; 0: too few of those.
u32 comeback_tail_age(const PolicyAges &a, u32 recompress_after,
		      unsigned int share)
{
	const unsigned int first = age_bucket(recompress_after);
	u64 total = 0;
	for (unsigned int k = first; k < kAgeBuckets; k++)
		total += a.recent_ages[k];
	if (total < kMinComebacks)
		return 0;
	u64 older = total;
	unsigned int k = first;
	// older: reads at the ages of bucket k and up.
	while (k < kAgeBuckets - 1 && older > total / share) {
		older -= a.recent_ages[k];
		k++;
	}
	return age_bucket_floor(k);
}

} // namespace

// From the start, no back-off.  The device has counted reads since it was
// made; a policy set on a running disk learns from the reads from now on.
void policy_ages_reset(PolicyAges &a, u32 recompress_after, const ReadAges &now,
		       u32 seconds)
{
	a = PolicyAges{};
	a.ages_halved = seconds;
	a.age = recompress_after;
	a.group_age = recompress_after;
	a.reads_seen = now.recompressed;
	for (unsigned int k = 0; k < kAgeBuckets; k++)
		a.ages_seen[k] = now.by_age[k];
}

// Reads of recompressed pages lately against pages recompressed lately
// (both halved every interval, so that a burst of reads every few
// intervals counts as much as a steady stream).  Many: those pages were
// not cold, each cost a recompression and now costs a slower read, and the
// next ones at this age would too; wait twice as long before calling a
// page cold.  Few, of a fair number recompressed: pages of this age stay
// cold, step back toward recompress_after.  Nothing recompressed lately is
// no evidence either way: hold (stepping back then would only probe with
// pages known to come back).  Once the reads stop, pages pass the
// backed-off age, are recompressed, stay, and the age steps back: the
// back-off outlasts the reads by at most the age it reached.
//
// It never waits past the age beyond which at most an eighth of the pages
// read lately had been: a few dozen recompressed pages that came back
// could otherwise send it to 16 times recompress_after, where a short idle
// period leaves it with nothing to recompress.  (A quarter, the share that
// backs it off, kept recompressing a fifth of pages read every 2 s.)
//
// The group age does not wait for groups to come back: every read tells
// an age, so it is there before the first group forms.  A grouped page
// read alone costs up to group_pages pages' decompression: at most
// 1/group_pages of the reads fall past it, so the reads of grouped pages
// cost at most as much again as those reads would page by page.
bool policy_ages_adapt(PolicyAges &a, u32 recompress_after,
		       unsigned int group_pages, const ReadAges &now, u32 seconds)
{
	const u64 back = now.recompressed - a.reads_seen;
	bool backed_off = false;

	take_ages(a, now, seconds);
	const u32 seen = comeback_tail_age(a, recompress_after, 8);
	u64 cap = min<u64>(u64{recompress_after} * kMaxBackoff, ~0u);
	if (seen)
		cap = min<u64>(cap, max(seen, recompress_after));
	a.reads_seen = now.recompressed;
	a.comebacks += back;
	a.recent_back = a.recent_back / 2 + back;
	if (a.recent_back >= kMinComebacks && a.recent_back * 4 >= a.recent) {
		if (a.age < cap) {
			a.age = static_cast<u32>(min<u64>(u64{a.age} * 2, cap));
			backed_off = true;
		}
	} else if (a.recent >= kMinComebacks) {
		a.age = max(a.age / 2, recompress_after);
	}
	a.age = static_cast<u32>(min<u64>(a.age, cap));
	a.recent /= 2;

	a.group_age = group_pages < 2 ? a.age
		      : max(a.age, comeback_tail_age(a, recompress_after, group_pages));
	return backed_off;
}

} // namespace zcx
