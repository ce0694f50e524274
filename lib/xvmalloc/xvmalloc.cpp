// SPDX-License-Identifier: GPL-2.0
#include "xvmalloc.hpp"

#include "zcx/support/guards.hpp"

namespace zcx::xv {

namespace {

// Boundary tag at the start of every block.  prev_flags holds the offset
// of the previous block in the page (a multiple of kAlign) and two flags
// in the bits that alignment leaves free.
constexpr u16 kFree = 1;
constexpr u16 kPrevFree = 2;
constexpr u16 kFlagMask = kFree | kPrevFree;
static_assert(kAlign > kFlagMask, "flags must fit below the alignment");

struct Header {
	u16 size;
	u16 prev_flags;
	Owner owner;

	bool is_free() const { return prev_flags & kFree; }
	bool prev_free() const { return prev_flags & kPrevFree; }
	usize prev_offset() const { return prev_flags & ~kFlagMask; }
};
static_assert(sizeof(Header) == kHeaderSize);

// Headers and links sit at 4-byte alignment: go through memcpy, which
// compiles to plain moves, rather than through misaligned pointers.
Header load_header(const u8 *page, usize offset)
{
	Header h;
	memcpy(&h, page + offset, sizeof(h));
	return h;
}

void store_header(u8 *page, usize offset, Header h)
{
	memcpy(page + offset, &h, sizeof(h));
}

constexpr usize next_offset(usize offset, usize size)
{
	return offset + kHeaderSize + size;
}

// Records in the block at `offset` (if any: end is the chunk's size) who
// precedes it now.
void set_prev_of(u8 *chunk, usize end, usize offset, usize prev,
		 bool prev_is_free)
{
	if (offset >= end)
		return;
	Header h = load_header(chunk, offset);
	h.prev_flags = static_cast<u16>(prev | (h.prev_flags & kFree) |
					(prev_is_free ? kPrevFree : 0));
	store_header(chunk, offset, h);
}

zcx_page *chunk_of(Handle h) { return zcx_pfn_to_page(handle_pfn(h)); }

u8 *chunk_bytes(Handle h)
{
	return static_cast<u8 *>(zcx_chunk_address(chunk_of(h)));
}

// The handle of another block in h's chunk.
Handle sibling(Handle h, usize offset)
{
	return make_handle(handle_pfn(h), handle_order(h), offset);
}

} // namespace

Result<Pool *> Pool::create()
{
	zcx_spinlock *lock = zcx_spinlock_create();
	if (!lock)
		return Errc::nomem;
	auto pool = try_new<Pool>(Gfp::kernel);
	if (!pool) {
		zcx_spinlock_destroy(lock);
		return pool.error();
	}
	pool.value()->lock_ = lock;
	return pool.value();
}

void Pool::destroy(Pool *pool)
{
	if (!pool)
		return;
	pool->~Pool();
	zcx_kfree(pool);
}

Pool::~Pool()
{
	// Every object must have been freed: a leftover page is a leak the
	// caller made, and kmemleak will name it.
	if (lock_)
		zcx_spinlock_destroy(lock_);
}

Pool::ChunkHeader *Pool::chunk_header(Handle h)
{
	static_assert(sizeof(ChunkHeader) == kChunkHeaderSize);
	return reinterpret_cast<ChunkHeader *>(chunk_bytes(h));
}

Handle Pool::chunk_handle(const ChunkHeader *ch)
{
	return make_handle(zcx_chunk_pfn(ch), ch->order, 0);
}

usize Pool::fullness(const ChunkHeader &ch)
{
	return min(usize{ch.used} * kNumFullness / chunk_capacity(ch.order),
		   kNumFullness - 1);
}

// Appends to the list's tail.  Lock held.
void Pool::chunk_link(ChunkHeader *ch, usize list)
{
	ch->list = static_cast<u16>(list);
	ch->next = nullptr;
	ch->prev = fullness_tail_[list];
	if (ch->prev)
		ch->prev->next = ch;
	else
		fullness_head_[list] = ch;
	fullness_tail_[list] = ch;
}

void Pool::chunk_unlink(ChunkHeader *ch)
{
	const usize list = ch->list;
	if (ch->prev)
		ch->prev->next = ch->next;
	else
		fullness_head_[list] = ch->next;
	if (ch->next)
		ch->next->prev = ch->prev;
	else
		fullness_tail_[list] = ch->prev;
	ch->prev = ch->next = nullptr;
}

// Onto the list its use says now.  Lock held; not while evacuating.
void Pool::chunk_relist(ChunkHeader *ch)
{
	chunk_unlink(ch);
	chunk_link(ch, fullness(*ch));
}

Pool::FreeLinks Pool::read_links(Handle h)
{
	FreeLinks links;
	memcpy(&links, chunk_bytes(h) + handle_offset(h) + kHeaderSize,
	       sizeof(links));
	return links;
}

void Pool::write_links(Handle h, const FreeLinks &links)
{
	memcpy(chunk_bytes(h) + handle_offset(h) + kHeaderSize, &links,
	       sizeof(links));
}

void Pool::set_link_prev(Handle h, Handle prev)
{
	FreeLinks links = read_links(h);
	links.prev = prev;
	write_links(h, links);
}

void Pool::set_link_next(Handle h, Handle next)
{
	FreeLinks links = read_links(h);
	links.next = next;
	write_links(h, links);
}

void Pool::list_insert(Handle h, usize block_size)
{
	const usize cls = class_for_block(block_size);
	const Handle head = free_lists_[cls];
	write_links(h, {0, head});
	if (head)
		set_link_prev(head, h);
	free_lists_[cls] = h;
	class_bits_[cls / kBitsPerWord] |= u64{1} << (cls % kBitsPerWord);
	class_words_ |= u64{1} << (cls / kBitsPerWord);
}

void Pool::list_remove(Handle h, usize block_size)
{
	const usize cls = class_for_block(block_size);
	const FreeLinks links = read_links(h);
	if (links.prev)
		set_link_next(links.prev, links.next);
	else
		free_lists_[cls] = links.next;
	if (links.next)
		set_link_prev(links.next, links.prev);
	if (!free_lists_[cls]) {
		const usize word = cls / kBitsPerWord;
		class_bits_[word] &= ~(u64{1} << (cls % kBitsPerWord));
		if (!class_bits_[word])
			class_words_ &= ~(u64{1} << word);
	}
}

bool Pool::find_class(usize first_class, usize *found) const
{
	usize word = first_class / kBitsPerWord;
	const u64 here = class_bits_[word] &
			 (~u64{0} << (first_class % kBitsPerWord));
	if (here) {
		*found = word * kBitsPerWord + __builtin_ctzll(here);
		return true;
	}
	if (word + 1 >= kNumClassWords)
		return false;
	const u64 later = class_words_ & (~u64{0} << (word + 1));
	if (!later)
		return false;
	word = __builtin_ctzll(later);
	*found = word * kBitsPerWord + __builtin_ctzll(class_bits_[word]);
	return true;
}

// The highest non-empty class in lo..hi.
bool Pool::find_largest_class(usize lo, usize hi, usize *found) const
{
	for (usize word = hi / kBitsPerWord + 1; word-- > lo / kBitsPerWord;) {
		u64 bits = class_bits_[word];
		if (word == hi / kBitsPerWord && hi % kBitsPerWord != kBitsPerWord - 1)
			bits &= (u64{1} << (hi % kBitsPerWord + 1)) - 1;
		if (word == lo / kBitsPerWord)
			bits &= ~u64{0} << (lo % kBitsPerWord);
		if (bits) {
			*found = word * kBitsPerWord + kBitsPerWord - 1 -
				 __builtin_clzll(bits);
			return true;
		}
	}
	return false;
}

void Pool::add_chunk(zcx_page *first, unsigned order)
{
	const Handle chunk = make_handle(zcx_page_to_pfn(first), order, 0);
	u8 *bytes = static_cast<u8 *>(zcx_chunk_address(first));
	auto *ch = reinterpret_cast<ChunkHeader *>(bytes);
	*ch = {};
	ch->order = static_cast<u8>(order);
	chunk_link(ch, 0);
	const usize size = whole_block_size(order);
	store_header(bytes, kFirstBlock,
		     {static_cast<u16>(size), kFree, 0});
	list_insert(sibling(chunk, kFirstBlock), size);
	pages_.add(u64{1} << order);
	capacity_bytes_.add(chunk_capacity(order));
	if (order == 0)
		single_page_chunks_.add(1);
}

// The chunk is one free block, off every list: it leaves the counters.
void Pool::forget_chunk(unsigned order)
{
	pages_.sub(u64{1} << order);
	capacity_bytes_.sub(chunk_capacity(order));
	if (order == 0)
		single_page_chunks_.sub(1);
}

// A new chunk, as big as the system will give without trying hard.
zcx_page *Pool::grow(Gfp gfp, unsigned *order)
{
	if (zcx_page *first = zcx_chunk_alloc(to_c(gfp), kMaxChunkOrder)) {
		*order = kMaxChunkOrder;
		return first;
	}
	*order = 0;
	return zcx_chunk_alloc(to_c(gfp), 0);
}

// Takes a free block of at least `size` bytes off its list, splitting off
// the tail when it is big enough to be a block of its own.  Lock held.
Handle Pool::take_block(usize size, Owner owner)
{
	usize cls;
	if (!find_class(class_for_request(size), &cls))
		return 0;
	const Handle h = free_lists_[cls];
	const usize offset = handle_offset(h);
	const usize end = chunk_size(handle_order(h));

	u8 *chunk = chunk_bytes(h);
	Header block = load_header(chunk, offset);
	list_remove(h, block.size);

	const usize rest = block.size - size;
	if (rest >= kMinAlloc + kHeaderSize) {
		const usize tail = next_offset(offset, size);
		const usize tail_size = rest - kHeaderSize;
		store_header(chunk, tail,
			     {static_cast<u16>(tail_size),
			      static_cast<u16>(offset | kFree)});
		set_prev_of(chunk, end, next_offset(tail, tail_size), tail,
			    true);
		list_insert(sibling(h, tail), tail_size);
		block.size = static_cast<u16>(size);
	} else {
		set_prev_of(chunk, end, next_offset(offset, block.size),
			    offset, false);
	}
	block.prev_flags &= ~kFree;
	block.owner = owner;
	store_header(chunk, offset, block);
	// The chunk stays on its list (see fullness_head_): no list moves on
	// the write path, and the counter is a plain store under the lock.
	reinterpret_cast<ChunkHeader *>(chunk)->used += kHeaderSize + block.size;
	used_bytes_.store(used_bytes_.load() + kHeaderSize + block.size);
	return h;
}

Result<Handle> Pool::alloc(usize size, Gfp gfp, Owner owner)
{
	if (size == 0 || size > kMaxAlloc)
		return Errc::inval;
	size = block_size_for_request(size);

	for (;;) {
		{
			SpinGuard guard(lock_);
			if (Handle h = take_block(size, owner))
				return h;
		}
		// Grow outside the lock: a NOIO allocation may sleep.
		unsigned order;
		zcx_page *first = grow(gfp, &order);
		if (!first)
			return Errc::nomem;
		Handle h;
		zcx_page *unused = nullptr;
		{
			SpinGuard guard(lock_);
			add_chunk(first, order);
			// take_block serves the smallest fitting class: a block
			// freed meanwhile elsewhere may win, leaving the new chunk
			// whole.  Give it back, or nothing ever frees it.
			h = take_block(size, owner);
			const Handle whole =
				make_handle(zcx_page_to_pfn(first), order, 0);
			const usize whole_size = whole_block_size(order);
			const Header head =
				load_header(chunk_bytes(whole), kFirstBlock);
			if (head.is_free() && head.size == whole_size) {
				list_remove(sibling(whole, kFirstBlock),
					    whole_size);
				chunk_unlink(static_cast<ChunkHeader *>(
					zcx_chunk_address(first)));
				forget_chunk(order);
				unused = first;
			}
		}
		if (unused)
			zcx_chunk_free(unused, order);
		// Another CPU may take the new block first; then go round.
		if (h)
			return h;
	}
}

Result<Handle> Pool::alloc_fill(usize max, usize least, Gfp gfp, Owner owner,
			       usize *got)
{
	if (least == 0 || least > max || max > kMaxAlloc)
		return Errc::inval;
	// The last class holds what is left of fresh chunks: not a hole.
	constexpr usize kLastHoleClass = kNumClasses - 2;
	const usize want = block_size_for_request(max);
	{
		SpinGuard guard(lock_);
		usize cls;
		if (find_class(class_for_request(want), &cls) && cls <= kLastHoleClass) {
			*got = max;
			return take_block(want, owner);
		}
		const usize lo = class_for_request(least);
		const usize hi = min(class_for_request(want), kLastHoleClass + 1);
		if (hi > lo && find_largest_class(lo, hi - 1, &cls)) {
			// Every block of the class holds its smallest size.
			const usize size = kMinAlloc + cls * kClassDelta;
			*got = size;
			return take_block(size, owner);
		}
	}
	*got = max;
	return alloc(max, gfp, owner);
}

Result<Handle> Pool::alloc_for_move(usize size, Owner owner)
{
	if (size == 0 || size > kMaxAlloc)
		return Errc::inval;
	SpinGuard guard(lock_);
	if (Handle h = take_block(block_size_for_request(size), owner))
		return h;
	return Errc::nomem;
}

void Pool::free(Handle h)
{
	const unsigned order = handle_order(h);
	const usize end = chunk_size(order);
	zcx_page *const first = chunk_of(h);
	bool chunk_is_empty;
	{
		SpinGuard guard(lock_);
		u8 *chunk = chunk_bytes(h);
		auto *ch = reinterpret_cast<ChunkHeader *>(chunk);
		// A chunk being emptied keeps its free blocks off the lists
		// (nothing may be allocated there) and is not released here:
		// compact() owns it until it is done with it.
		const bool listed = ch->list != kEvacuating;
		usize start = handle_offset(h);
		Header block = load_header(chunk, start);
		usize size = block.size;
		ch->used -= kHeaderSize + size;
		used_bytes_.store(used_bytes_.load() - kHeaderSize - size);

		const usize next = next_offset(start, size);
		if (next < end) {
			const Header after = load_header(chunk, next);
			if (after.is_free()) {
				if (listed)
					list_remove(sibling(h, next), after.size);
				size += kHeaderSize + after.size;
			}
		}
		u16 prev_flags = static_cast<u16>(block.prev_offset());
		if (block.prev_free()) {
			start = block.prev_offset();
			const Header before = load_header(chunk, start);
			if (listed)
				list_remove(sibling(h, start), before.size);
			size += kHeaderSize + before.size;
			prev_flags = static_cast<u16>(before.prev_offset());
		}

		chunk_is_empty = listed && start == kFirstBlock &&
				 size == whole_block_size(order);
		if (chunk_is_empty) {
			chunk_unlink(ch);
			forget_chunk(order);
		} else {
			store_header(chunk, start,
				     {static_cast<u16>(size),
				      static_cast<u16>(prev_flags | kFree), 0});
			if (listed)
				list_insert(sibling(h, start), size);
			set_prev_of(chunk, end, next_offset(start, size), start,
				    true);
			if (ch->list < kNumFullness && fullness(*ch) < ch->list)
				chunk_relist(ch);
		}
	}
	if (chunk_is_empty)
		zcx_chunk_free(first, order);
}

Owner Pool::owner_of(Handle h)
{
	return load_header(chunk_bytes(h), handle_offset(h)).owner;
}

u64 Pool::compactable_pages() const
{
	const u64 chunks = chunk_count();
	const u64 capacity = capacity_bytes_.load();
	const u64 used = used_bytes_.load();
	// A chunk's last hole is mostly smaller than the objects around it.
	const u64 slack = chunks * (kMaxAlloc / 4) + used;
	return capacity > slack ? (capacity - slack) >> kPageShift : 0;
}

// The sparsest chunk worth emptying: its live bytes fit the free space of
// the other chunks.  Chunks found fuller than their list (allocations do
// not move them) go up to theirs on the way, at most kMaxRelists per call,
// so one call holds the lock for a bounded time; *again then says so.
// Lock held.
Handle Pool::pick_victim(bool *again)
{
	constexpr int kMaxRelists = 32;
	const u64 free_total = capacity_bytes_.load() - used_bytes_.load();
	int relists = 0;
	*again = false;
	for (usize list = 0; list <= kMaxVictimFullness; list++) {
		while (ChunkHeader *ch = fullness_head_[list]) {
			if (fullness(*ch) > list) {
				if (++relists > kMaxRelists) {
					*again = true;
					return 0;
				}
				chunk_relist(ch);
				continue;
			}
			const u64 victim_free = chunk_capacity(ch->order) - ch->used;
			if (free_total - victim_free >= ch->used)
				return chunk_handle(ch);
			return 0; // fuller ones need more room still
		}
	}
	return 0;
}

// Takes the chunk off its fullness list and its free blocks off the free
// lists, so no allocation lands in it while its objects leave.  One walk
// of one chunk's blocks (at most 512).  Lock held.
void Pool::evacuate_begin(Handle chunk)
{
	ChunkHeader *ch = chunk_header(chunk);
	chunk_unlink(ch);
	ch->list = kEvacuating;
	const u8 *bytes = chunk_bytes(chunk);
	const usize end = chunk_size(handle_order(chunk));
	for (usize off = kFirstBlock; off < end;) {
		const Header block = load_header(bytes, off);
		if (block.is_free())
			list_remove(sibling(chunk, off), block.size);
		off = next_offset(off, block.size);
	}
}

// Ends the chunk's evacuation.  Emptied: it leaves the pool and its first
// page is returned for the caller to free outside the lock.  Otherwise
// its free blocks go back on the lists and it is set aside until the
// compact() call ends.  Lock held.
zcx_page *Pool::evacuate_end(Handle chunk)
{
	const unsigned order = handle_order(chunk);
	const u8 *bytes = chunk_bytes(chunk);
	const Header head = load_header(bytes, kFirstBlock);
	if (head.is_free() && head.size == whole_block_size(order)) {
		forget_chunk(order);
		return chunk_of(chunk);
	}
	const usize end = chunk_size(order);
	for (usize off = kFirstBlock; off < end;) {
		const Header block = load_header(bytes, off);
		if (block.is_free())
			list_insert(sibling(chunk, off), block.size);
		off = next_offset(off, block.size);
	}
	chunk_link(chunk_header(chunk), kSetAside);
	return nullptr;
}

// The chunks this call set aside go back to their fullness lists, a
// bounded batch per lock hold.
void Pool::restore_set_aside()
{
	constexpr int kBatch = 64;
	for (bool more = true; more;) {
		{
			SpinGuard guard(lock_);
			for (int i = 0; i < kBatch && fullness_head_[kSetAside]; i++)
				chunk_relist(fullness_head_[kSetAside]);
			more = fullness_head_[kSetAside] != nullptr;
		}
		if (more)
			zcx_cond_resched();
	}
}

// The first allocated block at or after *cursor in an evacuating chunk.
// Blocks there only ever get freed (and merge), so walking from the start
// each time is the one walk that stays on block boundaries.  Lock held.
bool Pool::next_object(Handle chunk, usize *cursor, Handle *found,
		       Owner *owner)
{
	const u8 *bytes = chunk_bytes(chunk);
	const usize end = chunk_size(handle_order(chunk));
	for (usize off = kFirstBlock; off < end;) {
		const Header block = load_header(bytes, off);
		if (!block.is_free() && off >= *cursor) {
			*found = sibling(chunk, off);
			*owner = block.owner;
			*cursor = off + 1;
			return true;
		}
		off = next_offset(off, block.size);
	}
	return false;
}

u64 Pool::compact(MoveFn move, void *ctx, u64 max_pages)
{
	u64 freed = 0;
	// Each chunk gets at most one try per call (one the mover could not
	// empty is set aside); the count is a second bound, against chunks
	// that grow meanwhile.
	u64 tries = chunk_count();
	// An object with no hole to go to stops its chunk, not the pass: the
	// next victim's may be smaller.  kMaxStuckInARow in a row mean the
	// pool has no room to speak of.
	int stuck_in_a_row = 0;
	while (freed < max_pages && tries && stuck_in_a_row < kMaxStuckInARow) {
		Handle victim;
		bool again;
		{
			SpinGuard guard(lock_);
			victim = pick_victim(&again);
			if (victim)
				evacuate_begin(victim);
		}
		if (!victim) {
			if (!again)
				break;
			zcx_cond_resched();
			continue;
		}
		tries--;
		usize cursor = kFirstBlock;
		bool stuck = false;
		for (;;) {
			Handle from;
			Owner owner;
			{
				SpinGuard guard(lock_);
				if (!next_object(victim, &cursor, &from, &owner))
					break;
			}
			if (move(ctx, owner, from) == MoveResult::no_room) {
				stuck = true;
				break;
			}
			zcx_cond_resched();
		}
		stuck_in_a_row = stuck ? stuck_in_a_row + 1 : 0;
		zcx_page *emptied;
		{
			SpinGuard guard(lock_);
			emptied = evacuate_end(victim);
		}
		if (emptied) {
			const unsigned order = handle_order(victim);
			zcx_chunk_free(emptied, order);
			freed += u64{1} << order;
			pages_compacted_.add(u64{1} << order);
		}
		zcx_cond_resched();
	}
	restore_set_aside();
	return freed;
}

Pool::Holes Pool::holes()
{
	Holes out = {};
	SpinGuard guard(lock_);
	for (usize cls = 0; cls < kNumClasses; cls++) {
		for (Handle h = free_lists_[cls]; h; h = read_links(h).next) {
			const usize size = load_header(chunk_bytes(h), handle_offset(h)).size;
			usize b = 0;
			while (b < kHoleBuckets - 1 && size >= kHoleBucketBytes[b])
				b++;
			out.count[b]++;
			out.bytes[b] += size;
		}
	}
	return out;
}

usize Pool::object_size(Handle h)
{
	return load_header(chunk_bytes(h), handle_offset(h)).size;
}

u8 *Pool::map(Handle h)
{
	return chunk_bytes(h) + handle_offset(h) + kHeaderSize;
}

void Pool::unmap(const u8 *) {}

bool Pool::check_free_lists()
{
	SpinGuard guard(lock_);
	for (usize cls = 0; cls < kNumClasses; cls++) {
		const bool bit = class_bits_[cls / kBitsPerWord] &
				 (u64{1} << (cls % kBitsPerWord));
		if (bit != (free_lists_[cls] != 0))
			return false;
		Handle prev = 0;
		for (Handle h = free_lists_[cls]; h;) {
			const Header block =
				load_header(chunk_bytes(h), handle_offset(h));
			if (!block.is_free() ||
			    class_for_block(block.size) != cls)
				return false;
			const FreeLinks links = read_links(h);
			if (links.prev != prev)
				return false;
			prev = h;
			h = links.next;
		}
	}
	for (usize word = 0; word < kNumClassWords; word++) {
		if (((class_words_ >> word) & 1) != (class_bits_[word] != 0))
			return false;
	}
	// Every chunk is on a fullness list no fuller than it is, links
	// intact; with no compaction running, they account for every byte.
	u64 used = 0, capacity = 0;
	for (usize list = 0; list < kNumFullness; list++) {
		const ChunkHeader *prev = nullptr;
		for (const ChunkHeader *ch = fullness_head_[list]; ch; ch = ch->next) {
			if (ch->list != list || ch->prev != prev ||
			    fullness(*ch) < list)
				return false;
			used += ch->used;
			capacity += chunk_capacity(ch->order);
			prev = ch;
		}
		if (fullness_tail_[list] != prev)
			return false;
	}
	if (fullness_head_[kSetAside] || fullness_tail_[kSetAside])
		return false; // only while compact() runs
	return used == used_bytes_.load() && capacity == capacity_bytes_.load();
}

bool Pool::check_chunk(zcx_page *first, unsigned order, usize *free_bytes)
{
	const u8 *chunk = static_cast<const u8 *>(zcx_chunk_address(first));
	const usize end = chunk_size(order);
	usize offset = kFirstBlock, prev = 0, used = 0;
	bool prev_was_free = false;
	*free_bytes = 0;
	while (offset < end) {
		const Header block = load_header(chunk, offset);
		if (block.size < kMinAlloc && block.is_free())
			return false;
		if (block.size % kAlign || block.prev_offset() != prev ||
		    block.prev_free() != prev_was_free)
			return false;
		if (block.is_free() && prev_was_free)
			return false; // should have merged
		if (block.is_free())
			*free_bytes += block.size;
		else
			used += kHeaderSize + block.size;
		prev = offset;
		prev_was_free = block.is_free();
		offset = next_offset(offset, block.size);
	}
	return offset == end && used == reinterpret_cast<const ChunkHeader *>(chunk)->used;
}

} // namespace zcx::xv
