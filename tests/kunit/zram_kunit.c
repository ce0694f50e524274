// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suites for zram.ko, built into the module when the kernel has
 * KUnit (scripts/kunit.sh, on the debug kernel of build-debug-kernel.sh).
 * They run when the module loads.  KUnit's macros are C, so the suites
 * reach the C++ core through include/zcx/test_abi.h.
 */
#include <kunit/test.h>
#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/cpu.h>
#include <linux/crypto.h>
#include <linux/delay.h>
#include <linux/highmem.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "zcx/test_abi.h"
#include "zram_drv.h"

/* ---- xvmalloc ---- */

static void fill(void *obj, size_t len, u8 seed)
{
	memset(obj, seed, len);
}

static bool filled(const void *obj, size_t len, u8 seed)
{
	return !memchr_inv(obj, seed, len);
}

static void xv_size_class_boundaries(struct kunit *test)
{
	struct zcx_test_pool *pool = zcx_test_pool_create();
	const size_t max = zcx_test_max_alloc();
	size_t size;

	KUNIT_ASSERT_NOT_NULL(test, pool);
	/* Every size around every 8-byte class edge, up to the maximum. */
	for (size = 1; size <= max; size += (size < 64 || size > max - 64) ? 1 : 7) {
		u64 handle;
		void *obj;

		KUNIT_ASSERT_EQ(test, zcx_test_pool_alloc(pool, size, ZCX_GFP_KERNEL,
							  &handle), 0);
		KUNIT_EXPECT_GE(test, zcx_test_pool_object_size(pool, handle), size);
		obj = zcx_test_pool_map(pool, handle);
		fill(obj, size, (u8)size);
		KUNIT_EXPECT_TRUE(test, filled(obj, size, (u8)size));
		zcx_test_pool_unmap(pool, obj);
		KUNIT_EXPECT_TRUE(test, zcx_test_pool_check_page_of(handle));
		zcx_test_pool_free(pool, handle);
		KUNIT_EXPECT_EQ(test, zcx_test_pool_pages(pool), 0ULL);
	}
	KUNIT_EXPECT_EQ(test, zcx_test_pool_alloc(pool, 0, ZCX_GFP_KERNEL, &(u64){0}),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, zcx_test_pool_alloc(pool, max + 1, ZCX_GFP_KERNEL,
						  &(u64){0}), -EINVAL);
	zcx_test_pool_destroy(pool);
}

/* Three neighbours in one chunk merge back into it, freed in any order. */
static void xv_split_merge_page_return(struct kunit *test)
{
	static const int orders[][3] = { {0, 1, 2}, {1, 0, 2}, {2, 0, 1}, {0, 2, 1} };
	struct zcx_test_pool *pool = zcx_test_pool_create();
	int o, i;

	KUNIT_ASSERT_NOT_NULL(test, pool);
	for (o = 0; o < ARRAY_SIZE(orders); o++) {
		u64 h[3];

		for (i = 0; i < 3; i++)
			KUNIT_ASSERT_EQ(test, zcx_test_pool_alloc(pool, 1000,
					ZCX_GFP_KERNEL, &h[i]), 0);
		KUNIT_EXPECT_EQ(test, zcx_test_pool_pages(pool),
				1ULL << zcx_test_handle_order(h[0]));
		KUNIT_EXPECT_EQ(test, zcx_test_handle_pfn(h[0]),
				zcx_test_handle_pfn(h[2]));
		for (i = 0; i < 3; i++) {
			zcx_test_pool_free(pool, h[orders[o][i]]);
			KUNIT_EXPECT_TRUE(test, zcx_test_pool_check(pool));
		}
		KUNIT_EXPECT_EQ(test, zcx_test_pool_pages(pool), 0ULL);
	}
	zcx_test_pool_destroy(pool);
}

/*
 * Objects just over half a page share a 16 KiB chunk seven at a time.  A
 * fresh test VM has contiguous pages to spare; if the chunk came out as a
 * single page (order 0) the pool still packs one object per page.
 */
static void xv_mid_sized_objects_share_a_chunk(struct kunit *test)
{
	struct zcx_test_pool *pool = zcx_test_pool_create();
	u64 h[7];
	int i;

	KUNIT_ASSERT_NOT_NULL(test, pool);
	for (i = 0; i < ARRAY_SIZE(h); i++)
		KUNIT_ASSERT_EQ(test, zcx_test_pool_alloc(pool, 2200, ZCX_GFP_NOIO,
							  &h[i]), 0);
	KUNIT_EXPECT_EQ(test, zcx_test_handle_order(h[0]), 2U);
	if (zcx_test_handle_order(h[0]) == 2) {
		KUNIT_EXPECT_EQ(test, zcx_test_pool_pages(pool), 4ULL);
		for (i = 1; i < ARRAY_SIZE(h); i++)
			KUNIT_EXPECT_EQ(test, zcx_test_handle_pfn(h[i]),
					zcx_test_handle_pfn(h[0]));
	}
	KUNIT_EXPECT_TRUE(test, zcx_test_pool_check_page_of(h[6]));
	for (i = 0; i < ARRAY_SIZE(h); i++)
		zcx_test_pool_free(pool, h[i]);
	KUNIT_EXPECT_EQ(test, zcx_test_pool_pages(pool), 0ULL);
	zcx_test_pool_destroy(pool);
}

/*
 * The write path allocates with GFP_NOWAIT while preemption is off:
 * DEBUG_ATOMIC_SLEEP and lockdep report any sleep in there.
 */
