// SPDX-License-Identifier: GPL-2.0
// Error-or-value results, in the style of SerenityOS's ErrorOr<T>.
// Errors are Linux errno values, so they cross into C unchanged.
#pragma once

#include "../abi.h"
#include "types.hpp"
#include "utility.hpp"

namespace zcx {

enum class Errc : int {
	io = ZCX_EIO,
	nomem = ZCX_ENOMEM,
	busy = ZCX_EBUSY,
	inval = ZCX_EINVAL,
	nospc = ZCX_ENOSPC,
	range = ZCX_ERANGE,
};

// Negative errno, as the kernel returns it.
constexpr int to_errno(Errc e) { return -static_cast<int>(e); }

template <class T> class [[nodiscard]] Result {
public:
	constexpr Result(T value) : value_(move(value)), error_{}, ok_(true) {}
	constexpr Result(Errc error) : value_{}, error_(error), ok_(false) {}

	constexpr explicit operator bool() const { return ok_; }
	constexpr bool ok() const { return ok_; }
	constexpr Errc error() const { return error_; }
	constexpr T &value() { return value_; }
	constexpr const T &value() const { return value_; }
	constexpr T &&release_value() { return move(value_); }

private:
	T value_;
	Errc error_;
	bool ok_;
};

template <> class [[nodiscard]] Result<void> {
public:
	constexpr Result() : error_{}, ok_(true) {}
	constexpr Result(Errc error) : error_(error), ok_(false) {}

	constexpr explicit operator bool() const { return ok_; }
	constexpr bool ok() const { return ok_; }
	constexpr Errc error() const { return error_; }
	constexpr void release_value() {}

private:
	Errc error_;
	bool ok_;
};

// 0 or a negative errno, for the C ABI.
template <class T> constexpr int to_errno(const Result<T> &r)
{
	return r.ok() ? 0 : to_errno(r.error());
}

} // namespace zcx

// Unwraps a Result or returns its error from the enclosing function.
#define ZCX_TRY(expr)                                                   \
	({                                                              \
		auto zcx_try_result_ = (expr);                          \
		if (!zcx_try_result_.ok())                              \
			return zcx_try_result_.error();                 \
		zcx_try_result_.release_value();                        \
	})
