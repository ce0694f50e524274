// SPDX-License-Identifier: GPL-2.0
// Fixed-width types without <cstdint>: the kernel build passes -nostdinc.
#pragma once

namespace zcx {

using u8 = __UINT8_TYPE__;
using u16 = __UINT16_TYPE__;
using u32 = __UINT32_TYPE__;
using u64 = __UINT64_TYPE__;
using usize = __SIZE_TYPE__;
using uptr = __UINTPTR_TYPE__;

inline constexpr usize kPageShift = 12;
inline constexpr usize kPageSize = usize{1} << kPageShift;

} // namespace zcx

// The compiler may emit calls to these anyway; the kernel exports them and
// libc provides them on the host.
// noexcept matches glibc's declarations, so either may come first.
extern "C" {
void *memcpy(void *dst, const void *src, __SIZE_TYPE__ n) noexcept;
void *memset(void *dst, int c, __SIZE_TYPE__ n) noexcept;
int memcmp(const void *a, const void *b, __SIZE_TYPE__ n) noexcept;
}
