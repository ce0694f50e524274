// SPDX-License-Identifier: GPL-2.0
// zcx::parse_size (and its C entry point zcx_parse_size) on arbitrary bytes,
// against an independent reference written from the grammar:
//
//   input  := number suffix? "\n"?
//   number := "0x" hex+ | "0X" hex+ | "0" oct* | [1-9] dec*
//   suffix := one of kKmMgGtTpPeE (<< 10, 20, ... 60)
//
// -ERANGE when the digits alone overflow 64 bits (whatever follows them) or
// the suffix shifts bits out; -EINVAL for anything else that does not match.
// Hex digits win over suffixes: "0x1E" is 30, not 1 << 60.
//
// The only other sysfs parsing is kstrto*() in the C layer (zram_drv.c,
// zram_writeback.c): kernel code, not the core, so not fuzzed here.
#include "core/parse.hpp"
#include "zcx/abi.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

using u128 = unsigned __int128;
constexpr u128 kU64Max = ~std::uint64_t{0};

[[noreturn]] void fail(const char *what, const std::uint8_t *data,
		       std::size_t size)
{
	std::fprintf(stderr, "fuzz_parse: %s; input (%zu bytes):", what, size);
	for (std::size_t i = 0; i < size; i++)
		std::fprintf(stderr, " %02x", data[i]);
	std::fputc('\n', stderr);
	std::abort();
}

struct Expect {
	int rc; // 0 or negative errno
	std::uint64_t value;
};

// Value of c as a digit of `base`, or -1.  Written independently of
// parse.cpp's table on purpose.
int digit(unsigned char c, unsigned base)
{
	int v;
	if (std::strchr("0123456789", c) && c)
		v = c - '0';
	else if (c && std::strchr("abcdef", c))
		v = 10 + (c - 'a');
	else if (c && std::strchr("ABCDEF", c))
		v = 10 + (c - 'A');
	else
		return -1;
	return v < static_cast<int>(base) ? v : -1;
}

int shift_of(unsigned char c)
{
	static const char kSuffixes[] = "KMGTPE";
	for (int i = 0; kSuffixes[i]; i++) {
		if (c == static_cast<unsigned char>(kSuffixes[i]) ||
		    c == static_cast<unsigned char>(kSuffixes[i] + ('a' - 'A')))
			return 10 * (i + 1);
	}
	return -1;
}

Expect reference(const std::string &in)
{
	std::string s = in;
	if (!s.empty() && s.back() == '\n')
		s.pop_back(); // exactly one
	unsigned base = 10;
	std::size_t start = 0;
	if (s.size() >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		start = 2;
	} else if (!s.empty() && s[0] == '0') {
		base = 8; // the leading 0 is itself an octal digit
	}
	std::size_t end = start;
	u128 value = 0;
	bool overflow = false;
	while (end < s.size() && digit(s[end], base) >= 0) {
		if (!overflow) {
			value = value * base + digit(s[end], base);
			overflow = value > kU64Max;
		}
		end++;
	}
	if (end == start)
		return {-ZCX_EINVAL, 0};
	if (overflow)
		return {-ZCX_ERANGE, 0};
	if (end == s.size())
		return {0, static_cast<std::uint64_t>(value)};
	const int shift = shift_of(s[end]);
	if (shift < 0)
		return {-ZCX_EINVAL, 0};
	if ((value << shift) > kU64Max)
		return {-ZCX_ERANGE, 0};
	if (end + 1 != s.size())
		return {-ZCX_EINVAL, 0};
	return {0, static_cast<std::uint64_t>(value << shift)};
}

// Parses a string we printed ourselves; it must give back `want`.
void expect_parses(const std::string &text, std::uint64_t want,
		   const std::uint8_t *data, std::size_t size)
{
	auto r = zcx::parse_size(text.data(), text.size());
	if (!r.ok() || r.value() != want) {
		std::fprintf(stderr, "fuzz_parse: reprinted \"%s\"\n",
			     text.c_str());
		fail("a reprinted value does not parse back", data, size);
	}
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data,
				      std::size_t size)
{
	// libFuzzer's buffer is an exact-size heap copy: ASan catches any
	// read past len, including of a terminator that is not there.
	const char *buf = reinterpret_cast<const char *>(data);
	const Expect want = reference(std::string(buf, size));

	auto got = zcx::parse_size(buf, size);
	if (got.ok() != (want.rc == 0))
		fail("parse_size and the reference disagree on success", data,
		     size);
	if (got.ok() && got.value() != want.value)
		fail("parse_size and the reference disagree on the value", data,
		     size);
	if (!got.ok() && zcx::to_errno(got.error()) != want.rc)
		fail("parse_size and the reference disagree on the errno", data,
		     size);

	// The C entry point: same answer, *out untouched on error.
	constexpr zcx_u64 kUntouched = 0x5a5a5a5a5a5a5a5aULL;
	zcx_u64 out = kUntouched;
	const int rc = zcx_parse_size(buf, size, &out);
	if (rc != want.rc)
		fail("zcx_parse_size returned the wrong code", data, size);
	if (rc == 0 ? out != want.value : out != kUntouched)
		fail("zcx_parse_size wrote the wrong *out", data, size);

	// Whatever was accepted reads back from its canonical spellings.
	if (want.rc == 0) {
		const std::uint64_t v = want.value;
		char tmp[64];
		std::snprintf(tmp, sizeof(tmp), "%llu",
			      static_cast<unsigned long long>(v));
		expect_parses(tmp, v, data, size);
		expect_parses(std::string(tmp) + "\n", v, data, size);
		std::snprintf(tmp, sizeof(tmp), "0x%llx",
			      static_cast<unsigned long long>(v));
		expect_parses(tmp, v, data, size);
		std::snprintf(tmp, sizeof(tmp), "0X%llX\n",
			      static_cast<unsigned long long>(v));
		expect_parses(tmp, v, data, size);
		std::snprintf(tmp, sizeof(tmp), "0%llo",
			      static_cast<unsigned long long>(v));
		expect_parses(tmp, v, data, size);
		// The largest suffix that divides it, upper and lower case.
		for (int shift = 60; shift >= 10; shift -= 10) {
			if (v % (std::uint64_t{1} << shift))
				continue;
			const char sfx = "KMGTPE"[shift / 10 - 1];
			std::snprintf(tmp, sizeof(tmp), "%llu%c",
				      static_cast<unsigned long long>(v >> shift),
				      sfx);
			expect_parses(tmp, v, data, size);
			std::snprintf(tmp, sizeof(tmp), "%llu%c\n",
				      static_cast<unsigned long long>(v >> shift),
				      sfx + ('a' - 'A'));
			expect_parses(tmp, v, data, size);
			break;
		}
	}
	return 0;
}
