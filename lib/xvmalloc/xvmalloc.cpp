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

void Pool::add_chunk(zcx_page *first, unsigned order)
{
	const usize size = chunk_size(order) - kHeaderSize;
	store_header(static_cast<u8 *>(zcx_chunk_address(first)), 0,
		     {static_cast<u16>(size), kFree});
	list_insert(make_handle(zcx_page_to_pfn(first), order, 0), size);
	pages_.add(u64{1} << order);
	if (order == 0)
		single_page_chunks_.add(1);
}

void Pool::forget_chunk(unsigned order)
{
	pages_.sub(u64{1} << order);
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
Handle Pool::take_block(usize size)
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
	store_header(chunk, offset, block);
	return h;
}

Result<Handle> Pool::alloc(usize size, Gfp gfp)
{
	if (size == 0 || size > kMaxAlloc)
		return Errc::inval;
	size = block_size_for_request(size);

	for (;;) {
		{
			SpinGuard guard(lock_);
			if (Handle h = take_block(size))
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
			h = take_block(size);
			const Handle whole =
				make_handle(zcx_page_to_pfn(first), order, 0);
			const usize whole_size = chunk_size(order) - kHeaderSize;
			const Header head = load_header(chunk_bytes(whole), 0);
			if (head.is_free() && head.size == whole_size) {
				list_remove(whole, whole_size);
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

void Pool::free(Handle h)
{
	const unsigned order = handle_order(h);
	const usize end = chunk_size(order);
	zcx_page *const first = chunk_of(h);
	bool chunk_is_empty;
	{
		SpinGuard guard(lock_);
		u8 *chunk = chunk_bytes(h);
		usize start = handle_offset(h);
		Header block = load_header(chunk, start);
		usize size = block.size;

		const usize next = next_offset(start, size);
		if (next < end) {
			const Header after = load_header(chunk, next);
			if (after.is_free()) {
				list_remove(sibling(h, next), after.size);
				size += kHeaderSize + after.size;
			}
		}
		u16 prev_flags = static_cast<u16>(block.prev_offset());
		if (block.prev_free()) {
			start = block.prev_offset();
			const Header before = load_header(chunk, start);
			list_remove(sibling(h, start), before.size);
			size += kHeaderSize + before.size;
			prev_flags = static_cast<u16>(before.prev_offset());
		}

		chunk_is_empty = start == 0 && size == end - kHeaderSize;
		if (chunk_is_empty) {
			forget_chunk(order);
		} else {
			store_header(chunk, start,
				     {static_cast<u16>(size),
				      static_cast<u16>(prev_flags | kFree)});
			list_insert(sibling(h, start), size);
			set_prev_of(chunk, end, next_offset(start, size), start,
				    true);
		}
	}
	if (chunk_is_empty)
		zcx_chunk_free(first, order);
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
	return true;
}

bool Pool::check_chunk(zcx_page *first, unsigned order, usize *free_bytes)
{
	const u8 *chunk = static_cast<const u8 *>(zcx_chunk_address(first));
	const usize end = chunk_size(order);
	usize offset = 0, prev = 0;
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
		prev = offset;
		prev_was_free = block.is_free();
		offset = next_offset(offset, block.size);
	}
	return offset == end;
}

} // namespace zcx::xv
