// SPDX-License-Identifier: GPL-2.0
// What the fuzz targets that run their input as a program share: a
// failure libFuzzer reports (abort, with the target's name), CHECK, the
// reader of the input, and NO_COVERAGE.  Define FUZZ_TARGET_NAME first.
#pragma once

#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#ifndef FUZZ_TARGET_NAME
#error "define FUZZ_TARGET_NAME before including fuzz_program.hpp"
#endif

namespace fuzz_program {

[[noreturn]] __attribute__((format(printf, 1, 2))) inline void fail(const char *fmt,
								      ...)
{
	va_list ap;
	va_start(ap, fmt);
	std::fputs(FUZZ_TARGET_NAME ": ", stderr);
	std::vfprintf(stderr, fmt, ap);
	std::fputc('\n', stderr);
	va_end(ap);
	std::abort();
}

// The input, a byte at a time; past its end, zeros.
class Reader {
public:
	Reader(const std::uint8_t *p, std::size_t n) : p_(p), n_(n) {}
	bool empty() const { return n_ == 0; }
	unsigned u8v()
	{
		if (!n_)
			return 0;
		n_--;
		return *p_++;
	}
	unsigned u16v() { return u8v() | u8v() << 8; }

private:
	const std::uint8_t *p_;
	std::size_t n_;
};

} // namespace fuzz_program

#define CHECK(cond)                                                     \
	do {                                                            \
		if (!(cond))                                            \
			fuzz_program::fail("%s:%d: %s", __FILE__, __LINE__, \
					   #cond);                      \
	} while (0)

// Byte loops of the models and page generators: left out of coverage,
// whose per-compare hooks would cost more than the operations under test.
#define NO_COVERAGE __attribute__((no_sanitize("coverage")))
