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
// Who points at an object (zram: the slot index), recorded at allocation
// and handed to the mover when compaction relocates the object.
using Owner = u32;

inline constexpr unsigned kMaxChunkOrder = 2;
inline constexpr usize kMaxChunkSize = kPageSize << kMaxChunkOrder;
inline constexpr unsigned kOffsetBits = 14;
inline constexpr unsigned kHandlePfnShift = 16;
static_assert(kMaxChunkSize <= (usize{1} << kOffsetBits));
static_assert(kMaxChunkOrder < (1u << (kHandlePfnShift - kOffsetBits)));

inline constexpr usize kAlign = 4;
// Every block starts with its boundary tag (size, previous block, flags)
// and the owner the allocation named: the back-reference that lets a
// compaction pass find the slot pointing at an object and repoint it, as
// the 2010 driver's header reserved room for.  4 of the 8 bytes are the
// owner: under 0.3 % of a 1.5 KB average object.
inline constexpr usize kHeaderSize = 8;
// Every chunk starts with its own header: its place on a fullness list
// and the bytes its live blocks take, so compaction finds the sparsest
// chunks without walking the pool.  24 bytes of 16 KiB.
inline constexpr usize kChunkHeaderSize = 24;
inline constexpr usize kFirstBlock = kChunkHeaderSize;
inline constexpr usize kMinAlloc = 32;
// The largest object still fits a single-page chunk, so the pool works
// when only order-0 pages are to be had.
inline constexpr usize kMaxAlloc = kPageSize - kChunkHeaderSize - kHeaderSize;
inline constexpr usize kClassDelta = 8;
inline constexpr usize kNumClasses = (kMaxAlloc - kMinAlloc) / kClassDelta + 1;
inline constexpr usize kBitsPerWord = 64;
inline constexpr usize kNumClassWords =
	(kNumClasses + kBitsPerWord - 1) / kBitsPerWord;
static_assert(kNumClassWords <= kBitsPerWord,
	      "first-level bitmap must fit one word");

// Size class whose every block can hold `size` bytes (allocation side).
// kMaxAlloc (4064) is itself a class boundary, so rounding up reaches the
// last class exactly; the clamp keeps that true should the constants
// change (that class only ever holds blocks of kMaxAlloc or more).
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
// chunk), so 4056..4063-byte blocks stay one class down.
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
// Bytes a chunk has for blocks, headers included.
constexpr usize chunk_capacity(unsigned order)
{
	return chunk_size(order) - kChunkHeaderSize;
}
// The block a fresh chunk is: all of it.
constexpr usize whole_block_size(unsigned order)
{
	return chunk_capacity(order) - kHeaderSize;
}

// What the mover did with one object compaction asked it to relocate.
enum class MoveResult {
	moved,   // the owner points at a new copy; the old one is freed
	skipped, // owner busy, or no longer pointing here: leave it
	no_room, // no free block outside the chunks being emptied
};
// Called in process context without the pool lock.  Must lock the owner
// without waiting, check it still points at `from`, alloc_for_move(),
// copy, repoint, unlock, then free(from).
using MoveFn = MoveResult (*)(void *ctx, Owner owner, Handle from);

class Pool : Pinned {
public:
	static Result<Pool *> create();
	static void destroy(Pool *pool);

	// size in 1..kMaxAlloc.  With Gfp::nowait this never sleeps; other
	// contexts may sleep to grow the pool.  owner is for compaction's
	// mover; a pool that is never compacted may leave it 0.
	Result<Handle> alloc(usize size, Gfp gfp, Owner owner = 0);
	// For data that may be cut anywhere (a group's stream): a hole the
	// pool already has, the biggest one below max, when one holds at least
	// least bytes; else a block of max bytes as alloc() gives it.  *got: the
	// bytes the block is for, least..max.  Objects cut to kMaxAlloc never fit
	// the holes that freeing smaller ones leaves, so a pool that replaced
	// many small objects by few big ones kept the holes (issue 26).
	Result<Handle> alloc_fill(usize max, usize least, Gfp gfp, Owner owner,
				  usize *got);
	void free(Handle handle);
	// A block in free space the pool already has, never in a chunk being
	// emptied, never growing: the mover's destination.  Never sleeps.
	Result<Handle> alloc_for_move(usize size, Owner owner);
	Owner owner_of(Handle handle);

	// Moves live objects out of the sparsest chunks (least used first,
	// single-page ones included) into free space in the others and frees
	// every chunk it empties, until max_pages pages are freed or no chunk
	// is worth emptying.  Process context: sleeps (cond_resched) between
	// objects; holds the pool lock for one object's bookkeeping or one
	// chunk's walk at a time.  Returns the pages freed.  One caller at a
	// time (the caller serialises).
	u64 compact(MoveFn move, void *ctx, u64 max_pages);
	// Cumulative pages freed by compact() (mm_stat's pages_compacted).
	u64 pages_compacted() const { return pages_compacted_.load(); }
	// Cheap estimate, without the lock, of the pages compact() could
	// free: the free bytes of all chunks less a tail that no object of
	// a chunk fits, per chunk.  The shrinker's count_objects.
	u64 compactable_pages() const;
	// compact() ends after this many victims in a row had an object the
	// mover found no room for.
	static constexpr int kMaxStuckInARow = 8;

