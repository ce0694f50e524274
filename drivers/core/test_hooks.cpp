// SPDX-License-Identifier: GPL-2.0
// include/zcx/test_abi.h: the core's insides, opened for the KUnit suites.
#include "codec.hpp"
#include "table.hpp"
#include "xvmalloc/xvmalloc.hpp"
#include "zcx/support/guards.hpp"
#include "zcx/test_abi.h"

struct zcx_test_pool {}; // opaque to C: it is a zcx::xv::Pool

namespace {

zcx::xv::Pool *pool_of(zcx_test_pool *p)
{
	return reinterpret_cast<zcx::xv::Pool *>(p);
}

} // namespace

extern "C" {

zcx_test_pool *zcx_test_pool_create(void)
{
	auto pool = zcx::xv::Pool::create();
	return pool ? reinterpret_cast<zcx_test_pool *>(pool.value()) : nullptr;
}

void zcx_test_pool_destroy(zcx_test_pool *pool)
{
	zcx::xv::Pool::destroy(pool_of(pool));
}

int zcx_test_pool_alloc(zcx_test_pool *pool, zcx_size_t size, zcx_gfp gfp,
			zcx_u64 *handle)
{
	auto h = pool_of(pool)->alloc(size, static_cast<zcx::Gfp>(gfp));
	if (h)
		*handle = h.value();
	return zcx::to_errno(h);
}

void zcx_test_pool_free(zcx_test_pool *pool, zcx_u64 handle)
{
	pool_of(pool)->free(handle);
}

zcx_size_t zcx_test_pool_object_size(zcx_test_pool *pool, zcx_u64 handle)
{
	return pool_of(pool)->object_size(handle);
}

void *zcx_test_pool_map(zcx_test_pool *pool, zcx_u64 handle)
{
	return pool_of(pool)->map(handle);
}

void zcx_test_pool_unmap(zcx_test_pool *pool, const void *object)
{
	pool_of(pool)->unmap(static_cast<const zcx::u8 *>(object));
}

zcx_u64 zcx_test_pool_pages(zcx_test_pool *pool) { return pool_of(pool)->pages(); }

int zcx_test_pool_check(zcx_test_pool *pool) { return pool_of(pool)->check_free_lists(); }

int zcx_test_pool_check_page_of(zcx_u64 handle)
{
	zcx::usize free_bytes;
	return zcx::xv::Pool::check_chunk(
		zcx_pfn_to_page(zcx::xv::handle_pfn(handle)),
		zcx::xv::handle_order(handle), &free_bytes);
}

unsigned long zcx_test_handle_pfn(zcx_u64 handle) { return zcx::xv::handle_pfn(handle); }

unsigned int zcx_test_handle_order(zcx_u64 handle) { return zcx::xv::handle_order(handle); }

zcx_size_t zcx_test_max_alloc(void) { return zcx::xv::kMaxAlloc; }

int zcx_test_slot_kinds(void) { return static_cast<int>(zcx::SlotKind::backing) + 1; }

int zcx_test_slot_roundtrip(int kind, zcx_u64 value, unsigned int size)
{
	zcx::Slot slot;
	const zcx::SlotContents in{static_cast<zcx::SlotKind>(kind), value, size};
	bool same;
	{
		auto locked = slot.lock();
		slot.set(in);
		slot.touch(12345);
		const zcx::SlotContents out = slot.get();
		same = out.kind == in.kind && out.size == in.size &&
		       (in.kind == zcx::SlotKind::empty || out.value == in.value) &&
		       slot.access_time() == 12345;
	}
	// The lock bit must be clear again, and the lock usable.
	if (!slot.try_lock())
		return 0;
	slot.unlock();
	return same;
}

int zcx_test_compress(zcx_host *host, const void *page, void *out, zcx_size_t *len)
{
	zcx::StreamSection section(host);
	zcx_stream &stream = section.stream();
	auto n = zcx::compress_page(host, static_cast<const zcx::u8 *>(page), stream);
	if (!n)
		return zcx::to_errno(n);
	memcpy(out, stream.buffer, n.value());
	*len = n.value();
	return 0;
}

int zcx_test_decompress(zcx_host *host, const void *src, zcx_size_t len, void *page)
{
	int status;
	return zcx::to_errno(zcx::decompress_page(
		host, {static_cast<const zcx::u8 *>(src), len},
		static_cast<zcx::u8 *>(page), &status));
}

int zcx_test_same_filled(const void *page, zcx_u64 *word)
{
	zcx::u64 w;
	const bool same = zcx::page_same_filled(static_cast<const zcx::u8 *>(page), &w);
	if (same)
		*word = w;
	return same;
}

zcx_size_t zcx_test_huge_threshold(void) { return zcx::kHugeThreshold; }

} // extern "C"
