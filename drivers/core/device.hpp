// SPDX-License-Identifier: GPL-2.0
// One initialised zram disk: the slot table, the object pool and the
// counters behind mm_stat, io_stat and debug_stat.
#pragma once

#include "codec.hpp"
#include "group.hpp"
#include "policy.hpp"
#include "postprocess.hpp"
#include "table.hpp"
#include "xvmalloc/xvmalloc.hpp"
#include "zcx/abi.h"
#include "zcx/support/alloc.hpp"
#include "zcx/support/atomic.hpp"
#include "zcx/support/result.hpp"

namespace zcx {

// One recompression run and what it did (include/zcx/abi.h).
using RecompressRequest = zcx_recompress_request;
using RecompressResult = zcx_recompress_result;
using SlotState = zcx_slot_state;

unsigned int group_priority(const RecompressRequest &req);

// The owners of claims (table.hpp): one per background run of a disk,
// for as long as it runs.
class ClaimOwners {
public:
	// kNoClaim when every owner is taken.
	ClaimOwner acquire()
	{
		u32 taken = __atomic_load_n(&taken_, __ATOMIC_RELAXED);
		for (;;) {
			ClaimOwner owner = 1;
			while (owner <= kMaxRunClaim && (taken & (1u << owner)))
				owner++;
			if (owner > kMaxRunClaim)
				return kNoClaim;
			if (__atomic_compare_exchange_n(&taken_, &taken,
							taken | (1u << owner), false,
							__ATOMIC_ACQUIRE,
							__ATOMIC_RELAXED))
				return owner;
		}
	}
	void release(ClaimOwner owner)
	{
		__atomic_fetch_and(&taken_, ~(1u << owner), __ATOMIC_RELEASE);
	}

private:
	u32 taken_ = 0;
};

// A run's claim owner, given back when the run ends.
class RunClaim : Pinned {
public:
	explicit RunClaim(ClaimOwners &owners)
		: owners_(owners), owner_(owners.acquire())
	{
	}
	~RunClaim()
	{
		if (owner_ != kNoClaim)
			owners_.release(owner_);
	}
	// Errc::busy when the disk has no owner left for another run.
	Result<ClaimOwner> owner() const
	{
		if (owner_ == kNoClaim)
			return Errc::busy;
		return owner_;
	}

private:
	ClaimOwners &owners_;
	ClaimOwner owner_;
};

class Device : Pinned {
public:
	// host: the C layer's context for this disk (per-CPU streams,
	// compressor), alive as long as the Device.
	static Result<Device *> create(u64 disksize, zcx_host *host);
	static void destroy(Device *dev);

	u64 nr_pages() const { return table_.size(); }

	// Writes never fail merely because memory is tight: a failed
	// non-sleeping allocation falls back to a sleeping one.  -ENOMEM
	// means the system (or mem_limit) really has no room.
	Result<void> write_page(u64 index, const u8 *src);
	// -EIO, with a log line, if the stored object does not decompress.
	// A written-back page is not read here: *ref says where it is (and,
	// written back compressed, the object's size and algorithm), the
	// read of its block is begun (zcx_backing_read_begin) under the slot
	// lock, and the result is ZCX_READ_BACKING or
	// ZCX_READ_BACKING_COMPRESSED; 0 when dst holds the page.
	Result<int> read_page(u64 index, u8 *dst, zcx_backing_ref *ref);
	// The block of a compressed written-back page, read by the C layer
	// into src, decompressed into dst as ref says.  No slot lock: the
	// block could not be reused while it was read.
	Result<void> decompress_backing(u64 index, const zcx_backing_ref &ref,
					const u8 *src, u8 *dst);
	void discard_page(u64 index);
	// Discard and write-zeroes of count pages from first (clipped to
	// the disk).  Any context the I/O path runs in: does not yield.
	void discard_range(u64 first, u64 count);
	// Never sleeps or spins: a busy slot is left for a later write.
	void slot_free_notify(u64 index);

	void mark_idle(bool all, u32 max_age);

