// SPDX-License-Identifier: GPL-2.0
// The device through its C entry points, as the block layer drives it.
// Expected statistics are derived independently: the same-filled test and
// liblzo2's own LZO1X-1 decide how each page must be stored.
#include "test_util.hpp"
#include "xvmalloc/xvmalloc.hpp"

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <thread>

namespace {

using namespace test;

constexpr std::size_t kHugeThreshold = 3265; // codec.hpp

// How the device must store a page, and what it costs.
struct Expected {
	enum { same, compressed, huge } kind;
	std::size_t compr_bytes;
};

Expected expected_storage(const Bytes &page)
{
	std::uint64_t word;
	if (is_same_filled(page, &word))
		return {Expected::same, 0};
	const std::size_t len = lzo_compress(page.data(), kPage).size();
	if (len >= kHugeThreshold)
		return {Expected::huge, kPage};
	return {Expected::compressed, len};
}

zcx_stats stats_of(const zcx_dev *dev)
{
	zcx_stats s;
	std::memset(&s, 0xff, sizeof(s));
	zcx_dev_get_stats(dev, &s);
	return s;
}

class DeviceTest : public HostTest {
protected:
	// Readers, writers, discards and slot frees from four threads on
	// private and shared pages; with `compacting`, a fifth thread runs
	// compaction over and over meanwhile.
	void concurrent_io(bool compacting);

	void SetUp() override
	{
		HostTest::SetUp();
		streams_ = host::streams_create();
	}
	void TearDown() override
	{
		destroy();
		host::streams_destroy(streams_);
		HostTest::TearDown();
	}

	void create(std::uint64_t nr_pages)
	{
		destroy();
		ASSERT_EQ(zcx_dev_create(nr_pages * kPage, streams_, &dev_), 0);
		ASSERT_NE(dev_, nullptr);
		ASSERT_EQ(zcx_dev_nr_pages(dev_), nr_pages);
	}
	void destroy()
	{
		zcx_dev_destroy(dev_);
		dev_ = nullptr;
	}

	int write(unsigned long index, const Bytes &page)
	{
		// An exact page on the heap: ASan sees any overread.
		auto src = std::make_unique<std::uint8_t[]>(kPage);
		std::memcpy(src.get(), page.data(), kPage);
		return zcx_dev_write_page(dev_, index, src.get());
	}
	int read(unsigned long index, Bytes *out)
	{
		auto dst = std::make_unique<std::uint8_t[]>(kPage);
		std::memset(dst.get(), 0x5c, kPage);
		unsigned long block = ~0UL;
		const int rc = zcx_dev_read_page(dev_, index, dst.get(), &block);
		out->assign(dst.get(), dst.get() + kPage);
		return rc;
	}
	Bytes read_ok(unsigned long index)
	{
		Bytes out;
		EXPECT_EQ(read(index, &out), 0) << "index " << index;
		return out;
	}
	zcx_stats stats() const { return stats_of(dev_); }

