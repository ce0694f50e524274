// SPDX-License-Identifier: GPL-2.0
/*
 * zram_codecs.ko: zstd, lz4 and lz4hc through lib/zstd and lib/lz4
 * directly, as upstream zram does since 6.12, so that algorithm_params can
 * set their level and dictionary (the crypto API offers neither).  Their
 * compressors are modules on Debian (zstd_compress, lz4_compress,
 * lz4hc_compress) with non-GPL exports, which 6.1's symbol_get refuses:
 * only a module linked against them can call them, and if that module
 * were zram.ko, a bare `insmod zram.ko` would fail.  So this one links
 * against them, exports one GPL table, and zram.ko asks for it
 * (drivers/zram_comp.c) when a disk chooses one of these algorithms.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/lz4.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/zstd.h>

#include "zram_codecs.h"
#include "zram_compat.h"

/*
 * lib/zstd's state for one stream: both directions, compression sized for
 * params->src_size (a page or a group).  Decompression is single-shot into
 * a flat buffer, which needs no window buffer: one dctx serves any size.
 * With a dictionary (6.12 on), compression goes through a cctx that lib/zstd
 * sizes itself, as upstream zram's; the dctx stays a static one, which
 * decompressing with a digested dictionary does not grow.
 */
struct zram_zstd_ctx {
	zstd_parameters params;
	zstd_cctx *cctx;
	zstd_dctx *dctx;
	void *cwork, *dwork;
};

#if ZRAM_COMPAT_ZSTD_DICT
/* One dictionary digested once per disk, shared by its CPUs' ctxs. */
struct zram_zstd_dict {
	zstd_custom_mem mem;
	zstd_cdict *cdict;
	zstd_ddict *ddict;
};

/*
 * lib/zstd allocates through this for digested dictionaries and for a
 * dictionary cctx's workspace.  A stream compresses with preemption
 * disabled, so an allocation there (lib/zstd regrowing a workspace) must
 * not sleep; zram_zstd_alloc sizes the workspace first, in process context,
 * so that it is the exception.
 */
static void *zram_zstd_mem_alloc(void *opaque, size_t size)
{
	return kvzalloc(size, preemptible() ? GFP_KERNEL : GFP_ATOMIC);
}

static void zram_zstd_mem_free(void *opaque, void *address)
{
	kvfree(address);
}

static void zram_zstd_release(void *prepared)
{
	struct zram_zstd_dict *d = prepared;

	if (!d)
		return;
	zstd_free_cdict(d->cdict);
	zstd_free_ddict(d->ddict);
	kfree(d);
}

/*
 * By reference: the dictionary's bytes stay the disk's (kept until its
 * parameters change, which only an uninitialised disk allows).
 */
static void *zram_zstd_prepare(const struct zram_codec_params *params)
{
	struct zram_zstd_dict *d;

	if (!params->dict)
		return NULL;
	d = kzalloc(sizeof(*d), GFP_KERNEL);
	if (!d)
		return NULL;
	d->mem = (zstd_custom_mem){ .customAlloc = zram_zstd_mem_alloc,
				    .customFree = zram_zstd_mem_free };
	d->cdict = zstd_create_cdict_byreference(
		params->dict, params->dict_len, zstd_get_params(params->level, PAGE_SIZE).cParams, d->mem);
	d->ddict = zstd_create_ddict_byreference(params->dict, params->dict_len,
						 d->mem);
	if (!d->cdict || !d->ddict) {
		zram_zstd_release(d);
		return NULL;
	}
	return d;
}

/*
 * A dictionary cctx takes its workspace at its first compression: have
 * that happen here, where it may sleep, on an input of the largest size
 * this ctx will see.
 */
static bool zram_zstd_dict_cctx_init(struct zram_zstd_ctx *z,
				     const struct zram_codec_params *params)
{
	const struct zram_zstd_dict *d = params->prepared;
	size_t src_size = params->src_size ?: PAGE_SIZE;
	size_t dst_size = zstd_compress_bound(src_size);
	void *src, *dst;
	bool ok = false;

	z->cctx = zstd_create_cctx_advanced(d->mem);
	if (!z->cctx)
		return false;
	src = kvzalloc(src_size, GFP_KERNEL);
	dst = kvmalloc(dst_size, GFP_KERNEL);
	if (src && dst)
		ok = !zstd_is_error(zstd_compress_using_cdict(
			z->cctx, dst, dst_size, src, src_size, d->cdict));
	kvfree(src);
	kvfree(dst);
	return ok;
}

