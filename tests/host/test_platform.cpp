// SPDX-License-Identifier: GPL-2.0
// The host platform itself: the other suites lean on its rule checks, so
// make sure they fire.
#include "test_util.hpp"

#include <cstdint>
#include <cstring>
#include <thread>

namespace {

using test::HostTest;

using PlatformTest = HostTest;
using PlatformDeathTest = HostTest;

TEST_F(PlatformTest, PagesAreAlignedAndNamedByPfn)
{
	zcx_page *page = zcx_page_alloc(ZCX_GFP_NOIO);
	ASSERT_NE(page, nullptr);
	const auto addr = reinterpret_cast<std::uintptr_t>(page);
	EXPECT_EQ(addr % ZCX_PAGE_SIZE, 0u);
	EXPECT_EQ(zcx_page_to_pfn(page), addr >> ZCX_PAGE_SHIFT);
	EXPECT_EQ(zcx_pfn_to_page(zcx_page_to_pfn(page)), page);
	EXPECT_EQ(host::live_pages(), 1u);
	void *map = zcx_kmap_local(page);
	EXPECT_EQ(host::kmap_depth(), 1);
	zcx_kunmap_local(static_cast<char *>(map) + 100); // any address inside
	EXPECT_EQ(host::kmap_depth(), 0);
	zcx_page_free(page);
	EXPECT_EQ(host::live_pages(), 0u);
}

TEST_F(PlatformTest, InjectedFailuresArePerGfpAndCounted)
{
	host::fail_page_alloc(ZCX_GFP_NOWAIT, 2);
	EXPECT_EQ(zcx_page_alloc(ZCX_GFP_NOWAIT), nullptr);
	zcx_page *noio = zcx_page_alloc(ZCX_GFP_NOIO);
	EXPECT_NE(noio, nullptr);
	EXPECT_EQ(zcx_page_alloc(ZCX_GFP_NOWAIT), nullptr);
	zcx_page *nowait = zcx_page_alloc(ZCX_GFP_NOWAIT);
	EXPECT_NE(nowait, nullptr);
	EXPECT_EQ(host::page_allocs(ZCX_GFP_NOWAIT), 1u);
	EXPECT_EQ(host::page_allocs(ZCX_GFP_NOIO), 1u);

	host::set_page_cap(2);
	EXPECT_EQ(zcx_page_alloc(ZCX_GFP_KERNEL), nullptr);
	zcx_page_free(noio);
	zcx_page_free(nowait);

	host::fail_kzalloc(ZCX_GFP_KERNEL, host::kForever);
	EXPECT_EQ(zcx_kzalloc(8, ZCX_GFP_KERNEL), nullptr);
	EXPECT_EQ(zcx_kzalloc(8, ZCX_GFP_KERNEL), nullptr);
	void *p = zcx_kzalloc(8, ZCX_GFP_NOIO);
	ASSERT_NE(p, nullptr);
	EXPECT_EQ(static_cast<unsigned char *>(p)[7], 0);
	zcx_kfree(p);
}

TEST_F(PlatformTest, NonSleepingCallsAreFineInAtomicContext)
{
	zcx_preempt_disable();
	zcx_page *page = zcx_page_alloc(ZCX_GFP_NOWAIT);
	void *p = zcx_kzalloc(16, ZCX_GFP_NOWAIT);
	zcx_kfree(p);
	zcx_page_free(page);
	zcx_preempt_enable();
	EXPECT_NE(page, nullptr);
}

TEST_F(PlatformTest, BitLockDisablesPreemption)
{
	unsigned long word = 0x5;
	zcx_bit_lock(9, &word);
	EXPECT_EQ(host::preempt_depth(), 1);
	EXPECT_EQ(word, 0x5ul | 1ul << 9);
	EXPECT_EQ(zcx_bit_trylock(9, &word), 0);
	EXPECT_EQ(host::preempt_depth(), 1);
	zcx_bit_unlock(9, &word);
	EXPECT_EQ(word, 0x5ul);
	EXPECT_EQ(host::preempt_depth(), 0);
	EXPECT_EQ(host::last_bit_lock_word(), &word);
	EXPECT_EQ(host::last_bit_lock_bit(), 9u);
}

TEST_F(PlatformTest, LzoRoundTrip)
{
	const test::Bytes page = test::make_page(test::Kind::text, 1);
	test::Bytes packed(ZCX_STREAM_BUFFER_SIZE);
	test::Bytes wrkmem(LZO1X_1_MEM_COMPRESS);
	zcx_stream stream{packed.data(), wrkmem.data()};
	zcx_size_t len = packed.size();
	ASSERT_EQ(zcx_compress(nullptr, 0, &stream, page.data(), &len), 0);
	test::Bytes out(ZCX_PAGE_SIZE);
	zcx_size_t out_len = out.size();
	ASSERT_EQ(zcx_decompress(nullptr, 0, packed.data(), len, out.data(),
				 &out_len),
		  0);
	EXPECT_EQ(out_len, ZCX_PAGE_SIZE);
	EXPECT_EQ(out, page);
}

// A group as the core gathers one: 16 neighbouring pages, mostly text
// that repeats across pages, one half random.
test::Bytes make_group()
{
	test::Bytes group;
	for (unsigned i = 0; i < ZCX_GROUP_MAX_PAGES; i++) {
		const test::Bytes page = test::make_page(
			i == 5 ? test::Kind::half_random : test::Kind::text,
			100 + i);
		group.insert(group.end(), page.begin(), page.end());
	}
	return group;
}

// Both host algorithms: LZO1X-1 at priority 0, LZO1X-999 (keyed) above.
class GroupCodecTest : public HostTest,
		       public ::testing::WithParamInterface<unsigned int> {
};

TEST_P(GroupCodecTest, GroupRoundTripsThroughZcxDecompress)
{
	const unsigned int priority = GetParam();
	zcx_host *disk = host::streams_create();
	if (priority)
		host::configure_priority(disk, priority);
	const test::Bytes group = make_group();
	ASSERT_EQ(group.size(), ZCX_GROUP_MAX_BYTES);

	zcx_group_codec *codec =
		zcx_group_codec_create(disk, priority, ZCX_GROUP_MAX_BYTES);
	ASSERT_NE(codec, nullptr);
	test::Bytes packed(ZCX_GROUP_COMPRESS_BOUND);
	zcx_size_t len = packed.size();
	ASSERT_EQ(zcx_group_compress(disk, codec, group.data(), group.size(),
				     packed.data(), &len),
		  0);
	// The point of groups: denser than its pages one by one.
	zcx_size_t pages_len = 0;
	for (unsigned i = 0; i < ZCX_GROUP_MAX_PAGES; i++) {
		zcx_stream *stream = zcx_stream_get(disk, priority);
		zcx_size_t one = ZCX_STREAM_BUFFER_SIZE;
		ASSERT_EQ(zcx_compress(disk, priority, stream,
				       &group[i * ZCX_PAGE_SIZE], &one),
			  0);
		zcx_stream_put(disk);
		pages_len += one;
	}
	EXPECT_LT(len, pages_len);

	// Exact sizes: ASan sees any write past them.
	test::Bytes in(packed.begin(), packed.begin() + len);
	test::Bytes out(ZCX_GROUP_MAX_BYTES);
	zcx_size_t out_len = out.size();
	ASSERT_EQ(zcx_decompress(disk, priority, in.data(), in.size(),
				 out.data(), &out_len),
		  0);
	EXPECT_EQ(out_len, ZCX_GROUP_MAX_BYTES);
	EXPECT_EQ(out, group);

	// One page short: fails, and writes nothing beyond.
	test::Bytes small(ZCX_GROUP_MAX_BYTES - ZCX_PAGE_SIZE);
	zcx_size_t small_len = small.size();
	EXPECT_NE(zcx_decompress(disk, priority, in.data(), in.size(),
				 small.data(), &small_len),
		  0);
	zcx_group_codec_destroy(disk, codec);
	host::streams_destroy(disk);
}

TEST_P(GroupCodecTest, TooSmallRoomOrTooMuchInputFailsCleanly)
{
	const unsigned int priority = GetParam();
	zcx_host *disk = host::streams_create();
	if (priority)
		host::configure_priority(disk, priority);
	const test::Bytes group = make_group();
	zcx_group_codec *codec =
		zcx_group_codec_create(disk, priority, 4 * ZCX_PAGE_SIZE);
	ASSERT_NE(codec, nullptr);

	// Less than the worst case: refused before LZO, which never checks.
	test::Bytes packed(4 * ZCX_PAGE_SIZE, 0x5a);
	zcx_size_t len = packed.size();
	EXPECT_LT(zcx_group_compress(disk, codec, group.data(),
				     4 * ZCX_PAGE_SIZE, packed.data(), &len),
		  0);
	EXPECT_EQ(len, packed.size());
	EXPECT_EQ(packed, test::Bytes(packed.size(), 0x5a));

	// More than the codec was made for.  (The hook runs first, where
	// the core holds no lock.)
	int hooked = 0;
	host::set_group_compress_hook([&] {
		EXPECT_EQ(host::preempt_depth(), 0);
		hooked++;
	});
	test::Bytes room(ZCX_GROUP_COMPRESS_BOUND);
	len = room.size();
	EXPECT_EQ(zcx_group_compress(disk, codec, group.data(),
				     8 * ZCX_PAGE_SIZE, room.data(), &len),
		  -ZCX_EINVAL);
	// What it was made for works.
	len = room.size();
	EXPECT_EQ(zcx_group_compress(disk, codec, group.data(),
				     4 * ZCX_PAGE_SIZE, room.data(), &len),
		  0);
	host::set_group_compress_hook(nullptr);
	EXPECT_EQ(hooked, 2);
	zcx_group_codec_destroy(disk, codec);
	host::streams_destroy(disk);
}

INSTANTIATE_TEST_SUITE_P(Priorities, GroupCodecTest, ::testing::Values(0u, 2u));

TEST_F(PlatformTest, GroupDecodedWithAnotherPriorityFails)
{
	zcx_host *disk = host::streams_create();
	host::configure_priority(disk, 1);
	host::configure_priority(disk, 2);
	const test::Bytes group = make_group();
	zcx_group_codec *codec =
		zcx_group_codec_create(disk, 1, ZCX_GROUP_MAX_BYTES);
	ASSERT_NE(codec, nullptr);
	test::Bytes packed(ZCX_GROUP_COMPRESS_BOUND);
	zcx_size_t len = packed.size();
	ASSERT_EQ(zcx_group_compress(disk, codec, group.data(), group.size(),
				     packed.data(), &len),
		  0);
	zcx_group_codec_destroy(disk, codec);
	test::Bytes out(ZCX_GROUP_MAX_BYTES);
	zcx_size_t out_len = out.size();
	const int rc = zcx_decompress(disk, 2, packed.data(), len, out.data(),
				      &out_len);
	EXPECT_TRUE(rc != 0 || out != group);
	host::streams_destroy(disk);
}

TEST_F(PlatformTest, GroupBuffersArePerThreadAndDisablePreemption)
{
	zcx_host *disk = host::streams_create();
	host::fail_group_buffers_prepare(1);
	EXPECT_EQ(zcx_group_buffers_prepare(disk), -ZCX_ENOMEM);
	EXPECT_FALSE(host::group_buffers_prepared(disk));
	ASSERT_EQ(zcx_group_buffers_prepare(disk), 0);
	ASSERT_EQ(zcx_group_buffers_prepare(disk), 0); // idempotent

	zcx_group_buffers *b = zcx_group_buffers_get(disk);
	EXPECT_EQ(host::preempt_depth(), 1);
	ASSERT_NE(b->packed, nullptr);
	for (unsigned int e = 0; e < ZCX_GROUP_CACHED; e++) {
		ASSERT_NE(b->plain[e], nullptr);
		EXPECT_EQ(b->cached_handle[e], 0u);
		EXPECT_EQ(b->cached_stamp[e], 0u);
		std::memset(b->plain[e], 2, ZCX_GROUP_MAX_BYTES);
	}
	EXPECT_NE(b->plain[0], b->plain[1]);
	std::memset(b->packed, 1, ZCX_GROUP_MAX_BYTES);
	b->cached_handle[1] = 42;
	zcx_group_buffers_put(disk);
	EXPECT_EQ(host::preempt_depth(), 0);

	// This "CPU" gets them back, cache and all; another has its own.
	zcx_group_buffers *again = zcx_group_buffers_get(disk);
	EXPECT_EQ(again, b);
	EXPECT_EQ(again->cached_handle[1], 42u);
	zcx_group_buffers_put(disk);
	zcx_group_buffers *other = nullptr;
	std::thread([&] {
		other = zcx_group_buffers_get(disk);
		EXPECT_EQ(other->cached_handle[1], 0u);
		zcx_group_buffers_put(disk);
	}).join();
	EXPECT_NE(other, b);
	host::streams_destroy(disk);
}

TEST_F(PlatformTest, GroupCodecCreationFailureIsInjectable)
{
	host::fail_group_codec_create(1);
	EXPECT_EQ(zcx_group_codec_create(nullptr, 0, ZCX_PAGE_SIZE), nullptr);
	zcx_group_codec *codec =
		zcx_group_codec_create(nullptr, 0, ZCX_PAGE_SIZE);
	ASSERT_NE(codec, nullptr);
	EXPECT_EQ(host::live_group_codecs(), 1u);
	zcx_group_codec_destroy(nullptr, codec);
}

TEST_F(PlatformDeathTest, GroupMisuseAborts)
{
	EXPECT_DEATH(
		{
			zcx_host *disk = host::streams_create();
			zcx_group_buffers_get(disk);
		},
		"before zcx_group_buffers_prepare");
	EXPECT_DEATH(
		{
			zcx_host *disk = host::streams_create();
			zcx_group_buffers_prepare(disk);
			zcx_group_buffers_get(disk);
			zcx_page_alloc(ZCX_GFP_NOIO);
		},
		"may sleep but runs in atomic context");
	EXPECT_DEATH(
		{
			zcx_host *disk = host::streams_create();
			zcx_group_buffers_prepare(disk);
			zcx_group_buffers_get(disk);
			zcx_group_buffers_get(disk);
		},
		"twice on one CPU");
	EXPECT_DEATH(
		{
			zcx_host *disk = host::streams_create();
			zcx_group_buffers_put(disk);
		},
		"without zcx_group_buffers_get");
	EXPECT_DEATH(
		{
			zcx_group_codec *codec = zcx_group_codec_create(
				nullptr, 0, ZCX_GROUP_MAX_BYTES);
			test::Bytes src(ZCX_PAGE_SIZE);
			test::Bytes dst(ZCX_PAGE_SIZE * 2);
			zcx_size_t len = dst.size();
			unsigned long word = 0;
			zcx_bit_lock(0, &word);
			zcx_group_compress(nullptr, codec, src.data(),
					   src.size(), dst.data(), &len);
		},
		"zcx_group_compress in atomic context");
	EXPECT_DEATH(zcx_group_codec_create(nullptr, 1, ZCX_PAGE_SIZE),
		     "not configured");
}

TEST_F(PlatformDeathTest, SleepingAllocationInAtomicContextAborts)
{
	EXPECT_DEATH(
		{
			zcx_preempt_disable();
			zcx_page_alloc(ZCX_GFP_NOIO);
		},
		"may sleep but runs in atomic context");
	EXPECT_DEATH(
		{
			zcx_spinlock *lock = zcx_spinlock_create();
			zcx_spin_lock(lock);
			zcx_kzalloc(8, ZCX_GFP_KERNEL);
		},
		"1 spinlock\\(s\\)");
	EXPECT_DEATH(
		{
			unsigned long word = 0;
			zcx_bit_lock(3, &word);
			zcx_vzalloc(64);
		},
		"1 bit lock\\(s\\)");
}

TEST_F(PlatformDeathTest, MisuseAborts)
{
	EXPECT_DEATH(zcx_preempt_enable(), "without preempt_disable");
	EXPECT_DEATH(
		{
			zcx_page *page = zcx_page_alloc(ZCX_GFP_NOIO);
			zcx_page_free(page);
			zcx_page_free(page);
		},
		"not a live page");
	EXPECT_DEATH(
		{
			zcx_page *a = zcx_page_alloc(ZCX_GFP_NOIO);
			zcx_page *b = zcx_page_alloc(ZCX_GFP_NOIO);
			void *ma = zcx_kmap_local(a);
			zcx_kmap_local(b);
			zcx_kunmap_local(ma);
		},
		"out of order");
	EXPECT_DEATH(
		{
			zcx_page *a = zcx_page_alloc(ZCX_GFP_NOIO);
			for (int i = 0; i < 16; i++)
				zcx_kmap_local(a);
		},
		"KM_MAX_IDX");
	EXPECT_DEATH(
		{
			unsigned long word = 0;
			zcx_bit_lock(0, &word);
			zcx_bit_lock(0, &word);
		},
		"self-deadlock");
	EXPECT_DEATH(
		{
			zcx_host *streams = host::streams_create();
			zcx_stream_put(streams);
		},
		"without zcx_stream_get");
}

} // namespace
