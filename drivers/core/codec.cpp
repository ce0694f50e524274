// SPDX-License-Identifier: GPL-2.0
#include "codec.hpp"

namespace zcx {

bool page_same_filled(const u8 *page, u64 *word)
{
	constexpr usize kWords = kPageSize / sizeof(u64);
	u64 words[2];
	memcpy(&words[0], page, sizeof(u64));
	memcpy(&words[1], page + kPageSize - sizeof(u64), sizeof(u64));
	// Most pages differ at the ends: a cheap early exit.
	if (words[0] != words[1])
		return false;
	for (usize i = 1; i < kWords - 1; i++) {
		u64 w;
		memcpy(&w, page + i * sizeof(u64), sizeof(w));
		if (w != words[0])
			return false;
	}
	*word = words[0];
	return true;
}

void fill_page(u8 *page, u64 word)
{
	if (word == 0) {
		memset(page, 0, kPageSize);
		return;
	}
	for (usize i = 0; i < kPageSize; i += sizeof(u64))
		memcpy(page + i, &word, sizeof(word));
}

Result<usize> compress_page(zcx_host *host, const u8 *page, zcx_stream &stream)
{
	zcx_size_t out_len = ZCX_STREAM_BUFFER_SIZE;
	const int status = zcx_compress(host, &stream, page, &out_len);
	if (status != 0 || out_len > ZCX_STREAM_BUFFER_SIZE)
		return Errc::io;
	return usize{out_len};
}

Result<void> decompress_page(zcx_host *host, ConstByteSpan src, u8 *page,
			     int *codec_status)
{
	zcx_size_t out_len = kPageSize;
	*codec_status = zcx_decompress(host, src.data(), src.size(), page,
				       &out_len);
	if (*codec_status != 0 || out_len != kPageSize)
		return Errc::io;
	return {};
}

} // namespace zcx