	zcx_host *streams_ = nullptr;
	zcx_dev *dev_ = nullptr;
};

// Sums of what a set of stored pages must cost.
struct Tally {
	std::uint64_t pages = 0, compr = 0, same = 0, huge = 0;
	void add(const Bytes &page, int sign = 1)
	{
		const Expected e = expected_storage(page);
		pages += sign;
		compr += sign * e.compr_bytes;
		same += sign * (e.kind == Expected::same);
		huge += sign * (e.kind == Expected::huge);
	}
};

void expect_tally(const zcx_stats &s, const Tally &t)
{
	EXPECT_EQ(s.orig_data_size, t.pages * kPage);
	EXPECT_EQ(s.compr_data_size, t.compr);
	EXPECT_EQ(s.same_pages, t.same);
	EXPECT_EQ(s.huge_pages, t.huge);
}

TEST_F(DeviceTest, CreateRejectsBadSizes)
{
	zcx_dev *dev = nullptr;
	EXPECT_EQ(zcx_dev_create(0, streams_, &dev), -ZCX_EINVAL);
	EXPECT_EQ(zcx_dev_create(kPage - 1, streams_, &dev), -ZCX_EINVAL);
	EXPECT_EQ(zcx_dev_create(kPage + 512, streams_, &dev), -ZCX_EINVAL);
	// More pages than an object's 32-bit owner can name.
	EXPECT_EQ(zcx_dev_create(~zcx_u64{0} - (kPage - 1), streams_, &dev),
		  -ZCX_EINVAL);
	EXPECT_EQ(zcx_dev_create((zcx_u64{1} << 32) * kPage + kPage, streams_, &dev),
		  -ZCX_EINVAL);
	// The largest it takes, with a table no vzalloc gives.
	host::fail_vzalloc(1);
	EXPECT_EQ(zcx_dev_create((zcx_u64{1} << 32) * kPage, streams_, &dev),
		  -ZCX_ENOMEM);
	EXPECT_EQ(dev, nullptr);
}

// Fail each set-up allocation in turn: every failure is -ENOMEM and
// unwinds completely (HostTest::TearDown checks for leaks).
TEST_F(DeviceTest, CreateUnwindsEveryAllocationFailure)
{
	zcx_dev *dev = nullptr;
	int failure_points = 0;
	for (unsigned skip = 0;; skip++) {
		ASSERT_LT(skip, 16u) << "injected failures never reached create";
		host::fail_kzalloc(ZCX_GFP_KERNEL, 1, skip);
		const int rc = zcx_dev_create(64 * kPage, streams_, &dev);
		host::reset_faults();
		if (rc == 0)
			break;
		EXPECT_EQ(rc, -ZCX_ENOMEM) << "kzalloc #" << skip;
		EXPECT_EQ(dev, nullptr);
		failure_points++;
	}
	zcx_dev_destroy(dev);
	// The Device, the pool's spinlock and the pool.
	EXPECT_GE(failure_points, 3);

	dev = nullptr;
	host::fail_vzalloc(1); // the slot table
	EXPECT_EQ(zcx_dev_create(64 * kPage, streams_, &dev), -ZCX_ENOMEM);
	host::fail_spinlock_create(1);
	EXPECT_EQ(zcx_dev_create(64 * kPage, streams_, &dev), -ZCX_ENOMEM);
	EXPECT_EQ(dev, nullptr);
}

TEST_F(DeviceTest, RoundTripsEveryKindOfPage)
{
	constexpr unsigned long kPages = 1024;
	create(kPages);
	const Kind kinds[] = {Kind::zero, Kind::same, Kind::text,
			      Kind::half_random, Kind::random};
	std::map<unsigned long, Bytes> written;
	Tally tally;
	Rng rng(42);
	// Every third index stays unwritten.
	for (unsigned long i = 0; i < kPages; i++) {
		if (i % 3 == 2)
			continue;
		const Kind kind = kinds[rng.range(0, std::size(kinds) - 1)];
		Bytes page = make_page(kind, rng.next());
		ASSERT_EQ(write(i, page), 0) << "index " << i << " " << kind_name(kind);
		tally.add(page);
		written[i] = std::move(page);
	}
	const zcx_stats s = stats();
	expect_tally(s, tally);
	EXPECT_EQ(s.huge_pages_since, tally.huge);
	EXPECT_EQ(s.failed_writes, 0u);
	EXPECT_GT(tally.same, 0u);
	EXPECT_GT(tally.huge, 0u);
	EXPECT_EQ(s.mem_used_total, host::live_pages() * kPage)
		<< "the pool and huge pages are all the device holds";
	EXPECT_EQ(s.mem_used_max, s.mem_used_total);

	const Bytes zeros(kPage, 0);
	for (unsigned long i = 0; i < kPages; i++) {
		auto it = written.find(i);
		ASSERT_EQ(read_ok(i), it == written.end() ? zeros : it->second)
			<< "index " << i;
	}
	EXPECT_EQ(stats().failed_reads, 0u);
}

TEST_F(DeviceTest, OverwriteAndDiscardFreeEverything)
{
	create(64);
	Rng rng(7);
	const Kind kinds[] = {Kind::same, Kind::text, Kind::half_random,
			      Kind::random, Kind::zero};
	std::map<unsigned long, Bytes> last;
	std::uint64_t huge_writes = 0;
	for (int round = 0; round < 2000; round++) {
		const unsigned long i = rng.range(0, 63);
		Bytes page = make_page(kinds[rng.range(0, 4)], rng.next());
		huge_writes += expected_storage(page).kind == Expected::huge;
		ASSERT_EQ(write(i, page), 0);
		last[i] = std::move(page);
	}
	Tally tally;
	for (const auto &[i, page] : last)
		tally.add(page);
	expect_tally(stats(), tally);
	for (const auto &[i, page] : last)
		ASSERT_EQ(read_ok(i), page) << i;
	// A pool emptied by overwrites and discards holds nothing.
	EXPECT_LE(stats().mem_used_total, 64 * kPage);

	for (unsigned long i = 0; i < 64; i++)
		zcx_dev_discard_page(dev_, i);
	const zcx_stats s = stats();
	expect_tally(s, {});
	EXPECT_EQ(s.mem_used_total, 0u);
	EXPECT_EQ(host::live_pages(), 0u);
	EXPECT_EQ(s.huge_pages_since, huge_writes) << "never decreases";
	EXPECT_GT(s.mem_used_max, 0u) << "the peak stays";
	zcx_dev_reset_mem_used_max(dev_);
	EXPECT_EQ(stats().mem_used_max, 0u);
	for (unsigned long i = 0; i < 64; i++)
		EXPECT_EQ(read_ok(i), Bytes(kPage, 0));
}

TEST_F(DeviceTest, CountersAreExact)
{
	create(16);
	const Bytes text = make_page(Kind::text, 1);
	ASSERT_EQ(write(0, text), 0);
	ASSERT_EQ(write(0, text), 0);
	read_ok(0);
	read_ok(5); // never written
	zcx_dev_count_invalid_io(dev_);
	zcx_dev_count_invalid_io(dev_);
	zcx_dev_count_failed(dev_, 1);
	zcx_dev_count_failed(dev_, 0);
	zcx_dev_count_failed(dev_, 0);
	zcx_dev_set_mem_limit(dev_, 1 << 20);
	const zcx_stats s = stats();
	EXPECT_EQ(s.invalid_io, 2u);
	EXPECT_EQ(s.failed_writes, 1u);
	EXPECT_EQ(s.failed_reads, 2u);
	EXPECT_EQ(s.mem_limit, 1u << 20);
	EXPECT_EQ(s.pages_compacted, 0u);
	EXPECT_EQ(s.notify_free, 0u);
	EXPECT_EQ(s.miss_free, 0u);
	EXPECT_EQ(s.writestall, 0u);
	EXPECT_EQ(s.same_pages, 0u);
	EXPECT_EQ(s.orig_data_size, kPage);
	EXPECT_EQ(s.compr_data_size, expected_storage(text).compr_bytes);
	// The pool's first chunk, all of it.
	EXPECT_EQ(s.mem_used_total, (kPage << zcx::xv::kMaxChunkOrder));
	EXPECT_EQ(s.mem_used_total, host::live_pages() * kPage);
	EXPECT_EQ(s.pool_chunks, 1u);
	EXPECT_EQ(s.pool_page_chunks, 0u);
}

TEST_F(DeviceTest, SlotFreeNotifyFreesAndCounts)
{
	create(8);
	const Bytes text = make_page(Kind::text, 2);
	const Bytes rnd = make_page(Kind::random, 2);
	ASSERT_EQ(write(1, text), 0);
	ASSERT_EQ(write(2, rnd), 0);
	// One pool chunk, one huge page.
	ASSERT_EQ(host::live_pages(), (1u << zcx::xv::kMaxChunkOrder) + 1);

	zcx_dev_slot_free_notify(dev_, 1);
	zcx_dev_slot_free_notify(dev_, 2);
	zcx_dev_slot_free_notify(dev_, 3); // empty: still counted
	zcx_stats s = stats();
	EXPECT_EQ(s.notify_free, 3u);
	EXPECT_EQ(s.miss_free, 0u);
	expect_tally(s, {});
	EXPECT_EQ(s.mem_used_total, 0u);
	EXPECT_EQ(host::live_pages(), 0u);
	EXPECT_EQ(read_ok(1), Bytes(kPage, 0));
	EXPECT_EQ(read_ok(2), Bytes(kPage, 0));
}

// While someone holds the slot's lock, the notifier must neither spin nor
// free: it counts a miss and leaves the data for the next write.
TEST_F(DeviceTest, SlotFreeNotifyMissesALockedSlot)
{
	create(8);
	const Bytes text = make_page(Kind::text, 3);
	ASSERT_EQ(write(4, text), 0);
	// A read locks slot 4; the platform remembers which word that was.
	read_ok(4);
	unsigned long *word = host::last_bit_lock_word();
	const unsigned bit = host::last_bit_lock_bit();
	ASSERT_NE(word, nullptr);

	zcx_bit_lock(bit, word); // as another CPU would
	zcx_dev_slot_free_notify(dev_, 4);
	zcx_bit_unlock(bit, word);

	zcx_stats s = stats();
	EXPECT_EQ(s.miss_free, 1u);
	EXPECT_EQ(s.notify_free, 0u);
	EXPECT_EQ(s.orig_data_size, kPage);
	EXPECT_EQ(read_ok(4), text);

	zcx_dev_slot_free_notify(dev_, 4);
	s = stats();
	EXPECT_EQ(s.notify_free, 1u);
	EXPECT_EQ(s.orig_data_size, 0u);
}

// The first write into an empty pool compresses with preemption off and
// cannot grow the pool without sleeping: it must fall back to NOIO.
TEST_F(DeviceTest, NowaitFailureFallsBackToNoio)
{
	create(32);
	host::fail_page_alloc(ZCX_GFP_NOWAIT, host::kForever);
	std::vector<Bytes> pages;
	for (unsigned long i = 0; i < 8; i++) {
		pages.push_back(make_page(Kind::half_random, 100 + i));
		ASSERT_EQ(write(i, pages.back()), 0) << i;
	}
	const zcx_stats s = stats();
	EXPECT_EQ(s.huge_pages, 0u);
	EXPECT_GE(s.writestall, 1u);
	EXPECT_EQ(s.writestall, host::page_allocs(ZCX_GFP_NOIO) - s.huge_pages)
		<< "one stall per page the pool had to grow by";
	EXPECT_EQ(s.mem_used_total, host::live_pages() * kPage);
	EXPECT_EQ(host::page_allocs(ZCX_GFP_NOWAIT), 0u);
	EXPECT_EQ(s.failed_writes, 0u);
	for (unsigned long i = 0; i < 8; i++)
		EXPECT_EQ(read_ok(i), pages[i]) << i;
}

TEST_F(DeviceTest, NowaitSucceedsWithoutStall)
{
	create(32);
	const Bytes page = make_page(Kind::text, 9);
	ASSERT_EQ(write(0, page), 0);
	EXPECT_EQ(stats().writestall, 0u);
	EXPECT_EQ(host::page_allocs(ZCX_GFP_NOWAIT), 1u);
	EXPECT_EQ(host::page_allocs(ZCX_GFP_NOIO), 0u);
}

// random_head bytes of noise, then zeros: compresses to a bit more than n.
Bytes page_with_random_head(std::size_t n, std::uint64_t seed)
{
	Bytes page(kPage, 0);
	Rng rng(seed);
	fill_random(page.data(), n, rng);
	return page;
}

TEST_F(DeviceTest, NoMemoryAtAllFailsTheWriteOnly)
{
	create(32);
	const Bytes same = make_page(Kind::same, 5);
	const Bytes text = make_page(Kind::text, 5);
	const Bytes rnd = make_page(Kind::random, 5);
	ASSERT_EQ(write(0, same), 0);
	ASSERT_EQ(write(1, rnd), 0);
	ASSERT_EQ(write(2, text), 0);
	const zcx_stats before = stats();

	for (zcx_gfp gfp : {ZCX_GFP_NOWAIT, ZCX_GFP_NOIO, ZCX_GFP_KERNEL}) {
		host::fail_page_alloc(gfp, host::kForever);
		host::fail_kzalloc(gfp, host::kForever);
	}
	// A huge page needs a page of its own.
	EXPECT_EQ(write(3, make_page(Kind::random, 6)), -ZCX_ENOMEM);
	// Overwriting keeps the old contents when the new ones do not fit.
	EXPECT_EQ(write(1, make_page(Kind::random, 7)), -ZCX_ENOMEM);
	// Compressed pages go in while the pool's one chunk has room.
	std::map<unsigned long, Bytes> fitted;
	int rc = 0;
	for (unsigned long i = 10; i < 32 && rc == 0; i++) {
		Bytes page = page_with_random_head(1500, i);
		rc = write(i, page);
		if (rc == 0)
			fitted[i] = std::move(page);
	}
	EXPECT_EQ(rc, -ZCX_ENOMEM);
	EXPECT_LT(fitted.size(), (kPage << zcx::xv::kMaxChunkOrder) / 1500);
	// Same-filled pages need no memory.
	EXPECT_EQ(write(4, make_page(Kind::same, 9)), 0);

	const zcx_stats s = stats();
	EXPECT_EQ(s.failed_writes, 3u);
	EXPECT_EQ(s.orig_data_size,
		  before.orig_data_size + (1 + fitted.size()) * kPage);
	EXPECT_EQ(s.mem_used_total, before.mem_used_total);
	EXPECT_EQ(read_ok(0), same);
	EXPECT_EQ(read_ok(1), rnd);
	EXPECT_EQ(read_ok(2), text);
	EXPECT_EQ(read_ok(3), Bytes(kPage, 0));
	for (const auto &[i, page] : fitted)
		EXPECT_EQ(read_ok(i), page) << i;

	host::reset_faults();
	EXPECT_EQ(write(3, rnd), 0);
	EXPECT_EQ(read_ok(3), rnd);
}

// With the pool empty, a compressed write needs a new page both ways.
TEST_F(DeviceTest, CompressedWriteFailsWhenPoolCannotGrow)
{
	create(8);
	host::fail_page_alloc(ZCX_GFP_NOWAIT, host::kForever);
	host::fail_page_alloc(ZCX_GFP_NOIO, host::kForever);
	EXPECT_EQ(write(0, make_page(Kind::text, 1)), -ZCX_ENOMEM);
	const zcx_stats s = stats();
	EXPECT_EQ(s.failed_writes, 1u);
	EXPECT_EQ(s.writestall, 1u);
	EXPECT_EQ(s.orig_data_size, 0u);
	EXPECT_EQ(s.mem_used_total, 0u);
	EXPECT_EQ(host::live_pages(), 0u);
	EXPECT_EQ(read_ok(0), Bytes(kPage, 0));
}

TEST_F(DeviceTest, MemLimit)
{
	create(256);
	constexpr unsigned kLimitPages = 8;
	zcx_dev_set_mem_limit(dev_, kLimitPages * kPage);
	EXPECT_EQ(stats().mem_limit, kLimitPages * kPage);

	std::vector<Bytes> pages;
	int rc = 0;
	unsigned long i = 0;
	for (; i < 256; i++) {
		Bytes page = make_page(Kind::random, 1000 + i);
		rc = write(i, page);
		if (rc)
			break;
		pages.push_back(std::move(page));
	}
	EXPECT_EQ(rc, -ZCX_ENOMEM);
	EXPECT_EQ(i, kLimitPages) << "every huge page costs one page";
	zcx_stats s = stats();
	EXPECT_EQ(s.mem_used_total, kLimitPages * kPage);
	EXPECT_LE(s.mem_used_max, kLimitPages * kPage);
	EXPECT_EQ(s.failed_writes, 1u);
	EXPECT_EQ(host::live_pages(), kLimitPages)
		<< "the rejected write's page was not given back";
	// Same-filled pages cost nothing and still go in.
	EXPECT_EQ(write(200, make_page(Kind::same, 3)), 0);
	for (unsigned long j = 0; j < pages.size(); j++)
		ASSERT_EQ(read_ok(j), pages[j]) << j;

	zcx_dev_set_mem_limit(dev_, 2 * kLimitPages * kPage);
	for (; i < 2 * kLimitPages; i++) {
		Bytes page = make_page(Kind::random, 1000 + i);
		ASSERT_EQ(write(i, page), 0) << i;
		pages.push_back(std::move(page));
	}
	EXPECT_EQ(write(i, make_page(Kind::text, 1)), -ZCX_ENOMEM);

	zcx_dev_set_mem_limit(dev_, 0); // no limit
	for (int k = 0; k < 8; k++)
		ASSERT_EQ(write(i + k, make_page(Kind::random, 5000 + k)), 0);
	for (unsigned long j = 0; j < pages.size(); j++)
		ASSERT_EQ(read_ok(j), pages[j]) << j;
}

// Find the one pool chunk and damage the one object in it.  The pool hands
// out a fresh chunk's first block after the 24-byte chunk header, its data
// after the 8-byte block header (xvmalloc's layout).
TEST_F(DeviceTest, CorruptObjectReadsAsEio)
{
	create(8);
	const Bytes text = make_page(Kind::text, 11);
	ASSERT_EQ(write(6, text), 0);
	const zcx_stats s = stats();
	ASSERT_EQ(s.huge_pages, 0u);
	const auto live = host::live_page_list();
	ASSERT_EQ(live.size(), 1u);
	std::uint8_t *page = host::page_bytes(live[0]);
	std::uint16_t block_size;
	std::memcpy(&block_size, page + 24, 2);
	ASSERT_GE(block_size, s.compr_data_size) << "object not at offset 24";
	std::uint32_t owner;
	std::memcpy(&owner, page + 24 + 4, 4);
	EXPECT_EQ(owner, 6u) << "the object names its slot";

	std::memset(page + 24 + 8, 0, s.compr_data_size);
	Bytes out;
	EXPECT_EQ(read(6, &out), -ZCX_EIO);
	const host::CorruptReports reports = host::corrupt_reports();
	EXPECT_EQ(reports.count, 1u);
	EXPECT_EQ(reports.last_index, 6u);
	EXPECT_NE(reports.last_status, 0);
	EXPECT_EQ(stats().failed_reads, 1u);

	// The slot is still there and can be overwritten or discarded.
	ASSERT_EQ(write(6, text), 0);
	EXPECT_EQ(read_ok(6), text);
	EXPECT_EQ(host::corrupt_reports().count, 1u);
}

// Pages are self-describing so that a reader of a shared index can check
// whatever version it sees: the kind lives in the seed's top byte.
Bytes shared_page(unsigned long index, std::uint64_t nonce)
{
	const Kind kinds[] = {Kind::same, Kind::text, Kind::half_random,
			      Kind::random};
	const Kind kind = kinds[nonce % 4];
	const std::uint64_t seed = (std::uint64_t{static_cast<unsigned>(kind)} << 56) |
				   (std::uint64_t{index} << 32) | (nonce & 0xffffffff);
	return make_page(kind, seed);
}

bool valid_shared_page(unsigned long index, const Bytes &page)
{
	std::uint64_t word;
	if (is_same_filled(page, &word)) {
		if (word == 0)
			return true; // discarded or never written
		// make_page(Kind::same, seed) repeats seed | 1.
		return ((word >> 32) & 0xffffff) == index &&
		       page == make_page(Kind::same, word);
	}
	std::uint64_t seed;
	std::memcpy(&seed, page.data(), 8);
	if (((seed >> 32) & 0xffffff) != index)
		return false;
	const auto kind = static_cast<Kind>(seed >> 56);
	return kind <= Kind::random && page == make_page(kind, seed);
}

void DeviceTest::concurrent_io(bool compacting)
{
	constexpr unsigned kThreads = 4;
	constexpr unsigned long kPrivate = 96; // per thread
	constexpr unsigned long kShared = 16;  // everyone's
	constexpr unsigned long kShared0 = kThreads * kPrivate;
	constexpr int kOps = 6000;
	create(kShared0 + kShared);

	std::atomic<unsigned long> writes{0}, reads{0}, bad{0};
	std::atomic<bool> stop{false};
	std::vector<std::map<unsigned long, Bytes>> models(kThreads);

	auto worker = [&](unsigned t) {
		Rng rng(1000 + t);
		auto &model = models[t];
		const unsigned long base = t * kPrivate;
		auto fail = [&](const char *what, unsigned long index) {
			if (bad++ == 0)
				ADD_FAILURE() << "thread " << t << ": " << what
					      << " at index " << index;
		};
		for (int op = 0; op < kOps && !stop; op++) {
			const unsigned r = rng.range(0, 99);
			Bytes buf(kPage);
			unsigned long block;
			if (r < 30) {
				const unsigned long i = base + rng.range(0, kPrivate - 1);
				Bytes page = shared_page(i, rng.next());
				if (zcx_dev_write_page(dev_, i, page.data()))
					fail("write", i);
				writes++;
				model[i] = std::move(page);
			} else if (r < 55) {
				const unsigned long i = base + rng.range(0, kPrivate - 1);
				if (zcx_dev_read_page(dev_, i, buf.data(), &block))
					fail("read", i);
				reads++;
				auto it = model.find(i);
				if (buf != (it == model.end() ? Bytes(kPage, 0) : it->second))
					fail("private page mismatch", i);
			} else if (r < 60) {
				const unsigned long i = base + rng.range(0, kPrivate - 1);
				zcx_dev_discard_page(dev_, i);
				model.erase(i);
			} else if (r < 63) {
				// Only this thread touches its slots: no misses.
				const unsigned long i = base + rng.range(0, kPrivate - 1);
				zcx_dev_slot_free_notify(dev_, i);
				model.erase(i);
			} else if (r < 80) {
				const unsigned long i = kShared0 + rng.range(0, kShared - 1);
				if (zcx_dev_write_page(dev_, i, shared_page(i, rng.next()).data()))
					fail("shared write", i);
				writes++;
			} else if (r < 96) {
				const unsigned long i = kShared0 + rng.range(0, kShared - 1);
				if (zcx_dev_read_page(dev_, i, buf.data(), &block))
					fail("shared read", i);
				reads++;
				if (!valid_shared_page(i, buf))
					fail("torn or foreign shared page", i);
			} else if (r < 98) {
				zcx_dev_discard_page(dev_, kShared0 + rng.range(0, kShared - 1));
			} else {
				zcx_dev_slot_free_notify(dev_, kShared0 + rng.range(0, kShared - 1));
			}
			if (bad)
				stop = true;
		}
	};
	std::atomic<unsigned> running{kThreads};
	std::atomic<std::uint64_t> compacted{0}, passes{0};
	std::vector<std::thread> threads;
	for (unsigned t = 0; t < kThreads; t++)
		threads.emplace_back([&, t] { worker(t); running--; });
	std::thread compactor;
	if (compacting) {
		compactor = std::thread([&] {
			while (running) {
				compacted += zcx_dev_compact(dev_, ~zcx_u64{0});
				passes++;
			}
		});
	}
	for (auto &th : threads)
		th.join();
	if (compactor.joinable())
		compactor.join();
	ASSERT_EQ(bad.load(), 0u);
	if (compacting) {
		EXPECT_GT(passes.load(), 10u);
		EXPECT_GT(compacted.load(), 0u) << "frees left nothing to compact?";
		EXPECT_EQ(stats().pages_compacted, compacted.load());
	}

	zcx_stats s = stats();
	EXPECT_EQ(s.failed_writes + s.failed_reads, 0u);

	// Quiescent: the counters must match what the slots hold.
	Tally tally;
	for (unsigned t = 0; t < kThreads; t++) {
		for (const auto &[i, page] : models[t]) {
			ASSERT_EQ(read_ok(i), page) << i;
			tally.add(page);
		}
	}
	for (unsigned long i = kShared0; i < kShared0 + kShared; i++) {
		const Bytes page = read_ok(i);
		ASSERT_TRUE(valid_shared_page(i, page)) << i;
		std::uint64_t word;
		if (!(is_same_filled(page, &word) && word == 0))
			tally.add(page);
	}
	s = stats();
	expect_tally(s, tally);

	for (unsigned long i = 0; i < kShared0 + kShared; i++)
		zcx_dev_discard_page(dev_, i);
	s = stats();
	expect_tally(s, {});
	EXPECT_EQ(s.mem_used_total, 0u);
	EXPECT_EQ(host::live_pages(), 0u);
}

TEST_F(DeviceTest, ConcurrentReadersWritersAndDiscards) { concurrent_io(false); }

// Every object moved while its page is read, overwritten, discarded or
// freed by another thread: no read may see a torn, stale or foreign page.
TEST_F(DeviceTest, ConcurrentIoDuringCompaction) { concurrent_io(true); }

} // namespace

