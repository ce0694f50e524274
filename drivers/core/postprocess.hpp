// SPDX-License-Identifier: GPL-2.0
// Post-processing selection: which slots a writeback (and, later, a
// recompress) run takes, and in what order it spends a page budget.
// Writing back a 48-byte object frees 48 bytes and costs a 4 KiB block,
// so a run with a budget takes the largest objects first (upstream 6.13's
// post-processing buckets), without sorting and without memory per slot:
//   1. pp_plan: one pass over the filter's range counts the eligible slots
//      per 64-byte size bucket and finds the cutoff bucket such that the
//      buckets above it plus part of it hold exactly the budget;
//   2. the caller's pass in index order asks pp_take (under the slot
//      lock) for each eligible slot: every object above the cutoff bucket
//      is taken, and at the cutoff only as many as the budget leaves.
// Slots change between the passes (nothing is held across them); the
// second pass rechecks each slot under its lock, so a run takes at most
// the budget and possibly fewer.
#pragma once

#include "table.hpp"
#include "zcx/support/guards.hpp"
#include "zcx/abi.h"
#include "zcx/support/types.hpp"

namespace zcx {

inline constexpr unsigned int kPpBucketShift = 6; // 64-byte buckets
inline constexpr unsigned int kPpBuckets = (kPageSize >> kPpBucketShift) + 1;
inline constexpr u64 kPpUnlimited = ~u64{0};

// The slot (locked by the caller) holding c passes the filter: stored
// compressed or raw, not under writeback or recompression, and every
// condition of f (mode bits, age at `now`, size, index range) met.
bool pp_eligible(const Slot &slot, const SlotContents &c, u64 index,
		 const zcx_pp_filter &f, u32 now);

// Whether the plan takes an eligible object of `size` stored bytes; if
// so, it is charged to the plan.
bool pp_take(zcx_pp_plan *plan, u32 size);

// The counting pass: fills *plan for a budget of max_pages (0: none, take
// every eligible slot) spent largest first, or in index order if not
// largest_first.  Locks each slot of [f.lo, min(f.hi, table size)) in
// turn; process context, yields every few thousand slots.
void pp_plan(Table &table, const zcx_pp_filter &f, u64 max_pages,
	     bool largest_first, u32 now, zcx_pp_plan *plan);

inline unsigned int pp_bucket_of(u32 size)
{
	return size >> kPpBucketShift; // size <= kPageSize: < kPpBuckets
}

// The plan from a counting pass's per-bucket counts.
void pp_plan_cutoff(const u64 *count, u64 eligible, u64 max_pages,
		    bool largest_first, u32 now, zcx_pp_plan *plan);

// pp_plan for any notion of eligible (recompression has its own):
// eligible(slot, contents, index) is asked with the slot locked.
template <class Eligible>
void pp_plan_by(Table &table, u64 lo, u64 hi, u64 max_pages,
		bool largest_first, u32 now, zcx_pp_plan *plan,
		Eligible &&eligible)
{
	u64 count[kPpBuckets] = {};
	u64 n = 0;
	if (hi > table.size())
		hi = table.size();
	for (u64 i = lo; i < hi; i++) {
		Slot &slot = table[i];
		{
			auto locked = slot.lock();
			const SlotContents c = slot.get();
			if (eligible(slot, c, i)) {
				count[pp_bucket_of(c.size)]++;
				n++;
			}
		}
		scan_yield(i);
	}
	pp_plan_cutoff(count, n, max_pages, largest_first, now, plan);
}

} // namespace zcx