static void xv_nowait_with_preemption_off(struct kunit *test)
{
	struct zcx_test_pool *pool = zcx_test_pool_create();
	u64 handles[64];
	int i, got = 0;

	KUNIT_ASSERT_NOT_NULL(test, pool);
	preempt_disable();
	for (i = 0; i < ARRAY_SIZE(handles); i++) {
		if (zcx_test_pool_alloc(pool, 2048 + i * 16, ZCX_GFP_NOWAIT,
					&handles[got]) == 0)
			got++;
	}
	preempt_enable();
	KUNIT_EXPECT_GT(test, got, 0);
	KUNIT_EXPECT_TRUE(test, zcx_test_pool_check(pool));
	for (i = 0; i < got; i++)
		zcx_test_pool_free(pool, handles[i]);
	KUNIT_EXPECT_EQ(test, zcx_test_pool_pages(pool), 0ULL);
	zcx_test_pool_destroy(pool);
}

static void xv_random_against_model(struct kunit *test)
{
	enum { LIVE = 256 };
	struct zcx_test_pool *pool = zcx_test_pool_create();
	u64 *handle = kunit_kcalloc(test, LIVE, sizeof(u64), GFP_KERNEL);
	size_t *size = kunit_kcalloc(test, LIVE, sizeof(size_t), GFP_KERNEL);
	int op, i;

	KUNIT_ASSERT_NOT_NULL(test, pool);
	for (op = 0; op < 20000; op++) {
		i = get_random_u32_below(LIVE);
		if (size[i]) {
			void *obj = zcx_test_pool_map(pool, handle[i]);

			KUNIT_ASSERT_TRUE(test, filled(obj, size[i], (u8)i));
			zcx_test_pool_unmap(pool, obj);
			zcx_test_pool_free(pool, handle[i]);
			size[i] = 0;
		} else {
			void *obj;

			size[i] = 1 + get_random_u32_below(zcx_test_max_alloc());
			KUNIT_ASSERT_EQ(test, zcx_test_pool_alloc(pool, size[i],
					ZCX_GFP_KERNEL, &handle[i]), 0);
			obj = zcx_test_pool_map(pool, handle[i]);
			fill(obj, size[i], (u8)i);
			zcx_test_pool_unmap(pool, obj);
		}
		if (op % 1000 == 0)
			KUNIT_ASSERT_TRUE(test, zcx_test_pool_check(pool));
	}
	for (i = 0; i < LIVE; i++)
		if (size[i])
			zcx_test_pool_free(pool, handle[i]);
	KUNIT_EXPECT_EQ(test, zcx_test_pool_pages(pool), 0ULL);
	zcx_test_pool_destroy(pool);
}

static struct kunit_case xvmalloc_cases[] = {
	KUNIT_CASE(xv_size_class_boundaries),
	KUNIT_CASE(xv_split_merge_page_return),
	KUNIT_CASE(xv_mid_sized_objects_share_a_chunk),
	KUNIT_CASE(xv_nowait_with_preemption_off),
	KUNIT_CASE(xv_random_against_model),
	{}
};

static struct kunit_suite xvmalloc_suite = {
	.name = "zram_xvmalloc",
	.test_cases = xvmalloc_cases,
};

/* ---- the slot table ---- */

static void table_slot_roundtrip(struct kunit *test)
{
	static const u64 values[] = { 1, 0x1234, 0xffffffffffffULL << 12, ~0ULL };
	unsigned int size;
	int kind, v;

	for (kind = 0; kind < zcx_test_slot_kinds(); kind++)
		for (v = 0; v < ARRAY_SIZE(values); v++)
			for (size = 0; size <= PAGE_SIZE; size += 511)
				KUNIT_EXPECT_TRUE(test, zcx_test_slot_roundtrip(
						kind, values[v], size));
}

static struct kunit_case table_cases[] = {
	KUNIT_CASE(table_slot_roundtrip),
	{}
};

static struct kunit_suite table_suite = {
	.name = "zram_table",
	.test_cases = table_cases,
};

/* ---- codec, on real per-CPU streams ---- */

struct codec_ctx {
	struct zram_host host;
	u8 *page, *out, *back;
};

static int codec_init(struct kunit *test)
{
	struct codec_ctx *c = kunit_kzalloc(test, sizeof(*c), GFP_KERNEL);

	if (!c)
		return -ENOMEM;
	c->page = kunit_kzalloc(test, PAGE_SIZE, GFP_KERNEL);
	c->out = kunit_kzalloc(test, 2 * PAGE_SIZE, GFP_KERNEL);
	c->back = kunit_kzalloc(test, PAGE_SIZE, GFP_KERNEL);
	if (!c->page || !c->out || !c->back)
		return -ENOMEM;
	test->priv = c;
	/* 6.1 runs module suites before the module's init. */
	if (zram_comp_init())
		return -ENOMEM;
	return zram_host_init(&c->host, &(struct zram_comp_config){
		.backend = { zram_backend_find("lzo", 3) } });
}

static void codec_exit(struct kunit *test)
{
	struct codec_ctx *c = test->priv;

	if (c && c->host.initialised)
		zram_host_destroy(&c->host);
}

