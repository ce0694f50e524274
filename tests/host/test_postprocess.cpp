// SPDX-License-Identifier: GPL-2.0
// The post-processing filter and plan (drivers/core/postprocess.hpp) on
// single slots: every flag and condition, and the budget's arithmetic.
#include "core/postprocess.hpp"

#include <gtest/gtest.h>

namespace {

using zcx::Slot;
using zcx::SlotContents;
using zcx::SlotKind;

zcx_pp_filter filter(int mode, unsigned int min_age = 0,
		     unsigned int min_size = 0)
{
	return zcx_pp_filter{mode, min_age, min_size, 0, ~0ULL};
}

bool eligible(Slot &slot, const zcx_pp_filter &f, zcx::u32 now = 100)
{
	auto locked = slot.lock();
	return zcx::pp_eligible(slot, slot.get(), 5, f, now);
}

TEST(Postprocess, FilterFlags)
{
	Slot slot;
	{
		auto locked = slot.lock();
		slot.set({SlotKind::compressed, 0x1000, 700, 0});
		slot.touch(90);
	}
	EXPECT_TRUE(eligible(slot, filter(ZCX_WB_ANY)));
	EXPECT_FALSE(eligible(slot, filter(ZCX_WB_IDLE)));
	EXPECT_FALSE(eligible(slot, filter(ZCX_WB_HUGE)));
	EXPECT_FALSE(eligible(slot, filter(ZCX_WB_INCOMPRESSIBLE)));
	EXPECT_TRUE(eligible(slot, filter(ZCX_WB_ANY, 10)));
	EXPECT_FALSE(eligible(slot, filter(ZCX_WB_ANY, 11)));
	EXPECT_FALSE(eligible(slot, filter(ZCX_WB_ANY, 1), 80)); // clock behind
	EXPECT_TRUE(eligible(slot, filter(ZCX_WB_ANY, 0, 700)));
	EXPECT_FALSE(eligible(slot, filter(ZCX_WB_ANY, 0, 701)));
	{
		auto locked = slot.lock();
		slot.change(Slot::kIdle, true);
		slot.change(Slot::kIncompressible, true);
	}
	EXPECT_TRUE(eligible(slot, filter(ZCX_WB_IDLE | ZCX_WB_INCOMPRESSIBLE)));
	EXPECT_FALSE(eligible(slot, filter(ZCX_WB_IDLE | ZCX_WB_HUGE)));
	for (zcx::ClaimOwner busy : {zcx::kWritebackClaim, zcx::ClaimOwner{1}}) {
		{
			auto locked = slot.lock();
			slot.set_claim(busy);
		}
		EXPECT_FALSE(eligible(slot, filter(ZCX_WB_ANY)));
		auto locked = slot.lock();
		slot.set_claim(zcx::kNoClaim);
	}
	// Range: index 5 only in [lo, hi).
	zcx_pp_filter ranged = filter(ZCX_WB_ANY);
	ranged.lo = 5;
	ranged.hi = 6;
	EXPECT_TRUE(eligible(slot, ranged));
	ranged.lo = 6;
	ranged.hi = 10;
	EXPECT_FALSE(eligible(slot, ranged));
	ranged.lo = 0;
	ranged.hi = 5;
	EXPECT_FALSE(eligible(slot, ranged));

	// Not stored in memory: never eligible.
	for (SlotKind k : {SlotKind::empty, SlotKind::same, SlotKind::backing}) {
		{
			auto locked = slot.lock();
			slot.set({k, 7, 0, 0});
		}
		EXPECT_FALSE(eligible(slot, filter(ZCX_WB_ANY)));
	}
	{
		auto locked = slot.lock();
		slot.set({SlotKind::huge, 9, ZCX_PAGE_SIZE, 0});
	}
	EXPECT_TRUE(eligible(slot, filter(ZCX_WB_HUGE)));
}

TEST(Postprocess, TakeSpendsTheBudgetAtTheCutoff)
{
	zcx_pp_plan plan{};
	plan.budget = 3;
	plan.cutoff = 10; // bytes 640..703
	plan.at_cutoff = 1;
	EXPECT_FALSE(zcx::pp_take(&plan, 639));      // below the cutoff
	EXPECT_TRUE(zcx::pp_take(&plan, 640));       // the one at the cutoff
	EXPECT_FALSE(zcx::pp_take(&plan, 700));      // cutoff spent
	EXPECT_TRUE(zcx::pp_take(&plan, 4096));
	EXPECT_TRUE(zcx::pp_take(&plan, 704));
	EXPECT_FALSE(zcx::pp_take(&plan, 4096));     // budget spent
	EXPECT_EQ(plan.budget, 0u);

	zcx_pp_plan all{};
	all.budget = zcx::kPpUnlimited;
	all.at_cutoff = zcx::kPpUnlimited;
	for (int i = 0; i < 1000; i++)
		EXPECT_TRUE(zcx::pp_take(&all, static_cast<zcx::u32>(i % 4097)));
	EXPECT_EQ(all.budget, zcx::kPpUnlimited);
}

} // namespace
