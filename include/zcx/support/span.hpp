// SPDX-License-Identifier: GPL-2.0
#pragma once

#include "types.hpp"

namespace zcx {

// A non-owning view of count contiguous T.
template <class T> class Span {
public:
	constexpr Span() = default;
	constexpr Span(T *data, usize count) : data_(data), count_(count) {}

	constexpr T *data() const { return data_; }
	constexpr usize size() const { return count_; }
	constexpr usize size_bytes() const { return count_ * sizeof(T); }
	constexpr T &operator[](usize i) const { return data_[i]; }
	constexpr T *begin() const { return data_; }
	constexpr T *end() const { return data_ + count_; }
	constexpr Span first(usize n) const { return {data_, n}; }

private:
	T *data_ = nullptr;
	usize count_ = 0;
};

using ByteSpan = Span<u8>;
using ConstByteSpan = Span<const u8>;

} // namespace zcx
