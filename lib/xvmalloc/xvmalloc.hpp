// SPDX-License-Identifier: GPL-2.0
// xvmalloc: a TLSF-style allocator for compressed pages (after the 2.6.33
// staging driver).  Blocks live inside one chunk of 1 or 4 contiguous
// pages and never cross it; free blocks sit on size-class lists found in
// O(1) through a two-level bitmap; neighbours merge on free and a chunk
// that becomes wholly free goes back to the system.
//
// Why chunks rather than the 2010 allocator's single pages: with one page,
// an object bigger than half a page leaves a hole no other such object
// fits, so data compressing to ~55% used a page per object (134 MB for
// stock's 77 MB in our first benchmark).  A 16 KiB chunk holds seven
// 2.2 KB objects.  Order-2 allocations can fail on a fragmented system;
// the pool then grows by single pages and still works, only less densely.
#pragma once

#include "zcx/abi.h"
#include "zcx/support/alloc.hpp"
#include "zcx/support/atomic.hpp"
#include "zcx/support/result.hpp"
#include "zcx/support/types.hpp"

namespace zcx::xv {

// An object's address: the chunk's first pfn, the chunk's order and the
// offset of the block header in the chunk, packed as
//   pfn << kHandlePfnShift | order << kOffsetBits | offset.
// 0 is never a valid handle (pfn 0 is not ours to hand out).
using Handle = u64;

inline constexpr unsigned kMaxChunkOrder = 2;
inline constexpr usize kMaxChunkSize = kPageSize << kMaxChunkOrder;
inline constexpr unsigned kOffsetBits = 14;
inline constexpr unsigned kHandlePfnShift = 16;
static_assert(kMaxChunkSize <= (usize{1} << kOffsetBits));
static_assert(kMaxChunkOrder < (1u << (kHandlePfnShift - kOffsetBits)));

inline constexpr usize kAlign = 4;
inline constexpr usize kHeaderSize = 4;
inline constexpr usize kMinAlloc = 32;
// The largest object still fits a single-page chunk, so the pool works
// when only order-0 pages are to be had.
inline constexpr usize kMaxAlloc = kPageSize - kHeaderSize;
inline constexpr usize kClassDelta = 8;
inline constexpr usize kNumClasses = (kMaxAlloc - kMinAlloc) / kClassDelta + 1;
inline constexpr usize kBitsPerWord = 64;
inline constexpr usize kNumClassWords =
	(kNumClasses + kBitsPerWord - 1) / kBitsPerWord;
static_assert(kNumClassWords <= kBitsPerWord,
	      "first-level bitmap must fit one word");

// Size class whose every block can hold `size` bytes (allocation side).
// Rounding up overshoots the last class for 4089..4092 bytes; that class
// only ever holds blocks of kMaxAlloc or more, so clamping is exact.
constexpr usize class_for_request(usize size)
{
	return min((max(size, kMinAlloc) - kMinAlloc + kClassDelta - 1) /
			   kClassDelta,
		   kNumClasses - 1);
}

// What an allocation of `size` bytes takes: rounded up to the smallest
// block its class holds, so that the hole it leaves when freed is filed
// under the very class a request of the same size searches first.
// Rounded only to kAlign, a hole sat one class below such requests and
// only smaller objects could use it: under overwrites with objects of one
// size (fio's half-compressible pages) the pool grew 27..44 %.  The cost
// is under kClassDelta bytes per object.
constexpr usize block_size_for_request(usize size)
{
	const usize aligned = round_up(max(size, kMinAlloc), kAlign);
	return max(aligned, kMinAlloc + class_for_request(size) * kClassDelta);
}

// Size class a free block of `size` bytes is filed under (free side).
// Every block in a class must hold every request of that class: the last
// class takes only blocks of kMaxAlloc or more (up to a whole multi-page
// chunk), so 4088..4091-byte blocks stay one class down.
constexpr usize class_for_block(usize size)
{
	if (size >= kMaxAlloc)
		return kNumClasses - 1;
	return min((size - kMinAlloc) / kClassDelta, kNumClasses - 2);
}
static_assert(kMinAlloc + (kNumClasses - 1) * kClassDelta <= kMaxAlloc);

constexpr Handle make_handle(unsigned long pfn, unsigned order, usize offset)
{
	return (Handle{pfn} << kHandlePfnShift) | (Handle{order} << kOffsetBits) |
	       offset;
}
constexpr unsigned long handle_pfn(Handle h) { return h >> kHandlePfnShift; }
constexpr unsigned handle_order(Handle h)
{
	return (h >> kOffsetBits) & ((1u << (kHandlePfnShift - kOffsetBits)) - 1);
}
constexpr usize handle_offset(Handle h)
{
	return h & ((usize{1} << kOffsetBits) - 1);
}
constexpr usize chunk_size(unsigned order) { return kPageSize << order; }

class Pool : Pinned {
public:
	static Result<Pool *> create();
	static void destroy(Pool *pool);

	// size in 1..kMaxAlloc.  With Gfp::nowait this never sleeps; other
	// contexts may sleep to grow the pool.
	Result<Handle> alloc(usize size, Gfp gfp);
	void free(Handle handle);

	// Usable size of an allocated object (at least what was asked).
	usize object_size(Handle handle);

	// Object bytes stay valid until unmap().  Chunks are in the direct
	// map, so this is address arithmetic, legal in any context.
	u8 *map(Handle handle);
	void unmap(const u8 *object);

	// Pages held, counting every page of a chunk.
	u64 pages() const { return pages_.load(); }
	// Chunks of a single page: the fallback when no multi-page block
	// was to be had without trying hard.  They waste more (one 2 KiB
	// object leaves a hole too small for another), so they are counted.
	u64 single_page_chunks() const { return single_page_chunks_.load(); }

	// Test support, O(pool): the free lists and bitmaps agree, and one
	// chunk's block chain is well formed (sizes tile the chunk, boundary
	// tags match, no two free blocks touch).
	bool check_free_lists();
	static bool check_chunk(zcx_page *first, unsigned order,
				usize *free_bytes);

	~Pool();

private:
	template <class T, class... Args>
	friend Result<T *> zcx::try_new(Gfp, Args &&...);
	Pool() = default;

	struct FreeLinks {
		Handle prev;
		Handle next;
	};

	bool find_class(usize first_class, usize *found) const;
	void list_insert(Handle h, usize block_size);
	void list_remove(Handle h, usize block_size);
	FreeLinks read_links(Handle h);
	void write_links(Handle h, const FreeLinks &links);
	void set_link_prev(Handle h, Handle prev);
	void set_link_next(Handle h, Handle next);
	void add_chunk(zcx_page *first, unsigned order);
	void forget_chunk(unsigned order);
	Handle take_block(usize size);
	static zcx_page *grow(Gfp gfp, unsigned *order);

	zcx_spinlock *lock_ = nullptr;
	u64 class_words_ = 0;                  // bit w: class_bits_[w] != 0
	u64 class_bits_[kNumClassWords] = {};  // bit c: free_lists_[c] non-empty
	Handle free_lists_[kNumClasses] = {};
	Atomic<u64> pages_;
	Atomic<u64> single_page_chunks_;
};

} // namespace zcx::xv
