// SPDX-License-Identifier: GPL-2.0
// Slot encoding: 16 bytes hold a kind, a stored size, a value and a lock
// bit, and must give back exactly what was put in.
#include "test_util.hpp"

#include "core/table.hpp"
#include "xvmalloc/xvmalloc.hpp"

namespace {

using zcx::Slot;
using zcx::SlotContents;
using zcx::SlotKind;
using zcx::Table;

using TableTest = test::HostTest;

static_assert(sizeof(Slot) == 16);

const char *name(SlotKind k)
{
	switch (k) {
	case SlotKind::empty: return "empty";
	case SlotKind::same: return "same";
	case SlotKind::compressed: return "compressed";
	case SlotKind::huge: return "huge";
	case SlotKind::backing: return "backing";
	case SlotKind::grouped: return "grouped";
	}
	return "?";
}

void expect_contents(const SlotContents &got, const SlotContents &want)
{
	EXPECT_EQ(got.kind, want.kind) << name(got.kind) << " vs " << name(want.kind);
	EXPECT_EQ(got.value, want.value) << name(want.kind);
	EXPECT_EQ(got.size, want.size) << name(want.kind);
}

// Values a slot must carry: small, all bits, and handles built from the
// largest pfns a 64-bit kernel can have.
const std::uint64_t kValues[] = {
	1,
	0x1234,
	0x8000000000000000ULL,
	~std::uint64_t{0},
	zcx::xv::make_handle((1UL << 40) - 1, zcx::xv::kMaxChunkOrder,
			     zcx::xv::kMaxChunkSize - zcx::xv::kMinAlloc),
	zcx::xv::make_handle((1UL << 48) - 1, 0, 4),
	zcx::xv::make_handle(1, 0, 0),
};

TEST_F(TableTest, RoundTripsEveryKindAndSize)
{
	Slot slot;
	for (SlotKind kind :
	     {SlotKind::same, SlotKind::compressed, SlotKind::huge}) {
		for (std::uint32_t size = 0; size <= zcx::kPageSize; size++) {
			for (std::uint64_t value : kValues) {
				const SlotContents c{kind, value, size};
				slot.set(c);
				const SlotContents got = slot.get();
				if (got.kind != c.kind || got.value != c.value ||
				    got.size != c.size) {
					expect_contents(got, c);
					FAIL() << "size " << size << " value "
					       << std::hex << value;
				}
			}
		}
	}
	// The zero page is a same-filled slot whose value is 0.
	slot.set({SlotKind::same, 0, 0});
	expect_contents(slot.get(), {SlotKind::same, 0, 0});
	slot.clear();
	expect_contents(slot.get(), {});
}

TEST_F(TableTest, EmptyDropsTheValue)
{
	Slot slot;
	slot.set({SlotKind::huge, 77, zcx::kPageSize});
	slot.set({SlotKind::empty, 1234, 0});
	expect_contents(slot.get(), {});
}

TEST_F(TableTest, KindChangesLeaveNoStaleFlags)
{
	Slot slot;
	const SlotKind kinds[] = {SlotKind::same, SlotKind::huge,
				  SlotKind::compressed, SlotKind::empty};
	for (SlotKind from : kinds) {
		for (SlotKind to : kinds) {
			slot.set({from, 0xabc000, 4096});
			const SlotContents want =
				to == SlotKind::empty
					? SlotContents{}
					: SlotContents{to, 0x5000, 17};
			slot.set(want);
			expect_contents(slot.get(), want);
		}
	}
}

TEST_F(TableTest, SetKeepsTheLockBit)
{
	Slot slot;
	ASSERT_TRUE(slot.try_lock());
	for (SlotKind kind : {SlotKind::huge, SlotKind::same,
			      SlotKind::compressed, SlotKind::empty}) {
		const SlotContents c = kind == SlotKind::empty
					       ? SlotContents{}
					       : SlotContents{kind, 0xfff000, 4096};
		slot.set(c);
		EXPECT_FALSE(slot.try_lock()) << "set() dropped the lock bit";
		expect_contents(slot.get(), c);
	}
	slot.set({SlotKind::compressed, 42, 100});
	slot.unlock();
	// And the lock bit does not leak into what get() decodes.
	expect_contents(slot.get(), {SlotKind::compressed, 42, 100});
	{
		auto guard = slot.lock();
		EXPECT_EQ(host::preempt_depth(), 1);
		expect_contents(slot.get(), {SlotKind::compressed, 42, 100});
	}
	EXPECT_TRUE(slot.try_lock());
	slot.unlock();
	EXPECT_EQ(host::preempt_depth(), 0);
}

TEST_F(TableTest, ZeroBytesAreAnEmptyUnlockedSlot)
{
	Slot slot;
	const unsigned char zeros[sizeof(Slot)] = {};
	std::memcpy(static_cast<void *>(&slot), zeros, sizeof(zeros));
	expect_contents(slot.get(), {});
	EXPECT_TRUE(slot.try_lock());
	slot.unlock();

	Table table;
	ASSERT_TRUE(table.init(1024).ok());
	EXPECT_EQ(table.size(), 1024u);
	EXPECT_EQ(host::live_vzallocs(), 1u);
	for (std::uint64_t i = 0; i < table.size(); i++) {
		expect_contents(table[i].get(), {});
		ASSERT_TRUE(table[i].try_lock()) << i;
		table[i].unlock();
	}
}

TEST_F(TableTest, InitRejectsBadSizesAndReportsNomem)
{
	{
		Table table;
		auto r = table.init(0);
		ASSERT_FALSE(r.ok());
		EXPECT_EQ(r.error(), zcx::Errc::inval);
	}
	{
		Table table;
		auto r = table.init(~std::uint64_t{0} / sizeof(Slot) + 1);
		ASSERT_FALSE(r.ok());
		EXPECT_EQ(r.error(), zcx::Errc::inval);
	}
	{
		Table table;
		host::fail_vzalloc(1);
		auto r = table.init(16);
		ASSERT_FALSE(r.ok());
		EXPECT_EQ(r.error(), zcx::Errc::nomem);
		EXPECT_EQ(table.size(), 0u);
	}
	EXPECT_EQ(host::live_vzallocs(), 0u);
}

} // namespace

