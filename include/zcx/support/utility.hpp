// SPDX-License-Identifier: GPL-2.0
// The few pieces of <utility> the core needs.
#pragma once

namespace zcx {

template <class T> struct remove_reference { using type = T; };
template <class T> struct remove_reference<T &> { using type = T; };
template <class T> struct remove_reference<T &&> { using type = T; };

template <class T>
constexpr typename remove_reference<T>::type &&move(T &&v) noexcept
{
	return static_cast<typename remove_reference<T>::type &&>(v);
}

template <class T>
constexpr T &&forward(typename remove_reference<T>::type &v) noexcept
{
	return static_cast<T &&>(v);
}

template <class T> constexpr T min(T a, T b) { return b < a ? b : a; }
template <class T> constexpr T max(T a, T b) { return a < b ? b : a; }

template <class T> constexpr T round_up(T v, T align)
{
	return (v + align - 1) / align * align;
}

// Base for types that own something: no copies, no moves.
class Pinned {
public:
	Pinned() = default;
	Pinned(const Pinned &) = delete;
	Pinned &operator=(const Pinned &) = delete;
};

} // namespace zcx
