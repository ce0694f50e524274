// SPDX-License-Identifier: GPL-2.0
// Host microbenchmarks of the core's hot paths: xvmalloc, the slot table,
// the codec wrapper, the same-fill scan and whole pages through the C ABI.
// Everything runs on tests/host's platform (liblzo2, std::mutex "spinlocks",
// a checked page registry), so the figures are the core plus that platform,
// not the kernel: scripts/microbench.sh callgrind splits the two.
#include "pages.hpp"
#include "platform_host.hpp"

#include "core/codec.hpp"
#include "core/table.hpp"
#include "xvmalloc/xvmalloc.hpp"
#include "zcx/abi.h"
#include "zcx/support/guards.hpp"

#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <vector>

namespace {

using mb::Kind;
using mb::kPage;
using mb::Rng;
using zcx::xv::Handle;
using zcx::xv::Pool;

[[noreturn]] void fail(const char *what)
{
	std::fprintf(stderr, "microbench: %s failed\n", what);
	std::abort();
}

// Distinct pages of one kind, so that no run compresses one page over and
// over (LZO's dictionary and the branch predictor would learn it).
struct PageSet {
	explicit PageSet(Kind kind, std::size_t count, std::uint64_t seed = 1)
		: bytes(count * kPage)
	{
		for (std::size_t i = 0; i < count; i++)
			mb::make_page(kind, seed + i, page(i));
	}
	std::uint8_t *page(std::size_t i) { return &bytes[(i % count()) * kPage]; }
	std::size_t count() const { return bytes.size() / kPage; }

