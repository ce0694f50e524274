// SPDX-License-Identifier: GPL-2.0
// A deterministic random source for user-space tests and benchmarks of
// the core (tests/host, tests/microbench).
#pragma once

#include <cstdint>

namespace test {

// splitmix64: tiny, seedable, and the same on every host.
class Rng {
public:
	explicit Rng(std::uint64_t seed) : s_(seed) {}
	std::uint64_t next()
	{
		std::uint64_t z = (s_ += 0x9e3779b97f4a7c15ULL);
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		return z ^ (z >> 31);
	}
	// Uniform in [lo, hi].
	std::uint64_t range(std::uint64_t lo, std::uint64_t hi)
	{
		return lo + next() % (hi - lo + 1);
	}
	bool percent(unsigned p) { return next() % 100 < p; }

private:
	std::uint64_t s_;
};

} // namespace test
