// SPDX-License-Identifier: GPL-2.0
#include "codec.hpp"

namespace zcx {

bool page_same_filled(const u8 *page, u64 *word)
{
	constexpr usize kWords = kPageSize / sizeof(u64);
	constexpr usize kStride = 8;
	static_assert(kWords % kStride == 0);
	u64 first, last;
	memcpy(&first, page, sizeof(u64));
	memcpy(&last, page + kPageSize - sizeof(u64), sizeof(u64));
	// Most pages differ at the ends: a cheap early exit.
	if (first != last)
		return false;
	// Eight words per test: one branch per cache line instead of eight
	// halves the instructions of a full scan (zero pages are common in
	// swap; stock 6.1 tests word by word).
	for (usize i = 0; i < kWords; i += kStride) {
		u64 w[kStride];
		memcpy(w, page + i * sizeof(u64), sizeof(w));
		u64 diff = 0;
		for (usize j = 0; j < kStride; j++)
			diff |= w[j] ^ first;
		if (diff)
			return false;
	}
	*word = first;
	return true;
}

void fill_page(u8 *page, u64 word)
{
	if (word == 0) {
		memset(page, 0, kPageSize);
		return;
	}
	zcx_memset64(page, word, kPageSize / sizeof(u64));
}

Result<usize> compress_page(zcx_host *host, const u8 *page, zcx_stream &stream,
			    unsigned int priority)
{
	zcx_size_t out_len = ZCX_STREAM_BUFFER_SIZE;
	const int status = zcx_compress(host, priority, &stream, page, &out_len);
	if (status != 0 || out_len > ZCX_STREAM_BUFFER_SIZE)
		return Errc::io;
	return usize{out_len};
}

Result<void> decompress_page(zcx_host *host, ConstByteSpan src, u8 *page,
			     int *codec_status, unsigned int priority)
{
	zcx_size_t out_len = kPageSize;
	*codec_status = zcx_decompress(host, priority, src.data(), src.size(),
				       page, &out_len);
	if (*codec_status != 0 || out_len != kPageSize)
		return Errc::io;
	return {};
}

} // namespace zcx
