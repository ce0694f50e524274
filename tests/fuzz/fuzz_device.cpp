// SPDX-License-Identifier: GPL-2.0
// A whole disk driven through the core's C API (include/zcx/abi.h): each
// input is a program of operations on a fresh 64-page device with two
// secondary algorithms, run single-threaded against a model that knows,
// per page, the last data written (zeros after a discard or slot free),
// whether it is stored, written back (to which block, raw or compressed),
// under writeback, idle, and when it was last touched:
//
//  - writes of zero, same-filled, text, random, half-random pages and of
//    neighbours that share half their bytes with their window of 16 (so
//    groups form), single or a run of them; discards (one or a range),
//    slot frees, reads checked against the model;
//  - `idle` (all or by age) and a clock that moves; recompression page by
//    page or with group_pages 2..16, any mix of type=idle/huge, min_age,
//    max_pages, threshold and algorithms; regroup_sparse; compact with a
//    budget;
//  - other CPUs' work between a group's copy and its commit (the host
//    platform's group compressor hook, where a run holds no lock): writes,
//    discards, slot frees, reads, compact, regroup_sparse and `idle`, by a
//    script from the input; a member that changed keeps its new data;
//  - two post-processors at once: the script may start a second run
//    (grouped recompression or regroup_sparse) on another thread, which
//    copies and claims its slots and parks in its own group compression
//    while the first goes on and commits; then it commits too.  Only one
//    thread runs at a time, so the interleaving is the script's (issue
//    24: a regroup took a later run's mark on a rewritten page for its
//    own and stored its stale copy);
//  - page, group codec, group buffer and vzalloc failures injected from
//    the input: a write that fails with -ENOMEM changes nothing, a
//    recompression or regrouping that does leaves every page readable;
//  - writeback: prepare (any mode, raw or compressed), then, possibly after
//    other operations, commit to a block from the core's block allocator
//    (zcx_blocks, fewer blocks than pages) or abort; the model keeps the
//    device's bytes, and reads of a written-back page return them
//    (decompressed by the core if they are a compressed object); every
//    block the core frees was committed and is freed once, and none is
//    left when the disk is empty;
//  - reads of written-back blocks held in flight across other operations,
//    ended later: the block still holds what the read was handed (no
//    writeback reused it meanwhile); an allocation fails only when every
//    block holds a page (ENOSPC) or waits for a held read (EBUSY); once the
//    reads are over, every block comes back;
//  - after every operation the stats add up: orig_data_size is the stored
//    pages, same_pages the same-filled ones, grouped_pages the slots that
//    block_state shows grouped (groups at most that many, none without
//    them), huge_pages the raw ones, mem_used_total the platform's live
//    pages; block_state agrees with the model (empty, same, written back,
//    idle, access time; written, discarded, freed or written-back pages are
//    no group's member);
//  - at the end every page reads back; then everything is let go, and no
//    byte, group, dead group byte, page, block, allocation or codec is left.
//
// Any mismatch aborts (libFuzzer saves the input).
#define FUZZ_TARGET_NAME "fuzz_device"
#include "fuzz_program.hpp"
#include "platform_host.hpp"
#include "rng.hpp"
#include "zcx/abi.h"

#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

