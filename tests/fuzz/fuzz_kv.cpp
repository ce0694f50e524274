// SPDX-License-Identifier: GPL-2.0
// The key=value parser (drivers/core/kv.cpp) on arbitrary bytes, against a
// reference written from the grammar:
//
//   input := space* (token space+)* token? space*
//   token := key | key "=" value      key, value := non-space+
//   space := one of " \t\n\v\f\r"
//
// A token "=x" or "k=" is -EINVAL.  Values read as numbers are decimal
// digits only; ranges are LOW-HIGH with LOW <= HIGH.
#include "zcx/abi.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

[[noreturn]] void fail(const char *what, const std::uint8_t *data,
		       std::size_t size)
{
	std::fprintf(stderr, "fuzz_kv: %s; input (%zu bytes):", what, size);
	for (std::size_t i = 0; i < size; i++)
		std::fprintf(stderr, " %02x", data[i]);
	std::fputc('\n', stderr);
	std::abort();
}

bool space(char c) { return c && std::strchr(" \t\n\v\f\r", c); }

// -1 for junk, -2 for overflow, else 0 and *out.
int decimal(const std::string &s, unsigned __int128 *out)
{
	if (s.empty())
		return -1;
	// Overflow is reported where it happens, whatever follows.
	unsigned __int128 v = 0;
	for (char c : s) {
		if (c < '0' || c > '9')
			return -1;
		v = v * 10 + (c - '0');
		if (v > ~std::uint64_t{0})
			return -2;
	}
	*out = v;
	return 0;
}

int errno_of(int ref) { return ref == -1 ? -ZCX_EINVAL : -ZCX_ERANGE; }

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data,
				      std::size_t size)
{
	const char *buf = reinterpret_cast<const char *>(data);
	const std::string in(buf, size);

	// The reference's tokens.
	std::vector<std::string> words;
	for (std::size_t i = 0; i < in.size();) {
		while (i < in.size() && space(in[i]))
			i++;
		std::size_t j = i;
		while (j < in.size() && !space(in[j]))
			j++;
		if (j > i)
			words.push_back(in.substr(i, j - i));
		i = j;
	}

	zcx_size_t pos = 0;
	for (std::size_t w = 0;; w++) {
		zcx_kv kv;
		const zcx_size_t before = pos;
		const int rc = zcx_kv_next(buf, size, &pos, &kv);
		if (pos < before || pos > size)
			fail("pos went backwards or past the end", data, size);
		if (w == words.size()) {
			if (rc != 0)
				fail("a token after the last one", data, size);
			break;
		}
		const std::string &word = words[w];
		const std::size_t eq = word.find('=');
		const bool bad = eq == 0 || (eq != std::string::npos && eq + 1 == word.size());
		if (bad) {
			if (rc != -ZCX_EINVAL)
				fail("an empty key or value was accepted", data, size);
			break;
		}
		if (rc != 1)
			fail("a good token was not returned", data, size);
		const std::string key = word.substr(0, eq);
		if (std::string(kv.key, kv.key_len) != key)
			fail("wrong key", data, size);
		if (eq == std::string::npos) {
			if (kv.value)
				fail("a bare word has a value", data, size);
		} else if (!kv.value ||
			   std::string(kv.value, kv.value_len) != word.substr(eq + 1)) {
			fail("wrong value", data, size);
		}
		// (A key with a NUL in it cannot be named by a C string.)
		if (key.find('\0') == std::string::npos &&
		    !zcx_kv_key_is(&kv, key.c_str()))
			fail("key_is misses its own key", data, size);

		const std::string value = eq == std::string::npos ? "" : word.substr(eq + 1);
		const bool bare = eq == std::string::npos;
		unsigned __int128 ref;
		int r = bare ? -1 : decimal(value, &ref);
		zcx_u64 got = 42;
		const int rc_u64 = zcx_kv_u64(&kv, &got);
		if (r == 0 ? (rc_u64 != 0 || got != ref) : (rc_u64 != errno_of(r) || got != 42))
			fail("kv_u64 disagrees with the reference", data, size);

		int want = -1;
		unsigned __int128 lo = 0, hi = 0;
		const std::size_t dash = value.find('-');
		if (!bare && dash != std::string::npos) {
			want = decimal(value.substr(0, dash), &lo);
			if (want == 0)
				want = decimal(value.substr(dash + 1), &hi);
			if (want == 0 && lo > hi)
				want = -1;
		}
		zcx_u64 glo = 42, ghi = 42;
		const int rc_range = zcx_kv_range(&kv, &glo, &ghi);
		if (want == 0 ? (rc_range != 0 || glo != lo || ghi != hi)
			      : (rc_range != errno_of(want) || glo != 42 || ghi != 42))
			fail("kv_range disagrees with the reference", data, size);
	}
	return 0;
}