// Access tracking: `idle` marks by age; writeback moves eligible slots to
// backing blocks, and a write racing with it wins.
TEST_F(DeviceTest, IdleByAgeAndWriteback)
{
	create(64);
	host::set_now_seconds(1000);
	const Bytes text = make_page(Kind::text, 7);
	const Bytes noise = make_page(Kind::random, 8);
	ASSERT_EQ(write(0, text), 0);
	ASSERT_EQ(write(1, noise), 0);
	ASSERT_EQ(write(2, Bytes(kPage, 0)), 0);
	host::set_now_seconds(1100);
	ASSERT_EQ(write(3, text), 0); // young

	zcx_dev_mark_idle(dev_, 0, 50); // older than 50 s: slots 0, 1, 2
	Bytes copy(kPage);
	// Same-filled pages are never written back; young ones are not idle.
	EXPECT_EQ(zcx_dev_writeback_prepare(dev_, 2, ZCX_WB_IDLE, copy.data()), 0);
	EXPECT_EQ(zcx_dev_writeback_prepare(dev_, 3, ZCX_WB_IDLE, copy.data()), 0);
	// huge only: the random page, not the text one.
	EXPECT_EQ(zcx_dev_writeback_prepare(dev_, 0, ZCX_WB_HUGE, copy.data()), 0);
	ASSERT_EQ(zcx_dev_writeback_prepare(dev_, 1, ZCX_WB_IDLE | ZCX_WB_HUGE,
					    copy.data()), 1);
	EXPECT_EQ(copy, noise);
	// Under writeback: not offered twice.
	EXPECT_EQ(zcx_dev_writeback_prepare(dev_, 1, ZCX_WB_ANY, copy.data()), 0);
	ASSERT_EQ(zcx_dev_writeback_commit(dev_, 1, 42), 1);

	zcx_stats st;
	zcx_dev_get_stats(dev_, &st);
	EXPECT_EQ(st.huge_pages, 0u);
	EXPECT_EQ(st.orig_data_size, 4 * kPage); // written back still counts

	Bytes out(kPage);
	unsigned long block = 0;
	EXPECT_EQ(zcx_dev_read_page(dev_, 1, out.data(), &block), ZCX_READ_BACKING);
	EXPECT_EQ(block, 42u);

	// A write between prepare and commit makes the copy stale.
	ASSERT_EQ(zcx_dev_writeback_prepare(dev_, 0, ZCX_WB_IDLE, copy.data()), 1);
	EXPECT_EQ(copy, text);
	ASSERT_EQ(write(0, noise), 0);
	EXPECT_EQ(zcx_dev_writeback_commit(dev_, 0, 43), 0);
	EXPECT_EQ(read_ok(0), noise);

	// Abort leaves the slot as it was, and eligible again.
	zcx_dev_mark_idle(dev_, 1, 0);
	ASSERT_EQ(zcx_dev_writeback_prepare(dev_, 3, ZCX_WB_IDLE, copy.data()), 1);
	zcx_dev_writeback_abort(dev_, 3);
	EXPECT_EQ(read_ok(3), text);
	// Reading cleared idle: not eligible by idleness any more.
	EXPECT_EQ(zcx_dev_writeback_prepare(dev_, 3, ZCX_WB_IDLE, copy.data()), 0);

	// Overwriting a written-back slot frees its block.
	const auto before = host::backing_frees().size();
	ASSERT_EQ(write(1, text), 0);
	ASSERT_EQ(host::backing_frees().size(), before + 1);
	EXPECT_EQ(host::backing_frees().back(), 42u);
	EXPECT_EQ(read_ok(1), text);
}

