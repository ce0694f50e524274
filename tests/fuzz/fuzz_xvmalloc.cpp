// SPDX-License-Identifier: GPL-2.0
// xvmalloc driven by the input: each input is a program of pool operations
// (alloc in any context, free, rewrite, verify, nested maps, injected page
// and multi-page chunk allocation failures, zram-style overwrites of an
// owner, busy owners, compaction) run on a fresh Pool against a model:
//
//  - every live object is filled, over its whole usable size, with a
//    pattern derived from its id and generation, and verified before it is
//    freed, at checkpoints and at the end;
//  - an alloc grows the pool by at most one chunk, and exactly when no
//    free block of a large enough class exists (checked against a walk of
//    the chunks while the pool is small); the chunk is 4 pages unless the
//    platform refused those, then 1 page; the alloc fails only with
//    -ENOMEM, only when the platform refused both (injected faults and the
//    page cap, mirrored here), and then changes nothing;
//  - every object names an owner, as zram's slots do; the model's owner
//    table points at the owner's newest object, and older ones left
//    behind by an overwrite that kept them ("orphans", the window of a
//    racing write) are named by an owner that no longer points at them;
//  - compact() runs the model's mover: it is offered only live objects of
//    the victim chunk with their true owner, in address order, each chunk
//    at most once per call; busy owners and orphans are skipped; a script
//    from the input makes it report no_room, and play other CPUs between
//    moves (frees, allocs, overwrites), none of which may land in or
//    release the chunk being emptied; alloc_for_move never grows and, on
//    a small pool, takes a block of the smallest fitting class outside the
//    victim, failing only when there is none; the pass stops at no_room
//    and within a chunk of its budget; the pages it reports are the pages
//    that left, and pages_compacted() is their running sum;
//  - alloc_fill (a group's piece) takes the highest class of hole that
//    holds its least when none holds its max, never growing then, and is
//    alloc(max) otherwise;
//  - at checkpoints check_free_lists() and check_chunk() on every live
//    chunk hold, the allocated blocks in the chunks are exactly the
//    model's objects with their owners, each chunk header's use is their
//    bytes, every owner reaches its object, and no wholly free chunk is
//    kept;
//  - after freeing everything the pool holds no page and every page went
//    back to the system (host::live_pages() == 0).
//
// Any violated invariant aborts (libFuzzer saves the input).
#define FUZZ_TARGET_NAME "fuzz_xvmalloc"
#include "fuzz_program.hpp"

#include <map>
#include "platform_host.hpp"
#include "xvmalloc/xvmalloc.hpp"

#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <tuple>
#include <unordered_map>
#include <vector>

