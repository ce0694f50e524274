// SPDX-License-Identifier: GPL-2.0
#pragma once

#include "zcx/support/result.hpp"
#include "zcx/support/types.hpp"

namespace zcx {

// A byte count with an optional K/M/G/T/P/E suffix, one trailing newline
// allowed; nothing else.  -EINVAL for junk, -ERANGE for overflow.
Result<u64> parse_size(const char *buf, usize len);

} // namespace zcx