// ---- recompression ----

class RecompressTest : public DeviceTest {
protected:
	// All configured secondaries unless priorities says otherwise.
	zcx_recompress_result recompress(zcx_recompress_request req)
	{
		if (!req.priorities)
			req.priorities = configured_mask_;
		req.configured = __builtin_popcount(configured_mask_);
		zcx_recompress_result out;
		std::memset(&out, 0xff, sizeof(out));
		auto page = std::make_unique<std::uint8_t[]>(kPage);
		EXPECT_EQ(zcx_dev_recompress(dev_, &req, page.get(), &out), 0);
		return out;
	}
	void configure(unsigned int priority)
	{
		host::configure_priority(streams_, priority);
		configured_mask_ |= 1u << priority;
	}
	zcx_slot_state state(unsigned long index)
	{
		zcx_slot_state st{};
		EXPECT_EQ(zcx_dev_slot_state(dev_, index, &st), 1) << index;
		return st;
	}
	unsigned int configured_mask_ = 0;
};

TEST_F(RecompressTest, SmallerFormsReadBackAndCountersFollow)
{
	configure(1);
	create(256);
	std::vector<Bytes> pages;
	for (int i = 0; i < 256; i++) {
		pages.push_back(make_page(i % 4 ? Kind::text : Kind::random, i));
		ASSERT_EQ(write(i, pages.back()), 0);
	}
	const zcx_stats before = stats();
	const zcx_recompress_result r = recompress({});
	const zcx_stats after = stats();
	EXPECT_EQ(r.tried, 256u);
	EXPECT_EQ(r.recompressed + r.incompressible, 256u);
	EXPECT_EQ(r.changed, 0u);
	EXPECT_GT(r.recompressed, 150u); // LZO1X-999 beats LZO1X-1 on text
	EXPECT_EQ(r.incompressible, before.huge_pages); // random stays raw
	EXPECT_LT(after.compr_data_size, before.compr_data_size);
	EXPECT_EQ(after.orig_data_size, before.orig_data_size);
	EXPECT_EQ(after.huge_pages, before.huge_pages);
	for (int i = 0; i < 256; i++) {
		EXPECT_EQ(read_ok(i), pages[i]) << i; // priority 1's decoder
		const zcx_slot_state st = state(i);
		EXPECT_EQ(st.recompressed || st.incompressible, true);
		EXPECT_FALSE(st.recompressed && st.incompressible);
	}
	// Nothing left to do: all are at the highest priority or marked.
	EXPECT_EQ(recompress({}).tried, 0u);
	// A rewrite is new data: priority 0, eligible again.
	ASSERT_EQ(write(1, pages[1]), 0);
	EXPECT_FALSE(state(1).recompressed);
	EXPECT_EQ(recompress({}).tried, 1u);
	EXPECT_EQ(read_ok(1), pages[1]);
}

