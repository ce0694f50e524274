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

// Claims: every background path that copies a slot out and commits later
// (writeback, recompression by a user or the idle policy, grouping,
// regrouping and ungrouping from `compact`) claims the slot under its
// lock when it copies, works with no lock held, and commits only if the
// slot is still claimed by it.  Any write, discard, slot free or commit
// drops the claim (Slot::set, Slot::replace); compaction keeps it
// (Slot::relocate); a claimed slot is no other run's to claim.  A claim
// names its owner, one run: a slot rewritten and then claimed by a second
// run is never taken for unchanged by the first (issue 24: a regroup from
// `compact` and a user's `recompress` ran on one disk at once, and the
// regroup stored its stale copy over the newer page).  Owners come from
// Device::ClaimOwners, one per run; writeback's is fixed, since the C
// layer runs one writeback per disk at a time (zram_drv.h, writeback_lock).
using ClaimOwner = u8;
inline constexpr ClaimOwner kNoClaim = 0;
inline constexpr ClaimOwner kWritebackClaim = 15;
inline constexpr ClaimOwner kMaxRunClaim = 14; // owners 1..14 go to runs

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
	// (kSizeBits + 5: free.)
	// No secondary algorithm made it smaller: recompress skips it,
	// `writeback incompressible` takes it.
	static constexpr unsigned long kIncompressible = 1UL << (kSizeBits + 6);
	// (kSizeBits + 7: free.)
	static constexpr unsigned int kPriorityShift = kSizeBits + 8;
	static constexpr unsigned long kPriorityMask = 3UL << kPriorityShift;
	// One page of a group (value: the group's header) and its place in
	// the group's stream: 5 of the 9 bits left, so a grouped page costs
	// the table nothing.  The size bits hold the page's share of the
	// group, for selections by size.
	static constexpr unsigned long kGrouped = 1UL << (kPriorityShift + 2);
	static constexpr unsigned int kMemberShift = kPriorityShift + 3;
	static constexpr unsigned long kMemberMask = 15UL << kMemberShift;
	// The claim of the background run that copied the slot out and
	// will commit later (ClaimOwner); 0: none.
	static constexpr unsigned int kClaimShift = kMemberShift + 4;
	static constexpr unsigned long kClaimMask = 15UL << kClaimShift;
	static constexpr unsigned int kTimeShift = 32;
	static_assert(kClaimShift + 4 <= kTimeShift);
	static_assert(ZCX_GROUP_MAX_PAGES == 16, "four member bits");
	static_assert(kMaxPriorities == 4, "two priority bits");

	// Callers hold lock() for everything below.
	SlotContents get() const;
	// New contents: not idle, unclaimed, not incompressible; access
	// time kept.
	void set(const SlotContents &c);
	// The same page in a new form (a claimant's commit): its access
	// time, idle and incompressible state stay, since the data has not
	// changed; the claim goes.
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

	ClaimOwner claim() const
	{
		return static_cast<ClaimOwner>((load_flags() & kClaimMask) >> kClaimShift);
	}
	bool claimed() const { return claim() != kNoClaim; }
	bool claimed_by(ClaimOwner owner) const { return claim() == owner; }
	// owner kNoClaim drops the claim.
	void set_claim(ClaimOwner owner);

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
