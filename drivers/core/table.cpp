// SPDX-License-Identifier: GPL-2.0
#include "table.hpp"

namespace zcx {

SlotContents Slot::get() const
{
	const unsigned long flags = load_flags();
	SlotContents c;
	c.value = value_;
	c.size = static_cast<u32>(flags & kSizeMask);
	c.priority = static_cast<u8>((flags & kPriorityMask) >> kPriorityShift);
	if (flags & kGrouped) {
		c.kind = SlotKind::grouped;
		c.member = static_cast<u8>((flags & kMemberMask) >> kMemberShift);
	} else if (flags & kSame)
		c.kind = SlotKind::same;
	else if (flags & kHuge)
		c.kind = SlotKind::huge;
	else if (flags & kBacking)
		c.kind = SlotKind::backing;
	else if (c.value)
		c.kind = SlotKind::compressed;
	return c;
}

void Slot::set(const SlotContents &c)
{
	store(c, (1UL << kLockBit) | (~0UL << kTimeShift));
}

void Slot::replace(const SlotContents &c)
{
	store(c, (1UL << kLockBit) | (~0UL << kTimeShift) | kIdle |
			 kIncompressible);
}

void Slot::set_claim(ClaimOwner owner)
{
	const unsigned long flags = load_flags() & ~kClaimMask;
	__atomic_store_n(&flags_,
			 flags | (static_cast<unsigned long>(owner) << kClaimShift),
			 __ATOMIC_RELAXED);
}

void Slot::store(const SlotContents &c, unsigned long kept)
{
	unsigned long flags = load_flags();
	flags &= kept;
	flags |= c.size & kSizeMask;
	flags |= (static_cast<unsigned long>(c.priority) << kPriorityShift) &
		 kPriorityMask;
	if (c.kind == SlotKind::same)
		flags |= kSame;
	else if (c.kind == SlotKind::huge)
		flags |= kHuge;
	else if (c.kind == SlotKind::backing)
		flags |= kBacking;
	else if (c.kind == SlotKind::grouped)
		flags |= kGrouped | ((static_cast<unsigned long>(c.member) << kMemberShift) &
				     kMemberMask);
	value_ = c.kind == SlotKind::empty ? 0 : c.value;
	// A plain store keeps the (held) lock bit set; spinners' atomic
	// test-and-set never changes the word while it is held.
	__atomic_store_n(&flags_, flags, __ATOMIC_RELAXED);
}

void Slot::touch(u32 now_seconds)
{
	unsigned long flags = load_flags() & ~(kIdle | (~0UL << kTimeShift));
	flags |= static_cast<unsigned long>(now_seconds) << kTimeShift;
	__atomic_store_n(&flags_, flags, __ATOMIC_RELAXED);
}

void Slot::change(unsigned long flag, bool on)
{
	const unsigned long flags = load_flags();
	__atomic_store_n(&flags_, on ? flags | flag : flags & ~flag,
			 __ATOMIC_RELAXED);
}

Result<void> Table::init(u64 nr_slots)
{
	if (nr_slots == 0 || nr_slots > ~usize{0} / sizeof(Slot))
		return Errc::inval;
	void *mem = zcx_vzalloc(nr_slots * sizeof(Slot));
	if (!mem)
		return Errc::nomem;
	// All-zero bytes are an empty, unlocked slot.
	slots_ = static_cast<Slot *>(mem);
	nr_slots_ = nr_slots;
	return {};
}

Table::~Table() { zcx_vfree(slots_); }

} // namespace zcx