	std::vector<std::uint8_t> bytes;
};

// ---- xvmalloc ----

Pool *make_pool()
{
	auto pool = Pool::create();
	if (!pool)
		fail("Pool::create");
	return pool.value();
}

Handle xv_alloc(Pool *pool, std::size_t size)
{
	auto h = pool->alloc(size, zcx::Gfp::nowait);
	if (!h)
		fail("Pool::alloc");
	return h.value();
}

// One object allocated and freed in a chunk that stays: a small pinned
// object keeps the pool from handing the chunk back on every free.
void xv_alloc_free(benchmark::State &state)
{
	const std::size_t size = state.range(0);
	Pool *pool = make_pool();
	const Handle pin = xv_alloc(pool, 32);
	for (auto _ : state) {
		const Handle h = xv_alloc(pool, size);
		benchmark::DoNotOptimize(h);
		pool->free(h);
	}
	pool->free(pin);
	Pool::destroy(pool);
	state.SetItemsProcessed(state.iterations());
	state.SetBytesProcessed(state.iterations() * size);
}
BENCHMARK(xv_alloc_free)->Arg(64)->Arg(512)->Arg(1500)->Arg(2200)->Arg(3000);

// The same without the pin: the pool is empty between iterations, so each
// alloc grows it by a chunk and each free returns it (xvmalloc frees empty
// chunks at once).  Here that is the host's page allocator.
void xv_alloc_free_page(benchmark::State &state)
{
	const std::size_t size = state.range(0);
	Pool *pool = make_pool();
	for (auto _ : state) {
		const Handle h = xv_alloc(pool, size);
		benchmark::DoNotOptimize(h);
		pool->free(h);
	}
	Pool::destroy(pool);
	state.SetItemsProcessed(state.iterations());
	state.SetBytesProcessed(state.iterations() * size);
}
BENCHMARK(xv_alloc_free_page)->Arg(2200);

// Sizes of compressed pages below the huge threshold (3072): a spread with
// most of its weight in 1-2.5 KiB, as LZO leaves ordinary data.
std::size_t churn_size(Rng &rng)
{
	const unsigned p = rng.next() % 100;
	if (p < 35)
		return rng.range(64, 1023);
	if (p < 80)
		return rng.range(1024, 2559);
	return rng.range(2560, 3071);
}

// Steady state of a used disk: range(0) live objects; each iteration frees
// a random one and allocates a new random size in its place.
void xv_churn(benchmark::State &state)
{
	const std::size_t live = state.range(0);
	Pool *pool = make_pool();
	Rng rng(42);
	std::vector<Handle> handles(live);
	std::vector<std::size_t> sizes(live);
	for (std::size_t i = 0; i < live; i++) {
		sizes[i] = churn_size(rng);
		handles[i] = xv_alloc(pool, sizes[i]);
	}
	auto replace = [&](std::size_t i) {
		pool->free(handles[i]);
		sizes[i] = churn_size(rng);
		handles[i] = xv_alloc(pool, sizes[i]);
		return sizes[i];
	};
	// Let fragmentation settle: every object replaced a few times.
	for (std::size_t n = 0; n < 4 * live; n++)
		replace(rng.next() % live);
	std::uint64_t bytes = 0;
	for (auto _ : state)
		bytes += replace(rng.next() % live);
	std::uint64_t live_bytes = 0;
	for (std::size_t s : sizes)
		live_bytes += s;
	state.counters["pool_pages"] = static_cast<double>(pool->pages());
	state.counters["fill"] = static_cast<double>(live_bytes) /
				 static_cast<double>(pool->pages() * kPage);
	for (Handle h : handles)
		pool->free(h);
	Pool::destroy(pool);
	state.SetItemsProcessed(state.iterations());
	state.SetBytesProcessed(bytes);
}
BENCHMARK(xv_churn)->Arg(20000);

// ---- slot table ----

struct TableFixture {
	explicit TableFixture(std::uint64_t n)
	{
		if (!table.init(n))
			fail("Table::init");
	}
	zcx::Table table;
};

// The slot lock alone (BitLockGuard: zcx_bit_lock / zcx_bit_unlock).
void table_lock_unlock(benchmark::State &state)
{
	TableFixture f(4096);
	std::uint64_t i = 0;
	for (auto _ : state) {
		auto locked = f.table[i++ & 4095].lock();
		benchmark::ClobberMemory();
	}
	state.SetItemsProcessed(state.iterations());
}
BENCHMARK(table_lock_unlock);

// What the write path does to the table per page (Device::publish): lock,
// read the old contents, store the new, stamp the access time, unlock.
void table_publish(benchmark::State &state)
{
	TableFixture f(4096);
	std::uint64_t i = 0;
	for (auto _ : state) {
		zcx::Slot &slot = f.table[i & 4095];
		const zcx::SlotContents next{zcx::SlotKind::compressed,
					     (i << 12) | 4, 2100};
		zcx::SlotContents old;
		{
			auto locked = slot.lock();
			old = slot.get();
			slot.set(next);
			slot.touch(zcx_now_seconds());
		}
		benchmark::DoNotOptimize(old);
		i++;
	}
	state.SetItemsProcessed(state.iterations());
}
BENCHMARK(table_publish);

// The read path's table work at random indices of a 16 MiB table (1 Mi
// slots, a 4 GiB disk): mostly a cache miss.
void table_lookup_random(benchmark::State &state)
{
	constexpr std::uint64_t kSlots = 1 << 20;
	TableFixture f(kSlots);
	Rng rng(7);
	for (auto _ : state) {
		zcx::Slot &slot = f.table[rng.next() & (kSlots - 1)];
		zcx::SlotContents c;
		{
			auto locked = slot.lock();
			c = slot.get();
			slot.touch(zcx_now_seconds());
		}
		benchmark::DoNotOptimize(c);
	}
	state.SetItemsProcessed(state.iterations());
}
BENCHMARK(table_lookup_random);

// ---- codec wrapper ----

constexpr std::size_t kCodecPages = 16;

void codec_compress(benchmark::State &state, Kind kind)
{
	PageSet pages(kind, kCodecPages);
	zcx_host *host = host::streams_create();
	std::uint64_t out = 0, i = 0;
	{
		zcx::StreamSection section(host);
		for (auto _ : state) {
			auto len = zcx::compress_page(host, pages.page(i++),
						      section.stream());
			if (!len)
				fail("compress_page");
			out += len.value();
		}
	}
	host::streams_destroy(host);
	state.counters["out_bytes"] = static_cast<double>(out) /
				      static_cast<double>(state.iterations());
	state.SetItemsProcessed(state.iterations());
	state.SetBytesProcessed(state.iterations() * kPage);
}

void codec_decompress(benchmark::State &state, Kind kind)
{
	PageSet pages(kind, kCodecPages);
	zcx_host *host = host::streams_create();
	std::vector<std::vector<zcx::u8>> packed(kCodecPages);
	{
		zcx::StreamSection section(host);
		for (std::size_t p = 0; p < kCodecPages; p++) {
			auto len = zcx::compress_page(host, pages.page(p),
						      section.stream());
			if (!len)
				fail("compress_page");
			const auto *buf =
				static_cast<const zcx::u8 *>(section.stream().buffer);
			packed[p].assign(buf, buf + len.value());
		}
	}
	std::vector<zcx::u8> dst(kPage);
	std::uint64_t i = 0;
	for (auto _ : state) {
		const auto &src = packed[i++ % kCodecPages];
		int status;
		if (!zcx::decompress_page(host, {src.data(), src.size()},
					  dst.data(), &status))
			fail("decompress_page");
		benchmark::DoNotOptimize(dst.data());
	}
	if (std::memcmp(dst.data(), pages.page((i - 1) % kCodecPages), kPage))
		fail("round trip");
	host::streams_destroy(host);
	state.SetItemsProcessed(state.iterations());
	state.SetBytesProcessed(state.iterations() * kPage);
}

#define ZCX_PER_KIND(fn)                                  \
	BENCHMARK_CAPTURE(fn, zero, Kind::zero);          \
	BENCHMARK_CAPTURE(fn, same, Kind::same);          \
	BENCHMARK_CAPTURE(fn, fio50, Kind::fio50);        \
	BENCHMARK_CAPTURE(fn, text, Kind::text);          \
	BENCHMARK_CAPTURE(fn, random, Kind::random)

ZCX_PER_KIND(codec_compress);
ZCX_PER_KIND(codec_decompress);

// ---- same-fill scan ----

// Every kind, plus the scan's worst miss: a same-filled page with one odd
// word in the middle (both ends agree, so the whole first half is read).
void same_filled(benchmark::State &state, int which)
{
	PageSet pages(which < 0 ? Kind::zero : static_cast<Kind>(which),
		      kCodecPages);
	if (which < 0) {
		for (std::size_t p = 0; p < kCodecPages; p++)
			pages.page(p)[kPage / 2] = 1;
	}
	std::uint64_t hits = 0, i = 0;
	for (auto _ : state) {
		zcx::u64 word;
		hits += zcx::page_same_filled(pages.page(i++), &word);
		benchmark::DoNotOptimize(word);
	}
	benchmark::DoNotOptimize(hits);
	state.SetItemsProcessed(state.iterations());
	state.SetBytesProcessed(state.iterations() * kPage);
}
BENCHMARK_CAPTURE(same_filled, zero, static_cast<int>(Kind::zero));
BENCHMARK_CAPTURE(same_filled, same, static_cast<int>(Kind::same));
BENCHMARK_CAPTURE(same_filled, fio50, static_cast<int>(Kind::fio50));
BENCHMARK_CAPTURE(same_filled, text, static_cast<int>(Kind::text));
BENCHMARK_CAPTURE(same_filled, random, static_cast<int>(Kind::random));
BENCHMARK_CAPTURE(same_filled, mid_miss, -1);

// ---- whole device through the C ABI ----

constexpr unsigned long kDevSlots = 4096; // a 16 MiB disk
constexpr std::size_t kDevPages = 64;     // distinct source pages

struct DevFixture {
	explicit DevFixture(Kind kind) : pages(kind, kDevPages)
	{
		host = host::streams_create();
		if (zcx_dev_create(kDevSlots * kPage, host, &dev))
			fail("zcx_dev_create");
		for (unsigned long i = 0; i < kDevSlots; i++)
			write(i, i);
	}
	~DevFixture()
	{
		zcx_dev_destroy(dev);
		host::streams_destroy(host);
	}
	void write(unsigned long index, std::uint64_t which)
	{
		if (zcx_dev_write_page(dev, index, pages.page(which)))
			fail("zcx_dev_write_page");
	}