// A reset or removal waiting for the disk (its claim, req.stop) stops a
// run before the next slot, so it waits for one page, not a whole run.
TEST_F(RecompressTest, StopsWhenAResetClaimsTheDisk)
{
	configure(1);
	create(32);
	for (int i = 0; i < 32; i++)
		ASSERT_EQ(write(i, make_page(Kind::text, i)), 0);
	unsigned char claim = 1;
	zcx_recompress_request req{};
	req.stop = &claim;
	EXPECT_EQ(recompress(req).tried, 0u);
	claim = 0;
	EXPECT_EQ(recompress(req).tried, 32u);
	for (int i = 0; i < 32; i++)
		EXPECT_EQ(read_ok(i), make_page(Kind::text, i)) << i;
}

// Issue 24, item 7.  On a machine that is never idle the policy's run is
// asked to give way before every slot; each call still tries one, so a
// pass resumed call after call gets through the disk.  With a budget, the
// plan made by the pass's first call is kept and charged by the rest.
TEST_F(RecompressTest, ARunAskedToStopAtEverySlotStillProgresses)
{
	configure(1);
	create(32);
	for (int i = 0; i < 32; i++)
		ASSERT_EQ(write(i, make_page(Kind::text, i)), 0);
	zcx_recompress_request req{};
	req.should_stop = [](void *) { return 1; };
	zcx_pp_plan plan{};
	req.plan = &plan;
	req.max_pages = 20;
	std::uint64_t tried = 0, calls = 0;
	for (zcx_recompress_result r{}; tried < 20 && calls < 64; calls++) {
		req.first = r.next;
		req.max_pages = 20 - tried;
		r = recompress(req);
		EXPECT_EQ(r.tried, 1u);
		tried += r.tried;
	}
	EXPECT_EQ(tried, 20u);
	EXPECT_EQ(calls, 20u);
	EXPECT_EQ(plan.budget, 0u);
	for (int i = 0; i < 32; i++)
		EXPECT_EQ(read_ok(i), make_page(Kind::text, i)) << i;
}

// The idle policy's run gives way (should_stop) and resumes at next;
// reads of what it recompressed are counted, and only those.
TEST_F(RecompressTest, ShouldStopResumesAndCountsReadsBack)
{
	configure(1);
	create(32);
	for (int i = 0; i < 32; i++)
		ASSERT_EQ(write(i, make_page(Kind::text, i)), 0);
	struct Ctx {
		int asked = 0, stop_after = 0;
	} ctx;
	zcx_recompress_request req{};
	req.should_stop = [](void *p) {
		auto *c = static_cast<Ctx *>(p);
		return c->asked++ >= c->stop_after ? 1 : 0;
	};
	req.ctx = &ctx;
	ctx.stop_after = 10;
	zcx_recompress_result r = recompress(req);
	// Asked from the second slot on: the first is always tried.
	EXPECT_EQ(r.tried, 11u);
	EXPECT_EQ(r.next, 11u);
	EXPECT_TRUE(r.stopped);
	EXPECT_EQ(zcx_dev_recompressed_reads(dev_), 0u);
	ctx = {};
	ctx.stop_after = 1000;
	req.first = r.next;
	r = recompress(req);
	EXPECT_EQ(r.tried, 21u);
	EXPECT_EQ(r.next, 32u);
	EXPECT_FALSE(r.stopped);
	for (int i = 0; i < 32; i++) {
		EXPECT_TRUE(state(i).recompressed) << i;
		EXPECT_EQ(read_ok(i), make_page(Kind::text, i)) << i;
	}
	EXPECT_EQ(zcx_dev_recompressed_reads(dev_), 32u);
	// A rewrite is priority 0 again: its reads are not counted.
	ASSERT_EQ(write(3, make_page(Kind::text, 99)), 0);
	EXPECT_EQ(read_ok(3), make_page(Kind::text, 99));
	EXPECT_EQ(zcx_dev_recompressed_reads(dev_), 32u);
}