static size_t zram_zstd_dict_compress(struct zram_zstd_ctx *z,
				      const struct zram_codec_params *params,
				      const void *src, size_t src_len,
				      void *dst, size_t dst_len)
{
	const struct zram_zstd_dict *d = params->prepared;

	return zstd_compress_using_cdict(z->cctx, dst, dst_len, src, src_len,
					 d->cdict);
}

static size_t zram_zstd_dict_decompress(struct zram_zstd_ctx *z,
					const struct zram_codec_params *params,
					const void *src, size_t src_len,
					void *dst, size_t dst_len)
{
	const struct zram_zstd_dict *d = params->prepared;

	return zstd_decompress_using_ddict(z->dctx, dst, dst_len, src, src_len,
					   d->ddict);
}

static void zram_zstd_dict_cctx_free(struct zram_zstd_ctx *z)
{
	if (!z->cwork)
		zstd_free_cctx(z->cctx);
}
#else
/* zram.ko refuses a zstd dict= here, so nothing is ever prepared. */
#define zram_zstd_prepare NULL
#define zram_zstd_release NULL
static bool zram_zstd_dict_cctx_init(struct zram_zstd_ctx *z,
				     const struct zram_codec_params *params)
{
	return false;
}

static size_t zram_zstd_dict_compress(struct zram_zstd_ctx *z,
				      const struct zram_codec_params *params,
				      const void *src, size_t src_len,
				      void *dst, size_t dst_len)
{
	return -1;
}

static size_t zram_zstd_dict_decompress(struct zram_zstd_ctx *z,
					const struct zram_codec_params *params,
					const void *src, size_t src_len,
					void *dst, size_t dst_len)
{
	return -1;
}

static void zram_zstd_dict_cctx_free(struct zram_zstd_ctx *z)
{
}
#endif

static void zram_zstd_free(void *ctx)
{
	struct zram_zstd_ctx *z = ctx;

	if (!z)
		return;
	if (z->cctx)
		zram_zstd_dict_cctx_free(z);
	kvfree(z->cwork);
	kvfree(z->dwork);
	kfree(z);
}

static void *zram_zstd_alloc(const struct zram_codec_params *params)
{
	struct zram_zstd_ctx *z = kzalloc(sizeof(*z), GFP_KERNEL);
	size_t csize, dsize;

	if (!z)
		return NULL;
	z->params = zstd_get_params(params->level,
				    params->src_size ?: PAGE_SIZE);
	dsize = zstd_dctx_workspace_bound();
	z->dwork = kvzalloc(dsize, GFP_KERNEL);
	if (z->dwork)
		z->dctx = zstd_init_dctx(z->dwork, dsize);
	if (params->prepared) {
		if (!zram_zstd_dict_cctx_init(z, params)) {
			zram_zstd_free(z);
			return NULL;
		}
	} else {
		csize = zstd_cctx_workspace_bound(&z->params.cParams);
		z->cwork = kvzalloc(csize, GFP_KERNEL);
		if (z->cwork)
			z->cctx = zstd_init_cctx(z->cwork, csize);
	}
	if (!z->cctx || !z->dctx) {
		zram_zstd_free(z);
		return NULL;
	}
	return z;
}

static int zram_zstd_compress(void *ctx, const struct zram_codec_params *params,
			      const void *src, size_t src_len, void *dst,
			      size_t *dst_len)
{
	struct zram_zstd_ctx *z = ctx;
	size_t out;

	if (params->prepared)
		out = zram_zstd_dict_compress(z, params, src, src_len, dst,
					      *dst_len);
	else
		out = zstd_compress_cctx(z->cctx, dst, *dst_len, src, src_len,
					 &z->params);
	if (zstd_is_error(out))
		return -EINVAL;
	*dst_len = out;
	return 0;
}

static int zram_zstd_decompress(void *ctx,
				const struct zram_codec_params *params,
				const void *src, size_t src_len, void *dst,
				size_t *dst_len)
{
	struct zram_zstd_ctx *z = ctx;
	size_t out;

	if (params->prepared)
		out = zram_zstd_dict_decompress(z, params, src, src_len, dst,
						*dst_len);
	else
		out = zstd_decompress_dctx(z->dctx, dst, *dst_len, src,
					   src_len);
	if (zstd_is_error(out))
		return -EINVAL;
	*dst_len = out;
	return 0;
}

