// SPDX-License-Identifier: GPL-2.0
// The host platform itself: the other suites lean on its rule checks, so
// make sure they fire.
#include "test_util.hpp"

#include <cstdint>

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
