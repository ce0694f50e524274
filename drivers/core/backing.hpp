// SPDX-License-Identifier: GPL-2.0
// The blocks of a disk's backing device: which ones hold pages, and when a
// block freed while reads of it may be in flight can take another page.
#pragma once

#include "zcx/abi.h"
#include "zcx/support/atomic.hpp"
#include "zcx/support/result.hpp"
#include "zcx/support/types.hpp"
#include "zcx/support/utility.hpp"

namespace zcx {

// A read of a written-back page begins under the lock of the slot that
// names its block and ends when its I/O is over; a discard or overwrite
// may free the block in between, and writeback must not put another page
// there until the read is done.  Reads are counted in two epochs, as SRCU
// counts readers: a read counts in the current epoch's counter and ends in
// the same one (the tag it was given).  Every read of a block was counted
// before the block's free (the slot lock orders the two), so a block freed
// while reads are counted waits until each counter that was busy then has
// been seen at zero since.  The epoch moves on only once the other epoch's
// counter is at zero, and moving on releases the blocks waiting on it: a
// block freed while only the other epoch had reads waits on that epoch's
// list (the next move releases it); freed while the current one had reads,
// on the current epoch's list, released by the move after next, which
// sees both counters drained after the free.  So one steady stream of reads cannot hold
// freed blocks for ever, as one counter could (it never reaches zero),
// and what waits is a list spliced in O(1), not a bitmap scanned under
// a spinlock.
//
// Costs: a read, one atomic add and one subtract (as one counter); a free
// with no read in flight, one atomic bit; otherwise a spinlock for a list
// push; 4 bytes and a bit per block (the links of the waiting lists).
class BackingBlocks : Pinned {
public:
	static constexpr u64 kMaxBlocks = 0xfffffffeu; // links are 32 bits

	static Result<BackingBlocks *> create(u64 nr_blocks);
	static void destroy(BackingBlocks *blocks);
	BackingBlocks() = default;
	~BackingBlocks();

	u64 size() const { return nr_; }
	// A free block, now taken.  Errc::busy: every free block was freed
	// under reads still in flight; they come back as those reads end.
	// Errc::nospc: every block holds a page.
	Result<u64> alloc();
	// A block alloc() gave that never became a page a reader could be
	// handed (its write failed, or its page changed meanwhile): free now.
	// false (and nothing done) for a block not taken.
	bool put_unused(u64 block);
	// A block a slot named, after the slot stopped naming it.  Never
	// sleeps; spins only on this allocator's lock, and only while reads
	// are in flight.  false (and nothing done) for a block not taken.
	bool free(u64 block);
	// Called under the lock of the slot that names the block; the tag
	// goes to read_end once the block's data is in.
	u32 read_begin()
	{
		const u32 epoch = __atomic_load_n(&epoch_, __ATOMIC_RELAXED);
		__atomic_fetch_add(&readers_[epoch], 1, __ATOMIC_RELAXED);
		return epoch;
	}
	void read_end(u32 tag, u64 reads = 1)
	{
		// The data is in before anyone can see the count drop.
		__atomic_fetch_sub(&readers_[tag & 1], reads, __ATOMIC_RELEASE);
	}

	// Blocks holding pages, or taken for one being written.
	u64 held() const { return held_.load(); }
	// Freed, waiting for reads to end.
	u64 deferred() const { return deferred_.load(); }
	// Frees that had to wait, since create().
	u64 deferrals() const { return deferrals_.load(); }

private:
	static constexpr u32 kNone = ~0u;
	struct List {
		u32 head = kNone;
		u32 tail = kNone;
	};

	u64 readers(u32 epoch) const
	{
		return __atomic_load_n(&readers_[epoch], __ATOMIC_ACQUIRE);
	}
	bool taken(u64 block) const;
	bool take_bit(u64 block);
	u64 take_ready();
	void clear_bit(u64 block);
	u64 find_free();
	void push_locked(List &list, u32 block);
	void splice_locked(List &to, List &from);
	void advance_epoch_locked();

	u64 nr_ = 0;
	u64 *used_ = nullptr;	// a bit per block: holds a page or waits
	u32 *next_ = nullptr;	// links of the lists below
	zcx_spinlock *lock_ = nullptr;
	// Under lock_: blocks freed in each epoch, and blocks whose reads
	// are over, which alloc() hands out before searching used_.
	List waiting_[2];
	List ready_;
	u32 epoch_ = 0;		// written under lock_, read without
	u64 readers_[2] = {};
	Atomic<u64> hint_;	// where the next search starts
	Atomic<u64> held_;
	Atomic<u64> deferred_;
	Atomic<u64> deferrals_;
};

} // namespace zcx
