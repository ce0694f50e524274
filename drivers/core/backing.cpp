// SPDX-License-Identifier: GPL-2.0
#include "backing.hpp"

#include "zcx/support/alloc.hpp"
#include "zcx/support/guards.hpp"

namespace zcx {

Result<BackingBlocks *> BackingBlocks::create(u64 nr_blocks)
{
	if (nr_blocks == 0 || nr_blocks > kMaxBlocks)
		return Errc::inval;
	BackingBlocks *b = ZCX_TRY(try_new<BackingBlocks>(Gfp::kernel));
	Owned<BackingBlocks> owner(b);
	b->nr_ = nr_blocks;
	b->used_ = static_cast<u64 *>(zcx_vzalloc((nr_blocks + 63) / 64 * sizeof(u64)));
	b->next_ = static_cast<u32 *>(zcx_vzalloc(nr_blocks * sizeof(u32)));
	b->lock_ = zcx_spinlock_create();
	if (!b->used_ || !b->next_ || !b->lock_)
		return Errc::nomem;
	return owner.release();
}

void BackingBlocks::destroy(BackingBlocks *blocks)
{
	Owned<BackingBlocks> owner(blocks);
}

BackingBlocks::~BackingBlocks()
{
	zcx_vfree(used_);
	zcx_vfree(next_);
	if (lock_)
		zcx_spinlock_destroy(lock_);
}

bool BackingBlocks::take_bit(u64 block)
{
	const u64 bit = u64{1} << (block % 64);
	return !(__atomic_fetch_or(&used_[block / 64], bit, __ATOMIC_ACQUIRE) & bit);
}

bool BackingBlocks::taken(u64 block) const
{
	return block < nr_ &&
	       (__atomic_load_n(&used_[block / 64], __ATOMIC_RELAXED) >> (block % 64) & 1);
}

void BackingBlocks::clear_bit(u64 block)
{
	// The last read of the block happened before: its reuse comes after.
	__atomic_fetch_and(&used_[block / 64], ~(u64{1} << (block % 64)), __ATOMIC_RELEASE);
}

// Next fit from where the last search stopped: writeback fills blocks in
// order, so runs of pages land on runs of blocks (chained reads), and a
// nearly full device is not rescanned from its start on every page.
u64 BackingBlocks::find_free()
{
	const u64 words = (nr_ + 63) / 64;
	const u64 start = hint_.load() % nr_;
	for (u64 i = 0; i <= words; i++) {
		const u64 w = (start / 64 + i) % words;
		u64 valid = ~u64{0};
		if (w == words - 1 && nr_ % 64)
			valid = (u64{1} << (nr_ % 64)) - 1;
		// The first word from the hint on, the rest whole.
		if (i == 0)
			valid &= ~u64{0} << (start % 64);
		for (;;) {
			const u64 free = ~__atomic_load_n(&used_[w], __ATOMIC_RELAXED) & valid;
			if (!free)
				break;
			const u64 block = w * 64 + __builtin_ctzll(free);
			if (take_bit(block)) {
				hint_.store(block + 1);
				return block;
			}
		}
	}
	return kNone;
}

void BackingBlocks::push_locked(List &list, u32 block)
{
	next_[block] = kNone;
	if (list.tail == kNone)
		list.head = block;
	else
		next_[list.tail] = block;
	list.tail = block;
}

void BackingBlocks::splice_locked(List &to, List &from)
{
	if (from.head == kNone)
		return;
	if (to.tail == kNone)
		to.head = from.head;
	else
		next_[to.tail] = from.head;
	to.tail = from.tail;
	from = List{};
}

// The other epoch's reads are all over: the blocks waiting on its list go
// to ready_ (each waited for that counter only, or for this one too, which
// the advance that made this epoch current saw at zero after their free),
// and new reads count in the drained counter.
void BackingBlocks::advance_epoch_locked()
{
	const u32 other = epoch_ ^ 1;
	if (waiting_[0].head == kNone && waiting_[1].head == kNone)
		return;
	if (readers(other))
		return;
	splice_locked(ready_, waiting_[other]);
	__atomic_store_n(&epoch_, other, __ATOMIC_RELAXED);
}

u64 BackingBlocks::take_ready()
{
	SpinGuard guard(lock_);
	advance_epoch_locked();
	const u32 block = ready_.head;
	if (block == kNone)
		return kNone;
	ready_.head = next_[block];
	if (ready_.head == kNone)
		ready_.tail = kNone;
	deferred_.dec();
	return block;
}

Result<u64> BackingBlocks::alloc()
{
	// Blocks whose reads are over first: nothing else would reuse them.
	u64 block = deferred_.load() ? take_ready() : kNone;
	if (block == kNone)
		block = find_free();
	if (block == kNone && deferred_.load())
		block = take_ready();
	if (block != kNone) {
		held_.inc();
		return block;
	}
	// Freed under reads still in flight: worth asking again.
	if (deferred_.load())
		return Errc::busy;
	return Errc::nospc;
}

bool BackingBlocks::put_unused(u64 block)
{
	if (!taken(block))
		return false;
	held_.dec();
	clear_bit(block);
	return true;
}

bool BackingBlocks::free(u64 block)
{
	if (!taken(block))
		return false;
	held_.dec();
	// Any read of the block began before this free and is counted by
	// now (the slot lock orders them): none counted, none can start.
	if (!readers(0) && !readers(1)) {
		clear_bit(block);
		return true;
	}
	SpinGuard guard(lock_);
	// Only the other epoch has reads: the block waits for them alone,
	// on the list the next advance (which sees them drained) releases.
	// Otherwise it waits for both epochs' counters to be seen drained.
	const u32 epoch = __atomic_load_n(&epoch_, __ATOMIC_RELAXED);
	const u32 wait = readers(epoch) ? epoch : epoch ^ 1;
	push_locked(waiting_[wait], static_cast<u32>(block));
	deferred_.inc();
	deferrals_.inc();
	advance_epoch_locked();
	return true;
}

} // namespace zcx
