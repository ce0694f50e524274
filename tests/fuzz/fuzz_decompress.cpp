// SPDX-License-Identifier: GPL-2.0
// The codec wrapper (drivers/core/codec.hpp) on hostile input, for every
// codec the host platform has (today only LZO1X, the kernel's "lzo"):
//
//  1. The input as a stored object: decompress_page either yields exactly
//     one page or fails with -EIO, never touching memory outside its input
//     and its page; its verdict and page agree with liblzo2 decoding the
//     same bytes into a roomier buffer.
//  2. The input as page content (repeated, and zero-padded, to a page):
//     compress_page then decompress_page gives the page back; the stream
//     cut short or with a byte appended is -EIO.
//  3. page_same_filled agrees with a naive check, and fill_page with a
//     naive fill.
//
// liblzo2 is not built with ASan, so its stray reads and writes would go
// unseen: input and output live next to PROT_NONE guard pages instead,
// where any overrun faults.
#include "core/codec.hpp"
#include "platform_host.hpp"
#include "zcx/support/guards.hpp"

#include <lzo/lzo1x.h>

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

using zcx::Errc;
using zcx::u8;
constexpr std::size_t kPage = ZCX_PAGE_SIZE;

[[noreturn]] void fail(const char *what)
{
	std::fprintf(stderr, "fuzz_decompress: %s\n", what);
	std::abort();
}

void check(bool ok, const char *what)
{
	if (!ok)
		fail(what);
}

// [guard][bytes ... ][guard], with the payload flush against the upper
// guard so one byte past it faults.  Grows, never shrinks.
class GuardedBuffer {
public:
	u8 *place(const void *src, std::size_t len)
	{
		reserve(len);
		u8 *p = body_ + cap_ - len;
		if (len)
			std::memcpy(p, src, len);
		return p;
	}
	// An uninitialised region of exactly len bytes, flush at the top.
	u8 *region(std::size_t len)
	{
		reserve(len);
		return body_ + cap_ - len;
	}

private:
	void reserve(std::size_t len)
	{
		if (body_ && len <= cap_)
			return;
		if (base_)
			munmap(base_, cap_ + 2 * kPage);
		cap_ = (len + kPage - 1) / kPage * kPage;
		if (cap_ == 0)
			cap_ = kPage;
		void *m = mmap(nullptr, cap_ + 2 * kPage, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED)
			fail("mmap");
		base_ = static_cast<u8 *>(m);
		body_ = base_ + kPage;
		if (mprotect(base_, kPage, PROT_NONE) ||
		    mprotect(body_ + cap_, kPage, PROT_NONE))
			fail("mprotect");
	}

	u8 *base_ = nullptr;
	u8 *body_ = nullptr;
	std::size_t cap_ = 0;
};

struct Codec {
	const char *name;
	// What the algorithm itself says about src, decoded with room to
	// spare: status and produced length.
	int (*reference)(const u8 *src, std::size_t len, u8 *dst,
			 std::size_t cap, std::size_t *out_len);
	int ok_status;
};

int lzo_reference(const u8 *src, std::size_t len, u8 *dst, std::size_t cap,
		  std::size_t *out_len)
{
	lzo_uint n = cap;
	const int rc = lzo1x_decompress_safe(src, len, dst, &n, nullptr);
	*out_len = n;
	return rc;
}

// The host's zcx_compress/zcx_decompress are LZO1X-1 (platform_host.cpp).
// A second host codec gets a second entry here.
const Codec kCodecs[] = {
	{"lzo", lzo_reference, LZO_E_OK},
};

// Room for what a hostile input may claim to decode to.
constexpr std::size_t kReferenceCap = 16 * kPage;

// liblzo2 has no coverage instrumentation, so libFuzzer is told what the
// codec made of an input instead: its status and output length, for the
// wrapper's page-sized output and for the roomy reference.  Inputs that
// reach a new (status, length) cell are kept, which steers the fuzzer
// towards streams that decode to exactly a page, or just past it.
constexpr unsigned kStatuses = 16, kLengths = 64;
__attribute__((used, section("__libfuzzer_extra_counters")))
u8 g_outcomes[2][kStatuses][kLengths];

void note_outcome(unsigned which, int status, std::size_t len)
{
	const unsigned s = status >= 0 ? 0 :
			   -status < static_cast<int>(kStatuses) ? -status :
			   kStatuses - 1;
	// Cell 0: exactly a page; the rest spread over 0..kReferenceCap.
	const std::size_t l = len == kPage ? 0 :
			      1 + (len < kReferenceCap ? len : kReferenceCap - 1) *
					  (kLengths - 1) / kReferenceCap;
	g_outcomes[which][s][l] = 1;
}

struct Env {
	zcx_host *host = host::streams_create();
	GuardedBuffer input, page, ref;
};

Env &env()
{
	static Env e;
	return e;
}