TEST_F(RecompressTest, SelectsByIdleHugeThresholdAndBudget)
{
	configure(1);
	create(64);
	host::set_now_seconds(1000);
	for (int i = 0; i < 64; i++)
		ASSERT_EQ(write(i, make_page(i % 2 ? Kind::text : Kind::random, i)), 0);
	// max_pages: exactly that many tried, in index order here.
	zcx_recompress_request req{};
	req.max_pages = 5;
	EXPECT_EQ(recompress(req).tried, 5u);
	// idle: only marked slots.
	ASSERT_EQ(write(7, make_page(Kind::text, 70)), 0);
	host::set_now_seconds(1100);
	ASSERT_EQ(write(9, make_page(Kind::text, 90)), 0);
	zcx_dev_mark_idle(dev_, 0, 50); // older than 50 s: all but 9
	req = {};
	req.idle = 1;
	req.max_pages = 1000;
	zcx_recompress_result r = recompress(req);
	EXPECT_EQ(r.tried, 64u - 5u - 1u); // not the 5 done, not slot 9
	EXPECT_FALSE(state(9).recompressed || state(9).incompressible);
	// min_age (the idle policy): by access time, no mark needed.
	req = {};
	req.min_age = 10;
	EXPECT_EQ(recompress(req).tried, 0u); // slot 9 is 0 s old
	host::set_now_seconds(1111);
	EXPECT_EQ(recompress(req).tried, 1u);

	// huge and threshold on a fresh disk.
	create(64);
	for (int i = 0; i < 64; i++)
		ASSERT_EQ(write(i, make_page(i % 2 ? Kind::text : Kind::random, i)), 0);
	req = {};
	req.huge = 1;
	r = recompress(req);
	EXPECT_EQ(r.tried, 32u);
	EXPECT_EQ(r.incompressible, 32u);
	for (int i = 0; i < 64; i += 2)
		EXPECT_TRUE(state(i).incompressible && state(i).huge) << i;
	// threshold above every text object: nothing qualifies.
	req = {};
	req.threshold = 4000;
	EXPECT_EQ(recompress(req).tried, 0u);
	// threshold 1: all text pages tried, new forms below 1 byte
	// impossible: kept, neither recompressed nor marked.
	req.threshold = 1;
	r = recompress(req);
	EXPECT_EQ(r.tried, 32u);
	EXPECT_EQ(r.recompressed, 0u);
	EXPECT_EQ(r.incompressible, 0u);
}

TEST_F(RecompressTest, IncompressibleOnlyWhenEverySecondaryFailed)
{
	configure(1);
	configure(2);
	create(4);
	const Bytes noise = make_page(Kind::random, 3);
	ASSERT_EQ(write(0, noise), 0);
	zcx_recompress_request req{};
	req.priorities = 1u << 2; // priority=2 only: one of two tried
	zcx_recompress_result r = recompress(req);
	EXPECT_EQ(r.tried, 1u);
	EXPECT_EQ(r.incompressible, 0u);
	EXPECT_FALSE(state(0).incompressible);
	r = recompress({}); // both: now it is marked
	EXPECT_EQ(r.incompressible, 1u);
	EXPECT_TRUE(state(0).incompressible);
	EXPECT_EQ(read_ok(0), noise);
	// A text page ends at priority 1 (the first that shrinks it), and a
	// priority=2 run may still take it further.
	const Bytes text = make_page(Kind::text, 5);
	ASSERT_EQ(write(1, text), 0);
	r = recompress({});
	EXPECT_EQ(r.recompressed, 1u);
	EXPECT_EQ(read_ok(1), text);
}

// Writers, discards, readers and a compacting thread on the same pages
// while recompression runs over and over: every page reads back as its
// last write, and the counters add up at the end.
TEST_F(RecompressTest, ConcurrentWritersDuringRecompression)
{
	configure(1);
	configure(3);
	constexpr int kThreads = 3, kPerThread = 48;
	create(kThreads * kPerThread);
	std::atomic<bool> stop{false};
	std::vector<std::vector<Bytes>> last(kThreads,
					     std::vector<Bytes>(kPerThread, Bytes(kPage, 0)));
	std::vector<std::thread> threads;
	std::atomic<std::uint64_t> runs{0}, recompressed{0}, changed{0};
	for (int t = 0; t < kThreads; t++) {
		threads.emplace_back([&, t] {
			test::Rng rng(100 + t);
			// Until several whole runs have met them, however slow.
			for (int round = 0; round < 600 || runs.load() < 3; round++) {
				const int slot = rng.next() % kPerThread;
				const unsigned long index = t * kPerThread + slot;
				switch (rng.next() % 4) {
				case 0:
				case 1: {
					const Kind k = rng.next() % 3 ? Kind::text
								     : Kind::random;
					last[t][slot] = make_page(k, rng.next());
					ASSERT_EQ(write(index, last[t][slot]), 0);
					break;
				}
				case 2:
					zcx_dev_discard_page(dev_, index);
					last[t][slot] = Bytes(kPage, 0);
					break;
				default:
					ASSERT_EQ(read_ok(index), last[t][slot]) << index;
				}
			}
		});
	}
	std::thread recompressor([&] {
		while (!stop.load()) {
			const zcx_recompress_result r = recompress({});
			recompressed += r.recompressed;
			changed += r.changed;
			runs++;
		}
	});
	std::thread compactor([&] {
		while (!stop.load())
			zcx_dev_compact(dev_, ~0ull);
	});
	for (auto &th : threads)
		th.join();
	stop = true;
	recompressor.join();
	compactor.join();
	EXPECT_GE(runs.load(), 3u);
	EXPECT_GT(recompressed.load(), 0u);
	std::uint64_t stored = 0;
	for (int t = 0; t < kThreads; t++) {
		for (int s = 0; s < kPerThread; s++) {
			EXPECT_EQ(read_ok(t * kPerThread + s), last[t][s]);
			stored += last[t][s] != Bytes(kPage, 0);
		}
	}
	// Every stored page, whatever its form, is counted once.
	const zcx_stats s = stats();
	EXPECT_LE(s.orig_data_size, kThreads * kPerThread * kPage);
	EXPECT_GE(s.orig_data_size, stored * kPage);
	std::printf("  %llu runs, %llu recompressed, %llu left as changed meanwhile\n",
		    (unsigned long long)runs.load(),
		    (unsigned long long)recompressed.load(),
		    (unsigned long long)changed.load());
}

namespace {

// Stored bytes of a page, as the device must store it (huge: a page).
std::uint32_t stored_size(const Bytes &page)
{
	return static_cast<std::uint32_t>(expected_storage(page).compr_bytes);
}

zcx_pp_filter filter_of(int mode, unsigned int min_age = 0,
			unsigned int min_size = 0, std::uint64_t lo = 0,
			std::uint64_t hi = ~0ULL)
{
	return zcx_pp_filter{mode, min_age, min_size, lo, hi};
}

} // namespace

