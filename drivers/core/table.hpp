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
// the pfn of a whole page (huge), the repeated word (same) or the block
// index on the backing device (backing: written back).
enum class SlotKind { empty, same, compressed, huge, backing };

struct SlotContents {
	SlotKind kind = SlotKind::empty;
	u64 value = 0;
	u32 size = 0; // stored bytes: compressed length, or kPageSize
};

class Slot {
public:
	// flags word layout: stored size in the low bits, then the lock
	// bit, the kind bits and the writeback state; the last access time
	// (seconds) fills the high half, so access tracking costs no extra
	// bytes (stock 6.1 needs 24 per slot for it).  Only the lock bit is
	// touched atomically; the rest changes only under the lock.
	static constexpr unsigned int kSizeBits = kPageShift + 1;
	static constexpr unsigned long kSizeMask = (1UL << kSizeBits) - 1;
	static constexpr unsigned int kLockBit = kSizeBits;
	static constexpr unsigned long kSame = 1UL << (kSizeBits + 1);
	static constexpr unsigned long kHuge = 1UL << (kSizeBits + 2);
	static constexpr unsigned long kBacking = 1UL << (kSizeBits + 3);
	static constexpr unsigned long kIdle = 1UL << (kSizeBits + 4);
	static constexpr unsigned long kUnderWriteback = 1UL << (kSizeBits + 5);
	static constexpr unsigned int kTimeShift = 32;

	// Callers hold lock() for everything below.
	SlotContents get() const;
	// New contents: not idle, not under writeback; access time kept.
	void set(const SlotContents &c);
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
	unsigned long load_flags() const
	{
		return __atomic_load_n(&flags_, __ATOMIC_RELAXED);
	}

	u64 value_ = 0;
	unsigned long flags_ = 0;
};
static_assert(sizeof(Slot) == 16, "the table costs 16 bytes per page");

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
