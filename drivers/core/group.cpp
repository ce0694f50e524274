// SPDX-License-Identifier: GPL-2.0
// Groups (group.hpp): forming them in a recompression run, reading one
// page of one, letting go of one, and moving their objects for compaction.
//
// Forming follows single-page recompression's protocol (recompress.cpp):
// each member's page is copied out under its lock and claimed by the run
// (table.hpp, claims); the group is compressed with no slot lock held and
// preemption enabled (the run's own compressor, not a per-CPU stream);
// then each member is committed under its lock only if the run's claim is
// still there.  A member that changed meanwhile keeps its new data and its bit
// of the live mask is cleared: the group forms without it.
#include "device.hpp"
#include "postprocess.hpp"
#include "race.hpp"

namespace zcx {

namespace {

// A group must save at least this share of what its members took
// (1/kWorthShift): reading a member decompresses the whole group.
constexpr unsigned int kWorthShift = 4;

usize member_cost(const SlotContents &c)
{
	if (c.kind == SlotKind::huge)
		return kPageSize;
	return xv::block_size_for_request(c.size) + xv::kHeaderSize;
}

} // namespace

// The first secondary algorithm the run may use (algo= or priority= name
// one): groups are compressed with it alone.
unsigned int group_priority(const RecompressRequest &req)
{
	for (unsigned int p = 1; p < kMaxPriorities; p++) {
		if (req.priorities & (1u << p))
			return p;
	}
	return 0;
}

// One run's means: its own compressor, sized for a whole group, and the
// buffers a group is assembled and compressed in.
struct Device::GroupRun : Pinned {
	zcx_host *host = nullptr;
	zcx_group_codec *codec = nullptr;
	u8 *plain = nullptr;
	u8 *packed = nullptr;
	unsigned int pages = 0;
	unsigned int priority = 0;
	ClaimOwner owner = kNoClaim;
	// Regrouping: only this group's pages, which must beat what the
	// whole group costs now.
	xv::Handle only_group = 0;
	usize group_cost = 0;
	// Slots accessed after this second (the run's group_min_age) are
	// recompressed page by page instead; ~0: none.
	u32 group_cutoff = ~0u;
	// The group being made's pieces, before its header exists: 1.5 KiB,
	// not on the stack (regroup_sparse keeps a run per algorithm there).
	struct Pieces {
		xv::Handle handle[kMaxGroupPieces];
		u32 len[kMaxGroupPieces];
	} *pieces = nullptr;

	Result<void> setup(zcx_host *h, ClaimOwner o, unsigned int prio,
			   unsigned int n)
	{
		host = h;
		owner = o;
		priority = prio;
		pages = n;
		if (zcx_group_buffers_prepare(host))
			return Errc::nomem;
		plain = static_cast<u8 *>(zcx_vzalloc(pages * kPageSize));
		packed = static_cast<u8 *>(zcx_vzalloc(ZCX_GROUP_COMPRESS_BOUND));
		pieces = static_cast<Pieces *>(zcx_kzalloc(sizeof(*pieces), ZCX_GFP_KERNEL));
		codec = zcx_group_codec_create(host, priority, pages * kPageSize);
		if (!plain || !packed || !pieces || !codec)
			return Errc::nomem;
		return {};
	}