namespace {

using fuzz_program::fail;
using fuzz_program::Reader;

using namespace zcx::xv;
using zcx::Errc;
using zcx::Gfp;
using zcx::kPageShift;
using zcx::kPageSize;
using zcx::u8;
using zcx::u32;
using zcx::u64;

// Keeps one input's pool small: fast checkpoints, and the cap is reached.
constexpr std::size_t kPageCap = 128;
// Up to this many chunks every alloc is checked against a full walk.
constexpr std::size_t kExactFitChunks = 24;
constexpr unsigned kCheckEvery = 32;
constexpr unsigned kMaxOps = 8192;


std::uint64_t mix(std::uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

// An object's pattern, a word at a time: cheap enough to recompute for
// every verification.
NO_COVERAGE void make_pattern(std::uint64_t seed, std::size_t n,
			      std::uint64_t *out)
{
	for (std::size_t j = 0; j < (n + 7) / 8; j++)
		out[j] = seed ^ (j * 0x9e3779b97f4a7c15ULL);
}

struct Object {
	Handle h;
	std::size_t requested;
	std::size_t room; // object_size() when allocated or last moved
	std::uint64_t id;
	std::uint32_t gen;
	Owner owner;
	std::uint64_t seed() const { return mix(id * 0x9e3779b97f4a7c15ULL + gen); }
};

// Mirror of platform_host.cpp's fault knob (take_failure), so the model
// knows whether the next page or chunk allocation of a context is refused.
struct FaultModel {
	unsigned skip = 0, fail = 0;
	bool take()
	{
		if (fail == 0)
			return false;
		if (skip) {
			skip--;
			return false;
		}
		if (fail != host::kForever)
			fail--;
		return true;
	}
};

// Mirror of the layout (xvmalloc.cpp): a chunk header (two links, then
// u32 bytes used) and from kFirstBlock the blocks, each u16 size, u16 prev
// offset | flags (bit 0 = free), u32 owner.  Read apart from the pool's
// own code so a layout slip on either side shows.  Only valid on chunks
// that passed check_chunk().
constexpr std::size_t kChunkUsedAt = 16;

struct Block {
	std::size_t offset, size;
	bool free;
	Owner owner;
};

NO_COVERAGE std::vector<Block> walk_chunk(zcx_page *first, unsigned order)
{
	const u8 *bytes = host::page_bytes(first);
	std::vector<Block> blocks;
	for (std::size_t off = kFirstBlock; off + kHeaderSize <= chunk_size(order);) {
		std::uint16_t size, prev_flags;
		Owner owner;
		std::memcpy(&size, bytes + off, 2);
		std::memcpy(&prev_flags, bytes + off + 2, 2);
		std::memcpy(&owner, bytes + off + 4, 4);
		blocks.push_back({off, size, (prev_flags & 1) != 0, owner});
		off += kHeaderSize + size;
	}
	return blocks;
}

u32 chunk_used(zcx_page *first)
{
	u32 used;
	std::memcpy(&used, host::page_bytes(first) + kChunkUsedAt, 4);
	return used;
}

// What a request takes, computed apart from the pool's own helper: up to
// the next class boundary (kMinAlloc + n * kClassDelta), so a freed block
// serves a later request of the same size.  Should kMaxAlloc ever stop
// being a boundary (it was not with 4-byte headers and no chunk header),
// requests past the last one round only to kAlign.
std::size_t rounded(std::size_t size)
{
	const std::size_t s = size < kMinAlloc ? kMinAlloc : size;
	const std::size_t boundary =
		kMinAlloc + (s - kMinAlloc + kClassDelta - 1) / kClassDelta * kClassDelta;
	if (boundary <= kMaxAlloc)
		return boundary;
	return (s + kAlign - 1) / kAlign * kAlign;
}

class Run {
public:
	Run()
	{
		host::reset_faults();
		host::set_page_cap(kPageCap);
		CHECK(host::live_pages() == 0);
		auto pool = Pool::create();
		CHECK(pool.ok());
		pool_ = pool.value();
	}

	void execute(Reader &in)
	{
		for (unsigned op = 0; !in.empty() && op < kMaxOps; op++) {
			step(in);
			CHECK(host::kmap_depth() == 0);
			CHECK(host::preempt_depth() == 0);
			if (op % kCheckEvery == kCheckEvery - 1)
				checkpoint();
		}
	}

	void finish()
	{
		checkpoint();
		free_all();
		CHECK(slot_.empty());
		CHECK(pool_->pages() == 0);
		CHECK(host::live_pages() == 0);
		CHECK(pool_->check_free_lists());
		CHECK(pool_->pages_compacted() == compacted_);
		CHECK(pool_->compactable_pages() == 0);
		// No stale free block survives its chunk: the next object
		// needs a fresh chunk and starts it.
		host::reset_faults();
		auto r = pool_->alloc(1, Gfp::noio, 7);
		CHECK(r.ok());
		CHECK(host::live_pages() == 4 && pool_->pages() == 4);
		CHECK(handle_offset(r.value()) == kFirstBlock);
		CHECK(handle_order(r.value()) == kMaxChunkOrder);
		CHECK(pool_->owner_of(r.value()) == 7);
		pool_->free(r.value());
		CHECK(host::live_pages() == 0 && pool_->pages() == 0);
		Pool::destroy(pool_);
		pool_ = nullptr;
		CHECK(host::live_kzallocs() == 0);
	}

private:
	void step(Reader &in)
	{
		const unsigned b = in.u8v();
		switch (b & 15) {
		case 0: case 1: case 2: case 3: case 4:
			alloc(pick_size(b >> 4 & 3, in), pick_gfp(b >> 6),
			      next_owner_++);
			break;
		case 5: case 6: case 7:
			if (!objs_.empty())
				free_at(in.u16v() % objs_.size());
			break;
		case 8: { // free a run
			const unsigned at = in.u16v();
			for (unsigned n = in.u8v() % 16 + 1; n && !objs_.empty(); n--)
				free_at(at % objs_.size());
			break;
		}
		case 9: // rewrite with a new pattern
			if (!objs_.empty()) {
				Object &o = objs_[in.u16v() % objs_.size()];
				o.gen++;
				fill(o);
			}
			break;
		case 10:
			if (b & 16)
				nested_maps(in, (b >> 5) + 1);
			else if (!objs_.empty())
				verify(objs_[in.u16v() % objs_.size()]);
			break;
		case 11: { // arm a page allocation fault
			const zcx_gfp gfp = zcx::to_c(pick_gfp(b >> 4));
			const unsigned n = in.u8v();
			const unsigned fails = n == 255 ? host::kForever : n % 8;
			const unsigned skip = in.u8v() % 16;
			host::fail_page_alloc(gfp, fails, skip);
			faults_[gfp] = {skip, fails};
			break;
		}
		case 12:
			if (b & 16) { // order-2 chunks refused (fragmentation)
				multipage_fails_ = b & 32;
				host::fail_multipage_chunks(multipage_fails_);
				break;
			}
			host::reset_faults();
			host::set_page_cap(kPageCap);
			for (auto &f : faults_)
				f = {};
			multipage_fails_ = false;
			break;
		case 13:
			owner_op(b >> 4, in);
			break;
		case 14:
			if (b & 32)
				create_fails(b & 16);
			else // sizes the pool must refuse outright
				bad_alloc(b & 16 ? kMaxAlloc + 1 + in.u16v() : 0,
					  pick_gfp(b >> 6));
			break;
		case 15:
			if ((b >> 4) == 0) {
				free_all();
			} else { // a burst of one size, to fill pages fast
				const std::size_t size = pick_size(in.u8v() & 3, in);
				const Gfp gfp = pick_gfp(in.u8v());
				for (unsigned n = b >> 4; n; n--)
					alloc(size, gfp, next_owner_++);
			}
			break;
		}
	}

	void owner_op(unsigned sub, Reader &in)
	{
		switch (sub) {
		case 1: case 2: case 3: case 4: case 5: case 6:
			compact(in, sub);
			break;
		case 7: case 8: case 9: // an owner's lock is held
			if (!objs_.empty())
				busy_.insert(objs_[in.u16v() % objs_.size()].owner);
			break;
		case 10:
			busy_.clear();
			break;
		case 14: { // a group's piece: a hole, else a block of max
			const std::size_t max = pick_size(in.u8v() & 3, in);
			alloc_fill(max, 1 + in.u16v() % max, pick_gfp(in.u8v()),
				   next_owner_++);
			break;
		}
		case 11: case 12: case 13: // a write to an owner that has data
			if (!objs_.empty()) {
				const Owner owner = objs_[in.u16v() % objs_.size()].owner;
				overwrite(owner, pick_size(in.u8v() & 3, in),
					  pick_gfp(in.u8v()), sub != 13);
			}
			break;
		default:
			checkpoint();
			break;
		}
	}

	static Gfp pick_gfp(unsigned v)
	{
		switch (v % 4) {
		case 0: return Gfp::nowait;
		case 1: return Gfp::kernel;
		default: return Gfp::noio; // the I/O path's context
		}
	}

	// Sizes in 1..kMaxAlloc, biased to where the class arithmetic bites.
	static std::size_t pick_size(unsigned mode, Reader &in)
	{
		switch (mode) {
		case 0: // compressed pages are mostly small
			return in.u8v() + 1;
		case 1:
			return in.u16v() % kMaxAlloc + 1;
		case 2: { // either side of a class boundary
			const unsigned v = in.u16v();
			const long size = static_cast<long>(kMinAlloc) +
					  static_cast<long>(v >> 3) % kNumClasses *
						  static_cast<long>(kClassDelta) +
					  static_cast<long>(v & 7) - 4;
			return size < 1 ? 1 : size > static_cast<long>(kMaxAlloc) ?
					 kMaxAlloc : static_cast<std::size_t>(size);
		}
		default: // near a whole page
			return kMaxAlloc - in.u8v() % 64;
		}
	}

	NO_COVERAGE void fill(const Object &o)
	{
		make_pattern(o.seed(), o.room, scratch_);
		u8 *data = pool_->map(o.h);
		std::memcpy(data, scratch_, o.room);
		pool_->unmap(data);
	}

	NO_COVERAGE void verify_bytes(const Object &o, const u8 *data)
	{
		make_pattern(o.seed(), o.room, scratch_);
		if (std::memcmp(data, scratch_, o.room) == 0)
			return;
		std::size_t i = 0;
		const u8 *want = reinterpret_cast<const u8 *>(scratch_);
		while (data[i] == want[i])
			i++;
		fail("object %llu (handle %#llx, %zu bytes) corrupted at byte %zu",
		     static_cast<unsigned long long>(o.id),
		     static_cast<unsigned long long>(o.h), o.room, i);
	}

	void verify(const Object &o)
	{
		CHECK(pool_->object_size(o.h) == o.room);
		CHECK(pool_->owner_of(o.h) == o.owner);
		u8 *data = pool_->map(o.h);
		verify_bytes(o, data);
		pool_->unmap(data);
	}

	// Several objects mapped at once (kmap_local nests, LIFO unmap).
	void nested_maps(Reader &in, unsigned n)
	{
		if (objs_.empty())
			return;
		const Object *os[8];
		u8 *maps[8];
		for (unsigned i = 0; i < n; i++) {
			os[i] = &objs_[in.u16v() % objs_.size()];
			maps[i] = pool_->map(os[i]->h);
		}
		for (unsigned i = 0; i < n; i++)
			verify_bytes(*os[i], maps[i]);
		for (unsigned i = n; i--;)
			pool_->unmap(maps[i]);
	}

	// Whether the pool, as the pages show it now, has a free block of a
	// class that fits `size` (else an alloc must grow).  The chunk being
	// emptied, if any, keeps its free blocks off the lists: not counted.
	bool has_fitting_block(std::size_t size, std::set<Handle> *fits)
	{
		const std::size_t want = class_for_request(rounded(size));
		std::size_t best = kNumClasses;
		for (zcx_page *first : host::live_page_list()) {
			if (zcx_page_to_pfn(first) == victim_pfn_)
				continue;
			const unsigned order = host::page_order(first);
			for (const Block &blk : walk_chunk(first, order)) {
				if (!blk.free)
					continue;
				const std::size_t cls = class_for_block(blk.size);
				if (cls < want || cls > best)
					continue;
				if (cls < best)
					fits->clear();
				best = cls;
				fits->insert(make_handle(zcx_page_to_pfn(first),
							 order, blk.offset));
			}
		}
		return best != kNumClasses;
	}

	// What the platform does with the pool's next grow (Pool::grow asks
	// for an order-2 chunk, then for a single page), per the model.
	// Consumes the modelled faults as the platform would: 4, 1 or 0.
	std::size_t model_grow(Gfp gfp, std::size_t live)
	{
		FaultModel &f = faults_[zcx::to_c(gfp)];
		// platform_host.cpp tests fail_multipage, then the fault
		// knob, then the cap, and stops at the first that refuses.
		if (!multipage_fails_ && !f.take() && live + 4 <= kPageCap)
			return 4;
		if (!f.take() && live + 1 <= kPageCap)
			return 1;
		return 0;
	}

	// Checks common to alloc() and alloc_for_move() results, then files
	// the object under its owner.
	void adopt(Handle h, std::size_t size, Owner owner, std::uint64_t id,
		   std::uint32_t gen)
	{
		CHECK(h != 0);
		CHECK(!index_.count(h)); // never handed out twice
		CHECK(handle_pfn(h) != victim_pfn_);
		CHECK(handle_offset(h) >= kFirstBlock);
		CHECK(pool_->owner_of(h) == owner);
		const std::size_t room = pool_->object_size(h);
		CHECK(room >= size);
		CHECK(room >= rounded(size));
		// The tail is split off unless too small to be a block.
		CHECK(room - rounded(size) < kMinAlloc + kHeaderSize);
		CHECK(room % kAlign == 0);
		CHECK(handle_order(h) == host::page_order(zcx_pfn_to_page(
						 handle_pfn(h))));
		CHECK(handle_offset(h) + kHeaderSize + room <=
		      chunk_size(handle_order(h)));
		u8 *data = pool_->map(h);
		CHECK(reinterpret_cast<std::uintptr_t>(data) ==
		      (handle_pfn(h) << kPageShift) + handle_offset(h) +
			      kHeaderSize);
		pool_->unmap(data);

		index_[h] = objs_.size();
		objs_.push_back({h, size, room, id, gen, owner});
		slot_[owner] = h;
	}

	// Returns the new object's handle, 0 if the alloc failed.
	Handle alloc(std::size_t size, Gfp gfp, Owner owner)
	{
		const std::size_t before = host::live_pages();
		CHECK(pool_->pages() == before);
		// Exact good-fit check while the walk is cheap.
		std::set<Handle> fits;
		const bool exact = host::live_page_list().size() <= kExactFitChunks;
		const bool must_grow = exact && !has_fitting_block(size, &fits);

		auto r = pool_->alloc(size, gfp, owner);
		const std::size_t after = host::live_pages();
		CHECK(pool_->pages() == after);
		if (!r.ok()) {
			CHECK(r.error() == Errc::nomem);
			CHECK(after == before);
			// It must have needed a chunk, and been refused both.
			CHECK(!exact || must_grow);
			const std::size_t granted = model_grow(gfp, before);
			if (granted)
				fail("alloc(%zu) failed, but the platform would "
				     "have granted %zu page(s)", size, granted);
			return 0;
		}
		const Handle h = r.value();
		if (after != before) {
			// A chunk was allocated: the model must agree on which.
			const std::size_t granted = model_grow(gfp, before);
			if (after - before != granted)
				fail("alloc(%zu) grew the pool by %zu page(s), "
				     "the platform model says %zu", size,
				     after - before, granted);
			CHECK(!exact || must_grow);
			CHECK(handle_offset(h) == kFirstBlock);
			CHECK(chunk_size(handle_order(h)) == granted * kPageSize);
			// A chunk compaction freed may come back at its pfn.
			tried_.clear();
		} else if (exact) {
			CHECK(!must_grow);
			if (!fits.count(h))
				fail("alloc(%zu) took block %#llx, not one of the "
				     "%zu smallest fitting class", size,
				     static_cast<unsigned long long>(h),
				     fits.size());
		}
		adopt(h, size, owner, next_id_++, 0);
		fill(objs_.back());
		return h;
	}

	// Pool::alloc_fill: with a free block of a class below the last that
	// holds max, an alloc(max) from there; else with one of a class that
	// holds least, the whole of the highest such class's smallest size,
	// never growing; else alloc(max), grow and all.
	void alloc_fill(std::size_t max, std::size_t least, Gfp gfp, Owner owner)
	{
		const bool exact = host::live_page_list().size() <= kExactFitChunks;
		const std::size_t last_hole_class = kNumClasses - 2;
		std::size_t expect_got = max;
		std::set<Handle> expect_in;
		bool from_hole = false;
		if (exact) {
			// Free blocks by class, outside a chunk being emptied.
			std::map<std::size_t, std::set<Handle>> by_class;
			for (zcx_page *first : host::live_page_list()) {
				if (zcx_page_to_pfn(first) == victim_pfn_)
					continue;
				const unsigned order = host::page_order(first);
				for (const Block &blk : walk_chunk(first, order)) {
					if (blk.free)
						by_class[class_for_block(blk.size)].insert(
							make_handle(zcx_page_to_pfn(first),
								    order, blk.offset));
				}
			}
			const std::size_t want = class_for_request(rounded(max));
			const auto fit = by_class.lower_bound(want);
			if (fit != by_class.end() && fit->first <= last_hole_class) {
				expect_in = fit->second;
				from_hole = true;
			} else {
				for (auto it = by_class.rbegin(); it != by_class.rend(); ++it) {
					if (it->first < want && it->first <= last_hole_class &&
					    it->first >= class_for_request(rounded(least))) {
						expect_got = kMinAlloc + it->first * kClassDelta;
						expect_in = it->second;
						from_hole = true;
						break;
					}
				}
			}
		}
		const std::size_t before = host::live_pages();
		std::size_t got = 0;
		auto r = pool_->alloc_fill(max, least, gfp, owner, &got);
		if (!r.ok()) {
			CHECK(r.error() == Errc::nomem);
			CHECK(!from_hole);
			CHECK(host::live_pages() == before);
			// It needed a chunk, and the platform refused both.
			CHECK(model_grow(gfp, before) == 0);
			return;
		}
		CHECK(got >= least && got <= max);
		if (exact) {
			CHECK(got == expect_got);
			if (from_hole) {
				CHECK(host::live_pages() == before);
				if (!expect_in.count(r.value()))
					fail("alloc_fill(%zu, %zu) took block %#llx, not "
					     "one of the %zu it should", max, least,
					     static_cast<unsigned long long>(r.value()),
					     expect_in.size());
			}
		}
		if (host::live_pages() != before) {
			// Grown as alloc() grows: the platform model agrees.
			const std::size_t granted = model_grow(gfp, before);
			CHECK(host::live_pages() - before == granted);
			CHECK(handle_offset(r.value()) == kFirstBlock);
			tried_.clear();
		}
		adopt(r.value(), got, owner, next_id_++, 0);
		fill(objs_.back());
	}

	// zram's write to an owner that has data: the new object first, then
	// the old one freed, unless free_old is false: a write caught in
	// between leaves an orphan that still names the owner.  The owner
	// points at the new object from then on.
	void overwrite(Owner owner, std::size_t size, Gfp gfp, bool free_old)
	{
		const auto it = slot_.find(owner);
		const Handle old = it == slot_.end() ? 0 : it->second;
		if (!alloc(size, gfp, owner))
			return;
		if (old && free_old)
			free_at(index_.at(old));
	}

	void bad_alloc(std::size_t size, Gfp gfp)
	{
		const std::size_t before = host::live_pages();
		auto r = pool_->alloc(size, gfp);
		CHECK(!r.ok() && r.error() == Errc::inval);
		CHECK(host::live_pages() == before && pool_->pages() == before);
		auto m = pool_->alloc_for_move(size, 1);
		CHECK(!m.ok() && m.error() == Errc::inval);
		CHECK(host::live_pages() == before && pool_->pages() == before);
	}

	// Pool::create when its spinlock or its own allocation fails: -ENOMEM
	// and nothing left behind; this run's pool is not disturbed.
	void create_fails(bool lock_fails)
	{
		const std::size_t kzallocs = host::live_kzallocs();
		if (lock_fails)
			host::fail_spinlock_create(1);
		else
			// The spinlock is kzalloc()ed first: fail the pool.
			host::fail_kzalloc(ZCX_GFP_KERNEL, 1, 1);
		auto r = Pool::create();
		CHECK(!r.ok() && r.error() == Errc::nomem);
		CHECK(host::live_kzallocs() == kzallocs);
		host::fail_spinlock_create(0);
		host::fail_kzalloc(ZCX_GFP_KERNEL, 0);
		Pool::destroy(nullptr);
	}

	// Drops objs_[i] from the model (the caller frees its block).
	Object forget(std::size_t i)
	{
		const Object o = objs_[i];
		index_.erase(o.h);
		if (i + 1 != objs_.size()) {
			objs_[i] = objs_.back();
			index_[objs_[i].h] = i;
		}
		objs_.pop_back();
		const auto it = slot_.find(o.owner);
		if (it != slot_.end() && it->second == o.h)
			slot_.erase(it);
		return o;
	}

	void free_at(std::size_t i)
	{
		verify(objs_[i]);
		const Object o = forget(i);
		const std::size_t before = host::live_pages();
		pool_->free(o.h);
		const std::size_t after = host::live_pages();
		CHECK(pool_->pages() == after);
		// A chunk goes back exactly when its last object does, but
		// one being emptied stays compact()'s to release.
		CHECK(after == before ||
		      before - after == std::size_t{1} << handle_order(o.h));
		bool chunk_still_used = handle_pfn(o.h) == victim_pfn_;
		for (const Object &other : objs_)
			chunk_still_used |= handle_pfn(other.h) == handle_pfn(o.h);
		if (chunk_still_used != (after == before))
			fail("freeing %#llx: chunk %s but %s",
			     static_cast<unsigned long long>(o.h),
			     after == before ? "kept" : "released",
			     chunk_still_used ? "still in use" : "now empty");
	}

	void free_all()
	{
		while (!objs_.empty())
			free_at(objs_.size() - 1);
	}

	// What the mover does on its n-th call of one compact() besides the
	// move itself, per the input's script.
	enum Act : unsigned {
		act_none,
		act_free_from,  // the owner discards its data first
		act_free_other, // another CPU frees some object
		act_alloc,      // another CPU stores new data
		act_overwrite,  // the owner is rewritten first
		act_no_room,    // the mover reports no_room regardless
		act_busy,       // the owner's lock is taken meanwhile
		act_count,
	};
	struct Script {
		unsigned at[4];
		unsigned what[4];
		unsigned arg[4];
		unsigned n = 0;
	};

	void compact(Reader &in, unsigned sub)
	{
		const unsigned budget_byte = in.u8v();
		const u64 max_pages = budget_byte & 128 ? ~u64{0} : budget_byte & 127;
		script_ = {};
		// sub 1 and 2: a mover that just moves, so whole passes happen.
		if (sub > 2) {
			script_.n = in.u8v() % 5;
			for (unsigned k = 0; k < script_.n; k++) {
				script_.at[k] = in.u8v();
				script_.what[k] = in.u8v();
				script_.arg[k] = in.u16v();
			}
		}
		const std::size_t before = host::live_pages();
		CHECK(pool_->pages() == before);
		CHECK(pool_->compactable_pages() <= before);
		calls_ = 0;
		stuck_in_a_row_ = 0;
		victim_stuck_ = false;
		grown_ = released_ = 0;
		tried_.clear();
		victim_pfn_ = 0;
		last_offset_ = 0;
		const u64 freed = pool_->compact(&Run::move, this, max_pages);
		victim_pfn_ = 0;
		compacted_ += freed;
		CHECK(pool_->pages_compacted() == compacted_);
		const std::size_t after = host::live_pages();
		CHECK(pool_->pages() == after);
		// Pages left through compact()'s return and through frees the
		// mover played; they came through its allocs.
		CHECK(before + grown_ == after + released_ + freed);
		if (max_pages == 0)
			CHECK(freed == 0 && calls_ == 0);
		else if (max_pages != ~u64{0}) // one chunk over at most
			CHECK(freed < max_pages + (u64{1} << kMaxChunkOrder));
		checkpoint();
	}

	static MoveResult move(void *ctx, Owner owner, Handle from)
	{
		return static_cast<Run *>(ctx)->do_move(owner, from);
	}

	MoveResult do_move(Owner owner, Handle from)
	{
		CHECK(host::kmap_depth() == 0 && host::preempt_depth() == 0);
		if (stuck_in_a_row_ >= Pool::kMaxStuckInARow)
			fail("mover called after %d victims in a row reported no_room",
			     stuck_in_a_row_);
		// Offered: a live object of ours, under its own owner.
		const auto found = index_.find(from);
		if (found == index_.end())
			fail("mover offered %#llx, which holds no object",
			     static_cast<unsigned long long>(from));
		CHECK(objs_[found->second].owner == owner);
		verify(objs_[found->second]);
		// One victim at a time, walked in address order; a chunk
		// walked again in the same call is a second try, and a victim
		// that reported no_room is done.
		if (victim_stuck_ && handle_pfn(from) == victim_pfn_)
			fail("chunk %#lx offered again after its no_room",
			     handle_pfn(from));
		if (handle_pfn(from) != victim_pfn_ ||
		    handle_offset(from) <= last_offset_) {
			if (!tried_.insert(handle_pfn(from)).second)
				fail("chunk %#lx evacuated twice in one compact()",
				     handle_pfn(from));
			victim_pfn_ = handle_pfn(from);
			if (!victim_stuck_)
				stuck_in_a_row_ = 0;
			victim_stuck_ = false;
		}
		last_offset_ = handle_offset(from);

		const unsigned call = calls_++;
		for (unsigned k = 0; k < script_.n; k++) {
			if (script_.at[k] != call)
				continue;
			switch (script_.what[k] % act_count) {
			case act_free_from:
				if (index_.count(from))
					free_tracked(index_.at(from));
				break;
			case act_free_other:
				if (!objs_.empty())
					free_tracked(script_.arg[k] % objs_.size());
				break;
			case act_alloc:
				alloc_tracked(script_.arg[k] % kMaxAlloc + 1,
					      next_owner_++, false);
				break;
			case act_overwrite:
				alloc_tracked(script_.arg[k] % kMaxAlloc + 1, owner,
					      script_.arg[k] & 1);
				break;
			case act_no_room:
				return stuck();
			case act_busy:
				busy_.insert(owner);
				break;
			}
		}

		// As the contract says: the owner locked without waiting, and
		// still pointing here.
		if (busy_.count(owner))
			return MoveResult::skipped;
		const auto slot = slot_.find(owner);
		if (slot == slot_.end() || slot->second != from)
			return MoveResult::skipped;

		const std::size_t i = index_.at(from);
		const std::size_t size = objs_[i].requested;
		std::set<Handle> fits;
		const bool exact = host::live_page_list().size() <= kExactFitChunks;
		const bool room = !exact || has_fitting_block(size, &fits);
		const std::size_t pages = host::live_pages();
		auto to = pool_->alloc_for_move(size, owner);
		CHECK(host::live_pages() == pages); // never grows
		if (!to.ok()) {
			CHECK(to.error() == Errc::nomem);
			if (exact && room)
				fail("alloc_for_move(%zu) failed with a fitting "
				     "block outside the victim", size);
			return stuck();
		}
		if (exact && !fits.count(to.value()))
			fail("alloc_for_move(%zu) took block %#llx, not one of "
			     "the %zu smallest fitting class outside the victim",
			     size, static_cast<unsigned long long>(to.value()),
			     fits.size());
		// The copy zram makes is of the object's length; the rest of
		// the new block gets the pattern, which the model then checks
		// over the block's whole size as for any object.
		const Object o = forget(i);
		adopt(to.value(), size, owner, o.id, o.gen);
		Object &moved = objs_.back();
		make_pattern(moved.seed(), moved.room, scratch_);
		u8 *dst = pool_->map(moved.h);
		const u8 *src = pool_->map(from);
		std::memcpy(dst, src, size);
		std::memcpy(dst + size, reinterpret_cast<u8 *>(scratch_) + size,
			    moved.room - size);
		pool_->unmap(src);
		pool_->unmap(dst);
		verify(moved);
		pool_->free(from);
		// The victim is compact()'s to release, even when empty.
		CHECK(host::live_pages() == pages);
		return MoveResult::moved;
	}

	// free_at() and alloc() played by another CPU during compact():
	// their page traffic is counted apart from what compact() frees.
	void free_tracked(std::size_t i)
	{
		const std::size_t before = host::live_pages();
		free_at(i);
		released_ += before - host::live_pages();
	}

	void alloc_tracked(std::size_t size, Owner owner, bool free_old)
	{
		const std::size_t before = host::live_pages();
		overwrite(owner, size, Gfp::noio, free_old);
		const std::size_t after = host::live_pages();
		if (after > before)
			grown_ += after - before;
		else
			released_ += before - after;
	}

	void checkpoint()
	{
		CHECK(pool_->check_free_lists());
		CHECK(pool_->pages() == host::live_pages());
		CHECK(pool_->compactable_pages() <= pool_->pages());
		std::set<std::tuple<Handle, std::size_t, Owner>> allocated;
		std::size_t pages = 0;
		for (zcx_page *first : host::live_page_list()) {
			const unsigned order = host::page_order(first);
			const std::size_t size = chunk_size(order);
			pages += std::size_t{1} << order;
			std::size_t free_bytes = 0;
			if (!Pool::check_chunk(first, order, &free_bytes))
				fail("bad block chain in chunk %p (order %u)",
				     static_cast<void *>(first), order);
			// No empty chunk kept.
			CHECK(free_bytes < whole_block_size(order));
			std::size_t used = 0, tiled = 0;
			for (const Block &blk : walk_chunk(first, order)) {
				tiled += kHeaderSize + blk.size;
				if (blk.free)
					continue;
				used += kHeaderSize + blk.size;
				allocated.insert({make_handle(zcx_page_to_pfn(first),
							      order, blk.offset),
						  blk.size, blk.owner});
			}
			CHECK(kFirstBlock + tiled == size);
			CHECK(used == chunk_used(first));
			CHECK(used + free_bytes <= chunk_capacity(order));
		}
		CHECK(pages == host::live_pages());
		std::set<std::tuple<Handle, std::size_t, Owner>> expected;
		for (const Object &o : objs_)
			expected.insert({o.h, o.room, o.owner});
		if (allocated != expected)
			fail("pages hold %zu allocated blocks, the model %zu "
			     "objects (or sizes or owners differ)",
			     allocated.size(), expected.size());
		// Every owner reaches an object of its own.
		for (const auto &[owner, h] : slot_) {
			const auto it = index_.find(h);
			CHECK(it != index_.end());
			CHECK(objs_[it->second].owner == owner);
		}
		CHECK(index_.size() == objs_.size());
		for (const Object &o : objs_) {
			CHECK(index_.at(o.h) == static_cast<std::size_t>(&o - objs_.data()));
			verify(o);
		}
	}

	Pool *pool_ = nullptr;
	std::vector<Object> objs_;
	std::unordered_map<Handle, std::size_t> index_; // handle -> objs_ index
	std::unordered_map<Owner, Handle> slot_;        // owner -> its object
	std::set<Owner> busy_;
	std::uint64_t next_id_ = 1;
	Owner next_owner_ = 0;
	FaultModel faults_[3];
	bool multipage_fails_ = false;
	// Compaction in progress.
	Script script_;
	unsigned calls_ = 0;
	int stuck_in_a_row_ = 0;  // victims in a row that reported no_room
	bool victim_stuck_ = false; // this victim did

	MoveResult stuck()
	{
		victim_stuck_ = true;
		stuck_in_a_row_++;
		return MoveResult::no_room;
	}
	std::size_t grown_ = 0, released_ = 0;
	std::set<unsigned long> tried_;
	unsigned long victim_pfn_ = 0;
	std::size_t last_offset_ = 0;
	u64 compacted_ = 0;
	std::uint64_t scratch_[kMaxChunkSize / 8];
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data,
				      std::size_t size)
{
	Reader in(data, size);
	Run run;
	run.execute(in);
	run.finish();
	host::reset_faults();
	return 0;
}