	// Free space by block size: blocks (count, bytes) in each bucket
	// [0, kHoleBucketBytes[0]), [kHoleBucketBytes[0], ...), the last
	// holding the blocks no object is too big for.  O(free blocks), under
	// the lock: for debugfs, not for a hot path.
	static constexpr usize kHoleBuckets = 6;
	static constexpr usize kHoleBucketBytes[kHoleBuckets - 1] = {
		256, 512, 1024, 2048, kMaxAlloc};
	struct Holes {
		u64 count[kHoleBuckets];
		u64 bytes[kHoleBuckets];
	};
	Holes holes();

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
	// Chunks of either size, from the two counters read apart (so off by
	// one under concurrent growth).
	u64 multi_page_chunks() const
	{
		const u64 pages = pages_.load(), single = single_page_chunks();
		return pages > single ? (pages - single) >> kMaxChunkOrder : 0;
	}
	u64 chunk_count() const { return single_page_chunks() + multi_page_chunks(); }

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

	// Linked by address (the direct map's, stable for a chunk's life),
	// so moving a chunk between lists needs no pfn/page lookups.
	struct ChunkHeader {
		ChunkHeader *prev; // neighbours on its fullness list
		ChunkHeader *next;
		u32 used;   // bytes of its allocated blocks, headers included
		u16 list;   // its fullness list, kSetAside or kEvacuating
		u8 order;
		u8 unused;
	};
	static constexpr usize kNumFullness = 8;
	// Chunks at most this full are worth emptying (6/8: under 75 %).
	static constexpr usize kMaxVictimFullness = 5;
	static constexpr u16 kEvacuating = 0xffff;
	// A chunk one compact() call tried and could not empty waits here,
	// off the fullness lists, until the call ends: picked again, it would
	// be tried again (fuzz_xvmalloc found one busy object in the sparsest
	// chunk stopping every pass).  Its blocks stay allocatable.
	static constexpr u16 kSetAside = kNumFullness;

	static ChunkHeader *chunk_header(Handle h);
	static Handle chunk_handle(const ChunkHeader *ch);
	static usize fullness(const ChunkHeader &ch);
	void chunk_link(ChunkHeader *ch, usize list);
	void chunk_unlink(ChunkHeader *ch);
	void chunk_relist(ChunkHeader *ch);
	Handle pick_victim(bool *again);
	void evacuate_begin(Handle chunk);
	zcx_page *evacuate_end(Handle chunk);
	void restore_set_aside();
	bool next_object(Handle chunk, usize *cursor, Handle *found,
			 Owner *owner);

	bool find_class(usize first_class, usize *found) const;
	bool find_largest_class(usize lo, usize hi, usize *found) const;
	void list_insert(Handle h, usize block_size);
	void list_remove(Handle h, usize block_size);
	FreeLinks read_links(Handle h);
	void write_links(Handle h, const FreeLinks &links);
	void set_link_prev(Handle h, Handle prev);
	void set_link_next(Handle h, Handle next);
	void add_chunk(zcx_page *first, unsigned order);
	void forget_chunk(unsigned order);
	Handle take_block(usize size, Owner owner);
	static zcx_page *grow(Gfp gfp, unsigned *order);

	zcx_spinlock *lock_ = nullptr;
	u64 class_words_ = 0;                  // bit w: class_bits_[w] != 0
	u64 class_bits_[kNumClassWords] = {};  // bit c: free_lists_[c] non-empty
	Handle free_lists_[kNumClasses] = {};
	// Chunks by fullness (used * kNumFullness / capacity), each list
	// doubly linked with a tail, so a chunk compaction could not empty
	// goes to the back and the next pass tries another.  Allocations
	// leave a chunk where it is (the write path pays for no list moves
	// then); frees move it down, and pick_victim moves up what it finds
	// fuller than its list says.  A chunk is thus never on a fuller list
	// than it is, which is what victim selection needs.
	ChunkHeader *fullness_head_[kNumFullness + 1] = {}; // + kSetAside
	ChunkHeader *fullness_tail_[kNumFullness + 1] = {};
	Atomic<u64> pages_;
	Atomic<u64> single_page_chunks_;
	Atomic<u64> capacity_bytes_; // sum of chunk_capacity over chunks
	Atomic<u64> used_bytes_;     // sum of ChunkHeader::used
	Atomic<u64> pages_compacted_;
};

} // namespace zcx::xv