static void make_page(u8 *page, int kind)
{
	size_t i;

	switch (kind) {
	case 0: memset(page, 0, PAGE_SIZE); break;
	case 1: memset(page, 0x5a, PAGE_SIZE); break;
	case 2: get_random_bytes(page, PAGE_SIZE); break;
	default:
		for (i = 0; i < PAGE_SIZE; i++)
			page[i] = "zram in C++ on Linux 6.1 "[i % 25] + (i / 512);
	}
}

static void codec_roundtrips(struct kunit *test)
{
	struct codec_ctx *c = test->priv;
	int kind;

	for (kind = 0; kind < 4; kind++) {
		zcx_size_t len;
		u64 word;

		make_page(c->page, kind);
		KUNIT_EXPECT_EQ(test, zcx_test_same_filled(c->page, &word) != 0,
				kind < 2);
		KUNIT_ASSERT_EQ(test, zcx_test_compress((struct zcx_host *)&c->host,
							c->page, c->out, &len), 0);
		if (kind == 2)
			KUNIT_EXPECT_GE(test, len, zcx_test_huge_threshold());
		memset(c->back, 0xee, PAGE_SIZE);
		KUNIT_ASSERT_EQ(test, zcx_test_decompress((struct zcx_host *)&c->host,
							  c->out, len, c->back), 0);
		KUNIT_EXPECT_EQ(test, memcmp(c->page, c->back, PAGE_SIZE), 0);
	}
}

static void codec_rejects_bad_input(struct kunit *test)
{
	struct zcx_host *host = (struct zcx_host *)&((struct codec_ctx *)test->priv)->host;
	struct codec_ctx *c = test->priv;
	zcx_size_t len, cut;
	int rejected = 0, i;

	make_page(c->page, 3);
	KUNIT_ASSERT_EQ(test, zcx_test_compress(host, c->page, c->out, &len), 0);
	for (cut = 0; cut < len; cut += 7)
		KUNIT_EXPECT_EQ(test, zcx_test_decompress(host, c->out, cut, c->back),
				-EIO);
	/* LZO has no checksum: a flipped literal may decode; most must not. */
	for (i = 0; i < 64; i++) {
		u8 saved;
		size_t at = get_random_u32_below(len);

		saved = c->out[at];
		c->out[at] ^= 0x80;
		rejected += zcx_test_decompress(host, c->out, len, c->back) == -EIO;
		c->out[at] = saved;
	}
	KUNIT_EXPECT_GT(test, rejected, 0);
}

static struct kunit_case codec_cases[] = {
	KUNIT_CASE(codec_roundtrips),
	KUNIT_CASE(codec_rejects_bad_input),
	{}
};

static struct kunit_suite codec_suite = {
	.name = "zram_codec",
	.init = codec_init,
	.exit = codec_exit,
	.test_cases = codec_cases,
};

/* ---- per-CPU streams across CPU hotplug ---- */

static void streams_follow_cpu_hotplug(struct kunit *test)
{
	struct codec_ctx *c = test->priv;
	struct zcx_stream *s1;
	zcx_size_t len;

	if (IS_ENABLED(ZCX_STREAMS_MUTEX))
		kunit_skip(test, "the ablation build has no per-CPU streams");
	if (num_online_cpus() < 2 || !cpu_online(1))
		kunit_skip(test, "needs CPU 1 online");
	s1 = per_cpu_ptr(c->host.comps[0].streams, 1);
	KUNIT_ASSERT_NOT_NULL(test, s1->buffer);
	KUNIT_ASSERT_EQ(test, remove_cpu(1), 0);
	/* The dead callback freed CPU 1's stream, nothing else. */
	KUNIT_EXPECT_NULL(test, s1->buffer);
	KUNIT_EXPECT_NULL(test, s1->ctx);
	KUNIT_EXPECT_NOT_NULL(test, per_cpu_ptr(c->host.comps[0].streams, 0)->buffer);
	KUNIT_ASSERT_EQ(test, add_cpu(1), 0);
	KUNIT_EXPECT_NOT_NULL(test, s1->buffer);
	KUNIT_EXPECT_NOT_NULL(test, s1->ctx);
	/* And it works, on whichever CPU we run. */
	make_page(c->page, 3);
	KUNIT_ASSERT_EQ(test, zcx_test_compress((struct zcx_host *)&c->host,
						c->page, c->out, &len), 0);
	KUNIT_ASSERT_EQ(test, zcx_test_decompress((struct zcx_host *)&c->host,
						  c->out, len, c->back), 0);
	KUNIT_EXPECT_EQ(test, memcmp(c->page, c->back, PAGE_SIZE), 0);
}

static struct kunit_case streams_cases[] = {
	KUNIT_CASE(streams_follow_cpu_hotplug),
	{}
};

static struct kunit_suite streams_suite = {
	.name = "zram_streams",
	.init = codec_init,
	.exit = codec_exit,
	.test_cases = streams_cases,
};

/* ---- grouped recompression's codecs, on every backend there is ---- */

struct group_ctx {
	struct zram_comp_config cfg;
	struct zram_host host;
	u8 *group, *packed, *back;
};

static int group_init(struct kunit *test)
{
	struct group_ctx *c = kunit_kzalloc(test, sizeof(*c), GFP_KERNEL);
	unsigned int i;

	if (!c)
		return -ENOMEM;
	c->group = kunit_kmalloc(test, ZCX_GROUP_MAX_BYTES, GFP_KERNEL);
	c->packed = kunit_kmalloc(test, ZCX_GROUP_COMPRESS_BOUND, GFP_KERNEL);
	c->back = kunit_kmalloc(test, ZCX_GROUP_MAX_BYTES, GFP_KERNEL);
	if (!c->group || !c->packed || !c->back)
		return -ENOMEM;
	/* Text repeating across pages, each marked, one random page. */
	for (i = 0; i < ZCX_GROUP_MAX_PAGES; i++) {
		make_page(c->group + i * PAGE_SIZE, i == 5 ? 2 : 3);
		c->group[i * PAGE_SIZE] = i;
	}
	test->priv = c;
	return zram_comp_init() ? -ENOMEM : 0;
}

