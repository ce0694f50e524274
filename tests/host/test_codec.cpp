// SPDX-License-Identifier: GPL-2.0
// The codec wrapper, cross-checked against Debian's liblzo2 directly, and
// the same-filled page test.
#include "test_util.hpp"

#include "core/codec.hpp"

#include <lzo/lzo1x.h>

#include <memory>

namespace {

using namespace test;
using zcx::compress_page;
using zcx::decompress_page;
using zcx::Errc;

using CodecTest = HostTest;

// A stream like the C layer's: exact-size heap buffers for ASan.
struct Stream {
	Bytes buffer = Bytes(ZCX_STREAM_BUFFER_SIZE);
	Bytes wrkmem = Bytes(LZO1X_1_MEM_COMPRESS);
	zcx_stream raw{buffer.data(), wrkmem.data()};
	zcx_stream &get() { return raw; }
};

const Kind kAllKinds[] = {Kind::zero, Kind::same, Kind::text,
			  Kind::half_random, Kind::random};

// decompress_page into a page followed by a guard zone.  liblzo2 is not
// built with ASan, so its writes past the page are caught by hand.
zcx::Result<void> decompress(const Bytes &src, Bytes *out, int *status)
{
	constexpr std::size_t kGuard = 256;
	out->assign(kPage + kGuard, 0xee);
	// Copy so the input ends exactly where src does.
	auto in = std::make_unique<std::uint8_t[]>(src.size() + !src.size());
	if (!src.empty())
		std::memcpy(in.get(), src.data(), src.size());
	auto r = decompress_page(nullptr, {in.get(), src.size()}, out->data(), status);
	for (std::size_t i = kPage; i < kPage + kGuard; i++) {
		if ((*out)[i] != 0xee) {
			ADD_FAILURE() << "decompress wrote past the page at +"
				      << i - kPage;
			break;
		}
	}
	out->resize(kPage);
	return r;
}

Bytes lzo999_compress(const std::uint8_t *src, std::size_t len)
{
	Bytes out(len + len / 16 + 64 + 3);
	std::vector<std::uint8_t> wrkmem(LZO1X_999_MEM_COMPRESS);
	lzo_uint out_len = 0;
	EXPECT_EQ(lzo1x_999_compress(src, len, out.data(), &out_len,
				     wrkmem.data()),
		  LZO_E_OK);
	out.resize(out_len);
	return out;
}

TEST_F(CodecTest, CompressedPagesDecompressWithLiblzo2)
{
	Stream stream;
	for (Kind kind : kAllKinds) {
		for (std::uint64_t seed = 1; seed <= 20; seed++) {
			const Bytes page = make_page(kind, seed);
			auto len = compress_page(nullptr, page.data(), stream.get());
			ASSERT_TRUE(len.ok()) << kind_name(kind);
			ASSERT_GT(len.value(), 0u);
			ASSERT_LE(len.value(), ZCX_STREAM_BUFFER_SIZE);

			Bytes out(kPage);
			lzo_uint out_len = out.size();
			ASSERT_EQ(lzo1x_decompress_safe(stream.buffer.data(),
							len.value(), out.data(),
							&out_len, nullptr),
				  LZO_E_OK)
				<< kind_name(kind) << " seed " << seed;
			EXPECT_EQ(out_len, kPage);
			EXPECT_EQ(out, page) << kind_name(kind) << " seed " << seed;
		}
	}
}

TEST_F(CodecTest, DecompressesOtherCompressorsOutput)
{
	for (Kind kind : kAllKinds) {
		for (std::uint64_t seed = 1; seed <= 20; seed++) {
			const Bytes page = make_page(kind, seed);
			for (const Bytes &packed :
			     {lzo999_compress(page.data(), kPage),
			      lzo_compress(page.data(), kPage)}) {
				Bytes out;
				int status = -1;
				auto r = decompress(packed, &out, &status);
				ASSERT_TRUE(r.ok()) << kind_name(kind) << " seed "
						    << seed << " status " << status;
				EXPECT_EQ(status, LZO_E_OK);
				EXPECT_EQ(out, page);
			}
		}
	}
}

TEST_F(CodecTest, RandomPageIsHuge)
{
	Stream stream;
	for (std::uint64_t seed = 1; seed <= 20; seed++) {
		const Bytes page = make_page(Kind::random, seed);
		auto len = compress_page(nullptr, page.data(), stream.get());
		ASSERT_TRUE(len.ok());
		EXPECT_GE(len.value(), zcx::kHugeThreshold);
	}
	// And the compressible kinds are not.
	for (Kind kind : {Kind::zero, Kind::same, Kind::text, Kind::half_random}) {
		const Bytes page = make_page(kind, 7);
		auto len = compress_page(nullptr, page.data(), stream.get());
		ASSERT_TRUE(len.ok());
		EXPECT_LT(len.value(), zcx::kHugeThreshold) << kind_name(kind);
	}
}

TEST_F(CodecTest, TruncatedInputIsRejected)
{
	for (Kind kind : {Kind::text, Kind::half_random, Kind::random}) {
		const Bytes page = make_page(kind, 3);
		const Bytes packed = lzo_compress(page.data(), kPage);
		for (std::size_t len = 0; len < packed.size(); len++) {
			Bytes cut(packed.begin(), packed.begin() + len);
			Bytes out;
			int status = 0;
			auto r = decompress(cut, &out, &status);
			ASSERT_FALSE(r.ok()) << kind_name(kind) << " cut to " << len;
			EXPECT_EQ(r.error(), Errc::io);
			EXPECT_NE(status, LZO_E_OK) << "cut to " << len;
		}
	}
}

TEST_F(CodecTest, TrailingGarbageIsRejected)
{
	const Bytes page = make_page(Kind::text, 4);
	Bytes packed = lzo_compress(page.data(), kPage);
	packed.push_back(0);
	Bytes out;
	int status = 0;
	auto r = decompress(packed, &out, &status);
	ASSERT_FALSE(r.ok());
	EXPECT_EQ(r.error(), Errc::io);
	EXPECT_EQ(status, LZO_E_INPUT_NOT_CONSUMED);
}

// LZO has no checksum: a flipped literal bit decodes to another page of the
// right length, which no codec could notice.  What must hold is that every
// flip either fails with -EIO or yields exactly one page, never writing
// past it, and that structural damage is caught.
TEST_F(CodecTest, BitFlipsNeverOverrunThePage)
{
	for (Kind kind : {Kind::text, Kind::half_random, Kind::same}) {
		const Bytes page = make_page(kind, 5);
		const Bytes packed = lzo_compress(page.data(), kPage);
		std::size_t rejected = 0, flips = 0;
		for (std::size_t byte = 0; byte < packed.size(); byte++) {
			for (int bit = 0; bit < 8; bit++) {
				Bytes bad = packed;
				bad[byte] ^= static_cast<std::uint8_t>(1u << bit);
				Bytes out;
				int status = 0;
				auto r = decompress(bad, &out, &status);
				flips++;
				if (!r.ok()) {
					EXPECT_EQ(r.error(), Errc::io);
					rejected++;
				} else {
					EXPECT_EQ(status, LZO_E_OK);
				}
			}
		}
		EXPECT_GT(rejected, 0u) << kind_name(kind);
		RecordProperty(std::string("rejected_") + kind_name(kind),
			       std::to_string(rejected) + "/" + std::to_string(flips));
	}
}

TEST_F(CodecTest, ShortOutputIsRejected)
{
	const Bytes page = make_page(Kind::text, 6);
	for (std::size_t len : {std::size_t{1}, std::size_t{100}, kPage / 2,
				kPage - 1}) {
		const Bytes packed = lzo_compress(page.data(), len);
		Bytes out;
		int status = -1;
		auto r = decompress(packed, &out, &status);
		ASSERT_FALSE(r.ok()) << len;
		EXPECT_EQ(r.error(), Errc::io);
		EXPECT_EQ(status, LZO_E_OK) << "decodes fine, just short";
	}
}

TEST_F(CodecTest, OversizedOutputIsRejected)
{
	for (std::size_t len : {kPage + 1, kPage + 64, 2 * kPage}) {
		Bytes big(len);
		Rng rng(len);
		for (std::size_t i = 0; i < len; i++)
			big[i] = static_cast<std::uint8_t>(rng.range(0, 3));
		for (const Bytes &packed : {lzo_compress(big.data(), len),
					    lzo999_compress(big.data(), len)}) {
			Bytes out;
			int status = 0;
			auto r = decompress(packed, &out, &status);
			ASSERT_FALSE(r.ok()) << len;
			EXPECT_EQ(r.error(), Errc::io);
			EXPECT_EQ(status, LZO_E_OUTPUT_OVERRUN);
		}
	}
}

TEST_F(CodecTest, EmptyInputIsRejected)
{
	Bytes out;
	int status = 0;
	auto r = decompress({}, &out, &status);
	ASSERT_FALSE(r.ok());
	EXPECT_EQ(r.error(), Errc::io);
}

// ---- same-filled pages ----

TEST_F(CodecTest, SameFilledDetection)
{
	std::uint64_t word = 1;
	const Bytes zero(kPage, 0);
	ASSERT_TRUE(zcx::page_same_filled(zero.data(), &word));
	EXPECT_EQ(word, 0u);

	for (std::uint64_t w : {std::uint64_t{0x0101010101010101}, std::uint64_t{0x0102030405060708},
				~std::uint64_t{0}, std::uint64_t{1} << 63}) {
		Bytes page(kPage);
		zcx::fill_page(page.data(), w);
		for (std::size_t i = 0; i < kPage; i += 8) {
			std::uint64_t got;
			std::memcpy(&got, &page[i], 8);
			ASSERT_EQ(got, w);
		}
		word = 0;
		ASSERT_TRUE(zcx::page_same_filled(page.data(), &word));
		EXPECT_EQ(word, w);

		// One byte off anywhere breaks it.
		for (std::size_t pos : {std::size_t{0}, std::size_t{7},
					std::size_t{8}, kPage / 2 - 1, kPage / 2,
					kPage - 9, kPage - 8, kPage - 1}) {
			Bytes off = page;
			off[pos] ^= 0x40;
			EXPECT_FALSE(zcx::page_same_filled(off.data(), &word))
				<< std::hex << w << " byte " << std::dec << pos;
		}
	}
	for (std::size_t pos = 0; pos < kPage; pos++) {
		Bytes off = zero;
		off[pos] = 1;
		ASSERT_FALSE(zcx::page_same_filled(off.data(), &word)) << pos;
	}
	// A repeated 4-byte pattern is a repeated 8-byte word too.
	Bytes four(kPage);
	for (std::size_t i = 0; i < kPage; i += 4)
		std::memcpy(&four[i], "\x12\x34\x56\x78", 4);
	EXPECT_TRUE(zcx::page_same_filled(four.data(), &word));
	// Text is not.
	EXPECT_FALSE(zcx::page_same_filled(make_page(Kind::text, 1).data(), &word));
}

TEST_F(CodecTest, FillPageRoundTrip)
{
	Rng rng(9);
	for (int i = 0; i < 200; i++) {
		const std::uint64_t w = i == 0 ? 0 : rng.next();
		Bytes page(kPage, 0xcc);
		zcx::fill_page(page.data(), w);
		std::uint64_t got = ~w;
		ASSERT_TRUE(zcx::page_same_filled(page.data(), &got));
		EXPECT_EQ(got, w);
	}
}

} // namespace