// (1) src as a stored object.
void hostile(const Codec &codec, const u8 *data, std::size_t size)
{
	Env &e = env();
	const u8 *src = e.input.place(data, size);
	u8 *page = e.page.region(kPage);
	std::memset(page, 0xee, kPage);
	int status = 12345;
	auto r = zcx::decompress_page(e.host, {src, size}, page, &status);
	check(status != 12345, "decompress_page left the codec status unset");
	if (!r.ok())
		check(r.error() == Errc::io, "decompress_page failed, not -EIO");
	else
		check(status == codec.ok_status,
		      "decompress_page succeeded on a failed status");

	// Differential: the same bytes decoded with plenty of room.
	u8 *ref = e.ref.region(kReferenceCap);
	std::size_t ref_len = 0;
	const int ref_status =
		codec.reference(src, size, ref, kReferenceCap, &ref_len);
	note_outcome(0, status, r.ok() ? kPage : 1);
	note_outcome(1, ref_status, ref_len);
	const bool whole_page =
		ref_status == codec.ok_status && ref_len == kPage;
	if (r.ok() != whole_page) {
		std::fprintf(stderr, "%s: wrapper %s (status %d), reference "
			     "status %d, %zu bytes\n", codec.name,
			     r.ok() ? "ok" : "-EIO", status, ref_status, ref_len);
		fail("decompress_page and the codec disagree");
	}
	if (r.ok())
		check(std::memcmp(page, ref, kPage) == 0,
		      "decompress_page's page differs from the codec's");
}

// Same-filled means periodic with period 8: every byte equals the one
// eight bytes on.
bool naive_same_filled(const u8 *page, std::uint64_t *word)
{
	if (std::memcmp(page, page + 8, kPage - 8) != 0)
		return false;
	std::memcpy(word, page, 8);
	return true;
}

void check_same_filled(const u8 *page)
{
	std::uint64_t naive = 0, got = 0;
	const bool want = naive_same_filled(page, &naive);
	check(zcx::page_same_filled(page, &got) == want,
	      "page_same_filled disagrees with the naive check");
	if (want)
		check(got == naive, "page_same_filled returned the wrong word");
}

// (2) The page through compress and back.
void round_trip(const u8 *content)
{
	Env &e = env();
	check_same_filled(content);

	std::size_t len;
	std::vector<u8> packed;
	{
		zcx::StreamSection section(e.host);
		auto r = zcx::compress_page(e.host, content, section.stream());
		check(r.ok(), "compress_page failed");
		len = r.value();
		check(len > 0 && len <= ZCX_STREAM_BUFFER_SIZE,
		      "compress_page returned an impossible length");
		const u8 *buf = static_cast<const u8 *>(section.stream().buffer);
		packed.assign(buf, buf + len);
	}
	check(host::preempt_depth() == 0, "stream section left open");

	u8 *page = e.page.region(kPage);
	int status;
	std::memset(page, 0xee, kPage);
	auto r = zcx::decompress_page(e.host,
				      {e.input.place(packed.data(), len), len},
				      page, &status);
	check(r.ok(), "a page compress_page made does not decompress");
	check(std::memcmp(page, content, kPage) == 0,
	      "round trip changed the page");

	// Cut short by one byte, or one byte too long: -EIO, never a page.
	r = zcx::decompress_page(e.host,
				 {e.input.place(packed.data(), len - 1), len - 1},
				 page, &status);
	check(!r.ok() && r.error() == Errc::io, "truncated stream accepted");
	packed.push_back(content[0]);
	r = zcx::decompress_page(e.host,
				 {e.input.place(packed.data(), len + 1), len + 1},
				 page, &status);
	check(!r.ok() && r.error() == Errc::io,
	      "stream with trailing garbage accepted");
}

// (3) fill_page against a naive fill, and one flipped byte breaks it.
void same_filled(const u8 *data, std::size_t size)
{
	if (size < 8)
		return;
	std::uint64_t word;
	std::memcpy(&word, data, 8);
	static u8 page[kPage], naive[kPage];
	std::memset(page, 0xcc, kPage);
	zcx::fill_page(page, word);
	std::memcpy(naive, &word, 8);
	for (std::size_t n = 8; n < kPage; n *= 2)
		std::memcpy(naive + n, naive, n);
	check(std::memcmp(page, naive, kPage) == 0, "fill_page is wrong");
	std::uint64_t got = ~word;
	check(zcx::page_same_filled(page, &got) && got == word,
	      "a filled page is not same-filled");
	if (size >= 11) {
		const std::size_t pos = (data[8] | data[9] << 8) % kPage;
		const u8 flip = data[10] ? data[10] : 1;
		page[pos] ^= flip;
		check_same_filled(page);
		check(!zcx::page_same_filled(page, &got),
		      "a page with one byte changed is same-filled");
	}
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data,
				      std::size_t size)
{
	for (const Codec &codec : kCodecs)
		hostile(codec, data, size);

	// Page content: the input repeated to a page, and zero-padded.
	static u8 content[kPage];
	if (size) {
		const std::size_t first = size < kPage ? size : kPage;
		std::memcpy(content, data, first);
		for (std::size_t n = first; n < kPage; n += n)
			std::memcpy(content + n, content,
				    n < kPage - n ? n : kPage - n);
	} else {
		std::memset(content, 0, kPage);
	}
	round_trip(content);
	std::memset(content, 0, kPage);
	std::memcpy(content, data, size < kPage ? size : kPage);
	round_trip(content);

	same_filled(data, size);
	return 0;
}