static void group_exit(struct kunit *test)
{
	struct group_ctx *c = test->priv;

	if (!c)
		return;
	if (c->host.initialised)
		zram_host_destroy(&c->host);
	zram_comp_config_release(&c->cfg);
}

/*
 * c->cfg's algorithm at priority 0: a group compresses preemptibly with a
 * codec of its own and reads back through the disk's streams, also inside
 * the read path's per-CPU buffers, where preemption is off.
 */
static void group_roundtrip(struct kunit *test, struct group_ctx *c)
{
	struct zcx_host *host = (struct zcx_host *)&c->host;
	struct zcx_group_buffers *bufs;
	struct zcx_group_codec *gc;
	zcx_size_t len, out;
	u64 cached;
	unsigned int e;
	bool same;
	int ret;

	KUNIT_ASSERT_EQ(test, zram_host_init(&c->host, &c->cfg), 0);
	gc = zcx_group_codec_create(host, 0, ZCX_GROUP_MAX_BYTES);
	KUNIT_ASSERT_NOT_NULL(test, gc);
	len = ZCX_GROUP_COMPRESS_BOUND;
	ret = zcx_group_compress(host, gc, c->group, ZCX_GROUP_MAX_BYTES,
				 c->packed, &len);
	zcx_group_codec_destroy(host, gc);
	KUNIT_ASSERT_EQ_MSG(test, ret, 0, "%s", c->cfg.backend[0]->name);
	KUNIT_EXPECT_LT(test, len, ZCX_GROUP_MAX_BYTES / 2);

	out = ZCX_GROUP_MAX_BYTES - PAGE_SIZE;
	KUNIT_EXPECT_NE_MSG(test, zcx_decompress(host, 0, c->packed, len,
						 c->back, &out), 0,
			    "%s: a page short", c->cfg.backend[0]->name);
	memset(c->back, 0xee, ZCX_GROUP_MAX_BYTES);
	out = ZCX_GROUP_MAX_BYTES;
	KUNIT_ASSERT_EQ_MSG(test, zcx_decompress(host, 0, c->packed, len,
						 c->back, &out), 0,
			    "%s", c->cfg.backend[0]->name);
	KUNIT_EXPECT_EQ(test, out, ZCX_GROUP_MAX_BYTES);
	KUNIT_EXPECT_EQ(test, memcmp(c->group, c->back, ZCX_GROUP_MAX_BYTES), 0);

	KUNIT_ASSERT_EQ(test, zcx_group_buffers_prepare(host), 0);
	KUNIT_ASSERT_EQ(test, zcx_group_buffers_prepare(host), 0);
	bufs = zcx_group_buffers_get(host);
	memcpy(bufs->packed, c->packed, len);
	/* Into each cached entry's buffer: both are whole groups' room. */
	ret = 0;
	same = true;
	cached = 0;
	for (e = 0; e < ZCX_GROUP_CACHED; e++) {
		out = ZCX_GROUP_MAX_BYTES;
		ret |= zcx_decompress(host, 0, bufs->packed, len, bufs->plain[e], &out);
		same = same && !memcmp(bufs->plain[e], c->group, ZCX_GROUP_MAX_BYTES);
		cached |= bufs->cached_handle[e];
	}
	zcx_group_buffers_put(host);
	KUNIT_EXPECT_EQ(test, ret, 0);
	KUNIT_EXPECT_TRUE(test, same);
	KUNIT_EXPECT_EQ(test, cached, 0ULL);
	zram_host_destroy(&c->host);
}

/* Each algorithm through the companion and through the crypto API. */
static void group_codec_every_backend(struct kunit *test)
{
	static const char *const names[] = {
		"lzo", "lzo-rle", "lz4", "lz4hc", "zstd", "842",
	};
	struct group_ctx *c = test->priv;
	const struct zram_codecs *t = symbol_get(zram_codecs_table);
	bool companion = t;
	unsigned int i, runs = 0;

	/* Binding takes a reference of its own. */
	if (t)
		symbol_put(zram_codecs_table);

	for (i = 0; i < ARRAY_SIZE(names); i++) {
		const struct zram_backend *b =
			zram_backend_find(names[i], strlen(names[i]));
		bool lzo;

		if (!b)
			continue;
		lzo = b->kind == ZRAM_BACKEND_LZO ||
		      b->kind == ZRAM_BACKEND_LZO_RLE;
		/* Bound only with the companion there: no request_module. */
		c->cfg.backend[0] = b;
		if (lzo || (companion && zram_comp_config_bind(&c->cfg, 0))) {
			group_roundtrip(test, c);
			runs++;
		}
		zram_comp_config_release(&c->cfg);
		if (!lzo && crypto_has_comp(b->name, 0, 0)) {
			c->cfg.backend[0] = b;
			group_roundtrip(test, c);
			zram_comp_config_release(&c->cfg);
			runs++;
		}
	}
	KUNIT_EXPECT_GT(test, runs, 2U);
}