	PageSet pages;
	zcx_host *host = nullptr;
	zcx_dev *dev = nullptr;
};

// Overwrites of a full disk: each write also frees what the slot held.
void dev_write(benchmark::State &state, Kind kind)
{
	DevFixture f(kind);
	std::uint64_t i = 0;
	for (auto _ : state) {
		// A different source page than the slot holds, every round.
		f.write(i % kDevSlots, i + i / kDevSlots);
		i++;
	}
	zcx_stats st;
	zcx_dev_get_stats(f.dev, &st);
	state.counters["stored_bytes"] =
		static_cast<double>(st.compr_data_size) / kDevSlots;
	state.SetItemsProcessed(state.iterations());
	state.SetBytesProcessed(state.iterations() * kPage);
}

void dev_read(benchmark::State &state, Kind kind)
{
	DevFixture f(kind);
	std::vector<std::uint8_t> dst(kPage);
	std::uint64_t i = 0;
	for (auto _ : state) {
		unsigned long block;
		if (zcx_dev_read_page(f.dev, i % kDevSlots, dst.data(), &block))
			fail("zcx_dev_read_page");
		benchmark::DoNotOptimize(dst.data());
		i++;
	}
	if (std::memcmp(dst.data(), f.pages.page((i - 1) % kDevSlots), kPage))
		fail("read back");
	state.SetItemsProcessed(state.iterations());
	state.SetBytesProcessed(state.iterations() * kPage);
}

ZCX_PER_KIND(dev_write);
ZCX_PER_KIND(dev_read);

// Issue 24, item 13: what the read path shares between CPUs.  Every read
// of a recompressed page is counted for the idle policy; threads read
// their own slots, so the count and the device's fields are all they
// share.  beside_writer: thread 0 overwrites its slots meanwhile, whose
// counters lived on the line of the fields every read needs.
struct SharedDev {
	DevFixture *f = nullptr;
};
SharedDev shared_dev;

void dev_read_recompressed(benchmark::State &state, bool beside_writer)
{
	if (state.thread_index() == 0) {
		shared_dev.f = new DevFixture(Kind::text);
		host::configure_priority(shared_dev.f->host, 1);
		zcx_recompress_request req{};
		req.priorities = 1u << 1;
		req.configured = 1u << 1;
		zcx_recompress_result r{};
		std::vector<std::uint8_t> page(kPage);
		if (zcx_dev_recompress(shared_dev.f->dev, &req, page.data(), &r))
			fail("zcx_dev_recompress");
	}
	const unsigned long threads = state.threads(), me = state.thread_index();
	const unsigned long span = kDevSlots / threads, first = me * span;
	std::vector<std::uint8_t> dst(kPage);
	std::uint64_t i = 0;
	for (auto _ : state) {
		const unsigned long index = first + i % span;
		if (beside_writer && me == 0) {
			shared_dev.f->write(index, i);
		} else {
			unsigned long block;
			if (zcx_dev_read_page(shared_dev.f->dev, index, dst.data(), &block))
				fail("zcx_dev_read_page");
			benchmark::DoNotOptimize(dst.data());
		}
		i++;
	}
	if (!beside_writer || me != 0)
		state.SetItemsProcessed(state.iterations());
	if (state.thread_index() == 0) {
		state.counters["recompressed_reads"] =
			static_cast<double>(zcx_dev_recompressed_reads(shared_dev.f->dev));
		delete shared_dev.f;
		shared_dev.f = nullptr;
	}
}
BENCHMARK_CAPTURE(dev_read_recompressed, alone, false)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK_CAPTURE(dev_read_recompressed, beside_writer, true)->Threads(2)->UseRealTime();

} // namespace

BENCHMARK_MAIN();
