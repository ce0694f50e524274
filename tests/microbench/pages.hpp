// SPDX-License-Identifier: GPL-2.0
// Page contents for the microbenchmarks, each fully determined by (kind,
// seed).  The kinds span what zram sees: pages the same-fill test catches,
// fio's half-compressible buffers, text, and incompressible data.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "rng.hpp"

namespace mb {

inline constexpr std::size_t kPage = 4096;

enum class Kind { zero, same, fio50, text, random };
inline constexpr Kind kKinds[] = {Kind::zero, Kind::same, Kind::fio50,
				  Kind::text, Kind::random};

inline const char *kind_name(Kind k)
{
	switch (k) {
	case Kind::zero: return "zero";
	case Kind::same: return "same";
	case Kind::fio50: return "fio50";
	case Kind::text: return "text";
	case Kind::random: return "random";
	}
	return "?";
}

using Rng = test::Rng;

inline void fill_random(std::uint8_t *p, std::size_t n, Rng &rng)
{
	for (std::size_t i = 0; i < n; i += 8) {
		const std::uint64_t w = rng.next();
		std::memcpy(p + i, &w, n - i < 8 ? n - i : 8);
	}
}

// Prose-like text: words drawn with a skewed (roughly Zipfian) choice from a
// small vocabulary, sentences, line breaks, the odd number.  LZO1X-1 keeps
// about 60 % of it (no snprintf: callgrind runs this for every page).
inline void fill_text(std::uint8_t *p, Rng &rng)
{
	static const char *const words[] = {
		"the", "of", "and", "to", "a", "in", "is", "it", "that",
		"for", "was", "on", "are", "with", "as", "be", "this", "by",
		"from", "at", "or", "have", "not", "which", "an", "but",
		"they", "one", "all", "were", "when", "can", "there", "been",
		"if", "more", "will", "each", "about", "how", "up", "out",
		"them", "then", "she", "many", "some", "so", "these", "would",
		"other", "into", "has", "her", "two", "like", "him", "see",
		"time", "could", "no", "make", "than", "first", "water",
		"been", "call", "who", "its", "now", "find", "long", "down",
		"day", "did", "get", "come", "made", "may", "part", "over",
		"kernel", "memory", "page", "device", "swap", "compressed",
		"block", "system", "process", "allocator", "buffer",
		"request", "driver", "module", "number", "between",
		"something", "different", "important", "following",
		"without", "question", "government", "information",
	};
	constexpr std::size_t kWords = sizeof(words) / sizeof(words[0]);
	std::size_t pos = 0, col = 0;
	bool capital = true;
	while (pos < kPage) {
		char tok[32];
		std::size_t n = 0;
		if (rng.next() % 40 == 0) {
			char digits[8];
			std::size_t d = 0;
			for (auto v = rng.range(0, 99999); d == 0 || v; v /= 10)
				digits[d++] = static_cast<char>('0' + v % 10);
			while (d)
				tok[n++] = digits[--d];
		} else {
			// The product of two uniform draws favours the front.
			const std::size_t a = rng.next() % kWords;
			const std::size_t b = rng.next() % kWords;
			for (const char *w = words[a * b / kWords]; *w; w++)
				tok[n++] = *w;
			if (capital)
				tok[0] = static_cast<char>(tok[0] - 'a' + 'A');
		}
		capital = false;
		const unsigned r = rng.next() % 16;
		if (r == 0) {
			tok[n++] = '.';
			capital = true;
		} else if (r == 1) {
			tok[n++] = ',';
		}
		col += n + 1;
		char sep = ' ';
		if (col > 72) {
			sep = '\n';
			col = 0;
		}
		tok[n++] = sep;
		for (std::size_t i = 0; i < n && pos < kPage; i++)
			p[pos++] = static_cast<std::uint8_t>(tok[i]);
	}
}

inline void make_page(Kind kind, std::uint64_t seed, std::uint8_t *p)
{
	Rng rng(seed * 0x2545f4914f6cdd1dULL + 1);
	switch (kind) {
	case Kind::zero:
		std::memset(p, 0, kPage);
		break;
	case Kind::same: {
		const std::uint64_t word = rng.next() | 1; // never zero
		for (std::size_t i = 0; i < kPage; i += 8)
			std::memcpy(p + i, &word, 8);
		break;
	}
	case Kind::fio50:
		// fio 3.33, buffer_compress_percentage=50 with the default
		// buffer_compress_chunk=512 (lib/rand.c,
		// __fill_random_buf_percentage): every 512-byte chunk is 256
		// random bytes, then 256 zeros.  Checked against the bytes
		// fio writes.
		for (std::size_t c = 0; c < kPage; c += 512) {
			fill_random(p + c, 256, rng);
			std::memset(p + c + 256, 0, 256);
		}
		break;
	case Kind::text:
		fill_text(p, rng);
		break;
	case Kind::random:
		fill_random(p, kPage, rng);
		break;
	}
}

} // namespace mb