static struct kunit_case group_cases[] = {
	KUNIT_CASE(group_codec_every_backend),
	{}
};

static struct kunit_suite group_suite = {
	.name = "zram_group_codec",
	.init = group_init,
	.exit = group_exit,
	.test_cases = group_cases,
};

/* ---- the device, through the real bio path ---- */

static int bio_rw(struct block_device *bdev, enum req_op op, sector_t sector,
		  struct page *page, unsigned int len)
{
	struct bio *bio = bio_alloc(bdev, 1, op, GFP_KERNEL);
	int ret;

	bio->bi_iter.bi_sector = sector;
	if (page)
		__bio_add_page(bio, page, PAGE_SIZE, 0);
	else
		bio->bi_iter.bi_size = len;
	ret = submit_bio_wait(bio);
	bio_put(bio);
	return ret;
}

static void device_write_read_discard_reset(struct kunit *test)
{
	struct page *in = alloc_page(GFP_KERNEL), *out = alloc_page(GFP_KERNEL);
	struct block_device *bdev;
	struct zcx_stats st;
	struct zram *zram;
	int kind, i;

	KUNIT_ASSERT_TRUE(test, in && out);
	zram = zram_kunit_create(16 << 20, NULL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, zram);
	/*
	 * The module is still COMING (6.1 runs suites before init), so the
	 * disk cannot be opened: bios go to it unopened, which the block
	 * layer allows.
	 */
	bdev = zram->disk->part0;

	for (i = 0; i < 64; i++) {
		kind = i % 4;
		make_page(page_address(in), kind);
		if (kind == 3)
			((u8 *)page_address(in))[0] = i; /* every text page differs */
		KUNIT_ASSERT_EQ(test, bio_rw(bdev, REQ_OP_WRITE, i * 8, in, 0), 0);
		KUNIT_ASSERT_EQ(test, bio_rw(bdev, REQ_OP_READ, i * 8, out, 0), 0);
		KUNIT_EXPECT_EQ(test, memcmp(page_address(in), page_address(out),
					     PAGE_SIZE), 0);
	}
	zcx_dev_get_stats(zram->core, &st);
	KUNIT_EXPECT_EQ(test, st.orig_data_size, 64ULL * PAGE_SIZE);
	KUNIT_EXPECT_GT(test, st.same_pages, 0ULL);

	KUNIT_ASSERT_EQ(test, bio_rw(bdev, REQ_OP_DISCARD, 0, NULL, 64 * PAGE_SIZE), 0);
	zcx_dev_get_stats(zram->core, &st);
	KUNIT_EXPECT_EQ(test, st.orig_data_size, 0ULL);
	KUNIT_EXPECT_EQ(test, st.mem_used_total, 0ULL);
	KUNIT_ASSERT_EQ(test, bio_rw(bdev, REQ_OP_READ, 8, out, 0), 0);
	KUNIT_EXPECT_TRUE(test, !memchr_inv(page_address(out), 0, PAGE_SIZE));
	/* Past the end: rejected, nothing breaks. */
	KUNIT_EXPECT_NE(test, bio_rw(bdev, REQ_OP_WRITE, 16 << 11, in, 0), 0);

	zram_kunit_destroy(zram);
	__free_page(in);
	__free_page(out);
}

/*
 * A page of index i: text with a random stretch whose length varies with
 * i, so objects of many sizes share chunks; byte 0..7 name the index.
 */
static void make_indexed_page(u8 *page, unsigned int i, u32 nonce)
{
	make_page(page, 3);
	get_random_bytes(page + 1024, (i * 37 + nonce) % 2200);
	memcpy(page, &i, sizeof(i));
	memcpy(page + sizeof(i), &nonce, sizeof(nonce));
}

struct compactor {
	struct zram *zram;
	u64 freed;
	unsigned long passes;
};

/* What `compact` does, over and over, on a kthread. */
static int compactor_fn(void *data)
{
	struct compactor *c = data;

	while (!kthread_should_stop()) {
		mutex_lock(&c->zram->compact_lock);
		c->freed += zcx_dev_compact(c->zram->core, U64_MAX);
		mutex_unlock(&c->zram->compact_lock);
		c->passes++;
		cond_resched();
	}
	return 0;
}

/*
 * Compaction of a real pool on the debug kernel (lockdep, atomic-sleep and
 * preemption checks, KASAN on every copy): the shrinker's count and scan
 * after a random half is discarded, then a kthread compacting throughout
 * writes, reads and discards; every page reads back as last written.
 */
