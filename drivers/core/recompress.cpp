// SPDX-License-Identifier: GPL-2.0
// Recompression: pages written with the fast algorithm, stored again with
// a denser secondary one once they have gone cold (upstream's
// `recompress`, 6.2-6.12), and debugfs block_state's view of a slot.
//
// A slot is never locked across a compression: its contents are copied out
// under the lock and claimed by the run (table.hpp, claims).  So when the
// lock is taken again, the run's claim says whether the copy is still the
// slot's data, and a slot that changed keeps its newer contents.
// Preemption is off for one page's compression at a time, never for a
// whole run.
#include "device.hpp"
#include "postprocess.hpp"

namespace zcx {

namespace {

// Anything the pool can hold is a candidate form of a compressed page.
constexpr usize kMaxObject = kHugeThreshold;

// What an object costs the pool (or a page, raw): what recompression must
// beat for the new form to save anything.
usize stored_cost(const SlotContents &c)
{
	return c.kind == SlotKind::huge ? kPageSize
					: xv::block_size_for_request(c.size);
}

} // namespace

// What a run's type, age and threshold select, page by page or grouped.
bool Device::recompress_selects(Slot &slot, const SlotContents &c,
				const RecompressRequest &req, u32 idle_cutoff)
{
	if (c.kind != SlotKind::compressed && c.kind != SlotKind::huge)
		return false; // empty, same-filled, written back or grouped
	if (slot.claimed() || slot.has(Slot::kIncompressible))
		return false;
	if (req.idle && !slot.has(Slot::kIdle))
		return false;
	if (req.min_age && slot.access_time() > idle_cutoff)
		return false;
	if (req.huge && c.kind != SlotKind::huge)
		return false;
	return !req.threshold || c.size >= req.threshold;
}

bool Device::recompress_eligible(Slot &slot, const SlotContents &c,
				 const RecompressRequest &req, u32 idle_cutoff)
{
	// Only algorithms of a higher priority than the one that made it.
	return recompress_selects(slot, c, req, idle_cutoff) &&
	       (req.priorities >> (c.priority + 1)) != 0;
}

Result<xv::Handle> Device::compress_into_object(u64 index, const u8 *page,
						unsigned int priority,
						usize limit, u32 *len)
{
	const auto owner = static_cast<xv::Owner>(index);
	usize n;
	{
		StreamSection section(host_, priority);
		zcx_stream &stream = section.stream();
		n = ZCX_TRY(compress_page(host_, page, stream, priority));
		*len = static_cast<u32>(n);
		if (n >= limit)
			return xv::Handle{0}; // handles are never 0
		auto fast = pool_->alloc(n, Gfp::nowait, owner);
		if (fast) {
			u8 *object = pool_->map(fast.value());
			memcpy(object, stream.buffer, n);
			pool_->unmap(object);
			return fast.value();
		}
	}
	// No room without sleeping: wait for memory outside the section and
	// compress again.  page is our private copy, so the length repeats.
	const xv::Handle handle = ZCX_TRY(pool_->alloc(n, Gfp::noio, owner));
	StreamSection section(host_, priority);
	zcx_stream &stream = section.stream();
	auto again = compress_page(host_, page, stream, priority);
	if (!again || again.value() != n) {
		pool_->free(handle);
		return Errc::io;
	}
	u8 *object = pool_->map(handle);
	memcpy(object, stream.buffer, n);
	pool_->unmap(object);
	return handle;
}

auto Device::recompress_slot(u64 index, ClaimOwner owner,
			     const RecompressRequest &req, u32 idle_cutoff,
			     zcx_pp_plan *plan, u8 *page)
	-> Result<Recompressed>
{
	Slot &slot = table_[index];
	SlotContents old;
	{
		auto locked = slot.lock();
		old = slot.get();
		if (!recompress_eligible(slot, old, req, idle_cutoff) ||
		    !pp_take(plan, old.size))
			return Recompressed::skipped;
		ZCX_TRY(read_locked(index, old, page));
		slot.set_claim(owner);
	}

	// Upstream's rule: the new form must take less room than the old
	// (and a huge page must now fit below the huge threshold), and be
	// below threshold if one is given.  The first algorithm that
	// achieves it wins.
	usize limit = old.kind == SlotKind::huge ? kHugeThreshold : kMaxObject;
	if (req.threshold && req.threshold < limit)
		limit = req.threshold;
	const usize old_cost = stored_cost(old);
	xv::Handle handle = 0;
	u32 len = 0;
	unsigned int tried = 0, priority = old.priority + 1;
	bool any_smaller = false;
	Result<void> failed = {};
	for (; priority < kMaxPriorities; priority++) {
		if (!(req.priorities & (1u << priority)))
			continue;
		tried++;
		auto made = compress_into_object(index, page, priority, limit, &len);
		if (!made) {
			failed = made.error();
			break;
		}
		handle = made.value();
		if (handle && xv::block_size_for_request(len) >= old_cost) {
			pool_->free(handle);
			handle = 0;
		}
		// Smaller only counts if the pool would hold it so: a page
		// that still compresses above the huge threshold stays raw.
		if (len < kHugeThreshold &&
		    xv::block_size_for_request(len) < old_cost)
			any_smaller = true;
		if (handle)
			break;
		zcx_cond_resched();
	}

	SlotContents current;
	Recompressed outcome;
	{
		auto locked = slot.lock();
		if (!slot.claimed_by(owner)) {
			// Rewritten, freed or written back meanwhile (and
			// perhaps claimed by another run since): the new form
			// is of stale data.
			if (handle)
				pool_->free(handle);
			return Recompressed::changed;
		}
		slot.set_claim(kNoClaim);
		if (!failed)
			return failed.error();
		if (!handle) {
			// Marked only when every secondary algorithm failed
			// to make it smaller, as upstream.
			if (!any_smaller && tried == req.configured) {
				slot.change(Slot::kIncompressible, true);
				return Recompressed::incompressible;
			}
			return Recompressed::kept;
		}
		// Compaction may have moved the object meanwhile: free
		// where it is now.
		current = slot.get();
		const SlotContents next{SlotKind::compressed, handle, len,
					static_cast<u8>(priority)};
		account(next, true);
		slot.replace(next);
		outcome = Recompressed::smaller;
	}
	release(current);
	return outcome;
}

Result<RecompressResult> Device::recompress(const RecompressRequest &req, u8 *page)
{
	RecompressResult result = {};
	const RunClaim claim(claim_owners_);
	const ClaimOwner owner = ZCX_TRY(claim.owner());
	const u32 now = zcx_now_seconds();
	const u32 idle_cutoff = now > req.min_age ? now - req.min_age : 0;
	// With a budget, the largest objects first (upstream 6.13): they
	// have the most bytes to give back.  A resumed pass keeps its plan.
	zcx_pp_plan local_plan;
	zcx_pp_plan &plan = req.plan && req.max_pages ? *req.plan : local_plan;
	// A kept plan was made by the call that began the pass (first 0).
	const bool planned = &plan == req.plan && req.first;
	if (!req.max_pages) {
		pp_plan_cutoff(nullptr, 0, 0, false, now, &plan);
	} else if (!planned) {
		pp_plan_by(table_, 0, table_.size(), req.max_pages, true, now, &plan,
			   [&](Slot &slot, const SlotContents &c, u64) {
				   if (req.group_pages)
					   return group_eligible(slot, c, req, idle_cutoff,
								 group_priority(req));
				   return recompress_eligible(slot, c, req, idle_cutoff);
			   });
	}
	if (req.group_pages) {
		ZCX_TRY(recompress_groups(req, owner, idle_cutoff, &plan, page,
					  &result));
		return result;
	}
	u64 i = req.first;
	for (; i < table_.size(); i++) {
		if (req.max_pages && result.tried == req.max_pages)
			break;
		// should_stop only once a page has been tried: a run that is
		// asked to give way before every slot still makes progress.
		if ((req.stop && __atomic_load_n(req.stop, __ATOMIC_RELAXED)) ||
		    (req.should_stop && result.tried && req.should_stop(req.ctx))) {
			result.stopped = 1;
			break;
		}
		const Recompressed r =
			ZCX_TRY(recompress_slot(i, owner, req, idle_cutoff, &plan, page));
		switch (r) {
		case Recompressed::skipped:
			if (i % 1024 == 0)
				zcx_cond_resched();
			continue;
		case Recompressed::smaller:
			result.recompressed++;
			break;
		case Recompressed::incompressible:
			result.incompressible++;
			break;
		case Recompressed::changed:
			result.changed++;
			break;
		case Recompressed::kept:
			break;
		}
		result.tried++;
		zcx_cond_resched();
	}
	result.next = i;
	return result;
}

bool Device::slot_state(u64 index, SlotState *out)
{
	Slot &slot = table_[index];
	auto locked = slot.lock();
	const SlotContents c = slot.get();
	if (c.kind == SlotKind::empty)
		return false;
	out->access_time = slot.access_time();
	out->same = c.kind == SlotKind::same;
	out->written_back = c.kind == SlotKind::backing;
	out->huge = c.kind == SlotKind::huge;
	out->idle = slot.has(Slot::kIdle);
	out->recompressed = c.priority != 0;
	out->incompressible = slot.has(Slot::kIncompressible);
	out->grouped = c.kind == SlotKind::grouped;
	return true;
}

} // namespace zcx
