// SPDX-License-Identifier: GPL-2.0
// Relaxed counters and flag words on GCC's __atomic builtins, which
// compile to plain lock-prefixed instructions (no library calls).
#pragma once

#include "types.hpp"

namespace zcx {

template <class T> class Atomic {
public:
	constexpr Atomic(T v = T{}) : v_(v) {}
	Atomic(const Atomic &) = delete;
	Atomic &operator=(const Atomic &) = delete;

	T load() const { return __atomic_load_n(&v_, __ATOMIC_RELAXED); }
	void store(T v) { __atomic_store_n(&v_, v, __ATOMIC_RELAXED); }
	T add(T d) { return __atomic_add_fetch(&v_, d, __ATOMIC_RELAXED); }
	T sub(T d) { return __atomic_sub_fetch(&v_, d, __ATOMIC_RELAXED); }
	void inc() { add(1); }
	void dec() { sub(1); }
	// Raises the value to at least v (a peak tracker).
	void fetch_max(T v)
	{
		T cur = load();
		while (cur < v &&
		       !__atomic_compare_exchange_n(&v_, &cur, v, true,
						    __ATOMIC_RELAXED,
						    __ATOMIC_RELAXED)) {
		}
	}

private:
	T v_;
};

} // namespace zcx