static void device_compaction_under_io(struct kunit *test)
{
	enum { kPages = 1024 };
	struct page *in = alloc_page(GFP_KERNEL), *out = alloc_page(GFP_KERNEL);
	struct shrink_control sc = { .gfp_mask = GFP_KERNEL };
	u32 *nonce = kunit_kcalloc(test, kPages, sizeof(u32), GFP_KERNEL);
	struct compactor c = {};
	struct task_struct *task;
	struct block_device *bdev;
	struct shrinker *shrinker;
	struct zcx_stats st, before;
	struct zram *zram;
	unsigned long count, scanned;
	unsigned int i, round;

	KUNIT_ASSERT_TRUE(test, in && out && nonce);
	zram = zram_kunit_create(kPages * PAGE_SIZE, NULL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, zram);
	bdev = zram->disk->part0;
	for (i = 0; i < kPages; i++) {
		nonce[i] = get_random_u32() | 1;
		make_indexed_page(page_address(in), i, nonce[i]);
		KUNIT_ASSERT_EQ(test, bio_rw(bdev, REQ_OP_WRITE, i * 8, in, 0), 0);
	}
	for (i = 0; i < kPages; i++) {
		if (get_random_u32() & 1)
			continue;
		KUNIT_ASSERT_EQ(test, bio_rw(bdev, REQ_OP_DISCARD, i * 8, NULL, PAGE_SIZE), 0);
		nonce[i] = 0;
	}
	zcx_dev_get_stats(zram->core, &before);
	shrinker = zram_compat_shrinker_get(&zram->shrinker);
	count = shrinker->count_objects(shrinker, &sc);
	KUNIT_EXPECT_GT(test, count, 0UL);
	KUNIT_EXPECT_NE(test, count, SHRINK_EMPTY);
	sc.nr_to_scan = count;
	scanned = shrinker->scan_objects(shrinker, &sc);
	KUNIT_EXPECT_NE(test, scanned, SHRINK_STOP);
	zcx_dev_get_stats(zram->core, &st);
	KUNIT_EXPECT_EQ(test, st.pages_compacted, (u64)scanned);
	KUNIT_EXPECT_EQ(test, before.mem_used_total - st.mem_used_total,
			(u64)scanned * PAGE_SIZE);

	c.zram = zram;
	task = kthread_run(compactor_fn, &c, "zram-kunit-compact");
	KUNIT_ASSERT_FALSE(test, IS_ERR(task));
	for (round = 0; round < 4; round++) {
		for (i = round; i < kPages; i += 3) {
			u32 r = get_random_u32();

			if (r % 4 == 0) {
				KUNIT_ASSERT_EQ(test, bio_rw(bdev, REQ_OP_DISCARD, i * 8, NULL, PAGE_SIZE), 0);
				nonce[i] = 0;
			} else if (r % 4 == 1) {
				nonce[i] = r | 1;
				make_indexed_page(page_address(in), i, nonce[i]);
				KUNIT_ASSERT_EQ(test, bio_rw(bdev, REQ_OP_WRITE, i * 8, in, 0), 0);
			} else {
				KUNIT_ASSERT_EQ(test, bio_rw(bdev, REQ_OP_READ, i * 8, out, 0), 0);
				if (nonce[i])
					make_indexed_page(page_address(in), i, nonce[i]);
				else
					memset(page_address(in), 0, PAGE_SIZE);
				/* Only the random stretch differs: compare the rest. */
				KUNIT_ASSERT_EQ(test, memcmp(page_address(in), page_address(out), 1024), 0);
			}
		}
	}
	kthread_stop(task);
	KUNIT_EXPECT_GT(test, c.passes, 0UL);
	zcx_dev_get_stats(zram->core, &st);
	KUNIT_EXPECT_EQ(test, st.pages_compacted, (u64)scanned + c.freed);
	/* Every page: its own header, text after its random stretch. */
	for (i = 0; i < kPages; i++) {
		const u8 *o = page_address(out);

		KUNIT_ASSERT_EQ(test, bio_rw(bdev, REQ_OP_READ, i * 8, out, 0), 0);
		if (!nonce[i]) {
			KUNIT_EXPECT_TRUE(test, !memchr_inv(o, 0, PAGE_SIZE));
			continue;
		}
		make_indexed_page(page_address(in), i, nonce[i]);
		KUNIT_EXPECT_EQ(test, memcmp(page_address(in), o, 1024), 0);
		KUNIT_EXPECT_EQ(test, memcmp(page_address(in) + 1024 + (i * 37 + nonce[i]) % 2200,
					     o + 1024 + (i * 37 + nonce[i]) % 2200,
					     PAGE_SIZE - 1024 - (i * 37 + nonce[i]) % 2200), 0);
	}
	zram_kunit_destroy(zram);
	__free_page(in);
	__free_page(out);
}

/* ---- grouped recompression of a real disk ---- */

static u32 xorshift32(u32 *s)
{
	u32 x = *s;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *s = x;
}

/*
 * Page i as written with nonce (0: never written, or discarded).  Most
 * are the text of their window of 16, the same for each page of it: alone
 * a page compresses to about half, with its neighbours to little more
 * than one page, so groups form.  Index and nonce every 512 bytes catch a
 * member copied from another's place in the group.  One nonce in 8 makes
 * noise (stored raw, and eligible all the same), one in 8 a same-filled
 * page (never a member).
 */
static void make_group_page(u8 *page, unsigned int i, u32 nonce)
{
	static const char *const words[] = {
		"swap ", "slot ", "cluster ", "page ", "zstd ", "window ",
		"reclaim ", "anon ", "cold ", "group ", "member ", "pool ",
		"chunk ", "stream ", "idle ", "compact\n",
	};
	size_t at, n;
	u32 s;

	if (!nonce) {
		memset(page, 0, PAGE_SIZE);
		return;
	}
	switch (nonce % 8) {
	case 0:
		s = ((i + 1) * 0x9e3779b9u ^ nonce) | 1;
		for (at = 0; at < PAGE_SIZE; at += sizeof(s)) {
			xorshift32(&s);
			memcpy(page + at, &s, sizeof(s));
		}
		break;
	case 1:
		memset(page, nonce >> 8, PAGE_SIZE);
		return;
	default:
		s = (i / ZCX_GROUP_MAX_PAGES + 1) * 0x9e3779b9u;
		for (at = 0; at < PAGE_SIZE; at += n) {
			const char *w = words[xorshift32(&s) % ARRAY_SIZE(words)];

			n = min(strlen(w), PAGE_SIZE - at);
			memcpy(page + at, w, n);
		}
	}
	for (at = 0; at < PAGE_SIZE; at += 512) {
		memcpy(page + at, &i, sizeof(i));
		memcpy(page + at + sizeof(i), &nonce, sizeof(nonce));
	}
}

