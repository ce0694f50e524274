// SPDX-License-Identifier: GPL-2.0
// zcx_parse_size: what sysfs writers may say, and what they may not.
#include "test_util.hpp"

#include <string>

namespace {

struct Case {
	const char *input;
	int rc;
	zcx_u64 value;
};

std::ostream &operator<<(std::ostream &os, const Case &c)
{
	os << '"';
	for (const char *p = c.input; *p; p++)
		os << (*p == '\n' ? std::string("\\n") : std::string(1, *p));
	return os << '"';
}

class ParseSizeTest : public ::testing::TestWithParam<Case> {};

TEST_P(ParseSizeTest, Parses)
{
	const Case &c = GetParam();
	const std::string in = c.input;
	// The parser must honour len and never read a terminator: give it an
	// exact-size heap copy without one.
	auto buf = std::make_unique<char[]>(in.size() + !in.size());
	std::memcpy(buf.get(), in.data(), in.size());
	zcx_u64 out = 0xdeadbeef;
	const int rc = zcx_parse_size(buf.get(), in.size(), &out);
	EXPECT_EQ(rc, c.rc);
	EXPECT_EQ(out, c.rc == 0 ? c.value : 0xdeadbeef)
		<< "output touched on error, or wrong value";
}

constexpr int kInval = -ZCX_EINVAL;
constexpr int kRange = -ZCX_ERANGE;

INSTANTIATE_TEST_SUITE_P(
	Accepted, ParseSizeTest,
	::testing::Values(
		Case{"4096", 0, 4096}, Case{"4096\n", 0, 4096},
		Case{"1K", 0, 1024}, Case{"1k\n", 0, 1024},
		Case{"2M", 0, 2ull << 20}, Case{"2m", 0, 2ull << 20},
		Case{"1G", 0, 1ull << 30}, Case{"3g\n", 0, 3ull << 30},
		Case{"1T", 0, 1ull << 40}, Case{"1P", 0, 1ull << 50},
		Case{"1E", 0, 1ull << 60}, Case{"15E", 0, 15ull << 60},
		Case{"0x1000", 0, 4096}, Case{"0X1000", 0, 4096},
		Case{"0xfF", 0, 255}, Case{"0x1K", 0, 1024},
		Case{"010", 0, 8}, Case{"0", 0, 0}, Case{"0\n", 0, 0},
		Case{"00", 0, 0}, Case{"0K", 0, 0},
		Case{"18446744073709551615", 0, ~0ull},
		Case{"0xffffffffffffffff", 0, ~0ull},
		Case{"17179869183G", 0, 17179869183ull << 30}));

INSTANTIATE_TEST_SUITE_P(
	Rejected, ParseSizeTest,
	::testing::Values(
		Case{"12Q", kInval, 0}, Case{"", kInval, 0},
		Case{"\n", kInval, 0}, Case{"K", kInval, 0},
		Case{"1KB", kInval, 0}, Case{"1 K", kInval, 0},
		Case{" 1", kInval, 0}, Case{"1 ", kInval, 0},
		Case{"-1", kInval, 0}, Case{"+1", kInval, 0},
		Case{"1K\n\n", kInval, 0}, Case{"1\n\n", kInval, 0},
		Case{"\n1", kInval, 0}, Case{"1\nK", kInval, 0},
		Case{"0x", kInval, 0}, Case{"0xg", kInval, 0},
		Case{"08", kInval, 0}, Case{"1.5K", kInval, 0},
		Case{"abc", kInval, 0}, Case{"1KK", kInval, 0}));

INSTANTIATE_TEST_SUITE_P(
	OutOfRange, ParseSizeTest,
	::testing::Values(Case{"18446744073709551616", kRange, 0},
			  Case{"99999999999999999999999", kRange, 0},
			  Case{"0x10000000000000000", kRange, 0},
			  Case{"16E", kRange, 0},
			  Case{"17179869184G", kRange, 0},
			  Case{"16384P", kRange, 0}));

// Only len bytes count, whatever follows them in memory.
TEST(ParseSizeLen, StopsAtLen)
{
	const char buf[] = "1234junk";
	zcx_u64 out = 0;
	EXPECT_EQ(zcx_parse_size(buf, 4, &out), 0);
	EXPECT_EQ(out, 1234u);
	EXPECT_EQ(zcx_parse_size(buf, 5, &out), kInval);
}

} // namespace