// The priority of the algorithm that made an object rides in the flag
// word: set() writes it, replace() (recompression: same data, new form)
// keeps the page's access time and idle, writeback and incompressible
// state, and only set() (new data) clears them.
TEST_F(TableTest, PriorityBitsAndReplace)
{
	Slot slot;
	for (std::uint8_t p = 0; p < zcx::kMaxPriorities; p++) {
		for (std::uint32_t size : {1u, 100u, 3264u, 4096u}) {
			slot.set({SlotKind::compressed, 0x1234, size, p});
			const SlotContents got = slot.get();
			EXPECT_EQ(got.priority, p);
			EXPECT_EQ(got.size, size);
			EXPECT_EQ(got.value, 0x1234u);
		}
	}
	slot.set({SlotKind::compressed, 0x1000, 700, 0});
	slot.touch(4242);
	slot.change(Slot::kIdle, true);
	slot.change(Slot::kIncompressible, true);
	slot.set_claim(3);
	slot.replace({SlotKind::compressed, 0x2000, 300, 3});
	SlotContents got = slot.get();
	EXPECT_EQ(got.priority, 3);
	EXPECT_EQ(got.size, 300u);
	EXPECT_EQ(got.value, 0x2000u);
	EXPECT_EQ(slot.access_time(), 4242u);
	EXPECT_TRUE(slot.has(Slot::kIdle));
	EXPECT_TRUE(slot.has(Slot::kIncompressible));
	EXPECT_FALSE(slot.claimed());
	// Compaction's relocate keeps the claim, its owner and the priority.
	slot.set_claim(zcx::kMaxRunClaim);
	slot.relocate(0x3000);
	EXPECT_TRUE(slot.claimed_by(zcx::kMaxRunClaim));
	EXPECT_FALSE(slot.claimed_by(1));
	EXPECT_EQ(slot.get().priority, 3);
	// New data: priority 0 and no post-processing state.
	slot.set({SlotKind::compressed, 0x4000, 10});
	got = slot.get();
	EXPECT_EQ(got.priority, 0);
	EXPECT_FALSE(slot.has(Slot::kIdle | Slot::kIncompressible));
	EXPECT_FALSE(slot.claimed());
	EXPECT_EQ(slot.access_time(), 4242u);
	// Priorities never spill into the size, kind or time.
	slot.set({SlotKind::huge, 77, 4096, 3});
	got = slot.get();
	EXPECT_EQ(got.kind, SlotKind::huge);
	EXPECT_EQ(got.size, 4096u);
	EXPECT_EQ(slot.access_time(), 4242u);
}

// Discard and write-zeroes ranges are clipped in 64 bits: one that ends at
// the last page of a 2^32-page disk is not empty (in 32 bits its end
// wrapped to 0 and the discard did nothing).
TEST(ClipPages, EndsAtTheLastPageOfA2To32PageDisk)
{
	const zcx::u64 pages = zcx::u64{1} << 32;
	zcx::PageSpan s = zcx::clip_pages(pages - 1, 1, pages);
	EXPECT_EQ(s.first, pages - 1);
	EXPECT_EQ(s.end, pages);
	s = zcx::clip_pages(pages - 16, 16, pages);
	EXPECT_EQ(s.end - s.first, 16u);
	s = zcx::clip_pages(0, pages, pages);
	EXPECT_EQ(s.end, pages);
	// Past the end is clipped, never wrapped.
	s = zcx::clip_pages(pages - 2, ~zcx::u64{0}, pages);
	EXPECT_EQ(s.first, pages - 2);
	EXPECT_EQ(s.end, pages);
	s = zcx::clip_pages(pages, 5, pages);
	EXPECT_EQ(s.first, s.end);
	s = zcx::clip_pages(~zcx::u64{0}, 1, pages);
	EXPECT_EQ(s.first, s.end);
}
