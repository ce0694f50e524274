// SPDX-License-Identifier: GPL-2.0
// The one parser of key=value attributes (recompress, recomp_algorithm,
// algorithm_params, writeback, idle_policy): upstream's grammar, that is
// whitespace-separated tokens, each `key=value` or a bare word.
#pragma once

#include "zcx/abi.h"
#include "zcx/support/result.hpp"
#include "zcx/support/types.hpp"

namespace zcx {

// Takes the next token of buf[*pos, len) into *kv and advances *pos.
// false at the end.  -EINVAL for a token with an empty key ("=x") or an
// empty value ("key="): they are mistakes, not defaults.
Result<bool> kv_next(const char *buf, usize len, usize *pos, zcx_kv *kv);

// The value as a decimal number (kstrtou64 base 10, without its newline:
// the tokenizer already split it off).  -EINVAL for a bare word or
// anything but digits, -ERANGE past 64 bits.
Result<u64> kv_u64(const zcx_kv &kv);

// LOW-HIGH, both decimal, LOW <= HIGH (HIGH is included).
Result<void> kv_range(const zcx_kv &kv, u64 *low, u64 *high);

} // namespace zcx