// Largest objects first (postprocess.hpp): a budget of N takes N slots,
// and no slot left behind is in a larger 64-byte bucket than one taken;
// in index order the same budget takes the first N eligible slots; with
// no budget every eligible slot.  Each run is checked against sizes
// computed independently (liblzo2).
TEST_F(DeviceTest, PostprocessTakesLargestFirstWithinBudget)
{
	constexpr unsigned long kPages = 300;
	create(kPages);
	std::vector<std::uint32_t> size(kPages, 0);
	std::vector<bool> eligible(kPages, false);
	std::vector<Bytes> pages;
	Rng rng(12);
	for (unsigned long i = 0; i < kPages; i++) {
		const auto pick = rng.range(0, 9);
		const Kind kind = pick == 0 ? Kind::zero :
				  pick == 1 ? Kind::random :
				  pick < 5 ? Kind::text : Kind::half_random;
		const Bytes page = make_page(kind, 1000 + i);
		ASSERT_EQ(write(i, page), 0);
		pages.push_back(page);
		const Expected e = expected_storage(page);
		eligible[i] = e.kind != Expected::same;
		size[i] = stored_size(page);
	}
	zcx_dev_mark_idle(dev_, 1, 0);
	const std::uint64_t n_eligible =
		std::count(eligible.begin(), eligible.end(), true);
	ASSERT_GT(n_eligible, 200u);

	// Walks the disk as zram_writeback_run does; aborts what it took.
	auto run = [&](std::uint64_t budget, bool largest_first,
		       const zcx_pp_filter &f) {
		zcx_pp_plan plan;
		zcx_dev_pp_plan(dev_, &f, budget, largest_first, &plan);
		std::vector<unsigned long> taken;
		Bytes copy(kPage);
		for (unsigned long i = 0; i < kPages; i++) {
			const int r = zcx_dev_writeback_prepare_pp(
				dev_, i, &f, &plan, copy.data(), 0, nullptr);
			EXPECT_GE(r, 0);
			if (r == 1) {
				// (Not read_ok: a read clears idle.)
				EXPECT_EQ(copy, pages[i]) << i;
				taken.push_back(i);
			}
		}
		for (unsigned long i : taken)
			zcx_dev_writeback_abort(dev_, i);
		if (f.mode == ZCX_WB_IDLE && f.lo == 0)
			EXPECT_EQ(plan.eligible, n_eligible);
		return taken;
	};
	const zcx_pp_filter idle = filter_of(ZCX_WB_IDLE);

	for (std::uint64_t budget : {1ULL, 7ULL, 50ULL, 150ULL}) {
		SCOPED_TRACE(budget);
		const auto taken = run(budget, true, idle);
		ASSERT_EQ(taken.size(), budget);
		unsigned int min_taken = ~0u, max_left = 0;
		std::uint64_t bytes = 0;
		std::vector<bool> is_taken(kPages, false);
		for (unsigned long i : taken) {
			ASSERT_TRUE(eligible[i]);
			is_taken[i] = true;
			min_taken = std::min(min_taken, size[i] >> 6);
			bytes += size[i];
		}
		for (unsigned long i = 0; i < kPages; i++)
			if (eligible[i] && !is_taken[i])
				max_left = std::max(max_left, size[i] >> 6);
		EXPECT_GE(min_taken, max_left);

		// Index order: the first `budget` eligible slots, fewer bytes.
		const auto in_order = run(budget, false, idle);
		ASSERT_EQ(in_order.size(), budget);
		std::uint64_t order_bytes = 0;
		unsigned long expect = 0;
		for (unsigned long i : in_order) {
			while (!eligible[expect])
				expect++;
			EXPECT_EQ(i, expect++);
			order_bytes += size[i];
		}
		EXPECT_GE(bytes, order_bytes);
	}
	// No budget, or a budget above the eligible count: everything.
	EXPECT_EQ(run(0, true, idle).size(), n_eligible);
	EXPECT_EQ(run(n_eligible + 5, true, idle).size(), n_eligible);

	// The range, size and huge filters.
	const auto ranged = run(0, true, filter_of(ZCX_WB_ANY, 0, 0, 10, 20));
	EXPECT_EQ(ranged.size(),
		  std::count(eligible.begin() + 10, eligible.begin() + 20, true));
	for (unsigned long i : ranged)
		EXPECT_TRUE(i >= 10 && i < 20);
	for (unsigned long i : run(0, true, filter_of(ZCX_WB_ANY, 0, 2000)))
		EXPECT_GE(size[i], 2000u);
	for (unsigned long i : run(0, true, filter_of(ZCX_WB_HUGE)))
		EXPECT_EQ(size[i], kPage);
	// Nothing is flagged incompressible without recompression.
	EXPECT_TRUE(run(0, true, filter_of(ZCX_WB_INCOMPRESSIBLE)).empty());
}

// min_age: only slots not accessed for that many seconds; a read is an
// access.  The worker's filter, so tested here rather than in the VM.
TEST_F(DeviceTest, PostprocessMinAge)
{
	create(8);
	host::set_now_seconds(5000);
	for (unsigned long i = 0; i < 4; i++)
		ASSERT_EQ(write(i, make_page(Kind::text, i + 1)), 0);
	host::set_now_seconds(5100);
	for (unsigned long i = 4; i < 8; i++)
		ASSERT_EQ(write(i, make_page(Kind::text, i + 1)), 0);
	host::set_now_seconds(5130);
	read_ok(1); // touched: young again

	auto taken_with_age = [&](unsigned int age) {
		const zcx_pp_filter f = filter_of(ZCX_WB_ANY, age);
		zcx_pp_plan plan;
		zcx_dev_pp_plan(dev_, &f, 0, true, &plan);
		std::vector<unsigned long> taken;
		Bytes copy(kPage);
		for (unsigned long i = 0; i < 8; i++)
			if (zcx_dev_writeback_prepare_pp(dev_, i, &f, &plan,
							 copy.data(), 0, nullptr) == 1)
				taken.push_back(i);
		EXPECT_EQ(plan.eligible, taken.size());
		for (unsigned long i : taken)
			zcx_dev_writeback_abort(dev_, i);
		return taken;
	};
	EXPECT_EQ(taken_with_age(0).size(), 8u);
	using V = std::vector<unsigned long>;
	EXPECT_EQ(taken_with_age(1), (V{0, 2, 3, 4, 5, 6, 7}));
	EXPECT_EQ(taken_with_age(30), (V{0, 2, 3, 4, 5, 6, 7}));
	EXPECT_EQ(taken_with_age(31), (V{0, 2, 3}));
	EXPECT_EQ(taken_with_age(130), (V{0, 2, 3}));
	EXPECT_TRUE(taken_with_age(131).empty());
	host::set_now_seconds(1000); // leave the clock as other tests expect
}

// compressed_writeback: the object goes to the block as it is, reads
// decompress it, and the stats no longer count it in memory.
TEST_F(DeviceTest, CompressedWritebackRoundTrip)
{
	create(8);
	const Bytes text = make_page(Kind::text, 21);
	const Bytes noise = make_page(Kind::random, 22);
	ASSERT_EQ(write(0, text), 0);
	ASSERT_EQ(write(1, noise), 0);
	const Bytes lzo = lzo_compress(text.data(), kPage);
	ASSERT_LT(lzo.size(), kHugeThreshold);
	EXPECT_EQ(stats().compr_data_size, lzo.size() + kPage);

	zcx_dev_mark_idle(dev_, 1, 0);
	const zcx_pp_filter f = filter_of(ZCX_WB_IDLE);
	zcx_pp_plan plan;
	zcx_dev_pp_plan(dev_, &f, 0, 1, &plan);
	Bytes block(kPage, 0xee);
	unsigned int len = 0;
	ASSERT_EQ(zcx_dev_writeback_prepare_pp(dev_, 0, &f, &plan, block.data(), 1, &len), 1);
	ASSERT_EQ(len, lzo.size());
	EXPECT_TRUE(std::equal(lzo.begin(), lzo.end(), block.begin()));
	EXPECT_TRUE(std::all_of(block.begin() + len, block.end(),
				[](std::uint8_t b) { return b == 0; }));
	const Bytes object = block; // the block's contents on the device
	ASSERT_EQ(zcx_dev_writeback_commit_len(dev_, 0, 7, len), 1);
	EXPECT_EQ(stats().compr_data_size, kPage); // only the huge page left
	EXPECT_EQ(stats().orig_data_size, 2 * kPage);

	Bytes out(kPage);
	zcx_backing_ref ref{};
	const unsigned long begun = host::backing_reads();
	ASSERT_EQ(zcx_dev_read_page_ref(dev_, 0, out.data(), &ref), ZCX_READ_BACKING_COMPRESSED);
	EXPECT_EQ(ref.block, 7u);
	EXPECT_EQ(ref.size, lzo.size());
	EXPECT_EQ(ref.priority, 0u);
	EXPECT_EQ(host::backing_reads(), begun + 1);
	ASSERT_EQ(zcx_dev_decompress_backing(dev_, 0, &ref, block.data(), out.data()), 0);
	EXPECT_EQ(out, text);
	// A block that is not the object: EIO, counted once.
	Bytes junk = make_page(Kind::random, 23);
	EXPECT_EQ(zcx_dev_decompress_backing(dev_, 0, &ref, junk.data(), out.data()), -ZCX_EIO);
	EXPECT_EQ(stats().failed_reads, 1u);
	EXPECT_EQ(host::corrupt_reports().count, 1u);
	EXPECT_EQ(host::corrupt_reports().last_index, 0u);

	// A huge page goes raw even in compressed mode, and reads as before.
	ASSERT_EQ(zcx_dev_writeback_prepare_pp(dev_, 1, &f, &plan, block.data(), 1, &len), 1);
	EXPECT_EQ(len, kPage);
	EXPECT_EQ(block, noise);
	ASSERT_EQ(zcx_dev_writeback_commit_len(dev_, 1, 9, len), 1);
	ASSERT_EQ(zcx_dev_read_page_ref(dev_, 1, out.data(), &ref), ZCX_READ_BACKING);
	EXPECT_EQ(ref.block, 9u);
	EXPECT_EQ(ref.size, 0u);
	EXPECT_EQ(stats().compr_data_size, 0u);

	// Overwritten after the block was handed out: the block is freed,
	// and the late read still decompresses what ref names (the C layer
	// keeps the block from reuse until the read ends).
	ASSERT_EQ(zcx_dev_read_page_ref(dev_, 0, out.data(), &ref), ZCX_READ_BACKING_COMPRESSED);
	ASSERT_EQ(write(0, noise), 0);
	EXPECT_EQ(host::backing_frees().back(), 7u);
	ASSERT_EQ(zcx_dev_decompress_backing(dev_, 0, &ref, object.data(), out.data()), 0);
	EXPECT_EQ(out, text);
	EXPECT_EQ(read_ok(0), noise);
	EXPECT_EQ(stats().failed_reads, 1u);
}