	~GroupRun()
	{
		if (codec)
			zcx_group_codec_destroy(host, codec);
		zcx_vfree(plain);
		zcx_vfree(packed);
		zcx_kfree(pieces);
	}
};

bool Device::group_eligible(Slot &slot, const SlotContents &c,
			    const RecompressRequest &req, u32 idle_cutoff,
			    unsigned int priority)
{
	// A page the group's algorithm already compressed alone may still
	// gain from its neighbours; one a later algorithm made may not.
	return recompress_selects(slot, c, req, idle_cutoff) &&
	       c.priority <= priority;
}

Result<void> Device::recompress_groups(const RecompressRequest &req,
				       ClaimOwner owner, u32 idle_cutoff,
				       zcx_pp_plan *plan, u8 *page,
				       RecompressResult *result)
{
	const unsigned int n = req.group_pages;
	if (!group_priority(req) || n < 2 || n > kMaxGroupPages || (n & (n - 1)))
		return Errc::inval;
	GroupRun local;
	GroupRun *run = &local;
	const unsigned int priority = group_priority(req);
	// The kept means are one run's at a time; another run at once (the
	// C layer lets none through) would make its own.
	const bool keep = req.keep_workspace &&
			  !__atomic_exchange_n(&kept_group_run_busy_, true, __ATOMIC_ACQUIRE);
	struct KeptRelease {
		bool *busy;
		~KeptRelease()
		{
			if (busy)
				__atomic_store_n(busy, false, __ATOMIC_RELEASE);
		}
	} release_kept{keep ? &kept_group_run_busy_ : nullptr};
	if (keep) {
		if (kept_group_run_ && (kept_group_run_->priority != priority ||
					kept_group_run_->pages != n))
			drop_kept_group_run();
		if (!kept_group_run_) {
			GroupRun *made = ZCX_TRY(try_new<GroupRun>(Gfp::kernel));
			if (!made->setup(host_, owner, priority, n)) {
				made->~GroupRun();
				zcx_kfree(made);
				return Errc::nomem;
			}
			kept_group_run_ = made;
		}
		run = kept_group_run_;
		run->owner = owner;
	} else {
		ZCX_TRY(local.setup(host_, owner, priority, n));
	}
	const u32 now = zcx_now_seconds();
	run->group_cutoff = !req.group_min_age ? ~0u
			    : now > req.group_min_age ? now - req.group_min_age
						      : 0;
	// A resumed run starts at the window it stopped before.
	const u64 first_window = req.first & ~u64{n - 1};
	u64 w = first_window;
	for (; w < table_.size(); w += n) {
		if (req.max_pages && result->tried >= req.max_pages)
			break;
		// should_stop only after the first window: a run asked to give
		// way before every window still makes progress.
		if ((req.stop && __atomic_load_n(req.stop, __ATOMIC_RELAXED)) ||
		    (req.should_stop && w != first_window && req.should_stop(req.ctx))) {
			result->stopped = 1;
			break;
		}
		ZCX_TRY(group_window(w, *run, req, idle_cutoff, plan, page, result));
		zcx_cond_resched();
	}
	result->next = w;
	return {};
}

void Device::drop_kept_group_run()
{
	if (!kept_group_run_)
		return;
	kept_group_run_->~GroupRun();
	zcx_kfree(kept_group_run_);
	kept_group_run_ = nullptr;
}

// One page the run selects recompressed as without groups, counted in
// result (but for tried); plan null: its budget is already taken.
Result<Device::Recompressed>
Device::recompress_alone(u64 index, GroupRun &run, const RecompressRequest &req,
			 u32 idle_cutoff, zcx_pp_plan *plan, u8 *page,
			 RecompressResult *result)
{
	zcx_pp_plan any{};
	any.budget = kPpUnlimited;
	any.at_cutoff = kPpUnlimited;
	const Recompressed r = ZCX_TRY(recompress_slot(
		index, run.owner, req, idle_cutoff, plan ? plan : &any, page));
	if (r == Recompressed::smaller)
		result->recompressed++;
	else if (r == Recompressed::incompressible)
		result->incompressible++;
	else if (r == Recompressed::changed)
		result->changed++;
	return r;
}

// The pages of a window the run selects but that were accessed after its
// group cutoff: recompressed one by one, never grouped (the idle policy's
// pages young enough to come back alone, which would cost a whole group's
// decompression each).
Result<void> Device::recompress_young(u64 window, GroupRun &run,
				      const RecompressRequest &req, u32 idle_cutoff,
				      zcx_pp_plan *plan, u8 *page,
				      RecompressResult *result)
{
	const u64 end = min(window + run.pages, table_.size());
	for (u64 i = window; i < end; i++) {
		if (req.max_pages && result->tried >= req.max_pages)
			break;
		{
			Slot &slot = table_[i];
			auto locked = slot.lock();
			if (slot.access_time() <= run.group_cutoff ||
			    !group_eligible(slot, slot.get(), req, idle_cutoff,
					    run.priority))
				continue;
		}
		// Checked again under the lock it takes, with the plan.
		const Recompressed r = ZCX_TRY(recompress_alone(
			i, run, req, idle_cutoff, plan, page, result));
		if (r != Recompressed::skipped)
			result->tried++;
	}
	return {};
}

Result<void> Device::group_window(u64 window, GroupRun &run,
				  const RecompressRequest &req, u32 idle_cutoff,
				  zcx_pp_plan *plan, u8 *page,
				  RecompressResult *result)
{
	const u64 end = min(window + run.pages, table_.size());
	u8 offsets[kMaxGroupPages];
	unsigned int members = 0;
	usize old_cost = 0;
	Result<void> failed = {};

	if (!run.only_group && run.group_cutoff != ~0u)
		ZCX_TRY(recompress_young(window, run, req, idle_cutoff, plan,
					 page, result));
	for (u64 i = window; i < end; i++) {
		Slot &slot = table_[i];
		auto locked = slot.lock();
		const SlotContents c = slot.get();
		if (run.only_group ? c.kind != SlotKind::grouped ||
					     c.value != run.only_group ||
					     slot.claimed()
				   : !group_eligible(slot, c, req, idle_cutoff,
						     run.priority) ||
					     slot.access_time() > run.group_cutoff)
			continue;
		if (req.max_pages && result->tried + members >= req.max_pages)
			break;
		if (!pp_take(plan, c.size))
			continue;
		failed = read_locked(i, c, run.plain + members * kPageSize);
		if (!failed)
			break;
		slot.set_claim(run.owner);
		offsets[members++] = static_cast<u8>(i - window);
		old_cost += member_cost(c);
	}
	auto unmark = [&] {
		for (unsigned int k = 0; k < members; k++) {
			Slot &slot = table_[window + offsets[k]];
			auto locked = slot.lock();
			if (slot.claimed_by(run.owner))
				slot.set_claim(kNoClaim);
		}
	};
	if (!failed || members == 0) {
		unmark();
		return failed;
	}
	result->tried += members;
	if (members == 1) {
		// Alone in its window: recompressed as a page, as without
		// groups (its budget is already taken).
		unmark();
		ZCX_TRY(recompress_alone(window + offsets[0], run, req,
					 idle_cutoff, nullptr, page, result));
		return {};
	}

	zcx_size_t len = ZCX_GROUP_COMPRESS_BOUND;
	const int status = zcx_group_compress(host_, run.codec, run.plain,
					      members * kPageSize, run.packed,
					      &len);
	const usize cost = status == 0 ? group_cost(len) : ~usize{0};
	if (run.only_group)
		old_cost = run.group_cost;
	if (status != 0 || len == 0 || len > ZCX_GROUP_MAX_BYTES ||
	    cost + (cost >> kWorthShift) >= old_cost) {
		unmark();
		return {};
	}

	// The objects, with no slot lock held (may sleep for memory): the
	// pieces first, in the pool's holes where it has them, then the header
	// that names them.
	const auto owner = static_cast<xv::Owner>(window);
	unsigned int nr_pieces = 0;
	bool out_of_memory = false;
	for (usize done = 0; done < len; nr_pieces++) {
		const usize left = len - done;
		usize got = 0;
		auto piece = pool_->alloc_fill(min(kMaxPieceBytes, left),
					       min(kMinPieceBytes, left),
					       Gfp::noio, owner, &got);
		if (!piece) {
			out_of_memory = true;
			break;
		}
		run.pieces->handle[nr_pieces] = piece.value();
		run.pieces->len[nr_pieces] = static_cast<u32>(got);
		u8 *object = pool_->map(piece.value());
		memcpy(object, run.packed + done, got);
		pool_->unmap(object);
		done += got;
	}
	Result<xv::Handle> header_or = Errc::nomem;
	if (!out_of_memory)
		header_or = pool_->alloc(GroupHeader::bytes_for(nr_pieces), Gfp::noio,
					 owner);
	if (!header_or) {
		for (unsigned int i = 0; i < nr_pieces; i++)
			pool_->free(run.pieces->handle[i]);
		unmark();
		return Errc::nomem;
	}
	const xv::Handle header = header_or.value();
	const u64 stamp = group_stamp_.add(1);
	{
		auto *g = reinterpret_cast<GroupHeader *>(pool_->map(header));
		g->live = GroupHeader::kForming | ((1u << members) - 1);
		g->packed_len = static_cast<u32>(len);
		g->stamp_lo = static_cast<u32>(stamp);
		g->stamp_hi = static_cast<u32>(stamp >> 32);
		g->window = owner;
		g->pages = static_cast<u8>(members);
		g->priority = static_cast<u8>(run.priority);
		g->nr_pieces = static_cast<u8>(nr_pieces);
		g->unused = 0;
		memcpy(g->offsets, offsets, sizeof(offsets));
		for (unsigned int i = 0; i < nr_pieces; i++) {
			g->set_piece(i, run.pieces->handle[i]);
			g->set_piece_len(i, run.pieces->len[i]);
		}
		pool_->unmap(reinterpret_cast<u8 *>(g));
	}
	groups_.inc();
	compr_bytes_.add(len);

	const u32 share = static_cast<u32>(len / members);
	unsigned int committed = 0;
	for (unsigned int k = 0; k < members; k++) {
		Slot &slot = table_[window + offsets[k]];
		SlotContents current;
		{
			auto locked = slot.lock();
			if (!slot.claimed_by(run.owner)) {
				// Rewritten, freed or written back meanwhile
				// (and perhaps claimed by another run since):
				// it keeps its new data, the group goes on
				// without this page.
				auto *g = reinterpret_cast<GroupHeader *>(
					pool_->map(header));
				__atomic_fetch_and(&g->live, ~(1u << k),
						   __ATOMIC_ACQ_REL);
				pool_->unmap(reinterpret_cast<u8 *>(g));
				dead_group_bytes_.add(len / members);
				result->changed++;
				continue;
			}
			current = slot.get();
			SlotContents next{SlotKind::grouped, header, share,
					  static_cast<u8>(run.priority)};
			next.member = static_cast<u8>(k);
			account(next, true);
			slot.replace(next);
			unlink_locked(&current);
		}
		release(current);
		committed++;
	}
	result->recompressed += committed;
	if (committed)
		result->groups++;

	// Forming is over: from now on the last member to go frees it.
	auto *g = reinterpret_cast<GroupHeader *>(pool_->map(header));
	const u32 was = __atomic_fetch_and(&g->live, ~GroupHeader::kForming,
					   __ATOMIC_ACQ_REL);
	pool_->unmap(reinterpret_cast<u8 *>(g));
	if ((was & ~GroupHeader::kForming) == 0)
		free_group(header);
	return {};
}

Result<void> Device::group_read_begin(const SlotContents &c, GroupRead *r)
{
	r->b = zcx_group_buffers_get(host_);
	const auto *g = reinterpret_cast<const GroupHeader *>(pool_->map(c.value));
	Result<void> ok = {};
	r->packed_len = g->packed_len;
	r->pages = g->pages;
	r->priority = g->priority;
	r->stamp = g->stamp();
	static_assert(ZCX_GROUP_CACHED == 2, "the entry not read last is the one to reuse");
	zcx_group_buffers *b = r->b;
	for (unsigned int e = 0; e < ZCX_GROUP_CACHED && !r->cached; e++) {
		r->cached = b->cached_handle[e] == c.value && b->cached_stamp[e] == r->stamp;
		r->entry = e;
	}
	if (c.member >= g->pages) {
		ok = Errc::io;
	} else if (!r->cached) {
		r->entry = b->last_used ^ 1;
		// An entry names a group only while its plain holds all of it.
		b->cached_handle[r->entry] = 0;
		usize at = 0;
		for (unsigned int i = 0; i < g->nr_pieces; i++) {
			const u8 *piece = pool_->map(g->piece(i));
			memcpy(static_cast<u8 *>(b->packed) + at, piece,
			       g->piece_len(i));
			pool_->unmap(piece);
			at += g->piece_len(i);
		}
	}
	pool_->unmap(reinterpret_cast<const u8 *>(g));
	if (!ok)
		zcx_group_buffers_put(host_);
	return ok;
}

Result<void> Device::group_read_end(u64 index, const SlotContents &c,
				    GroupRead *r, u8 *dst)
{
	zcx_group_buffers *b = r->b;
	void *plain = b->plain[r->entry];
	Result<void> ok = {};
	if (!r->cached) {
		ZCX_RACE(ZCX_RACE_GROUP_DECOMPRESS);
		zcx_size_t out = r->pages * kPageSize;
		const int status = zcx_decompress(host_, r->priority, b->packed,
						  r->packed_len, plain, &out);
		if (status != 0 || out != r->pages * kPageSize) {
			failed_reads_.inc();
			zcx_report_corrupt(index, status);
			ok = Errc::io;
		} else {
			b->cached_handle[r->entry] = c.value;
			b->cached_stamp[r->entry] = r->stamp;
		}
	}
	if (ok) {
		memcpy(dst, static_cast<const u8 *>(plain) + c.member * kPageSize,
		       kPageSize);
		b->last_used = r->entry;
	}
	zcx_group_buffers_put(host_);
	return ok;
}

Result<void> Device::read_grouped(u64 index, const SlotContents &c, u8 *dst)
{
	GroupRead r;
	ZCX_TRY(group_read_begin(c, &r));
	return group_read_end(index, c, &r, dst);
}

void Device::unlink_locked(SlotContents *old)
{
	if (old->kind != SlotKind::grouped)
		return;
	auto *g = reinterpret_cast<GroupHeader *>(pool_->map(old->value));
	const u32 bit = 1u << old->member;
	// Read before the bit goes: once it is clear, another member
	// clearing the last one frees the header under us.
	const u32 share = g->packed_len / g->pages;
	dead_group_bytes_.add(share);
	const u32 was = __atomic_fetch_and(&g->live, ~bit, __ATOMIC_ACQ_REL);
	ZCX_RACE(ZCX_RACE_MEMBER_LET_GO);
	pool_->unmap(reinterpret_cast<u8 *>(g));
	old->last_of_group = (was & ~bit) == 0;
}

void Device::free_group(xv::Handle header)
{
	const auto *g = reinterpret_cast<const GroupHeader *>(pool_->map(header));
	for (unsigned int i = 0; i < g->nr_pieces; i++)
		pool_->free(g->piece(i));
	compr_bytes_.sub(g->packed_len);
	dead_group_bytes_.sub(g->packed_len / g->pages * g->pages);
	pool_->unmap(reinterpret_cast<const u8 *>(g));
	pool_->free(header);
	groups_.dec();
}

// More than a quarter of the group's pages dead.  Issue 18 said "less
// than half alive", but with that a disk whose grouped pages were half
// discarded at random kept 3/4 of its memory after `compact` (most groups
// keep half or more); regrouping is asked for (`compact`), so it may cost
// a compression per group.
static bool group_is_sparse(const GroupHeader &g)
{
	const u32 live = g.load_live();
	return !(live & GroupHeader::kForming) &&
	       4 * count_members(live) < 3u * g.pages;
}

// The live pages of each group more than a quarter dead, grouped again
// without the dead ones (a lone one stored alone), by recompression's
// protocol, with the group's algorithm; only where that takes less than
// the whole group does now.
Result<u64> Device::regroup_sparse(u8 *page, const unsigned char *stop)
{
	const RunClaim claim(claim_owners_);
	const ClaimOwner owner = ZCX_TRY(claim.owner());
	GroupRun runs[kMaxPriorities];
	// The group last tried: its other members come next in the scan,
	// and one try is enough (issue 24: a group not worth regrouping was
	// recompressed once per live member).  With its stamp, since a
	// regrouped group's header handle can come back for a new group.
	xv::Handle tried = 0;
	u64 tried_stamp = 0;
	u64 done = 0;
	for (u64 i = 0; i < table_.size(); i++) {
		scan_yield(i);
		if (!grouped_pages_.load() ||
		    (stop && __atomic_load_n(stop, __ATOMIC_RELAXED)))
			break;
		Slot &slot = table_[i];
		SlotContents c;
		u32 window;
		usize cost;
		unsigned int live;
		{
			auto locked = slot.lock();
			c = slot.get();
			if (c.kind != SlotKind::grouped || slot.claimed())
				continue;
			const auto *g = reinterpret_cast<const GroupHeader *>(
				pool_->map(c.value));
			const bool take = group_is_sparse(*g) &&
					  !(c.value == tried && g->stamp() == tried_stamp);
			tried = c.value;
			tried_stamp = g->stamp();
			window = g->window;
			cost = group_cost(g->packed_len);
			live = count_members(g->load_live() & ~GroupHeader::kForming);
			pool_->unmap(reinterpret_cast<const u8 *>(g));
			if (!take)
				continue;
		}
		if (live == 1) {
			done += ZCX_TRY(ungroup_page(i, owner, cost, page));
			continue;
		}
		GroupRun &run = runs[c.priority];
		if (!run.codec)
			ZCX_TRY(run.setup(host_, owner, c.priority, kMaxGroupPages));
		run.only_group = c.value;
		run.group_cost = cost;
		zcx_pp_plan any{};
		any.budget = kPpUnlimited;
		any.at_cutoff = kPpUnlimited;
		RecompressResult r{};
		ZCX_TRY(group_window(window, run, RecompressRequest{}, 0, &any, page, &r));
		done += r.recompressed;
	}
	return done;
}

// A group's last live page stored alone, if that takes less than the
// group (cost) does.
Result<u64> Device::ungroup_page(u64 index, ClaimOwner owner, usize cost,
				 u8 *page)
{
	Slot &slot = table_[index];
	SlotContents old;
	{
		auto locked = slot.lock();
		old = slot.get();
		if (old.kind != SlotKind::grouped || slot.claimed())
			return u64{0};
		ZCX_TRY(read_locked(index, old, page));
		slot.set_claim(owner);
	}
	SlotContents next;
	u32 len = 0;
	auto made = compress_into_object(index, page, old.priority, kHugeThreshold,
					 &len);
	if (made && made.value()) {
		next = {SlotKind::compressed, made.value(), len, old.priority};
	} else if (made && kPageSize < cost) {
		// It does not compress alone, and its group is larger than
		// a page: stored raw, it lets the whole group go.
		auto raw = store_raw(page);
		if (raw)
			next = raw.value();
		else
			made = raw.error();
	}
	const bool worth = next.kind != SlotKind::empty && member_cost(next) < cost;
	SlotContents current;
	{
		auto locked = slot.lock();
		const bool unchanged = slot.claimed_by(owner);
		if (unchanged)
			slot.set_claim(kNoClaim);
		if (!unchanged || !worth) {
			free_object(next);
			return made ? Result<u64>(u64{0}) : made.error();
		}
		current = slot.get();
		account(next, true);
		slot.replace(next);
		unlink_locked(&current);
	}
	release(current);
	return u64{1};
}

// Compaction's mover for a group's header or piece: from the window's
// first slot, find a member naming a group that holds `from`, lock every
// live member without waiting (a busy one means skip), copy, repoint.
xv::MoveResult Device::move_group_object(xv::Owner window, xv::Handle from)
{
	const u64 end = min(u64{window} + kMaxGroupPages, table_.size());
	Slot *locked[kMaxGroupPages];
	unsigned int nr_locked = 0;
	xv::Handle header = 0;
	GroupHeader *g = nullptr;
	auto unlock_all = [&] {
		while (nr_locked)
			locked[--nr_locked]->unlock();
	};

	for (u64 i = window; i < end && !header; i++) {
		Slot &slot = table_[i];
		if (!slot.try_lock())
			return xv::MoveResult::skipped;
		const SlotContents c = slot.get();
		if (c.kind == SlotKind::grouped) {
			// A member is locked: its group cannot go away.
			g = reinterpret_cast<GroupHeader *>(pool_->map(c.value));
			bool ours = g->window == window && c.value == from;
			for (unsigned int p = 0; !ours && p < g->nr_pieces; p++)
				ours = g->window == window && g->piece(p) == from;
			if (ours) {
				header = c.value;
				locked[nr_locked++] = &slot;
				continue;
			}
			pool_->unmap(reinterpret_cast<u8 *>(g));
		}
		slot.unlock();
	}
	if (!header)
		return xv::MoveResult::skipped;
	auto give_up = [&](xv::MoveResult r) {
		pool_->unmap(reinterpret_cast<u8 *>(g));
		unlock_all();
		return r;
	};
	const u32 live = g->load_live();
	if (live & GroupHeader::kForming)
		return give_up(xv::MoveResult::skipped);
	for (unsigned int k = 0; k < g->pages; k++) {
		if (!(live & (1u << k)))
			continue;
		Slot &slot = table_[u64{window} + g->offsets[k]];
		if (&slot == locked[0])
			continue;
		if (!slot.try_lock())
			return give_up(xv::MoveResult::skipped);
		locked[nr_locked++] = &slot;
		const SlotContents c = slot.get();
		// Letting go of the group (its bit not yet cleared): that
		// member's lock would have been busy, so this cannot be.
		if (c.kind != SlotKind::grouped || c.value != header || c.member != k)
			return give_up(xv::MoveResult::skipped);
	}

	if (from == header) {
		const usize size = GroupHeader::bytes_for(g->nr_pieces);
		auto to = pool_->alloc_for_move(size, window);
		if (!to)
			return give_up(xv::MoveResult::no_room);
		u8 *dst = pool_->map(to.value());
		memcpy(dst, g, size);
		pool_->unmap(dst);
		for (unsigned int i = 0; i < nr_locked; i++)
			locked[i]->relocate(to.value());
	} else {
		unsigned int p = 0;
		while (g->piece(p) != from)
			p++;
		auto to = pool_->alloc_for_move(g->piece_len(p), window);
		if (!to)
			return give_up(xv::MoveResult::no_room);
		const u8 *src = pool_->map(from);
		u8 *dst = pool_->map(to.value());
		memcpy(dst, src, g->piece_len(p));
		pool_->unmap(dst);
		pool_->unmap(src);
		g->set_piece(p, to.value());
	}
	give_up(xv::MoveResult::moved);
	pool_->free(from);
	return xv::MoveResult::moved;
}

} // namespace zcx
