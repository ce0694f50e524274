// SPDX-License-Identifier: GPL-2.0
// Page compression through the disk's compressor (the kernel's LZO or
// crypto API; liblzo2 on the host), plus the same-filled page test.
#pragma once

#include "zcx/abi.h"
#include "zcx/support/result.hpp"
#include "zcx/support/span.hpp"
#include "zcx/support/types.hpp"

namespace zcx {

// Pages that compress to this many bytes or more are stored raw.  Below
// it, five objects share a 16 KiB chunk (device.cpp checks the arithmetic):
// 0.8 of a page each against a whole one raw.  The 2010 driver's 3/4 of a
// page (3072) stored 60 % more real-file pages raw than stock 6.1, whose
// zsmalloc huge class starts at 3257 bytes.
#ifdef ZCX_HUGE_THRESHOLD // measurement builds only (Kbuild)
inline constexpr usize kHugeThreshold = ZCX_HUGE_THRESHOLD;
#else
inline constexpr usize kHugeThreshold = 3265;
#endif

// The word a page repeats from start to end, if it does.
bool page_same_filled(const u8 *page, u64 *word);
void fill_page(u8 *page, u64 word);

// Compresses one page into stream.buffer with the algorithm of that
// priority (stream must be its stream); returns the compressed length.
Result<usize> compress_page(zcx_host *host, const u8 *page, zcx_stream &stream,
			    unsigned int priority = 0);

// Decompresses into a full page; anything but exactly one page of output
// (truncated, corrupted or oversized input) is -EIO.
Result<void> decompress_page(zcx_host *host, ConstByteSpan src, u8 *page,
			     int *codec_status, unsigned int priority = 0);

} // namespace zcx