static void *zram_lz4_alloc(const struct zram_codec_params *params)
{
	return kvmalloc(LZ4_MEM_COMPRESS, GFP_KERNEL);
}

static void *zram_lz4hc_alloc(const struct zram_codec_params *params)
{
	return kvmalloc(LZ4HC_MEM_COMPRESS, GFP_KERNEL);
}

static void zram_lz4_free(void *ctx)
{
	kvfree(ctx);
}

static int zram_lz4_compress(void *ctx, const struct zram_codec_params *params,
			     const void *src, size_t src_len, void *dst,
			     size_t *dst_len)
{
	int ret;

	if (params->dict) {
		/* memset is LZ4_resetStream, which is not exported. */
		memset(ctx, 0, LZ4_MEM_COMPRESS);
		LZ4_loadDict(ctx, params->dict, params->dict_len);
		ret = LZ4_compress_fast_continue(ctx, src, dst, src_len,
						 *dst_len, 1);
	} else {
		ret = LZ4_compress_default(src, dst, src_len, *dst_len, ctx);
	}
	if (ret <= 0)
		return -EINVAL;
	*dst_len = ret;
	return 0;
}

static int zram_lz4hc_compress(void *ctx,
			       const struct zram_codec_params *params,
			       const void *src, size_t src_len, void *dst,
			       size_t *dst_len)
{
	int ret;

	if (params->dict) {
		LZ4_streamHC_t *hc = ctx;

		/*
		 * lib/lz4 exports no LZ4_resetStreamHC: loading the
		 * dictionary resets the state but for the level, which is
		 * set here as it would.
		 */
		memset(hc, 0, sizeof(*hc));
		LZ4_loadDictHC(hc, params->dict, params->dict_len);
		hc->internal_donotuse.compressionLevel = params->level;
		ret = LZ4_compress_HC_continue(hc, src, dst, src_len, *dst_len);
	} else {
		ret = LZ4_compress_HC(src, dst, src_len, *dst_len,
				      params->level, ctx);
	}
	if (ret <= 0)
		return -EINVAL;
	*dst_len = ret;
	return 0;
}

/* lz4 and lz4hc share the format, and decompression needs no state. */
static int zram_lz4_decompress(void *ctx,
			       const struct zram_codec_params *params,
			       const void *src, size_t src_len, void *dst,
			       size_t *dst_len)
{
	int ret;

	if (params->dict)
		ret = LZ4_decompress_safe_usingDict(src, dst, src_len, *dst_len,
						    params->dict,
						    params->dict_len);
	else
		ret = LZ4_decompress_safe(src, dst, src_len, *dst_len);
	if (ret < 0)
		return -EINVAL;
	*dst_len = ret;
	return 0;
}

static const struct zram_codec zram_zstd = {
	.name = "zstd",
	.prepare = zram_zstd_prepare,
	.release = zram_zstd_release,
	.ctx_alloc = zram_zstd_alloc,
	.ctx_free = zram_zstd_free,
	.compress = zram_zstd_compress,
	.decompress = zram_zstd_decompress,
};

static const struct zram_codec zram_lz4 = {
	.name = "lz4",
	.stateless_decompress = true,
	.ctx_alloc = zram_lz4_alloc,
	.ctx_free = zram_lz4_free,
	.compress = zram_lz4_compress,
	.decompress = zram_lz4_decompress,
};

static const struct zram_codec zram_lz4hc = {
	.name = "lz4hc",
	.stateless_decompress = true,
	.ctx_alloc = zram_lz4hc_alloc,
	.ctx_free = zram_lz4_free,
	.compress = zram_lz4hc_compress,
	.decompress = zram_lz4_decompress,
};

const struct zram_codecs zram_codecs_table = {
	.zstd = &zram_zstd,
	.lz4 = &zram_lz4,
	.lz4hc = &zram_lz4hc,
};
/* GPL: 6.1's symbol_get finds nothing else. */
EXPORT_SYMBOL_GPL(zram_codecs_table);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("zstd, lz4 and lz4hc with levels and dictionaries for zram (zram-cxx)");
MODULE_VERSION("0.1-cxx");