	// Compaction (`compact`, the shrinker): frees up to max_pages pool
	// pages by moving objects out of sparse chunks.  Process context,
	// one caller at a time.  Returns the pages freed.
	u64 compact(u64 max_pages) { return pool_->compact(&move_object, this, max_pages); }
	// The pool's estimate: what compact() can free.  Not the bytes of
	// groups' dead pages, which only regroup_sparse gives back (the
	// shrinker asks this, and its scan does not regroup).
	u64 compactable_pages() const { return pool_->compactable_pages(); }
	xv::Pool::Holes pool_holes() { return pool_->holes(); }
	// Groups more than a quarter dead again without their dead pages
	// (group.cpp); `compact` calls it before compact().  Process
	// context; page is a page-sized buffer; stops early once *stop is
	// set (may be null).  Returns the pages taken.
	Result<u64> regroup_sparse(u8 *page, const unsigned char *stop = nullptr);
	u64 grouped_pages() const { return grouped_pages_.load(); }
	u64 recompressed_reads() const { return zcx_pcpu_counter_sum(reads_, kRecompressedReads); }
	// Every read since creation, by the age of the page it read.
	ReadAges read_ages() const;

	// Recompression (drivers/core/recompress.cpp): process context, may
	// sleep between pages, one run at a time per disk.  page is a
	// page-sized buffer for the decompressed contents.  Every slot keeps
	// its newest data: one written, freed, written back or compacted
	// while its page was being recompressed is left as it is.
	Result<RecompressResult> recompress(const RecompressRequest &req, u8 *page);
	// false for an empty slot.
	bool slot_state(u64 index, SlotState *out);
	Result<bool> writeback_prepare(u64 index, int mode, u8 *dst);
	// Post-processing (postprocess.hpp): the counting pass of a plan,
	// and prepare for the slots the filter and plan admit.
	void pp_plan(const zcx_pp_filter &f, u64 max_pages, bool largest_first,
		     zcx_pp_plan *plan)
	{
		zcx::pp_plan(table_, f, max_pages, largest_first,
			     zcx_now_seconds(), plan);
	}
	// compressed: a compressed object goes as it is (its bytes at the
	// start of dst, the rest zeroed) and *len is its size; otherwise,
	// and for huge pages, dst holds the page and *len is a page.
	Result<bool> writeback_prepare(u64 index, const zcx_pp_filter &f,
				       zcx_pp_plan *plan, u8 *dst,
				       bool compressed = false,
				       u32 *len = nullptr);
	// len: what prepare said; below a page, the block holds the
	// compressed object and reads decompress it.
	bool writeback_commit(u64 index, u64 block, u32 len = kPageSize);
	void writeback_abort(u64 index);

	void count_invalid_io() { invalid_io_.inc(); }
	void count_failed(bool is_write)
	{
		(is_write ? failed_writes_ : failed_reads_).inc();
	}
	void set_mem_limit(u64 bytes) { limit_pages_.store(bytes >> kPageShift); }
	void reset_mem_used_max() { max_used_pages_.store(used_pages()); }
	void get_stats(zcx_stats *out) const;

	~Device();

private:
	template <class T, class... Args>
	friend Result<T *> try_new(Gfp, Args &&...);
	explicit Device(zcx_host *host) : host_(host) {}