/*
 * Writes, discards and reads of random pages against nonce[], on a
 * kthread.  A failed assertion would end this thread, not the test's, so
 * the first error is kept for the test to report; the thread then idles
 * until stopped, since kthread_stop needs it alive.
 */
struct group_io {
	struct zram *zram;
	u32 *nonce;
	unsigned int pages;
	struct page *in, *out;
	unsigned long writes, discards, reads;
	int error;
	long bad_index;		/* first page read back wrong, or -1 */
};

static int group_io_fn(void *data)
{
	struct group_io *io = data;
	struct block_device *bdev = io->zram->disk->part0;

	while (!kthread_should_stop()) {
		unsigned int i = get_random_u32_below(io->pages);
		u32 r = get_random_u32();
		int ret;

		if (io->error || io->bad_index >= 0) {
			msleep(20);
			continue;
		}
		if (r % 8 == 0) {
			ret = bio_rw(bdev, REQ_OP_DISCARD, i * 8, NULL, PAGE_SIZE);
			io->nonce[i] = 0;
			io->discards++;
		} else if (r % 8 < 3) {
			io->nonce[i] = get_random_u32() ?: 1;
			make_group_page(page_address(io->in), i, io->nonce[i]);
			ret = bio_rw(bdev, REQ_OP_WRITE, i * 8, io->in, 0);
			io->writes++;
		} else {
			ret = bio_rw(bdev, REQ_OP_READ, i * 8, io->out, 0);
			make_group_page(page_address(io->in), i, io->nonce[i]);
			if (!ret && memcmp(page_address(io->in),
					   page_address(io->out), PAGE_SIZE))
				io->bad_index = i;
			io->reads++;
		}
		if (ret)
			io->error = ret;
		cond_resched();
	}
	return 0;
}

/* What `compact` does, regrouping included, over and over. */
static int group_compactor_fn(void *data)
{
	struct compactor *c = data;

	while (!kthread_should_stop()) {
		down_read(&c->zram->init_lock);
		c->freed += zram_compact_all(c->zram);
		up_read(&c->zram->init_lock);
		c->passes++;
		cond_resched();
	}
	return 0;
}

/*
 * Every page as the model says, through the bio path; the slot empty
 * exactly where the model has nothing.  -1, or the first page that is not.
 */
static long group_check_pages(struct zram *zram, const u32 *nonce,
			      unsigned int pages, struct page *in,
			      struct page *out)
{
	struct zcx_slot_state ss;
	unsigned int i;

	for (i = 0; i < pages; i++) {
		if (bio_rw(zram->disk->part0, REQ_OP_READ, i * 8, out, 0))
			return i;
		make_group_page(page_address(in), i, nonce[i]);
		if (memcmp(page_address(in), page_address(out), PAGE_SIZE))
			return i;
		if (!zcx_dev_slot_state(zram->core, i, &ss) != !nonce[i])
			return i;
	}
	return -1;
}

/* grouped_pages counts the slots that name a group, each group once. */
static void group_check_stats(struct kunit *test, struct zram *zram,
			      const u32 *nonce, unsigned int pages)
{
	struct zcx_slot_state ss;
	struct zcx_stats st;
	u64 grouped = 0, stored = 0;
	unsigned int i;

	for (i = 0; i < pages; i++) {
		stored += !!nonce[i];
		if (zcx_dev_slot_state(zram->core, i, &ss) && ss.grouped)
			grouped++;
	}
	zcx_dev_get_stats(zram->core, &st);
	KUNIT_EXPECT_EQ(test, st.orig_data_size, stored * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, st.grouped_pages, grouped);
	KUNIT_EXPECT_LE(test, st.groups, st.grouped_pages);
	KUNIT_EXPECT_LE(test, st.grouped_pages, st.groups * ZCX_GROUP_MAX_PAGES);
	KUNIT_EXPECT_EQ(test, !st.groups, !st.grouped_pages);
}

/*
 * Grouped recompression of a real disk on the debug kernel: rounds of 4-
 * and 16-page groups, init_lock held for reading as recompress_store
 * holds it, while one kthread writes, discards and reads random pages and
 * another compacts and regroups without pause.  Forming, reading, moving,
 * detaching and regrouping groups then all meet lockdep, KASAN and the
 * atomic-sleep checks.  Afterwards every page reads back as last written,
 * half of them discarded and compacted again, and all of them discarded
 * leaves no group and no byte behind.
 */