namespace {

using fuzz_program::fail;
using fuzz_program::Reader;

using Bytes = std::vector<std::uint8_t>;
using test::Rng;
constexpr std::size_t kPage = ZCX_PAGE_SIZE;
constexpr unsigned long kPages = 64;
// Fewer than the pages, so writeback runs out (ENOSPC) and reuses blocks.
constexpr unsigned long kBlocks = 40;
// Grouped recompression compresses up to 64 KiB with LZO1X-999: bounded
// per input, so one input stays within milliseconds, not seconds.
constexpr unsigned kMaxRecompressions = 12;
constexpr unsigned kMaxOps = 400;
constexpr unsigned kCheckEvery = 16;
constexpr unsigned kStartTime = 1000;

// FUZZ_DEVICE_TRACE=1: what the big operations did, to see what an
// input (a seed, a reproducer) exercises.
__attribute__((format(printf, 1, 2))) void trace(const char *fmt, ...)
{
	static const bool on = std::getenv("FUZZ_DEVICE_TRACE");
	if (!on)
		return;
	va_list ap;
	va_start(ap, fmt);
	std::vfprintf(stderr, fmt, ap);
	std::fputc('\n', stderr);
	va_end(ap);
}

#define CHECK_EQ(a, b)                                                      \
	do {                                                                \
		const unsigned long long a_ = (a), b_ = (b);                \
		if (a_ != b_)                                               \
			fail("%s:%d: %s == %llu, %s == %llu", __FILE__,     \
			     __LINE__, #a, a_, #b, b_);                     \
	} while (0)

NO_COVERAGE void fill_random(std::uint8_t *p, std::size_t n, Rng &rng)
{
	for (std::size_t i = 0; i < n; i += 8) {
		const std::uint64_t w = rng.next();
		std::memcpy(p + i, &w, n - i < 8 ? n - i : 8);
	}
}

NO_COVERAGE void fill_text(std::uint8_t *p, std::uint64_t seed)
{
	Rng rng(seed);
	std::size_t pos = 0;
	char line[96];
	while (pos < kPage) {
		const int n = std::snprintf(
			line, sizeof(line),
			"%06llu the quick brown fox jumps over %llx\n",
			static_cast<unsigned long long>(rng.next() % 1000),
			static_cast<unsigned long long>(rng.next() % 16));
		for (int i = 0; i < n && pos < kPage; i++)
			p[pos++] = static_cast<std::uint8_t>(line[i]);
	}
}

NO_COVERAGE bool same_filled(const Bytes &page)
{
	std::uint64_t w0;
	std::memcpy(&w0, page.data(), 8);
	for (std::size_t i = 8; i < kPage; i += 8) {
		std::uint64_t w;
		std::memcpy(&w, &page[i], 8);
		if (w != w0)
			return false;
	}
	return true;
}

NO_COVERAGE bool equal(const std::uint8_t *a, const std::uint8_t *b)
{
	return std::memcmp(a, b, kPage) == 0;
}

// Neighbours that share most of their bytes, as pages of one file do
// (tests/host/test_group.cpp): half of each page is a random block common
// to its window of 16 and family, the rest its own text.
NO_COVERAGE Bytes neighbour_page(unsigned long index, unsigned version,
				 unsigned family)
{
	Bytes page(kPage);
	fill_text(page.data(), index * 1000 + version);
	Rng rng(index / 16 + 7 + family * 1000003ULL);
	fill_random(page.data() + kPage / 2, kPage / 2, rng);
	return page;
}

struct Model {
	Bytes data = Bytes(kPage, 0);
	bool stored = false;
	bool backing = false;
	unsigned long block = 0;
	bool idle = false;
	unsigned time = 0;
};

// A prepared writeback the C layer has not finished yet.
struct Pending {
	Bytes copy;
	unsigned len;      // what prepare said: below a page, compressed
	bool valid = true; // no write, discard or free since prepare
};

struct Block {
	Bytes bytes;
	unsigned len;
};

class Run {
public:
	Run()
	{
		host::reset_faults();
		host::set_now_seconds(kStartTime);
		now_ = kStartTime;
		CHECK(host::live_pages() == 0);
		kz0_ = host::live_kzallocs();
		vz0_ = host::live_vzallocs();
		streams_ = host::streams_create();
		host::configure_priority(streams_, 1);
		host::configure_priority(streams_, 2);
		CHECK(zcx_dev_create(kPages * kPage, streams_, &dev_) == 0);
		CHECK(zcx_blocks_create(kBlocks, &bd_) == 0);
		host::set_backing_hooks({
			[this](unsigned long block) { backing_freed(block); },
			[this](unsigned long block) {
				if (!blocks_.count(block))
					fail("read begun of block %lu, which "
					     "holds no page", block);
				return zcx_blocks_read_begin(bd_);
			},
		});
		page_.resize(kPage);
	}

	~Run()
	{
		host::reset_faults();
		host::set_backing_hooks({});
		host::set_now_seconds(kStartTime);
		if (bd_)
			zcx_blocks_destroy(bd_);
	}

	void execute(Reader &in)
	{
		for (unsigned op = 0; !in.empty() && op < kMaxOps; op++) {
			step(in);
			CHECK(host::kmap_depth() == 0);
			CHECK(host::preempt_depth() == 0);
			check_stats();
			if (op % kCheckEvery == kCheckEvery - 1)
				read_all();
		}
	}

	void finish()
	{
		host::reset_faults();
		faulty_ = false;
		read_all();
		// Unfinished writebacks: the C layer ends each one.
		while (!pending_.empty())
			finish_writeback(pending_.begin()->first, false);
		// Let everything go, each way once in a while.
		for (unsigned long i = 0; i < kPages; i++) {
			if (i % 3 == 0)
				slot_free(i);
			else
				discard(i);
		}
		zcx_dev_discard_range(dev_, 0, kPages);
		check_stats();
		zcx_stats s;
		zcx_dev_get_stats(dev_, &s);
		CHECK_EQ(s.orig_data_size, 0);
		CHECK_EQ(s.compr_data_size, 0);
		CHECK_EQ(s.groups, 0);
		CHECK_EQ(s.grouped_pages, 0);
		CHECK_EQ(s.same_pages, 0);
		CHECK_EQ(s.huge_pages, 0);
		CHECK_EQ(s.mem_used_total, 0);
		CHECK_EQ(host::live_pages(), 0);
		// No dead group bytes left counted either.
		CHECK_EQ(zcx_dev_compactable_pages(dev_), 0);
		CHECK(blocks_.empty());
		// Every block comes back once the reads held are over.
		while (!held_reads_.empty())
			end_held_read(0);
		zcx_blocks_stats bs;
		zcx_blocks_get_stats(bd_, &bs);
		CHECK_EQ(bs.held, 0);
		unsigned long got = 0, block;
		while (zcx_blocks_alloc(bd_, &block) == 0)
			got++;
		if (got != kBlocks)
			fail("%lu of %lu blocks came back", got, kBlocks);
		zcx_blocks_destroy(bd_);
		bd_ = nullptr;
		zcx_dev_destroy(dev_);
		dev_ = nullptr;
		host::streams_destroy(streams_);
		CHECK_EQ(host::live_group_codecs(), 0);
		CHECK_EQ(host::live_kzallocs(), kz0_);
		CHECK_EQ(host::live_vzallocs(), vz0_);
		CHECK_EQ(host::live_pages(), 0);
	}

private:
	void step(Reader &in)
	{
		const unsigned b = in.u8v();
		switch (b & 15) {
		case 0: case 1: case 2: {
			const unsigned long i = in.u8v() % kPages;
			write(i, make(in, b >> 4));
			break;
		}
		case 3: { // a run of neighbours, as swap writes a cluster
			const unsigned long first = in.u8v() % kPages;
			const unsigned n = in.u8v() % 32 + 1;
			const unsigned version = in.u8v(), family = b >> 4 & 3;
			for (unsigned long i = first; i < first + n && i < kPages; i++)
				write(i, neighbour_page(i, version, family));
			break;
		}
		case 4:
			if (b & 16) {
				const unsigned long first = in.u8v() % kPages;
				const unsigned n = in.u8v() % 20;
				zcx_dev_discard_range(dev_, first, n);
				for (unsigned long i = first; i < first + n && i < kPages; i++)
					forget(i, true);
			} else {
				discard(in.u8v() % kPages);
			}
			break;
		case 5:
			slot_free(in.u8v() % kPages);
			break;
		case 6:
			if ((b & 48) == 16)
				begin_held_read(in.u8v() % kPages);
			else if ((b & 48) == 32 && !held_reads_.empty())
				end_held_read(in.u8v() % held_reads_.size());
			else
				read(in.u8v() % kPages);
			break;
		case 7:
			if (b & 16) {
				now_ += in.u8v() % 64;
				host::set_now_seconds(now_);
			} else {
				mark_idle(b & 32, in.u8v() % 64);
			}
			break;
		case 8: case 9:
			recompress(in, b >> 4);
			break;
		case 10:
			// Regrouping compresses groups too: other CPUs may
			// play while it does.
			script_ = {};
			if (b & 16)
				read_script(in);
			regroup();
			host::set_group_compress_hook(nullptr);
			script_ = {};
			break;
		case 11:
			compact(b & 16 ? ~0ull : in.u8v() % 8);
			break;
		case 12:
			writeback_prepare(in.u8v() % kPages, b >> 4);
			break;
		case 13:
			if (!pending_.empty()) {
				auto it = pending_.begin();
				for (unsigned n = in.u8v() % pending_.size(); n; n--)
					++it;
				finish_writeback(it->first, b & 16);
			}
			break;
		case 14:
			read_all();
			break;
		case 15: // a write over a page just read: touches twice
			if (b & 16) {
				const unsigned long i = in.u8v() % kPages;
				read(i);
				Bytes page = model_[i].data;
				page[in.u16v() % kPage] ^= 1 + (b >> 5);
				write(i, page);
			} else if (b >> 5) {
				faults(b >> 5, in);
			} else {
				compact(~0ull);
				regroup();
			}
			break;
		}
	}

	// Memory the platform refuses from now on: writes fail with
	// -ENOMEM and change nothing, runs stop with -ENOMEM and leave every
	// page as it was.
	void faults(unsigned kind, Reader &in)
	{
		const unsigned n = in.u8v(), skip = in.u8v() % 16;
		switch (kind) {
		case 1: case 2:
			host::fail_page_alloc(ZCX_GFP_NOIO, n % 4, skip);
			break;
		case 3:
			host::fail_page_alloc(ZCX_GFP_NOWAIT, n % 8, skip);
			break;
		case 4:
			host::fail_page_alloc(ZCX_GFP_NOIO, n & 128 ? host::kForever : n % 4,
					      skip);
			host::fail_page_alloc(ZCX_GFP_NOWAIT, host::kForever);
			break;
		case 5:
			host::fail_group_codec_create(n % 2 + 1);
			break;
		case 6:
			host::fail_group_buffers_prepare(1);
			host::fail_vzalloc(n % 3);
			break;
		default:
			host::reset_faults();
			break;
		}
		faulty_ = kind != 7;
	}

	Bytes make(Reader &in, unsigned kind)
	{
		const unsigned long index = in.u8v() % kPages;
		const unsigned seed = in.u16v();
		Bytes page(kPage, 0);
		switch (kind % 8) {
		case 0: // zero
			break;
		case 1: { // same-filled, never zero
			const std::uint64_t word = (seed | 1) * 0x0001000100010001ULL;
			for (std::size_t i = 0; i < kPage; i += 8)
				std::memcpy(&page[i], &word, 8);
			break;
		}
		case 2: case 3:
			return neighbour_page(index, seed & 0xff, seed >> 8 & 3);
		case 4:
			fill_text(page.data(), seed);
			break;
		case 5: { // random: stored raw (huge)
			Rng rng(seed);
			fill_random(page.data(), kPage, rng);
			break;
		}
		case 6: { // random head, zero tail: a mid-sized object
			Rng rng(seed);
			fill_random(page.data(), 64 + seed % 3000, rng);
			break;
		}
		case 7: // another page's data, a little changed
			page = model_[index].data;
			page[seed % kPage] ^= 0x5a;
			break;
		}
		return page;
	}

	// Written, discarded or freed: whatever the slot held is gone, and a
	// writeback of it can no longer commit.
	void forget(unsigned long i, bool touched)
	{
		Model &m = model_[i];
		if (m.backing)
			CHECK(!blocks_.count(m.block)); // the core freed it
		m = Model{};
		if (touched)
			m.time = now_;
		auto it = pending_.find(i);
		if (it != pending_.end())
			it->second.valid = false;
		CHECK(!grouped(i));
	}

	void write(unsigned long i, const Bytes &page)
	{
		const int rc = zcx_dev_write_page(dev_, i, page.data());
		if (rc == -ZCX_ENOMEM && faulty_) {
			failed_writes_++;
			return; // the slot keeps what it had
		}
		CHECK_EQ(rc, 0);
		forget(i, true);
		model_[i].data = page;
		model_[i].stored = true;
	}

	void discard(unsigned long i)
	{
		zcx_dev_discard_page(dev_, i);
		forget(i, true);
	}

	void slot_free(unsigned long i)
	{
		zcx_stats before, after;
		zcx_dev_get_stats(dev_, &before);
		zcx_dev_slot_free_notify(dev_, i);
		zcx_dev_get_stats(dev_, &after);
		// Single-threaded, no slot is ever busy.
		CHECK_EQ(after.miss_free, before.miss_free);
		CHECK_EQ(after.notify_free, before.notify_free + 1);
		forget(i, false);
	}

	void read(unsigned long i)
	{
		Model &m = model_[i];
		zcx_backing_ref ref{};
		const int r = zcx_dev_read_page_ref(dev_, i, page_.data(), &ref);
		m.time = now_;
		m.idle = false;
		if (!m.backing) {
			if (r != 0)
				fail("read of page %lu: %d", i, r);
			if (!equal(page_.data(), m.data.data()))
				fail("page %lu reads back wrong", i);
			return;
		}
		CHECK_EQ(ref.block, m.block);
		// The block's I/O is over by the time the checks below run.
		zcx_blocks_read_end(bd_, ref.read_tag, 1);
		const Block &blk = blocks_.at(m.block);
		if (blk.len == kPage) {
			CHECK_EQ(r, ZCX_READ_BACKING);
			if (!equal(blk.bytes.data(), m.data.data()))
				fail("block %lu of page %lu holds other data",
				     m.block, i);
			return;
		}
		CHECK_EQ(r, ZCX_READ_BACKING_COMPRESSED);
		CHECK_EQ(ref.size, blk.len);
		CHECK_EQ(zcx_dev_decompress_backing(dev_, i, &ref, blk.bytes.data(),
						    page_.data()), 0);
		if (!equal(page_.data(), m.data.data()))
			fail("page %lu, written back compressed, reads back wrong", i);
	}

	// A read of a written-back page whose block I/O is still in flight
	// (any other page is read at once).
	void begin_held_read(unsigned long i)
	{
		Model &m = model_[i];
		if (!m.backing) {
			read(i);
			return;
		}
		zcx_backing_ref ref{};
		const int r = zcx_dev_read_page_ref(dev_, i, page_.data(), &ref);
		CHECK(r == ZCX_READ_BACKING || r == ZCX_READ_BACKING_COMPRESSED);
		CHECK_EQ(ref.block, m.block);
		m.time = now_;
		m.idle = false;
		held_reads_.push_back(HeldRead{i, ref, disk_.at(ref.block)});
	}

	void end_held_read(std::size_t n)
	{
		const HeldRead h = held_reads_[n];
		held_reads_.erase(held_reads_.begin() + n);
		if (disk_.at(h.ref.block) != h.handed)
			fail("block %lu, read for page %lu, was reused while "
			     "the read was in flight", h.ref.block, h.index);
		zcx_blocks_read_end(bd_, h.ref.read_tag, 1);
	}

	void read_all()
	{
		for (unsigned long i = 0; i < kPages; i++)
			read(i);
	}

	void mark_idle(bool all, unsigned max_age)
	{
		zcx_dev_mark_idle(dev_, all, max_age);
		const unsigned cutoff = now_ > max_age ? now_ - max_age : 0;
		for (unsigned long i = 0; i < kPages; i++) {
			Model &m = model_[i];
			if (m.stored && !under_writeback(i) && (all || m.time < cutoff))
				m.idle = true;
		}
	}

	void recompress(Reader &in, unsigned bits)
	{
		if (recompressions_++ >= kMaxRecompressions)
			return;
		zcx_recompress_request req{};
		static const unsigned kGroupPages[] = {0, 2, 4, 8, 16, 16, 4, 0};
		req.group_pages = kGroupPages[bits & 7];
		const unsigned opts = in.u8v();
		req.idle = opts & 1;
		req.huge = (opts & 6) == 6;
		if (opts & 8 && !(bits & 8))
			req.min_age = in.u8v() % 32;
		// The idle policy's group age, from min_age: the stored
		// inputs keep their bytes.
		if (req.group_pages && req.min_age & 1)
			req.group_min_age = req.min_age * 2;
		std::vector<bool> was_grouped(kPages);
		for (unsigned i = 0; i < kPages; i++)
			was_grouped[i] = grouped(i);
		if (opts & 16)
			req.max_pages = in.u8v() % 24 + 1;
		if (opts & 32)
			req.threshold = in.u8v() * 16;
		// algo=: the first, the second, or both in turn.
		static const unsigned kPriorities[] = {2, 4, 6, 2};
		req.priorities = kPriorities[opts >> 6];
		req.configured = 2;
		// Other CPUs between a group's copy and its commit: the
		// platform's group compressor calls back with no lock held.
		script_ = {};
		if (opts & 8 && bits & 8 && req.group_pages)
			read_script(in);
		zcx_stats before, after;
		zcx_dev_get_stats(dev_, &before);
		zcx_recompress_result r{};
		const int rc = zcx_dev_recompress(dev_, &req, page_.data(), &r);
		finish_parked();
		host::set_group_compress_hook(nullptr);
		zcx_dev_get_stats(dev_, &after);
		if (rc == -ZCX_ENOMEM && faulty_) {
			CHECK_EQ(after.orig_data_size, stored_pages() * kPage);
			return;
		}
		if (rc != 0)
			fail("recompress (group_pages %u): %d", req.group_pages, rc);
		trace("recompress group_pages %u idle %d huge %d min_age %u "
		      "max_pages %llu threshold %u priorities %u: tried %llu "
		      "recompressed %llu incompressible %llu groups %llu",
		      req.group_pages, req.idle, req.huge, req.min_age,
		      req.max_pages, req.threshold, req.priorities, r.tried,
		      r.recompressed, r.incompressible, r.groups);
		if (script_.n) {
			// Each slot changed meanwhile is counted once at most.
			CHECK(r.changed <= changed_);
			CHECK_EQ(after.orig_data_size, stored_pages() * kPage);
			return;
		}
		// Nothing else runs: no slot can change under a run.
		CHECK_EQ(r.changed, 0);
		// A group age leaves younger pages out of the groups.
		for (unsigned i = 0; i < kPages && req.group_min_age; i++) {
			if (!was_grouped[i] && grouped(i) &&
			    now_ - model_[i].time < req.group_min_age)
				fail("page %u grouped at age %u, group_min_age %u", i,
				     now_ - model_[i].time, req.group_min_age);
		}
		CHECK(r.recompressed + r.incompressible <= r.tried);
		if (req.max_pages)
			CHECK(r.tried <= req.max_pages);
		if (!req.group_pages)
			CHECK_EQ(r.groups, 0);
		// Every group a run forms keeps at least one member; grouped
		// pages are never taken again, so no group goes.
		CHECK_EQ(after.groups, before.groups + r.groups);
		CHECK(after.grouped_pages >= before.grouped_pages + 2 * r.groups);
		CHECK_EQ(after.orig_data_size, before.orig_data_size);
	}

	bool grouped(unsigned index)
	{
		zcx_slot_state st{};
		return zcx_dev_slot_state(dev_, index, &st) && st.grouped;
	}

	void read_script(Reader &in)
	{
		script_.n = in.u8v() % (kMaxActs + 1);
		for (unsigned k = 0; k < script_.n; k++) {
			script_.at[k] = in.u8v() % 8;
			script_.what[k] = in.u8v();
			script_.index[k] = in.u8v() % kPages;
		}
		calls_ = 0;
		changed_ = 0;
		host::set_group_compress_hook([this] {
			if (on_parked_thread())
				park_here();
			else
				other_cpus();
		});
	}

	// The second post-processor (see the top of the file).  It runs on
	// its own thread only while the main one waits for it to park or
	// end, and after the first run has returned, to its end.
	enum class ParkedState { none, running, parked, done };

	bool on_parked_thread()
	{
		std::lock_guard<std::mutex> g(parked_mu_);
		return parked_state_ != ParkedState::none &&
		       std::this_thread::get_id() == parked_id_;
	}

	// In the parked run's first group compression: wait to be resumed.
	void park_here()
	{
		std::unique_lock<std::mutex> l(parked_mu_);
		if (parked_resumed_)
			return;
		parked_state_ = ParkedState::parked;
		parked_cv_.notify_all();
		parked_cv_.wait(l, [&] { return parked_resumed_; });
	}

	void start_parked(unsigned kind)
	{
		if (parked_state_ != ParkedState::none ||
		    recompressions_++ >= kMaxRecompressions)
			return;
		{
			std::lock_guard<std::mutex> g(parked_mu_);
			parked_state_ = ParkedState::running;
			parked_resumed_ = false;
			parked_rc_ = 0;
		}
		parked_thread_ = std::thread([this, kind] {
			{
				std::lock_guard<std::mutex> g(parked_mu_);
				parked_id_ = std::this_thread::get_id();
			}
			Bytes page(kPage);
			int rc;
			if (kind & 1) {
				zcx_u64 taken;
				rc = zcx_dev_regroup_sparse(dev_, page.data(), nullptr,
							    &taken);
			} else {
				static const unsigned kGroupPages[] = {2, 4, 8, 16};
				zcx_recompress_request req{};
				req.group_pages = kGroupPages[kind >> 1 & 3];
				req.priorities = kind & 8 ? 4 : 2;
				req.configured = 2;
				zcx_recompress_result r{};
				rc = zcx_dev_recompress(dev_, &req, page.data(), &r);
			}
			std::lock_guard<std::mutex> g(parked_mu_);
			parked_rc_ = rc;
			parked_state_ = ParkedState::done;
			parked_cv_.notify_all();
		});
		std::unique_lock<std::mutex> l(parked_mu_);
		parked_cv_.wait(l, [&] { return parked_state_ != ParkedState::running; });
		trace("parked run %u: %s", kind,
		      parked_state_ == ParkedState::parked ? "parked" : "done");
	}

	// After the first run has returned: the parked one commits, ends.
	void finish_parked()
	{
		if (parked_state_ == ParkedState::none)
			return;
		{
			std::lock_guard<std::mutex> g(parked_mu_);
			parked_resumed_ = true;
			parked_cv_.notify_all();
		}
		parked_thread_.join();
		parked_state_ = ParkedState::none;
		if (parked_rc_ != 0 && !(parked_rc_ == -ZCX_ENOMEM && faulty_))
			fail("the parked run failed: %d", parked_rc_);
		CHECK(host::kmap_depth() == 0);
		CHECK(host::preempt_depth() == 0);
	}

	// One scripted action per matching group compression: what other
	// CPUs may do while a run compresses a group.  Recompression itself
	// is the one thing that never runs twice at once.
	void other_cpus()
	{
		const unsigned call = calls_++;
		for (unsigned k = 0; k < script_.n; k++) {
			if (script_.at[k] != call)
				continue;
			const unsigned long i = script_.index[k];
			const unsigned what = script_.what[k];
			switch (what % 8) {
			case 0:
				write(i, neighbour_page(i, what >> 3, 0));
				changed_++;
				break;
			case 1:
				write(i, Bytes(kPage, 0));
				changed_++;
				break;
			case 2:
				discard(i);
				changed_++;
				break;
			case 3:
				slot_free(i);
				changed_++;
				break;
			case 4:
				read(i);
				break;
			case 5:
				compact(what & 8 ? ~0ull : (what >> 4) % 4);
				break;
			case 6: {
				if (what & 8) {
					start_parked(what >> 4);
					break;
				}
				// regroup_sparse compresses groups too: no
				// script inside the script.
				const Script saved = script_;
				script_.n = 0;
				regroup(false);
				script_ = saved;
				break;
			}
			case 7:
				mark_idle(what & 8, (what >> 4) * 4);
				break;
			}
		}
	}

	unsigned long stored_pages() const
	{
		unsigned long n = 0;
		for (const Model &m : model_)
			n += m.stored;
		return n;
	}

	void regroup(bool top_level = true)
	{
		zcx_stats before, after;
		zcx_dev_get_stats(dev_, &before);
		zcx_u64 taken = ~0ull;
		const int rc = zcx_dev_regroup_sparse(dev_, page_.data(), nullptr, &taken);
		// Nested in another run's script, that run is not over: it
		// resumes a parked one when it is.
		if (top_level)
			finish_parked();
		zcx_dev_get_stats(dev_, &after);
		CHECK_EQ(after.orig_data_size, stored_pages() * kPage);
		if (rc == -ZCX_ENOMEM && faulty_)
			return;
		CHECK_EQ(rc, 0);
		trace("regroup: took %llu; groups %llu -> %llu", taken,
		      before.groups, after.groups);
		CHECK_EQ(after.orig_data_size, stored_pages() * kPage);
		if (script_.n)
			return;
		CHECK(taken <= before.grouped_pages);
		CHECK(after.grouped_pages <= before.grouped_pages);
	}

	void compact(zcx_u64 max_pages)
	{
		zcx_stats before, after;
		zcx_dev_get_stats(dev_, &before);
		const zcx_u64 freed = zcx_dev_compact(dev_, max_pages);
		zcx_dev_get_stats(dev_, &after);
		trace("compact %llu: freed %llu", max_pages, freed);
		// Compaction only moves: it never allocates a page.
		CHECK_EQ(after.mem_used_total, before.mem_used_total - freed * kPage);
		CHECK_EQ(after.pages_compacted, before.pages_compacted + freed);
		CHECK_EQ(after.compr_data_size, before.compr_data_size);
		CHECK_EQ(after.groups, before.groups);
		CHECK_EQ(after.grouped_pages, before.grouped_pages);
		if (max_pages == 0)
			CHECK_EQ(freed, 0);
	}

	bool under_writeback(unsigned long i) const
	{
		auto it = pending_.find(i);
		return it != pending_.end() && it->second.valid;
	}

	void writeback_prepare(unsigned long i, unsigned bits)
	{
		// One writeback of a slot at a time, as the C layer's: one
		// the slot outran is finished (its commit fails) first.
		auto old = pending_.find(i);
		if (old != pending_.end() && !old->second.valid)
			finish_writeback(i, true);
		static const int kModes[] = {
			ZCX_WB_ANY, ZCX_WB_ANY, ZCX_WB_IDLE, ZCX_WB_HUGE,
			ZCX_WB_INCOMPRESSIBLE, ZCX_WB_IDLE | ZCX_WB_HUGE,
			ZCX_WB_ANY, ZCX_WB_IDLE,
		};
		const int mode = kModes[bits & 7];
		const bool compressed = bits & 8;
		const Model &m = model_[i];
		zcx_slot_state st{};
		const bool has_state = zcx_dev_slot_state(dev_, i, &st);
		Bytes dst(kPage, 0xcc);
		unsigned len = kPage;
		int r;
		if (compressed) {
			const zcx_pp_filter f{mode, 0, 0, 0, ~0ull};
			zcx_pp_plan plan{};
			zcx_dev_pp_plan(dev_, &f, 0, 1, &plan);
			r = zcx_dev_writeback_prepare_pp(dev_, i, &f, &plan, dst.data(),
							 1, &len);
		} else {
			r = zcx_dev_writeback_prepare(dev_, i, mode, dst.data());
		}
		CHECK(r == 0 || r == 1);
		const bool storable = m.stored && !m.backing && !same_filled(m.data) &&
				      !under_writeback(i);
		if (r == 0) {
			// What the model knows of every mode's filter.
			if (storable && (mode == ZCX_WB_ANY ||
					 (mode == ZCX_WB_IDLE && m.idle) ||
					 (mode == ZCX_WB_HUGE && st.huge)))
				fail("writeback_prepare(%lu, mode %d) skipped an "
				     "eligible page", i, mode);
			return;
		}
		CHECK(has_state && storable);
		if ((mode & ZCX_WB_IDLE) && !m.idle)
			fail("writeback_prepare(%lu) took a page not idle", i);
		if ((mode & ZCX_WB_HUGE) && !st.huge)
			fail("writeback_prepare(%lu) took a page not huge", i);
		if ((mode & ZCX_WB_INCOMPRESSIBLE) && !st.incompressible)
			fail("writeback_prepare(%lu) took a page not marked "
			     "incompressible", i);
		if (len < kPage) {
			// Only a page stored compressed, alone, goes as its
			// object; a group's member goes as its page.
			CHECK(compressed && !st.huge && !st.grouped);
		} else {
			CHECK_EQ(len, kPage);
			if (!equal(dst.data(), m.data.data()))
				fail("writeback_prepare(%lu) copied other data", i);
		}
		pending_[i] = Pending{dst, len, true};
	}

	void finish_writeback(unsigned long i, bool commit)
	{
		Pending p = pending_.at(i);
		pending_.erase(i);
		if (!commit) {
			// After a failed write; a slot the model says changed
			// meanwhile is not the one prepare marked, and the
			// flag is already gone.
			zcx_dev_writeback_abort(dev_, i);
			return;
		}
		unsigned long block;
		const int a = zcx_blocks_alloc(bd_, &block);
		if (a) {
			zcx_blocks_stats bs;
			zcx_blocks_get_stats(bd_, &bs);
			if (a == -ZCX_ENOSPC ? bs.held != kBlocks
					     : a != -ZCX_EBUSY || held_reads_.empty())
				fail("block allocation: %d with %llu of %lu blocks "
				     "held, %zu reads held", a, (unsigned long long)bs.held,
				     kBlocks, held_reads_.size());
			zcx_dev_writeback_abort(dev_, i);
			return;
		}
		disk_[block] = p.copy;
		const int r = p.len < kPage
				      ? zcx_dev_writeback_commit_len(dev_, i, block, p.len)
				      : zcx_dev_writeback_commit(dev_, i, block);
		trace("writeback of %lu to block %lu (len %u): %d", i, block,
		      p.len, r);
		CHECK_EQ(r, p.valid);
		if (!r) {
			// No slot named it: the C layer puts it back.
			CHECK_EQ(zcx_blocks_put_unused(bd_, block), 0);
			return;
		}
		Model &m = model_[i];
		blocks_[block] = Block{p.copy, p.len};
		m.backing = true;
		m.block = block;
		m.idle = false;
		CHECK(!grouped(i));
	}

	void backing_freed(unsigned long block)
	{
		if (!blocks_.erase(block))
			fail("backing block %lu freed, but no page holds it", block);
		if (zcx_blocks_free(bd_, block))
			fail("backing block %lu freed, but not taken", block);
	}

	bool grouped(unsigned long i)
	{
		zcx_slot_state st{};
		return zcx_dev_slot_state(dev_, i, &st) && st.grouped;
	}

	void check_stats()
	{
		zcx_stats s;
		zcx_dev_get_stats(dev_, &s);
		unsigned long stored = 0, same = 0, grouped_pages = 0, huge = 0;
		for (unsigned long i = 0; i < kPages; i++) {
			const Model &m = model_[i];
			zcx_slot_state st{};
			const bool has = zcx_dev_slot_state(dev_, i, &st);
			if (has != m.stored)
				fail("block_state of page %lu: %s, the model %s", i,
				     has ? "stored" : "empty",
				     m.stored ? "stored" : "empty");
			if (!has)
				continue;
			stored++;
			const bool is_same = !m.backing && same_filled(m.data);
			same += is_same;
			grouped_pages += st.grouped;
			huge += st.huge;
			if (st.same != is_same || st.written_back != m.backing ||
			    st.idle != m.idle || st.access_time != m.time)
				fail("block_state of page %lu: same %d written_back "
				     "%d idle %d time %u; the model: %d %d %d %u",
				     i, st.same, st.written_back, st.idle,
				     st.access_time, is_same, m.backing, m.idle,
				     m.time);
			// A member under writeback stays one until commit.
			if (st.grouped && (is_same || m.backing || st.huge))
				fail("page %lu is grouped, same %d backing %d huge "
				     "%d", i, is_same, m.backing, st.huge);
		}
		CHECK_EQ(s.orig_data_size, stored * kPage);
		CHECK_EQ(s.same_pages, same);
		CHECK_EQ(s.grouped_pages, grouped_pages);
		CHECK_EQ(s.huge_pages, huge);
		CHECK(s.groups <= s.grouped_pages);
		CHECK_EQ(s.groups == 0, s.grouped_pages == 0);
		CHECK_EQ(s.mem_used_total, host::live_pages() * kPage);
		CHECK_EQ(s.failed_reads, 0);
		CHECK_EQ(s.failed_writes, failed_writes_);
	}

	zcx_host *streams_ = nullptr;
	zcx_dev *dev_ = nullptr;
	Model model_[kPages];
	std::map<unsigned long, Pending> pending_;
	std::map<unsigned long, Block> blocks_; // what slots name
	// The device's bytes, kept after a block is freed: what a read still
	// in flight would get.
	std::map<unsigned long, Bytes> disk_;
	struct HeldRead {
		unsigned long index;
		zcx_backing_ref ref;
		Bytes handed; // the block's bytes when the read began
	};
	std::vector<HeldRead> held_reads_;
	zcx_blocks *bd_ = nullptr;
	unsigned now_ = kStartTime;
	unsigned recompressions_ = 0;
	bool faulty_ = false; // some allocation may be refused
	unsigned long failed_writes_ = 0;
	// The script of other CPUs' actions during a recompression run.
	static constexpr unsigned kMaxActs = 4;
	struct Script {
		unsigned n = 0;
		unsigned at[kMaxActs];
		unsigned what[kMaxActs];
		unsigned long index[kMaxActs];
	};
	Script script_;
	std::thread parked_thread_;
	std::mutex parked_mu_;
	std::condition_variable parked_cv_;
	ParkedState parked_state_ = ParkedState::none;
	std::thread::id parked_id_;
	bool parked_resumed_ = false;
	int parked_rc_ = 0;
	unsigned calls_ = 0;
	unsigned long changed_ = 0;
	std::size_t kz0_ = 0, vz0_ = 0;
	Bytes page_;
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data,
				      std::size_t size)
{
	Reader in(data, size);
	Run run;
	run.execute(in);
	run.finish();
	return 0;
}
