// SPDX-License-Identifier: GPL-2.0
// xvmalloc: a TLSF-style allocator for compressed pages (after the 2.6.33
// staging driver).  Blocks live inside one order-0 page and never cross
// it; free blocks sit on size-class lists found in O(1) through a
// two-level bitmap; neighbours merge on free and a page that becomes
// wholly free goes back to the system.
#pragma once

#include "zcx/abi.h"
#include "zcx/support/alloc.hpp"
#include "zcx/support/atomic.hpp"
#include "zcx/support/result.hpp"
#include "zcx/support/types.hpp"

namespace zcx::xv {

// An object's address: pfn << kPageShift | offset of its block header.
// 0 is never a valid handle (offset 0 of pfn 0 is not ours to hand out).
using Handle = u64;

inline constexpr usize kAlign = 4;
inline constexpr usize kHeaderSize = 4;
inline constexpr usize kMinAlloc = 32;
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
// only ever holds whole-page blocks (4092), so clamping is exact.
constexpr usize class_for_request(usize size)
{
	return min((max(size, kMinAlloc) - kMinAlloc + kClassDelta - 1) /
			   kClassDelta,
		   kNumClasses - 1);
}

// Size class a free block of `size` bytes is filed under (free side).
constexpr usize class_for_block(usize size)
{
	return (size - kMinAlloc) / kClassDelta;
}

constexpr Handle make_handle(unsigned long pfn, usize offset)
{
	return (Handle{pfn} << kPageShift) | offset;
}
constexpr unsigned long handle_pfn(Handle h) { return h >> kPageShift; }
constexpr usize handle_offset(Handle h) { return h & (kPageSize - 1); }

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

	// Object bytes stay valid until unmap() (kmap_local rules apply).
	u8 *map(Handle handle);
	void unmap(const u8 *object);

	u64 pages() const { return pages_.load(); }

	// Test support, O(pool): the free lists and bitmaps agree, and one
	// page's block chain is well formed (sizes tile the page, boundary
	// tags match, no two free blocks touch).
	bool check_free_lists();
	static bool check_page(zcx_page *page, usize *free_bytes);

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
	void add_page(zcx_page *page);
	Handle take_block(usize size);

	zcx_spinlock *lock_ = nullptr;
	u64 class_words_ = 0;                  // bit w: class_bits_[w] != 0
	u64 class_bits_[kNumClassWords] = {};  // bit c: free_lists_[c] non-empty
	Handle free_lists_[kNumClasses] = {};
	Atomic<u64> pages_;
};

} // namespace zcx::xv
