// SPDX-License-Identifier: GPL-2.0
#include "kv.hpp"

namespace zcx {

namespace {

// What next_arg() (lib/cmdline.c) treats as separators, "\n" included:
// `echo` ends every write with one.
bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' ||
	       c == '\r';
}

Result<u64> parse_decimal(const char *s, usize len)
{
	if (len == 0)
		return Errc::inval;
	u64 value = 0;
	for (usize i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return Errc::inval;
		if (__builtin_mul_overflow(value, 10u, &value) ||
		    __builtin_add_overflow(value, static_cast<u64>(s[i] - '0'),
					   &value))
			return Errc::range;
	}
	return value;
}

} // namespace

Result<bool> kv_next(const char *buf, usize len, usize *pos, zcx_kv *kv)
{
	usize i = *pos;
	while (i < len && is_space(buf[i]))
		i++;
	if (i == len) {
		*pos = i;
		return false;
	}
	const usize start = i;
	while (i < len && !is_space(buf[i]))
		i++;
	*pos = i;
	usize eq = start;
	while (eq < i && buf[eq] != '=')
		eq++;
	*kv = {};
	kv->key = buf + start;
	kv->key_len = eq - start;
	if (eq < i) {
		kv->value = buf + eq + 1;
		kv->value_len = i - eq - 1;
		if (kv->key_len == 0 || kv->value_len == 0)
			return Errc::inval;
	}
	return true;
}

Result<u64> kv_u64(const zcx_kv &kv)
{
	if (!kv.value)
		return Errc::inval;
	return parse_decimal(kv.value, kv.value_len);
}

Result<void> kv_range(const zcx_kv &kv, u64 *low, u64 *high)
{
	if (!kv.value)
		return Errc::inval;
	usize dash = 0;
	while (dash < kv.value_len && kv.value[dash] != '-')
		dash++;
	if (dash == kv.value_len)
		return Errc::inval;
	const u64 lo = ZCX_TRY(parse_decimal(kv.value, dash));
	const u64 hi = ZCX_TRY(parse_decimal(kv.value + dash + 1,
					     kv.value_len - dash - 1));
	if (lo > hi)
		return Errc::inval;
	*low = lo;
	*high = hi;
	return {};
}

} // namespace zcx
