// SPDX-License-Identifier: GPL-2.0
// The idle policy's ages (drivers/core/policy.hpp): the buckets reads are
// counted in, the back-off of the recompression age, and the group age.
// Pure functions of what the device counted; test_group.cpp drives them
// through a device.
#include "core/policy.hpp"

#include <gtest/gtest.h>

namespace {

using zcx::age_bucket;
using zcx::age_bucket_floor;
using zcx::kAgeBuckets;
using zcx::PolicyAges;
using zcx::ReadAges;

// reads at the given age added to what the device has counted.
void read_at(ReadAges &r, unsigned int age, std::uint64_t reads)
{
	r.by_age[age_bucket(age)] += reads;
}

TEST(PolicyAgesTest, BucketsBoundEveryAgeWithinAQuarter)
{
	EXPECT_EQ(age_bucket(0), 0u);
	EXPECT_EQ(age_bucket(7), 7u);
	EXPECT_EQ(age_bucket(8), 8u);
	EXPECT_EQ(age_bucket_floor(9), 10u);
	EXPECT_EQ(age_bucket(~0u), kAgeBuckets - 1);
	for (unsigned int age = 0; age < (1u << 18); age++) {
		const unsigned int k = age_bucket(age);
		ASSERT_LE(age_bucket_floor(k), age) << age;
		if (k == kAgeBuckets - 1)
			continue;
		ASSERT_GT(age_bucket_floor(k + 1), age) << age;
		// The next bound, which the group age is, at most 25 % past.
		ASSERT_LE(age_bucket_floor(k + 1), age + age / 4 + 1) << age;
	}
}

TEST(PolicyAgesTest, GroupAgeIsPastAlmostEveryAgeAtWhichPagesCameBack)
{
	ReadAges r{};
	PolicyAges a;
	zcx::policy_ages_reset(a, 4, r, 1000);
	// Swapped in while the program ran: at 5 and 12 s, a few at 40.
	read_at(r, 5, 1000);
	read_at(r, 12, 1000);
	read_at(r, 40, 10);
	// Reads younger than the recompression age say nothing of it.
	read_at(r, 1, 100000);
	EXPECT_FALSE(zcx::policy_ages_adapt(a, 4, 16, r, 1002));
	EXPECT_EQ(a.age, 4u);
	// 10 of 2,010 past 14 s: within the 1/16 tail.  12 s is not.
	EXPECT_EQ(a.group_age, 14u);

	// No reads for a while: the same shape, halved once every 14 s,
	// not every 2 s interval.
	unsigned int now = 1002;
	for (int i = 0; i < 40; i++) {
		now += 2;
		zcx::policy_ages_adapt(a, 4, 16, r, now);
		EXPECT_EQ(a.group_age, 14u) << i;
	}
	// Halved at 1014, 1028, 1042, 1056 and 1070.
	EXPECT_EQ(a.recent_ages[age_bucket(12)], 1000u >> 5);
	// Until too few are left to say anything: as old as recompression.
	for (int i = 0; i < 3; i++) {
		now += 14;
		zcx::policy_ages_adapt(a, 4, 16, r, now);
	}
	EXPECT_EQ(a.group_age, 4u);
}

// A page of a group of 4 read alone costs 4 pages' decompression, one of
// 16 costs 16: smaller groups take younger pages.
TEST(PolicyAgesTest, SmallerGroupsTakeYoungerPages)
{
	ReadAges r{};
	PolicyAges a4, a16, none;
	zcx::policy_ages_reset(a4, 4, r, 1000);
	zcx::policy_ages_reset(a16, 4, r, 1000);
	zcx::policy_ages_reset(none, 4, r, 1000);
	read_at(r, 5, 1000);
	read_at(r, 12, 200);
	read_at(r, 40, 100);
	zcx::policy_ages_adapt(a4, 4, 4, r, 1002);
	zcx::policy_ages_adapt(a16, 4, 16, r, 1002);
	zcx::policy_ages_adapt(none, 4, 0, r, 1002);
	EXPECT_EQ(a4.group_age, 6u);   // 300 of 1,300 past 6 s: under 1/4
	EXPECT_EQ(a16.group_age, 48u); // 100 of 1,300 at 40 s: over 1/16
	EXPECT_EQ(none.group_age, 4u);
}

TEST(PolicyAgesTest, WithNothingComingBackGroupsFormAtTheRecompressionAge)
{
	ReadAges r{};
	PolicyAges a;
	zcx::policy_ages_reset(a, 6, r, 1000);
	read_at(r, 7, 31);
	read_at(r, 3, 5000);
	zcx::policy_ages_adapt(a, 6, 16, r, 1002);
	EXPECT_EQ(a.group_age, 6u);
	// Reads from before the policy was set are not its evidence.
	ReadAges before{};
	read_at(before, 30, 5000);
	zcx::policy_ages_reset(a, 6, before, 1000);
	zcx::policy_ages_adapt(a, 6, 16, before, 1002);
	EXPECT_EQ(a.group_age, 6u);
}

TEST(PolicyAgesTest, TheAgeBacksOffWhileRecompressedPagesComeBackAndStepsBack)
{
	ReadAges r{};
	PolicyAges a;
	zcx::policy_ages_reset(a, 4, r, 1000);
	unsigned int backoffs = 0;
	for (int i = 0; i < 8; i++) {
		a.recent += 100;	// recompressed this interval
		r.recompressed += 60;	// and most came back
		backoffs += zcx::policy_ages_adapt(a, 4, 16, r, 1000 + 2 * i);
	}
	EXPECT_EQ(a.age, 64u);	// 16 times recompress_after at most
	EXPECT_EQ(backoffs, 4u);
	EXPECT_EQ(a.comebacks, 480u);
	// The group age never below it.
	EXPECT_EQ(a.group_age, 64u);
	// Recompressed pages that stay: back toward recompress_after.
	for (int i = 0; i < 10; i++) {
		a.recent += 100;
		EXPECT_FALSE(zcx::policy_ages_adapt(a, 4, 16, r, 1100 + 2 * i));
	}
	EXPECT_EQ(a.age, 4u);
}

// Swap-ins at ages up to 40 s, and most of a few dozen recompressed pages
// among them: the age backs off, but not past where pages come back.
TEST(PolicyAgesTest, TheBackOffNeverWaitsPastTheAgesPagesComeBackAt)
{
	ReadAges r{};
	PolicyAges a;
	zcx::policy_ages_reset(a, 4, r, 1000);
	for (int i = 0; i < 8; i++) {
		read_at(r, 6, 300);
		read_at(r, 10, 200);
		read_at(r, 18, 100);
		read_at(r, 40, 50);
		a.recent += 60;
		r.recompressed += 40;
		zcx::policy_ages_adapt(a, 4, 16, r, 1000 + 2 * i);
	}
	// 150 of 650 past 16 s: over an eighth; 50 past 20 s: under.
	EXPECT_EQ(a.age, 20u);
	// Those 50 are over 1/16, none past 48 s.
	EXPECT_EQ(a.group_age, 48u);
}

TEST(PolicyAgesTest, ReadsPastTheLastBucketNeverLetPagesGroup)
{
	ReadAges r{};
	PolicyAges a;
	zcx::policy_ages_reset(a, 4, r, 1000);
	read_at(r, 1u << 20, 100);
	zcx::policy_ages_adapt(a, 4, 16, r, 1002);
	EXPECT_EQ(a.group_age, age_bucket_floor(kAgeBuckets - 1));
}

} // namespace