// Issue 17 item 4, with the core's block allocator (zcx_blocks, issue 24
// item 8): a block freed while reads of it are in flight goes to no other
// page until they are over.  One thread reads page 0 over and over, taking
// its time between the hand-out and the block read; another writes page 0
// back, discards or rewrites it and writes page 1 back, so page 1 lands in
// the block page 0 just left whenever the allocator lets it.  Every block
// read for page 0 must hold page 0's stamp, never page 1's; and with the
// reads never all over at once, writeback still always finds a block.
TEST_F(DeviceTest, BackingReadNeverSeesAnotherPagesBlock)
{
	create(4);
	constexpr unsigned long kBlocks = 4;
	zcx_blocks *blocks;
	ASSERT_EQ(zcx_blocks_create(kBlocks, &blocks), 0);
	std::atomic<unsigned long> stamp[kBlocks];
	for (auto &b : stamp)
		b = ~0ul;
	std::atomic<unsigned long> nospace{0};
	host::set_backing_hooks({
		[&](unsigned long block) {
			EXPECT_EQ(zcx_blocks_free(blocks, block), 0);
		},
		[&](unsigned long) { return zcx_blocks_read_begin(blocks); },
	});
	auto alloc = [&]() -> unsigned long {
		unsigned long b;
		int r;
		while ((r = zcx_blocks_alloc(blocks, &b)) == -ZCX_EBUSY)
			std::this_thread::yield(); // the reads end
		if (r) {
			nospace++;
			return ~0ul;
		}
		return b;
	};
	// Writes page index back into a fresh block stamped with its index.
	auto write_back = [&](unsigned long index) {
		Bytes copy(kPage);
		if (zcx_dev_writeback_prepare(dev_, index, ZCX_WB_ANY, copy.data()) != 1)
			return;
		const unsigned long b = alloc();
		if (b == ~0ul) {
			zcx_dev_writeback_abort(dev_, index);
			return;
		}
		stamp[b] = index;
		if (!zcx_dev_writeback_commit(dev_, index, b))
			EXPECT_EQ(zcx_blocks_put_unused(blocks, b), 0);
	};

	const Bytes page0 = make_page(Kind::text, 31);
	const Bytes page1 = make_page(Kind::text, 32);
	std::atomic<bool> stop{false};
	std::atomic<unsigned long> backing_reads{0}, wrong{0};
	std::thread reader([&] {
		Bytes out(kPage);
		while (!stop.load()) {
			zcx_backing_ref ref{};
			const int r = zcx_dev_read_page_ref(dev_, 0, out.data(), &ref);
			if (r != ZCX_READ_BACKING)
				continue;
			std::this_thread::yield(); // the block I/O
			if (stamp[ref.block].load() != 0)
				wrong++;
			zcx_blocks_read_end(blocks, ref.read_tag, 1);
			backing_reads++;
		}
	});
	for (int round = 0; round < 1500; round++) {
		ASSERT_EQ(write(0, page0), 0);
		ASSERT_EQ(write(1, page1), 0);
		write_back(0);
		std::this_thread::yield();
		if (round & 1)
			zcx_dev_discard_page(dev_, 0);
		else
			ASSERT_EQ(write(0, page1), 0);
		write_back(1);
		zcx_dev_discard_page(dev_, 1);
	}
	stop = true;
	reader.join();
	zcx_dev_discard_range(dev_, 0, 4);
	host::set_backing_hooks({});
	EXPECT_EQ(wrong.load(), 0u);
	EXPECT_EQ(nospace.load(), 0u);
	EXPECT_GT(backing_reads.load(), 0u);
	zcx_blocks_stats bs;
	zcx_blocks_get_stats(blocks, &bs);
	EXPECT_EQ(bs.held, 0u);
	std::printf("backing reads %lu, blocks deferred %llu\n",
		    backing_reads.load(), (unsigned long long)bs.deferrals);
	zcx_blocks_destroy(blocks);
}

// A recompress budget goes to the largest objects first (upstream 6.13):
// with half the pages raw (4 KiB) and half text, ten tries are all raw.
TEST_F(RecompressTest, BudgetTakesLargestObjectsFirst)
{
	configure(1);
	create(64);
	for (int i = 0; i < 64; i++)
		ASSERT_EQ(write(i, make_page(i % 2 ? Kind::text : Kind::random, i)), 0);
	zcx_recompress_request req{};
	req.max_pages = 10;
	const zcx_recompress_result r = recompress(req);
	EXPECT_EQ(r.tried, 10u);
	int huge_tried = 0, text_tried = 0;
	for (int i = 0; i < 64; i++) {
		const zcx_slot_state st = state(i);
		const bool tried = st.recompressed || st.incompressible;
		(i % 2 ? text_tried : huge_tried) += tried;
	}
	EXPECT_EQ(huge_tried, 10);
	EXPECT_EQ(text_tried, 0);
}

// discard_range (discard and write-zeroes bios) empties exactly its pages,
// up to and including the disk's last page, and clips past it.
TEST_F(DeviceTest, DiscardRangeTakesExactlyItsPagesToTheLastOne)
{
	create(64);
	for (unsigned long i = 0; i < 64; i++)
		ASSERT_EQ(write(i, test::make_page(test::Kind::text, i)), 0);
	zcx_dev_discard_range(dev_, 60, 4);
	zcx_dev_discard_range(dev_, 10, 2);
	zcx_dev_discard_range(dev_, 64, 8);	// wholly past the end: nothing
	for (unsigned long i = 0; i < 64; i++) {
		const bool gone = i >= 60 || i == 10 || i == 11;
		EXPECT_EQ(read_ok(i), gone ? Bytes(kPage, 0) : test::make_page(test::Kind::text, i)) << i;
	}
	EXPECT_EQ(stats().orig_data_size, 58 * kPage);
	zcx_dev_discard_range(dev_, 62, ~0ULL);	// clipped, not wrapped
	EXPECT_EQ(stats().orig_data_size, 58 * kPage);
	zcx_dev_discard_range(dev_, 0, ~0ULL);
	EXPECT_EQ(stats().orig_data_size, 0u);
}