static void device_grouped_recompression_under_io(struct kunit *test)
{
	enum { kPages = 512, kRounds = 8 };
	struct page *in = alloc_page(GFP_KERNEL), *out = alloc_page(GFP_KERNEL);
	u32 *nonce = kunit_kcalloc(test, kPages, sizeof(u32), GFP_KERNEL);
	struct task_struct *io_task, *compact_task;
	struct zcx_recompress_result res, sum = {};
	struct group_io io = { .bad_index = -1 };
	unsigned int i, round, rounds_grouped = 0;
	struct compactor c = {};
	struct block_device *bdev;
	struct zcx_stats st;
	struct zram *zram;
	long bad;
	int ret = 0;

	io.in = alloc_page(GFP_KERNEL);
	io.out = alloc_page(GFP_KERNEL);
	KUNIT_ASSERT_TRUE(test, in && out && nonce && io.in && io.out);
	zram = zram_kunit_create(kPages * PAGE_SIZE, "zstd");
	/* Not every kernel has zstd; every one has lzo. */
	if (PTR_ERR_OR_ZERO(zram) == -ENOENT)
		zram = zram_kunit_create(kPages * PAGE_SIZE, "lzo");
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, zram);
	bdev = zram->disk->part0;
	for (i = 0; i < kPages; i++) {
		nonce[i] = get_random_u32() ?: 1;
		make_group_page(page_address(in), i, nonce[i]);
		KUNIT_ASSERT_EQ(test, bio_rw(bdev, REQ_OP_WRITE, i * 8, in, 0), 0);
	}

	io.zram = zram;
	io.nonce = nonce;
	io.pages = kPages;
	c.zram = zram;
	io_task = kthread_run(group_io_fn, &io, "zram-kunit-io");
	KUNIT_ASSERT_FALSE(test, IS_ERR(io_task));
	compact_task = kthread_run(group_compactor_fn, &c, "zram-kunit-compact");
	if (IS_ERR(compact_task)) {
		kthread_stop(io_task);
		KUNIT_FAIL(test, "no compaction thread");
		goto out;
	}
	for (round = 0; round < kRounds; round++) {
		struct zcx_recompress_request req = {
			.group_pages = round & 1 ? ZCX_GROUP_MAX_PAGES : 4,
		};

		down_read(&zram->init_lock);
		ret = zram_recompress_run(zram, &req, &res, true, false);
		up_read(&zram->init_lock);
		if (ret)
			break;
		sum.tried += res.tried;
		sum.recompressed += res.recompressed;
		sum.changed += res.changed;
		sum.groups += res.groups;
		rounds_grouped += res.groups > 0;
		/* Pages written meanwhile are the next round's material. */
		msleep(20);
	}
	kthread_stop(compact_task);
	kthread_stop(io_task);
	kunit_info(test, "%s, %u rounds: %llu tried, %llu recompressed, %llu changed, %llu groups; %lu writes, %lu discards, %lu reads; %lu compactions\n",
		   zram->comp.backend[1]->name, round, sum.tried,
		   sum.recompressed, sum.changed, sum.groups,
		   io.writes, io.discards, io.reads, c.passes);
	KUNIT_EXPECT_EQ(test, ret, 0);
	KUNIT_EXPECT_EQ(test, io.error, 0);
	KUNIT_EXPECT_EQ_MSG(test, io.bad_index, -1L, "page read back wrong under I/O");
	KUNIT_EXPECT_GT(test, rounds_grouped, 0U);
	KUNIT_EXPECT_GT(test, io.reads, 0UL);
	KUNIT_EXPECT_GT(test, c.passes, 0UL);

	bad = group_check_pages(zram, nonce, kPages, in, out);
	KUNIT_EXPECT_EQ_MSG(test, bad, -1L, "page read back wrong after the rounds");
	group_check_stats(test, zram, nonce, kPages);

	/* Groups left with dead members: compaction regroups them. */
	for (i = 0; i < kPages; i++) {
		if (get_random_u32() & 1)
			continue;
		KUNIT_ASSERT_EQ(test, bio_rw(bdev, REQ_OP_DISCARD, i * 8, NULL, PAGE_SIZE), 0);
		nonce[i] = 0;
	}
	down_read(&zram->init_lock);
	zram_compact_all(zram);
	up_read(&zram->init_lock);
	bad = group_check_pages(zram, nonce, kPages, in, out);
	KUNIT_EXPECT_EQ_MSG(test, bad, -1L, "page read back wrong after regrouping");
	group_check_stats(test, zram, nonce, kPages);
	zcx_dev_get_stats(zram->core, &st);
	kunit_info(test, "half discarded, compacted: %llu groups of %llu pages\n",
		   st.groups, st.grouped_pages);

	KUNIT_ASSERT_EQ(test, bio_rw(bdev, REQ_OP_DISCARD, 0, NULL, kPages * PAGE_SIZE), 0);
	zcx_dev_get_stats(zram->core, &st);
	KUNIT_EXPECT_EQ(test, st.groups, 0ULL);
	KUNIT_EXPECT_EQ(test, st.grouped_pages, 0ULL);
	KUNIT_EXPECT_EQ(test, st.compr_data_size, 0ULL);
	KUNIT_EXPECT_EQ(test, st.orig_data_size, 0ULL);
	KUNIT_EXPECT_EQ(test, st.mem_used_total, 0ULL);
out:
	zram_kunit_destroy(zram);
	__free_page(io.in);
	__free_page(io.out);
	__free_page(in);
	__free_page(out);
}

static struct kunit_case device_cases[] = {
	KUNIT_CASE(device_write_read_discard_reset),
	KUNIT_CASE(device_compaction_under_io),
	KUNIT_CASE(device_grouped_recompression_under_io),
	{}
};

static struct kunit_suite device_suite = {
	.name = "zram_device",
	.test_cases = device_cases,
};

kunit_test_suites(&xvmalloc_suite, &table_suite, &codec_suite, &streams_suite,
		  &group_suite, &device_suite);
