// SPDX-License-Identifier: GPL-2.0
// The slot table: one 16-byte slot per 4 KiB page of the disk, each with
// its own lock bit, so readers and writers of different pages never meet.
#pragma once

#include "zcx/abi.h"
#include "zcx/support/guards.hpp"
#include "zcx/support/result.hpp"
#include "zcx/support/types.hpp"

namespace zcx {

// What a slot holds, decoded.  `value` is an xvmalloc handle (compressed),
// the pfn of a whole page (huge), the repeated word (same), the block
// index on the backing device (backing: written back) or the handle of a
// group's header (grouped: one page of a group, group.hpp).
enum class SlotKind { empty, same, compressed, huge, backing, grouped };

struct SlotContents {
	SlotKind kind = SlotKind::empty;
	u64 value = 0;
	u32 size = 0; // stored bytes: compressed length, or kPageSize
	// Which algorithm compressed it: 0 is comp_algorithm, 1..3 the
	// recomp_algorithm of that priority.
	u8 priority = 0;
	// grouped: the page's place in its group's stream.
	u8 member = 0;
	// grouped, once the slot has let go of it: it was the group's last
	// member, so whoever released the slot frees the group.
	bool last_of_group = false;
};

// comp_algorithm plus up to three secondary algorithms, as upstream.
inline constexpr unsigned int kMaxPriorities = 4;

class Slot {
public:
	// flags word layout: stored size in the low bits, then the lock
	// bit, the kind bits, the post-processing state and the priority of
	// the algorithm that compressed it; the last access time (seconds)
	// fills the high half, so access tracking and recompression cost no
	// extra bytes (stock 6.1 needs 24 per slot for access times).  Only
	// the lock bit is touched atomically; the rest changes only under it.
	static constexpr unsigned int kSizeBits = kPageShift + 1;
	static constexpr unsigned long kSizeMask = (1UL << kSizeBits) - 1;
	static constexpr unsigned int kLockBit = kSizeBits;
	static constexpr unsigned long kSame = 1UL << (kSizeBits + 1);
	static constexpr unsigned long kHuge = 1UL << (kSizeBits + 2);
	static constexpr unsigned long kBacking = 1UL << (kSizeBits + 3);
	static constexpr unsigned long kIdle = 1UL << (kSizeBits + 4);
	static constexpr unsigned long kUnderWriteback = 1UL << (kSizeBits + 5);
	// No secondary algorithm made it smaller: recompress skips it,
	// `writeback incompressible` takes it.
	static constexpr unsigned long kIncompressible = 1UL << (kSizeBits + 6);
	static constexpr unsigned long kUnderRecompress = 1UL << (kSizeBits + 7);
	static constexpr unsigned int kPriorityShift = kSizeBits + 8;
	static constexpr unsigned long kPriorityMask = 3UL << kPriorityShift;
	// One page of a group (value: the group's header) and its place in
	// the group's stream: 5 of the 9 bits left, so a grouped page costs
	// the table nothing.  The size bits hold the page's share of the
	// group, for selections by size.
	static constexpr unsigned long kGrouped = 1UL << (kPriorityShift + 2);
	static constexpr unsigned int kMemberShift = kPriorityShift + 3;
	static constexpr unsigned long kMemberMask = 15UL << kMemberShift;
	static constexpr unsigned int kTimeShift = 32;
	static_assert(kMemberShift + 4 <= kTimeShift);
	static_assert(ZCX_GROUP_MAX_PAGES == 16, "four member bits");
	static_assert(kMaxPriorities == 4, "two priority bits");

	// Callers hold lock() for everything below.
	SlotContents get() const;
	// New contents: not idle, not under writeback or recompression,
	// not incompressible; access time kept.
	void set(const SlotContents &c);
	// The same page in a new form (recompression): its access time and
	// idle, writeback and incompressible state stay, since the data
	// has not changed; only the recompression mark goes.
	void replace(const SlotContents &c);
	void clear() { set({}); }
	// The same object at a new address (compaction): every flag, the
	// size and the access time stay as they are.
	void relocate(u64 value) { value_ = value; }

	// Access tracking for `idle` and writeback.
	void touch(u32 now_seconds);
	u32 access_time() const { return load_flags() >> kTimeShift; }
	bool has(unsigned long flag) const { return load_flags() & flag; }
	void change(unsigned long flag, bool on);

	BitLockGuard lock() { return BitLockGuard(kLockBit, &flags_); }
	bool try_lock() { return zcx_bit_trylock(kLockBit, &flags_); }
	void unlock() { zcx_bit_unlock(kLockBit, &flags_); }

private:
	// Writes c's kind, size, priority and value; of the old flags only
	// those in kept survive.
	void store(const SlotContents &c, unsigned long kept);
	unsigned long load_flags() const
	{
		return __atomic_load_n(&flags_, __ATOMIC_RELAXED);
	}

	u64 value_ = 0;
	unsigned long flags_ = 0;
};
static_assert(sizeof(Slot) == 16, "the table costs 16 bytes per page");

// Whole-table scans call this for each slot i: on a disk of tens of
// millions of slots a scan that never yields holds the CPU for seconds
// (soft-lockup and RCU-stall reports).  Process context only.
inline void scan_yield(u64 i)
{
	if ((i & 4095) == 4095)
		zcx_cond_resched();
}

// Pages [first, first + count) of a disk of nr_pages, clipped to it; in
// 64 bits, so a range that ends at the last page of a 2^32-page disk is
// not empty.
struct PageSpan {
	u64 first;
	u64 end;
};
inline PageSpan clip_pages(u64 first, u64 count, u64 nr_pages)
{
	if (first >= nr_pages)
		return {nr_pages, nr_pages};
	return {first, count < nr_pages - first ? first + count : nr_pages};
}

class Table : Pinned {
public:
	Table() = default;
	~Table();
	Result<void> init(u64 nr_slots);

	Slot &operator[](u64 index) { return slots_[index]; }
	u64 size() const { return nr_slots_; }

private:
	Slot *slots_ = nullptr;
	u64 nr_slots_ = 0;
};

} // namespace zcx
