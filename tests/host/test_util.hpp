// SPDX-License-Identifier: GPL-2.0
// Shared pieces of the host tests: deterministic page contents, an
// independent LZO reference, and a fixture that checks the platform's
// books balance after every test.
#pragma once

#include "platform_host.hpp"
#include "rng.hpp"
#include "zcx/abi.h"

#include <gtest/gtest.h>
#include <lzo/lzo1x.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

namespace test {

using Bytes = std::vector<std::uint8_t>;
inline constexpr std::size_t kPage = ZCX_PAGE_SIZE;

enum class Kind { zero, same, text, half_random, random };

inline const char *kind_name(Kind k)
{
	switch (k) {
	case Kind::zero: return "zero";
	case Kind::same: return "same";
	case Kind::text: return "text";
	case Kind::half_random: return "half_random";
	case Kind::random: return "random";
	}
	return "?";
}

inline void fill_random(std::uint8_t *p, std::size_t n, Rng &rng)
{
	for (std::size_t i = 0; i < n; i += 8) {
		const std::uint64_t w = rng.next();
		std::memcpy(p + i, &w, n - i < 8 ? n - i : 8);
	}
}

// A page of the given kind, fully determined by (kind, seed).  Every kind
// but zero and same starts with the seed, so a reader can re-derive it.
inline Bytes make_page(Kind kind, std::uint64_t seed)
{
	Bytes page(kPage, 0);
	Rng rng(seed);
	switch (kind) {
	case Kind::zero:
		break;
	case Kind::same: {
		const std::uint64_t word = seed | 1; // never the zero page
		for (std::size_t i = 0; i < kPage; i += 8)
			std::memcpy(&page[i], &word, 8);
		break;
	}
	case Kind::text: {
		std::size_t pos = 0;
		char line[96];
		while (pos < kPage) {
			const int n = std::snprintf(
				line, sizeof(line),
				"%06llu the quick brown fox jumps over %llx\n",
				static_cast<unsigned long long>(rng.range(0, 999)),
				static_cast<unsigned long long>(rng.range(0, 15)));
			for (int i = 0; i < n && pos < kPage; i++)
				page[pos++] = static_cast<std::uint8_t>(line[i]);
		}
		break;
	}
	case Kind::half_random: {
		// Random head, zero tail: a mid-sized compressed object.  (A
		// periodic tail would not do: after a long literal run LZO1X-1
		// probes ever more sparsely and misses the period.)
		const std::size_t head = rng.range(64, 2048);
		fill_random(page.data(), head, rng);
		break;
	}
	case Kind::random:
		fill_random(page.data(), kPage, rng);
		break;
	}
	if (kind != Kind::zero && kind != Kind::same)
		std::memcpy(page.data(), &seed, sizeof(seed));
	return page;
}

// liblzo2's LZO1X-1, independent of the platform under test.
inline Bytes lzo_compress(const std::uint8_t *src, std::size_t len)
{
	static const bool init = lzo_init() == LZO_E_OK;
	EXPECT_TRUE(init);
	Bytes out(len + len / 16 + 64 + 3);
	std::vector<std::uint8_t> wrkmem(LZO1X_1_MEM_COMPRESS);
	lzo_uint out_len = 0;
	EXPECT_EQ(lzo1x_1_compress(src, len, out.data(), &out_len,
				   wrkmem.data()),
		  LZO_E_OK);
	out.resize(out_len);
	return out;
}

inline bool is_same_filled(const Bytes &page, std::uint64_t *word)
{
	std::uint64_t w0;
	std::memcpy(&w0, page.data(), 8);
	for (std::size_t i = 8; i < kPage; i += 8) {
		std::uint64_t w;
		std::memcpy(&w, &page[i], 8);
		if (w != w0)
			return false;
	}
	*word = w0;
	return true;
}

// Every test starts without injected faults and must leave the platform as
// it found it: no live pages, allocations or group codecs, no preemption
// or kmap debt.
class HostTest : public ::testing::Test {
protected:
	void SetUp() override
	{
		host::reset_faults();
		host::reset_counters();
		pages0_ = host::live_pages();
		kz0_ = host::live_kzallocs();
		vz0_ = host::live_vzallocs();
		gc0_ = host::live_group_codecs();
	}
	void TearDown() override
	{
		host::reset_faults();
		EXPECT_EQ(host::preempt_depth(), 0);
		EXPECT_EQ(host::kmap_depth(), 0);
		EXPECT_EQ(host::live_kzallocs(), kz0_) << "kzalloc leak";
		EXPECT_EQ(host::live_vzallocs(), vz0_) << "vzalloc leak";
		EXPECT_EQ(host::live_group_codecs(), gc0_) << "group codec leak";
		const std::size_t pages = host::live_pages();
		EXPECT_EQ(pages, pages0_) << "page leak";
		if (pages != pages0_)
			host::free_all_pages(); // contain the damage
	}

private:
	std::size_t pages0_ = 0, kz0_ = 0, vz0_ = 0, gc0_ = 0;
};

} // namespace test
