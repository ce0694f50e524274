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
// a pfn-based handle of a whole page (huge) or the repeated word (same).
enum class SlotKind { empty, same, compressed, huge };

struct SlotContents {
	SlotKind kind = SlotKind::empty;
	u64 value = 0;
	u32 size = 0; // stored bytes: compressed length, or kPageSize
};

class Slot {
public:
	// flags word layout: stored size in the low bits, then the lock
	// bit and the kind bits.  Only the lock bit is touched atomically;
	// the rest changes only under the lock.
	static constexpr unsigned int kSizeBits = kPageShift + 1;
	static constexpr unsigned long kSizeMask = (1UL << kSizeBits) - 1;
	static constexpr unsigned int kLockBit = kSizeBits;
	static constexpr unsigned long kSame = 1UL << (kSizeBits + 1);
	static constexpr unsigned long kHuge = 1UL << (kSizeBits + 2);

	// Callers hold lock() for everything below.
	SlotContents get() const;
	void set(const SlotContents &c);
	void clear() { set({}); }

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