	Result<SlotContents> store(u64 index, const u8 *src);
	Result<SlotContents> store_compressed(u64 index, const u8 *src);
	static xv::MoveResult move_object(void *dev, xv::Owner index,
					  xv::Handle from);
	Result<SlotContents> store_raw(const u8 *src);
	enum class Recompressed { skipped, kept, smaller, incompressible, changed };
	// Grouped recompression (group.cpp).
	struct GroupRun;
	Result<void> recompress_groups(const RecompressRequest &req,
				       ClaimOwner owner, u32 idle_cutoff,
				       zcx_pp_plan *plan, u8 *page,
				       RecompressResult *result);
	Result<void> group_window(u64 window, GroupRun &run,
				  const RecompressRequest &req, u32 idle_cutoff,
				  zcx_pp_plan *plan, u8 *page,
				  RecompressResult *result);
	bool group_eligible(Slot &slot, const SlotContents &c,
			    const RecompressRequest &req, u32 idle_cutoff,
			    unsigned int priority);
	Result<Recompressed> recompress_alone(u64 index, GroupRun &run,
					      const RecompressRequest &req,
					      u32 idle_cutoff, zcx_pp_plan *plan,
					      u8 *page, RecompressResult *result);
	Result<void> recompress_young(u64 window, GroupRun &run,
				      const RecompressRequest &req, u32 idle_cutoff,
				      zcx_pp_plan *plan, u8 *page,
				      RecompressResult *result);
	Result<void> read_grouped(u64 index, const SlotContents &c, u8 *dst);
	// A grouped page is read in two steps (group.cpp): with the slot
	// locked (so the group cannot go), either this CPU's cache holds the
	// group decompressed, or its stream is copied into this CPU's packed
	// buffer; then, the slot perhaps unlocked, the copy is decompressed.
	// Preemption stays off from the first step to the end of the second
	// (the buffers are this CPU's).
	struct GroupRead {
		zcx_group_buffers *b = nullptr;
		bool cached = false;
		unsigned int entry = 0; // of b's cache: holds the group, or will
		u32 packed_len = 0;
		u8 pages = 0;
		u8 priority = 0;
		u64 stamp = 0;
	};
	Result<void> group_read_begin(const SlotContents &c, GroupRead *r);
	Result<void> group_read_end(u64 index, const SlotContents &c, GroupRead *r,
				    u8 *dst);
	// Slot locked, its contents just replaced: old lets go of its group,
	// if grouped (old->last_of_group: it was the last member).
	void unlink_locked(SlotContents *old);
	void free_group(xv::Handle header);
	Result<u64> ungroup_page(u64 index, ClaimOwner owner, usize cost,
				 u8 *page);
	xv::MoveResult move_group_object(xv::Owner window, xv::Handle from);
	Result<Recompressed> recompress_slot(u64 index, ClaimOwner owner,
					     const RecompressRequest &req,
					     u32 idle_cutoff, zcx_pp_plan *plan,
					     u8 *page);
	bool recompress_selects(Slot &slot, const SlotContents &c,
				const RecompressRequest &req, u32 idle_cutoff);
	bool recompress_eligible(Slot &slot, const SlotContents &c,
				 const RecompressRequest &req, u32 idle_cutoff);
	// Compresses page with the algorithm of priority into a new pool
	// object; none (0) if the result is not below limit.
	Result<xv::Handle> compress_into_object(u64 index, const u8 *page,
						unsigned int priority, usize limit,
						u32 *len);
	void publish(u64 index, const SlotContents &next);
	// Slot locked, contents neither empty-of-meaning nor on the backing
	// device: decompress or copy into dst.
	Result<void> read_locked(u64 index, const SlotContents &c, u8 *dst);
	void free_object(const SlotContents &c);
	// Frees what a slot held and takes it out of the counters.
	void release(const SlotContents &old);
	void account(const SlotContents &c, bool adding);
	u64 used_pages() const { return pool_->pages() + huge_pages_.load(); }

	// What every read and write needs, written only when the disk is
	// made: a line apart from the counters below, which every write
	// changes (a read would otherwise miss in its cache after each).
	Table table_;
	xv::Pool *pool_ = nullptr;
	zcx_host *host_;
	// Reads by the age of the page (policy.hpp's buckets), and at
	// kRecompressedReads those of slots a secondary algorithm made (the
	// idle policy's comebacks): per CPU, or every read would write a line
	// all CPUs share.
	static constexpr unsigned int kRecompressedReads = kAgeBuckets;
	zcx_pcpu_counter *reads_ = nullptr;
	char read_mostly_end_[64] = {};

	ClaimOwners claim_owners_;
	// A grouped run's means kept for the next (keep_workspace).  One run
	// at a time uses it: the C layer runs one recompression per disk.
	GroupRun *kept_group_run_ = nullptr;
	bool kept_group_run_busy_ = false;
	void drop_kept_group_run();

	Atomic<u64> pages_stored_;
	Atomic<u64> compr_bytes_;
	Atomic<u64> same_pages_;
	Atomic<u64> huge_pages_;
	Atomic<u64> huge_pages_since_;
	Atomic<u64> limit_pages_;
	Atomic<u64> max_used_pages_;
	Atomic<u64> failed_reads_;
	Atomic<u64> failed_writes_;
	Atomic<u64> invalid_io_;
	Atomic<u64> notify_free_;
	Atomic<u64> writestall_;
	Atomic<u64> miss_free_;
	Atomic<u64> groups_;
	Atomic<u64> grouped_pages_;
	Atomic<u64> group_stamp_;
	// Bytes of group streams whose pages no slot needs any more.
	Atomic<u64> dead_group_bytes_;
};

} // namespace zcx
