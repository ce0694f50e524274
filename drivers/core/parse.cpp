// SPDX-License-Identifier: GPL-2.0
// Parsers for what users write into sysfs.  Stricter than the kernel's
// memparse(), which takes "12Q" as 12 bytes: we reject it.
#include "parse.hpp"

namespace zcx {

namespace {

int digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return 99;
}

int suffix_shift(char c)
{
	switch (c) {
	case 'k': case 'K': return 10;
	case 'm': case 'M': return 20;
	case 'g': case 'G': return 30;
	case 't': case 'T': return 40;
	case 'p': case 'P': return 50;
	case 'e': case 'E': return 60;
	default: return -1;
	}
}

// sysfs hands over the bytes written; `echo` adds one newline.
usize strip_newline(const char *buf, usize len)
{
	return len && buf[len - 1] == '\n' ? len - 1 : len;
}

// Digits in the base simple_strtoull(…, 0) would pick; advances *pos.
Result<u64> parse_number(const char *buf, usize len, usize *pos)
{
	unsigned base = 10;
	usize i = *pos;
	if (i + 1 < len && buf[i] == '0' && (buf[i + 1] == 'x' || buf[i + 1] == 'X')) {
		base = 16;
		i += 2;
	} else if (i < len && buf[i] == '0') {
		base = 8;
	}
	const usize first_digit = i;
	u64 value = 0;
	for (; i < len; i++) {
		const int d = digit_value(buf[i]);
		if (d >= static_cast<int>(base))
			break;
		if (__builtin_mul_overflow(value, base, &value) ||
		    __builtin_add_overflow(value, static_cast<u64>(d), &value))
			return Errc::range;
	}
	if (i == first_digit)
		return Errc::inval;
	*pos = i;
	return value;
}

} // namespace

Result<u64> parse_size(const char *buf, usize len)
{
	len = strip_newline(buf, len);
	usize pos = 0;
	u64 value = ZCX_TRY(parse_number(buf, len, &pos));
	if (pos < len) {
		const int shift = suffix_shift(buf[pos]);
		if (shift < 0)
			return Errc::inval;
		if (value > (~u64{0} >> shift))
			return Errc::range;
		value <<= shift;
		pos++;
	}
	if (pos != len)
		return Errc::inval;
	return value;
}

} // namespace zcx
