// SPDX-License-Identifier: GPL-2.0
// The core's C entry points (include/zcx/abi.h): thin, no logic.
#include "backing.hpp"
#include "device.hpp"
#include "kv.hpp"
#include "parse.hpp"

struct zcx_dev {}; // opaque to C: it is a zcx::Device
struct zcx_blocks {}; // and this a zcx::BackingBlocks

namespace {

zcx::Device *device(zcx_dev *dev) { return reinterpret_cast<zcx::Device *>(dev); }
const zcx::Device *device(const zcx_dev *dev)
{
	return reinterpret_cast<const zcx::Device *>(dev);
}

zcx::BackingBlocks *blocks(zcx_blocks *b)
{
	return reinterpret_cast<zcx::BackingBlocks *>(b);
}

} // namespace

extern "C" {

int zcx_blocks_create(zcx_u64 nr_blocks, zcx_blocks **out)
{
	auto b = zcx::BackingBlocks::create(nr_blocks);
	if (b)
		*out = reinterpret_cast<zcx_blocks *>(b.value());
	return zcx::to_errno(b);
}

void zcx_blocks_destroy(zcx_blocks *b) { zcx::BackingBlocks::destroy(blocks(b)); }

int zcx_blocks_alloc(zcx_blocks *b, unsigned long *block)
{
	auto r = blocks(b)->alloc();
	if (r)
		*block = r.value();
	return zcx::to_errno(r);
}

int zcx_blocks_put_unused(zcx_blocks *b, unsigned long block)
{
	return blocks(b)->put_unused(block) ? 0 : -ZCX_EINVAL;
}

int zcx_blocks_free(zcx_blocks *b, unsigned long block)
{
	return blocks(b)->free(block) ? 0 : -ZCX_EINVAL;
}

unsigned int zcx_blocks_read_begin(zcx_blocks *b) { return blocks(b)->read_begin(); }

void zcx_blocks_read_end(zcx_blocks *b, unsigned int tag, unsigned long reads)
{
	blocks(b)->read_end(tag, reads);
}

void zcx_blocks_get_stats(const zcx_blocks *b, zcx_blocks_stats *out)
{
	const auto *bb = reinterpret_cast<const zcx::BackingBlocks *>(b);
	out->held = bb->held();
	out->deferred = bb->deferred();
	out->deferrals = bb->deferrals();
}

int zcx_dev_create(zcx_u64 disksize, zcx_host *host, zcx_dev **out)
{
	auto dev = zcx::Device::create(disksize, host);
	if (dev)
		*out = reinterpret_cast<zcx_dev *>(dev.value());
	return zcx::to_errno(dev);
}

void zcx_dev_destroy(zcx_dev *dev) { zcx::Device::destroy(device(dev)); }

zcx_u64 zcx_dev_nr_pages(const zcx_dev *dev) { return device(dev)->nr_pages(); }

int zcx_dev_write_page(zcx_dev *dev, unsigned long index, const void *src)
{
	return zcx::to_errno(device(dev)->write_page(
		index, static_cast<const zcx::u8 *>(src)));
}

int zcx_dev_read_page_ref(zcx_dev *dev, unsigned long index, void *dst,
			  zcx_backing_ref *ref)
{
	auto r = device(dev)->read_page(index, static_cast<zcx::u8 *>(dst), ref);
	return r ? r.value() : zcx::to_errno(r);
}

int zcx_dev_read_page(zcx_dev *dev, unsigned long index, void *dst,
		      unsigned long *backing_block)
{
	zcx_backing_ref ref{};
	const int r = zcx_dev_read_page_ref(dev, index, dst, &ref);
	if (r > 0)
		*backing_block = ref.block;
	return r;
}

int zcx_dev_decompress_backing(zcx_dev *dev, unsigned long index,
			       const zcx_backing_ref *ref, const void *src,
			       void *dst)
{
	return zcx::to_errno(device(dev)->decompress_backing(
		index, *ref, static_cast<const zcx::u8 *>(src),
		static_cast<zcx::u8 *>(dst)));
}

void zcx_dev_mark_idle(zcx_dev *dev, int all, unsigned int max_age)
{
	device(dev)->mark_idle(all, max_age);
}

int zcx_dev_writeback_prepare(zcx_dev *dev, unsigned long index, int mode,
			      void *dst)
{
	auto r = device(dev)->writeback_prepare(index, mode,
						static_cast<zcx::u8 *>(dst));
	return r ? r.value() : zcx::to_errno(r);
}

void zcx_dev_pp_plan(zcx_dev *dev, const zcx_pp_filter *filter,
		     zcx_u64 max_pages, int largest_first, zcx_pp_plan *plan)
{
	device(dev)->pp_plan(*filter, max_pages, largest_first, plan);
}

int zcx_dev_writeback_prepare_pp(zcx_dev *dev, unsigned long index,
				 const zcx_pp_filter *filter, zcx_pp_plan *plan,
				 void *dst, int compressed, unsigned int *len)
{
	zcx::u32 n = 0;
	auto r = device(dev)->writeback_prepare(index, *filter, plan,
						static_cast<zcx::u8 *>(dst),
						compressed, &n);
	if (r && r.value() && len)
		*len = n;
	return r ? r.value() : zcx::to_errno(r);
}

int zcx_dev_writeback_commit_len(zcx_dev *dev, unsigned long index,
				 unsigned long block, unsigned int len)
{
	return device(dev)->writeback_commit(index, block, len);
}

int zcx_dev_writeback_commit(zcx_dev *dev, unsigned long index,
			     unsigned long block)
{
	return device(dev)->writeback_commit(index, block);
}

void zcx_dev_writeback_abort(zcx_dev *dev, unsigned long index)
{
	device(dev)->writeback_abort(index);
}

void zcx_dev_discard_page(zcx_dev *dev, unsigned long index)
{
	device(dev)->discard_page(index);
}

void zcx_dev_discard_range(zcx_dev *dev, zcx_u64 first, zcx_u64 count)
{
	device(dev)->discard_range(first, count);
}

void zcx_dev_slot_free_notify(zcx_dev *dev, unsigned long index)
{
	device(dev)->slot_free_notify(index);
}

void zcx_dev_count_invalid_io(zcx_dev *dev) { device(dev)->count_invalid_io(); }

void zcx_dev_count_failed(zcx_dev *dev, int is_write)
{
	device(dev)->count_failed(is_write);
}

zcx_u64 zcx_dev_compact(zcx_dev *dev, zcx_u64 max_pages)
{
	return device(dev)->compact(max_pages);
}

int zcx_dev_regroup_sparse(zcx_dev *dev, void *page, const unsigned char *stop,
			   zcx_u64 *pages)
{
	auto r = device(dev)->regroup_sparse(static_cast<zcx::u8 *>(page), stop);
	if (r)
		*pages = r.value();
	return zcx::to_errno(r);
}

zcx_u64 zcx_dev_grouped_pages(const zcx_dev *dev)
{
	return device(dev)->grouped_pages();
}

zcx_u64 zcx_dev_compactable_pages(const zcx_dev *dev)
{
	return device(dev)->compactable_pages();
}

void zcx_dev_pool_holes(zcx_dev *dev, zcx_u64 count[ZCX_POOL_HOLE_BUCKETS],
			zcx_u64 bytes[ZCX_POOL_HOLE_BUCKETS])
{
	static_assert(ZCX_POOL_HOLE_BUCKETS == zcx::xv::Pool::kHoleBuckets);
	const zcx::xv::Pool::Holes holes = device(dev)->pool_holes();
	for (unsigned int b = 0; b < ZCX_POOL_HOLE_BUCKETS; b++) {
		count[b] = holes.count[b];
		bytes[b] = holes.bytes[b];
	}
}

int zcx_dev_recompress(zcx_dev *dev, const zcx_recompress_request *req,
		       void *page, zcx_recompress_result *out)
{
	auto r = device(dev)->recompress(*req, static_cast<zcx::u8 *>(page));
	if (r)
		*out = r.value();
	return zcx::to_errno(r);
}

zcx_u64 zcx_dev_recompressed_reads(const zcx_dev *dev)
{
	return device(dev)->recompressed_reads();
}

void zcx_policy_ages_reset(const zcx_dev *dev, zcx_policy_ages *a,
			   unsigned int recompress_after)
{
	// No device yet: no reads counted either.
	zcx::policy_ages_reset(*a, recompress_after,
			       dev ? device(dev)->read_ages() : zcx::ReadAges{},
			       zcx_now_seconds());
}

int zcx_policy_ages_adapt(const zcx_dev *dev, zcx_policy_ages *a,
			  unsigned int recompress_after, unsigned int group_pages)
{
	return zcx::policy_ages_adapt(*a, recompress_after, group_pages,
				      device(dev)->read_ages(), zcx_now_seconds());
}

int zcx_dev_slot_state(zcx_dev *dev, unsigned long index, zcx_slot_state *out)
{
	return device(dev)->slot_state(index, out);
}

void zcx_dev_set_mem_limit(zcx_dev *dev, zcx_u64 bytes)
{
	device(dev)->set_mem_limit(bytes);
}

void zcx_dev_reset_mem_used_max(zcx_dev *dev) { device(dev)->reset_mem_used_max(); }

void zcx_dev_get_stats(const zcx_dev *dev, zcx_stats *out)
{
	device(dev)->get_stats(out);
}

int zcx_parse_size(const char *buf, zcx_size_t len, zcx_u64 *out)
{
	auto size = zcx::parse_size(buf, len);
	if (size)
		*out = size.value();
	return zcx::to_errno(size);
}

int zcx_kv_next(const char *buf, zcx_size_t len, zcx_size_t *pos, zcx_kv *kv)
{
	zcx::usize at = *pos;
	auto r = zcx::kv_next(buf, len, &at, kv);
	*pos = at;
	return r ? r.value() : zcx::to_errno(r);
}

static bool same_text(const char *text, zcx_size_t len, const char *want)
{
	const zcx_size_t want_len = __builtin_strlen(want);
	return text && len == want_len && !memcmp(text, want, len);
}

int zcx_kv_key_is(const zcx_kv *kv, const char *key)
{
	return same_text(kv->key, kv->key_len, key);
}

int zcx_kv_value_is(const zcx_kv *kv, const char *value)
{
	return same_text(kv->value, kv->value_len, value);
}

int zcx_kv_u64(const zcx_kv *kv, zcx_u64 *out)
{
	auto v = zcx::kv_u64(*kv);
	if (v)
		*out = v.value();
	return zcx::to_errno(v);
}

int zcx_kv_range(const zcx_kv *kv, zcx_u64 *low, zcx_u64 *high)
{
	zcx::u64 lo, hi;
	auto r = zcx::kv_range(*kv, &lo, &hi);
	if (r) {
		*low = lo;
		*high = hi;
	}
	return zcx::to_errno(r);
}

} // extern "C"
