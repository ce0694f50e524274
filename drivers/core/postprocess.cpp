// SPDX-License-Identifier: GPL-2.0
#include "postprocess.hpp"

namespace zcx {

bool pp_eligible(const Slot &slot, const SlotContents &c, u64 index,
		 const zcx_pp_filter &f, u32 now)
{
	if (index < f.lo || index >= f.hi)
		return false;
	// A page of a group goes out decompressed, alone (group.hpp).
	if (c.kind != SlotKind::compressed && c.kind != SlotKind::huge &&
	    c.kind != SlotKind::grouped)
		return false; // nothing, same-filled, or already written back
	if (slot.claimed())
		return false;
	if ((f.mode & ZCX_WB_IDLE) && !slot.has(Slot::kIdle))
		return false;
	if ((f.mode & ZCX_WB_HUGE) && c.kind != SlotKind::huge)
		return false;
	if ((f.mode & ZCX_WB_INCOMPRESSIBLE) && !slot.has(Slot::kIncompressible))
		return false;
	if (f.min_size && c.size < f.min_size)
		return false;
	if (f.min_age) {
		const u32 last = slot.access_time();
		// A clock behind the slot's time (it cannot go back, but a
		// test's can) counts as young.
		if (now < last || now - last < f.min_age)
			return false;
	}
	return true;
}

bool pp_take(zcx_pp_plan *plan, u32 size)
{
	if (plan->budget == 0)
		return false;
	const unsigned int b = pp_bucket_of(size);
	if (b < plan->cutoff)
		return false;
	if (b == plan->cutoff) {
		if (plan->at_cutoff == 0)
			return false;
		if (plan->at_cutoff != kPpUnlimited)
			plan->at_cutoff--;
	}
	if (plan->budget != kPpUnlimited)
		plan->budget--;
	return true;
}

void pp_plan(Table &table, const zcx_pp_filter &f, u64 max_pages,
	     bool largest_first, u32 now, zcx_pp_plan *plan)
{
	pp_plan_by(table, f.lo, f.hi, max_pages, largest_first, now, plan,
		   [&](Slot &slot, const SlotContents &c, u64 i) {
			   return pp_eligible(slot, c, i, f, now);
		   });
}

void pp_plan_cutoff(const u64 *count, u64 eligible, u64 max_pages,
		    bool largest_first, u32 now, zcx_pp_plan *plan)
{
	*plan = {};
	plan->now = now;
	plan->eligible = eligible;
	plan->budget = max_pages ? max_pages : kPpUnlimited;
	plan->cutoff = 0;
	plan->at_cutoff = kPpUnlimited;
	if (!max_pages || eligible <= max_pages || !largest_first)
		return; // every eligible slot fits, or index order
	// From the largest bucket down until the budget is covered.
	u64 above = 0;
	unsigned int b = kPpBuckets;
	while (b-- > 0) {
		if (above + count[b] >= max_pages) {
			plan->cutoff = b;
			plan->at_cutoff = max_pages - above;
			return;
		}
		above += count[b];
	}
}

} // namespace zcx
