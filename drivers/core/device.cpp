// SPDX-License-Identifier: GPL-2.0
#include "device.hpp"

#include "zcx/support/alloc.hpp"
#include "zcx/support/guards.hpp"

namespace zcx {

Result<Device *> Device::create(u64 disksize, zcx_host *host)
{
	if (disksize == 0 || disksize % kPageSize)
		return Errc::inval;
	// Objects name their slot in 32 bits (xv::Owner): 16 TiB, whose
	// table alone would take 64 GiB.
	if ((disksize >> kPageShift) - 1 > xv::Owner(~0u))
		return Errc::inval;
	Device *dev = ZCX_TRY(try_new<Device>(Gfp::kernel, host));
	Owned<Device> owner(dev);
	ZCX_TRY(dev->table_.init(disksize >> kPageShift));
	dev->pool_ = ZCX_TRY(xv::Pool::create());
	dev->reads_ = zcx_pcpu_counter_create(kRecompressedReads + 1);
	if (!dev->reads_)
		return Errc::nomem;
	return owner.release();
}

void Device::destroy(Device *dev)
{
	if (!dev)
		return;
	dev->~Device();
	zcx_kfree(dev);
}

Device::~Device()
{
	drop_kept_group_run();
	// Nobody else can reach the table now: no slot locks needed.
	if (pool_) {
		for (u64 i = 0; i < table_.size(); i++) {
			SlotContents old = table_[i].get();
			unlink_locked(&old);
			release(old);
			scan_yield(i);
		}
	}
	xv::Pool::destroy(pool_);
	if (reads_)
		zcx_pcpu_counter_destroy(reads_);
}

Result<SlotContents> Device::store_raw(const u8 *src)
{
	zcx_page *page = zcx_page_alloc(ZCX_GFP_NOIO);
	if (!page)
		return Errc::nomem;
	{
		PageMapping map(page);
		memcpy(map.bytes(), src, kPageSize);
	}
	return SlotContents{SlotKind::huge, zcx_page_to_pfn(page),
			    static_cast<u32>(kPageSize)};
}

// Compresses in this CPU's stream with preemption off and copies into a
// pool object allocated without sleeping.  If the pool cannot grow that
// way, leave the stream, allocate with NOIO (may sleep) and compress
// again: the stream may have been used by others meanwhile.
static_assert(5 * (xv::kHeaderSize + xv::block_size_for_request(kHugeThreshold - 1)) <=
		      xv::chunk_capacity(xv::kMaxChunkOrder),
	      "five of the largest objects stored compressed fill one chunk");

Result<SlotContents> Device::store_compressed(u64 index, const u8 *src)
{
	const auto owner = static_cast<xv::Owner>(index);
	xv::Handle handle = 0;
	usize room = 0;
	for (;;) {
		usize len;
		{
			StreamSection section(host_);
			zcx_stream &stream = section.stream();
			auto compressed = compress_page(host_, src, stream);
			if (compressed)
				len = compressed.value();
			if (!compressed || len >= kHugeThreshold) {
				if (handle)
					pool_->free(handle);
				if (!compressed)
					return compressed.error();
				return SlotContents{SlotKind::huge, 0, 0};
			}
			if (!handle) {
				auto fast = pool_->alloc(len, Gfp::nowait, owner);
				if (fast) {
					handle = fast.value();
					room = pool_->object_size(handle);
				}
			}
			if (handle && len <= room) {
				u8 *object = pool_->map(handle);
				memcpy(object, stream.buffer, len);
				pool_->unmap(object);
				return SlotContents{SlotKind::compressed, handle,
						    static_cast<u32>(len)};
			}
		}
		// The page changed between two compressions and grew:
		// start over with a bigger object.
		if (handle)
			pool_->free(handle);
		writestall_.inc();
		handle = ZCX_TRY(pool_->alloc(len, Gfp::noio, owner));
		room = pool_->object_size(handle);
	}
}

Result<SlotContents> Device::store(u64 index, const u8 *src)
{
	u64 word;
	if (page_same_filled(src, &word))
		return SlotContents{SlotKind::same, word, 0};
	SlotContents stored = ZCX_TRY(store_compressed(index, src));
	if (stored.kind == SlotKind::huge)
		stored = ZCX_TRY(store_raw(src));

	const u64 used = used_pages() + (stored.kind == SlotKind::huge);
	const u64 limit = limit_pages_.load();
	if (limit && used > limit) {
		free_object(stored);
		return Errc::nomem;
	}
	max_used_pages_.fetch_max(used);
	return stored;
}

Result<void> Device::write_page(u64 index, const u8 *src)
{
	auto stored = store(index, src);
	if (!stored) {
		failed_writes_.inc();
		return stored.error();
	}
	publish(index, stored.value());
	return {};
}

void Device::publish(u64 index, const SlotContents &next)
{
	Slot &slot = table_[index];
	SlotContents old;
	account(next, true);
	{
		auto locked = slot.lock();
		old = slot.get();
		slot.set(next);
		slot.touch(zcx_now_seconds());
		unlink_locked(&old);
	}
	release(old);
}

void Device::account(const SlotContents &c, bool adding)
{
	if (c.kind == SlotKind::empty)
		return;
	const u64 sign = adding ? 1 : ~u64{0}; // wraps to subtract
	// Written-back pages still count as stored, as with stock; a
	// compressed one's size is on the device, not in memory.
	pages_stored_.add(sign);
	// A group's bytes count once, from its forming to its freeing.
	if (c.kind == SlotKind::grouped)
		grouped_pages_.add(sign);
	else if (c.kind != SlotKind::backing)
		compr_bytes_.add(sign * c.size);
	if (c.kind == SlotKind::same)
		same_pages_.add(sign);
	if (c.kind == SlotKind::huge) {
		huge_pages_.add(sign);
		if (adding)
			huge_pages_since_.inc();
	}
}

void Device::free_object(const SlotContents &c)
{
	if (c.kind == SlotKind::compressed)
		pool_->free(c.value);
	else if (c.kind == SlotKind::huge)
		zcx_page_free(zcx_pfn_to_page(c.value));
	else if (c.kind == SlotKind::backing)
		zcx_backing_free(host_, c.value);
	else if (c.kind == SlotKind::grouped && c.last_of_group)
		free_group(c.value);
}

void Device::release(const SlotContents &old)
{
	account(old, false);
	free_object(old);
}

ReadAges Device::read_ages() const
{
	ReadAges r;
	r.recompressed = recompressed_reads();
	for (unsigned int k = 0; k < kAgeBuckets; k++)
		r.by_age[k] = zcx_pcpu_counter_sum(reads_, k);
	return r;
}

Result<int> Device::read_page(u64 index, u8 *dst, zcx_backing_ref *ref)
{
	Slot &slot = table_[index];
	SlotContents c;
	GroupRead group;
	{
		auto locked = slot.lock();
		c = slot.get();
		const u32 now = zcx_now_seconds();
		const u32 last = slot.access_time();
		slot.touch(now);
		// How long the page went untouched (the idle policy's group
		// age): one per-CPU increment.
		if (c.kind != SlotKind::empty)
			zcx_pcpu_counter_inc(reads_, age_bucket(now > last ? now - last : 0));
		if (c.kind == SlotKind::backing) {
			// The block is read outside the lock.  A discard
			// or overwrite may free it meanwhile; begun under
			// the lock, the read is known to the C layer before
			// any such free, and it keeps the block from going
			// to another page until the read is over.  Size and
			// algorithm go with it: by the time the block is
			// in, the slot may name something else.
			ref->block = c.value;
			ref->size = c.size;
			ref->priority = c.size ? c.priority : 0;
			ref->read_tag = zcx_backing_read_begin(host_, c.value);
			return c.size ? ZCX_READ_BACKING_COMPRESSED : ZCX_READ_BACKING;
		}
		// The idle policy's comebacks: reads a user or the kernel
		// asked for of pages a recompression made (grouped ones
		// included), never the copies post-processing takes itself
		// (read_locked).  The branch is on a field already loaded.
		if (c.priority)
			zcx_pcpu_counter_inc(reads_, kRecompressedReads);
		if (c.kind != SlotKind::grouped) {
			ZCX_TRY(read_locked(index, c, dst));
			return 0;
		}
		ZCX_TRY(group_read_begin(c, &group));
	}
	// Up to 64 KiB decompressed from this CPU's copy of the stream, with
	// the slot unlocked: its other readers do not spin meanwhile.
	ZCX_TRY(group_read_end(index, c, &group, dst));
	return 0;
}

Result<void> Device::decompress_backing(u64 index, const zcx_backing_ref &ref,
					const u8 *src, u8 *dst)
{
	if (!ref.size || ref.size >= kPageSize || ref.priority >= ZCX_MAX_PRIORITIES)
		return Errc::io;
	int status;
	auto ok = decompress_page(host_, {src, ref.size}, dst, &status,
				  ref.priority);
	if (!ok) {
		failed_reads_.inc();
		zcx_report_corrupt(index, status);
	}
	return ok;
}

Result<void> Device::read_locked(u64 index, const SlotContents &c, u8 *dst)
{
	switch (c.kind) {
	case SlotKind::empty:
		memset(dst, 0, kPageSize);
		return {};
	case SlotKind::same:
		fill_page(dst, c.value);
		return {};
	case SlotKind::huge: {
		PageMapping map(zcx_pfn_to_page(c.value));
		memcpy(dst, map.bytes(), kPageSize);
		return {};
	}
	case SlotKind::compressed:
		break;
	case SlotKind::grouped:
		return read_grouped(index, c, dst);
	case SlotKind::backing:
		return Errc::io; // callers handle it before
	}
	const u8 *object = pool_->map(c.value);
	int status;
	auto ok = decompress_page(host_, {object, c.size}, dst, &status,
				  c.priority);
	pool_->unmap(object);
	if (!ok) {
		failed_reads_.inc();
		zcx_report_corrupt(index, status);
	}
	return ok;
}

void Device::discard_page(u64 index) { publish(index, {}); }

void Device::discard_range(u64 first, u64 count)
{
	const PageSpan span = clip_pages(first, count, table_.size());
	for (u64 i = span.first; i < span.end; i++)
		discard_page(i);
}

// Compaction's mover.  The slot lock is what every reader, writer, discard
// and slot free takes before touching the object, so holding it, with the
// slot still naming `from`, the object is ours to copy.  A busy slot is
// skipped rather than waited for: it may be held for a whole page's
// decompression, and the chunk will simply not be freed this time.
xv::MoveResult Device::move_object(void *ctx, xv::Owner index, xv::Handle from)
{
	Device *dev = static_cast<Device *>(ctx);
	if (index >= dev->table_.size())
		return xv::MoveResult::skipped; // a pool used without owners
	Slot &slot = dev->table_[index];
	if (!slot.try_lock())
		return xv::MoveResult::skipped;
	const SlotContents c = slot.get();
	// Not (or no longer) this slot's object: allocated for a write not
	// yet published, or replaced and about to be freed by its writer.
	if (c.kind != SlotKind::compressed || c.value != from) {
		slot.unlock();
		// Or one of a group's objects, which the window's first
		// slot owns.
		return dev->move_group_object(index, from);
	}
	auto to = dev->pool_->alloc_for_move(c.size, index);
	if (!to) {
		slot.unlock();
		return xv::MoveResult::no_room;
	}
	const u8 *src = dev->pool_->map(from);
	u8 *dst = dev->pool_->map(to.value());
	memcpy(dst, src, c.size);
	dev->pool_->unmap(dst);
	dev->pool_->unmap(src);
	slot.relocate(to.value());
	slot.unlock();
	dev->pool_->free(from);
	return xv::MoveResult::moved;
}

void Device::mark_idle(bool all, u32 max_age)
{
	const u32 now = zcx_now_seconds();
	const u32 cutoff = now > max_age ? now - max_age : 0;
	for (u64 i = 0; i < table_.size(); i++) {
		scan_yield(i);
		Slot &slot = table_[i];
		auto locked = slot.lock();
		const SlotKind kind = slot.get().kind;
		// A slot under writeback must not look idle again: commit
		// relies on the flag to see that nothing touched it.
		if (kind == SlotKind::empty || slot.claimed_by(kWritebackClaim))
			continue;
		if (all || slot.access_time() < cutoff)
			slot.change(Slot::kIdle, true);
	}
}

Result<bool> Device::writeback_prepare(u64 index, int mode, u8 *dst)
{
	zcx_pp_plan plan{};
	plan.budget = kPpUnlimited;
	plan.at_cutoff = kPpUnlimited;
	const zcx_pp_filter f{mode, 0, 0, 0, ~u64{0}};
	return writeback_prepare(index, f, &plan, dst);
}

Result<bool> Device::writeback_prepare(u64 index, const zcx_pp_filter &f,
				       zcx_pp_plan *plan, u8 *dst,
				       bool compressed, u32 *len)
{
	if (index >= table_.size())
		return false;
	Slot &slot = table_[index];
	auto locked = slot.lock();
	const SlotContents c = slot.get();
	const u32 now = plan->now ? plan->now : zcx_now_seconds();
	if (!pp_eligible(slot, c, index, f, now))
		return false;
	if (!pp_take(plan, c.size))
		return false;
	if (compressed && c.kind == SlotKind::compressed) {
		const u8 *object = pool_->map(c.value);
		memcpy(dst, object, c.size);
		pool_->unmap(object);
		memset(dst + c.size, 0, kPageSize - c.size);
		if (len)
			*len = c.size;
	} else {
		ZCX_TRY(read_locked(index, c, dst));
		if (len)
			*len = kPageSize;
	}
	slot.set_claim(kWritebackClaim);
	return true;
}

bool Device::writeback_commit(u64 index, u64 block, u32 len)
{
	Slot &slot = table_[index];
	SlotContents old;
	{
		auto locked = slot.lock();
		// Any write or discard meanwhile replaced the contents and
		// cleared the flag; a read did not change them.
		if (!slot.claimed_by(kWritebackClaim))
			return false;
		old = slot.get();
		// The size of a compressed object on the device (0: a whole
		// page) and its algorithm, for the read.
		const u32 size = len < kPageSize && old.kind == SlotKind::compressed ?
					 len : 0;
		const SlotContents moved{SlotKind::backing, block, size,
					 size ? old.priority : u8{0}};
		account(moved, true);
		slot.set(moved);
		unlink_locked(&old);
	}
	release(old);
	return true;
}

void Device::writeback_abort(u64 index)
{
	Slot &slot = table_[index];
	auto locked = slot.lock();
	if (slot.claimed_by(kWritebackClaim))
		slot.set_claim(kNoClaim);
}

void Device::slot_free_notify(u64 index)
{
	Slot &slot = table_[index];
	if (!slot.try_lock()) {
		miss_free_.inc();
		return;
	}
	SlotContents old = slot.get();
	slot.clear();
	unlink_locked(&old);
	slot.unlock();
	notify_free_.inc();
	release(old);
}

void Device::get_stats(zcx_stats *out) const
{
	*out = {};
	out->orig_data_size = pages_stored_.load() << kPageShift;
	out->compr_data_size = compr_bytes_.load();
	out->mem_used_total = used_pages() << kPageShift;
	out->mem_limit = limit_pages_.load() << kPageShift;
	out->mem_used_max = max_used_pages_.load() << kPageShift;
	out->same_pages = same_pages_.load();
	out->pages_compacted = pool_->pages_compacted();
	out->huge_pages = huge_pages_.load();
	out->huge_pages_since = huge_pages_since_.load();
	out->failed_reads = failed_reads_.load();
	out->failed_writes = failed_writes_.load();
	out->invalid_io = invalid_io_.load();
	out->notify_free = notify_free_.load();
	out->writestall = writestall_.load();
	out->miss_free = miss_free_.load();
	out->pool_page_chunks = pool_->single_page_chunks();
	out->pool_chunks = pool_->multi_page_chunks();
	out->pool_compactable = pool_->compactable_pages();
	out->groups = groups_.load();
	out->grouped_pages = grouped_pages_.load();
	out->dead_group_bytes = dead_group_bytes_.load();
}

} // namespace zcx
