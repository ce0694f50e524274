// SPDX-License-Identifier: GPL-2.0
/*
 * Compressors and per-CPU streams.  LZO and LZO-RLE call the kernel's
 * built-in lib/lzo directly; zstd and lz4hc call lib/zstd and lib/lz4
 * directly too, as upstream zram does since 6.12, so that algorithm_params
 * can choose their level and dictionary (the crypto API offers neither).  Their compressors are
 * modules on Debian (zstd_compress, lz4hc_compress): modprobe loads them
 * first, insmod needs them loaded (6.1's symbol_get refuses their
 * non-GPL exports).  lz4 too, for its dictionaries; 842 goes through
 * the crypto API.  Every
 * algorithm of a disk
 * (comp_algorithm and each recomp_algorithm) has its own per-CPU streams
 * (buffer + compressor state), created by a CPU-hotplug callback and used
 * with preemption disabled.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpuhotplug.h>
#include <linux/crypto.h>
#include <linux/lz4.h>
#include <linux/lzo.h>
#include <linux/mm.h>
#include <linux/percpu.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/sysfs.h>
#include <linux/zstd.h>

#include "zcx/abi.h"
#include "zram_drv.h"

/* Stock 6.1's list and order; what the running kernel lacks is not shown. */
/*
 * Default levels are the crypto API's (ZSTD_DEF_LEVEL, LZ4HC_DEFAULT_CLEVEL),
 * so choosing zstd or lz4hc compresses exactly as stock does.
 */
static const struct zram_backend zram_backends[] = {
	{ .name = "lzo", .kind = ZRAM_BACKEND_LZO },
	{ .name = "lzo-rle", .kind = ZRAM_BACKEND_LZO_RLE },
	{ .name = "lz4", .kind = ZRAM_BACKEND_LZ4, .takes_dict = true },
	{ .name = "lz4hc", .kind = ZRAM_BACKEND_LZ4HC, .min_level = LZ4HC_MIN_CLEVEL,
	  .max_level = LZ4HC_MAX_CLEVEL, .default_level = LZ4HC_DEFAULT_CLEVEL,
	  .takes_dict = true },
	{ .name = "842", .kind = ZRAM_BACKEND_CRYPTO },
	{ .name = "zstd", .kind = ZRAM_BACKEND_ZSTD, .min_level = 1,
	  .max_level = 22, .default_level = 3 },
};

static enum cpuhp_state zram_cpuhp_state;

const struct zram_backend *zram_backend_default(void)
{
	return &zram_backends[1]; /* lzo-rle, as stock's CONFIG_ZRAM_DEF_COMP */
}

/*
 * May load the algorithm's module; process context only.  The ablation
 * build offers LZO only: its reads cannot take the stream mutex under a
 * slot lock, and only the stateless LZO decompressor needs none.
 */
static bool zram_backend_available(const struct zram_backend *backend)
{
	switch (backend->kind) {
	case ZRAM_BACKEND_LZO:
	case ZRAM_BACKEND_LZO_RLE:
		return true;
	case ZRAM_BACKEND_ZSTD:
	case ZRAM_BACKEND_LZ4HC:
	case ZRAM_BACKEND_LZ4:
		return !IS_ENABLED(ZCX_STREAMS_MUTEX);
	case ZRAM_BACKEND_CRYPTO:
		break;
	}
	return !IS_ENABLED(ZCX_STREAMS_MUTEX) &&
	       crypto_has_comp(backend->name, 0, 0);
}

const struct zram_backend *zram_backend_find(const char *buf, size_t len)
{
	size_t i;

	if (len && buf[len - 1] == '\n')
		len--;
	for (i = 0; i < ARRAY_SIZE(zram_backends); i++) {
		const struct zram_backend *b = &zram_backends[i];

		if (strlen(b->name) == len && !memcmp(b->name, buf, len))
			return zram_backend_available(b) ? b : NULL;
	}
	return NULL;
}

ssize_t zram_backends_show_at(const struct zram_backend *selected, char *buf,
			      ssize_t at)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(zram_backends); i++) {
		const struct zram_backend *b = &zram_backends[i];

		if (b == selected)
			at += sysfs_emit_at(buf, at, "[%s] ", b->name);
		else if (zram_backend_available(b))
			at += sysfs_emit_at(buf, at, "%s ", b->name);
	}
	at += sysfs_emit_at(buf, at, "\n");
	return at;
}

ssize_t zram_backends_show(const struct zram_backend *selected, char *buf)
{
	return zram_backends_show_at(selected, buf, 0);
}

void zram_comp_config_set(struct zram_comp_config *cfg, unsigned int p,
			  const struct zram_backend *backend)
{
	if (cfg->backend[p] == backend)
		return;
	cfg->backend[p] = backend;
	cfg->level[p] = 0;
	kvfree(cfg->dict[p]);
	cfg->dict[p] = NULL;
	cfg->dict_len[p] = 0;
}

void zram_comp_config_release(struct zram_comp_config *cfg)
{
	unsigned int p;

	for (p = 0; p < ZCX_MAX_PRIORITIES; p++)
		zram_comp_config_set(cfg, p, NULL);
}

/* ---- per-CPU streams ---- */

/* lib/zstd's state for one stream: both directions, sized for one page. */
struct zram_zstd_ctx {
	zstd_parameters params;
	zstd_cctx *cctx;
	zstd_dctx *dctx;
	void *cwork, *dwork;
};

static void zram_zstd_ctx_free(struct zram_zstd_ctx *z)
{
	if (!z)
		return;
	kvfree(z->cwork);
	kvfree(z->dwork);
	kfree(z);
}

static struct zram_zstd_ctx *zram_zstd_ctx_alloc(int level)
{
	struct zram_zstd_ctx *z = kzalloc(sizeof(*z), GFP_KERNEL);
	size_t csize, dsize;

	if (!z)
		return NULL;
	z->params = zstd_get_params(level, PAGE_SIZE);
	csize = zstd_cctx_workspace_bound(&z->params.cParams);
	dsize = zstd_dctx_workspace_bound();
	z->cwork = kvzalloc(csize, GFP_KERNEL);
	z->dwork = kvzalloc(dsize, GFP_KERNEL);
	if (z->cwork && z->dwork) {
		z->cctx = zstd_init_cctx(z->cwork, csize);
		z->dctx = zstd_init_dctx(z->dwork, dsize);
	}
	if (!z->cctx || !z->dctx) {
		zram_zstd_ctx_free(z);
		return NULL;
	}
	return z;
}

static void zram_stream_free(const struct zram_comp *comp,
			     struct zcx_stream *stream)
{
	free_pages((unsigned long)stream->buffer, 1);
	switch (comp->backend->kind) {
	case ZRAM_BACKEND_CRYPTO:
		if (!IS_ERR_OR_NULL(stream->ctx))
			crypto_free_comp(stream->ctx);
		break;
	case ZRAM_BACKEND_ZSTD:
		zram_zstd_ctx_free(stream->ctx);
		break;
	default:
		kvfree(stream->ctx);
	}
	stream->buffer = NULL;
	stream->ctx = NULL;
}

static int zram_stream_alloc(const struct zram_comp *comp,
			     struct zcx_stream *stream)
{
	const struct zram_backend *backend = comp->backend;

	BUILD_BUG_ON(ZCX_STREAM_BUFFER_SIZE != PAGE_SIZE << 1);
	stream->buffer = (void *)__get_free_pages(GFP_KERNEL, 1);
	switch (backend->kind) {
	case ZRAM_BACKEND_CRYPTO:
		stream->ctx = crypto_alloc_comp(backend->name, 0, 0);
		break;
	case ZRAM_BACKEND_ZSTD:
		stream->ctx = zram_zstd_ctx_alloc(comp->level);
		break;
	case ZRAM_BACKEND_LZ4HC:
		stream->ctx = kvmalloc(LZ4HC_MEM_COMPRESS, GFP_KERNEL);
		break;
	case ZRAM_BACKEND_LZ4:
		stream->ctx = kvmalloc(LZ4_MEM_COMPRESS, GFP_KERNEL);
		break;
	default:
		stream->ctx = kvmalloc(LZO1X_1_MEM_COMPRESS, GFP_KERNEL);
	}
	if (!stream->buffer || IS_ERR_OR_NULL(stream->ctx)) {
		zram_stream_free(comp, stream);
		return -ENOMEM;
	}
	return 0;
}

static void zram_cpu_free(struct zram_host *host, unsigned int cpu)
{
	unsigned int p;

	for (p = 0; p < ZCX_MAX_PRIORITIES; p++) {
		struct zram_comp *comp = &host->comps[p];

		if (comp->backend)
			zram_stream_free(comp, per_cpu_ptr(comp->streams, cpu));
	}
}

/* A CPU coming up, or already up when a disk is initialised. */
static int zram_cpu_prepare(unsigned int cpu, struct hlist_node *node)
{
	struct zram_host *host = hlist_entry(node, struct zram_host, cpuhp_node);
	unsigned int p;

	/*
	 * On failure the hotplug core rolls back the CPUs already prepared;
	 * this one's streams are ours to free.
	 */
	for (p = 0; p < ZCX_MAX_PRIORITIES; p++) {
		struct zram_comp *comp = &host->comps[p];

		if (!comp->backend)
			continue;
		if (zram_stream_alloc(comp, per_cpu_ptr(comp->streams, cpu))) {
			pr_err("no memory for CPU %u's %s stream\n", cpu,
			       comp->backend->name);
			zram_cpu_free(host, cpu);
			return -ENOMEM;
		}
	}
	return 0;
}

/* A CPU gone, or the disk being reset: nobody uses its streams now. */
static int zram_cpu_dead(unsigned int cpu, struct hlist_node *node)
{
	zram_cpu_free(hlist_entry(node, struct zram_host, cpuhp_node), cpu);
	return 0;
}

static void zram_host_free_streams(struct zram_host *host)
{
	unsigned int p;

	for (p = 0; p < ZCX_MAX_PRIORITIES; p++) {
		free_percpu(host->comps[p].streams);
		host->comps[p].streams = NULL;
		host->comps[p].backend = NULL;
	}
	host->initialised = false;
}

#ifndef ZCX_STREAMS_MUTEX
int zram_host_init(struct zram_host *host, const struct zram_comp_config *cfg)
{
	unsigned int p;
	int ret;

	for (p = 0; p < ZCX_MAX_PRIORITIES; p++) {
		const struct zram_backend *b = cfg->backend[p];

		if (!b)
			continue;
		host->comps[p].backend = b;
		host->comps[p].level = cfg->level[p] ?: b->default_level;
		host->comps[p].dict = cfg->dict[p];
		host->comps[p].dict_len = cfg->dict_len[p];
		host->comps[p].streams = alloc_percpu(struct zcx_stream);
		if (!host->comps[p].streams) {
			zram_host_free_streams(host);
			return -ENOMEM;
		}
	}
	ret = cpuhp_state_add_instance(zram_cpuhp_state, &host->cpuhp_node);
	if (ret) {
		zram_host_free_streams(host);
		return ret;
	}
	host->initialised = true;
	return 0;
}

void zram_host_destroy(struct zram_host *host)
{
	cpuhp_state_remove_instance(zram_cpuhp_state, &host->cpuhp_node);
	zram_host_free_streams(host);
}

struct zcx_stream *zcx_stream_get(struct zcx_host *h, unsigned int priority)
{
	preempt_disable();
	return this_cpu_ptr(((struct zram_host *)h)->comps[priority].streams);
}

void zcx_stream_put(struct zcx_host *h)
{
	preempt_enable();
}
#else
int zram_host_init(struct zram_host *host, const struct zram_comp_config *cfg)
{
	int ret;

	host->comps[0].backend = cfg->backend[0];
	ret = zram_stream_alloc(&host->comps[0], &host->single);
	if (ret) {
		host->comps[0].backend = NULL;
		return ret;
	}
	mutex_init(&host->lock);
	host->initialised = true;
	return 0;
}

void zram_host_destroy(struct zram_host *host)
{
	zram_stream_free(&host->comps[0], &host->single);
	mutex_destroy(&host->lock);
	host->comps[0].backend = NULL;
	host->initialised = false;
}

/* Only priority 0: the ablation build has no recomp_algorithm. */
struct zcx_stream *zcx_stream_get(struct zcx_host *h, unsigned int priority)
{
	struct zram_host *host = (struct zram_host *)h;

	mutex_lock(&host->lock);
	return &host->single;
}

void zcx_stream_put(struct zcx_host *h)
{
	mutex_unlock(&((struct zram_host *)h)->lock);
}
#endif

/*
 * Module init calls this, and so do the KUnit suites, which 6.1 runs when
 * the module is COMING, before its init: whoever comes first sets it up.
 */
int zram_comp_init(void)
{
	int ret;

	if (zram_cpuhp_state > 0)
		return 0;
	ret = cpuhp_setup_state_multi(CPUHP_BP_PREPARE_DYN,
					  "block/zram:prepare",
					  zram_cpu_prepare, zram_cpu_dead);
	if (ret < 0)
		return ret;
	zram_cpuhp_state = ret;
	return 0;
}

void zram_comp_exit(void)
{
	if (zram_cpuhp_state > 0)
		cpuhp_remove_multi_state(zram_cpuhp_state);
	zram_cpuhp_state = 0;
}

/* ---- the core's codec entry points ---- */

int zcx_compress(struct zcx_host *h, unsigned int priority,
		 struct zcx_stream *stream, const void *src, zcx_size_t *dst_len)
{
	struct zram_comp *comp = &((struct zram_host *)h)->comps[priority];
	struct zram_zstd_ctx *z;
	unsigned int len;
	size_t out;
	int ret;

	switch (comp->backend->kind) {
	case ZRAM_BACKEND_LZO:
		ret = lzo1x_1_compress(src, PAGE_SIZE, stream->buffer, dst_len,
				       stream->ctx);
		return ret == LZO_E_OK ? 0 : -EINVAL;
	case ZRAM_BACKEND_LZO_RLE:
		ret = lzorle1x_1_compress(src, PAGE_SIZE, stream->buffer,
					  dst_len, stream->ctx);
		return ret == LZO_E_OK ? 0 : -EINVAL;
	case ZRAM_BACKEND_ZSTD:
		z = stream->ctx;
		out = zstd_compress_cctx(z->cctx, stream->buffer, *dst_len,
					      src, PAGE_SIZE, &z->params);
		if (zstd_is_error(out))
			return -EINVAL;
		*dst_len = out;
		return 0;
	case ZRAM_BACKEND_LZ4HC:
		if (comp->dict) {
			LZ4_streamHC_t *hc = stream->ctx;

			/*
			 * lib/lz4 exports no LZ4_resetStreamHC: loading the
			 * dictionary resets the state but for the level,
			 * which is set here as it would.
			 */
			memset(hc, 0, sizeof(*hc));
			LZ4_loadDictHC(hc, comp->dict, comp->dict_len);
			hc->internal_donotuse.compressionLevel = comp->level;
			ret = LZ4_compress_HC_continue(hc, src, stream->buffer,
						       PAGE_SIZE, *dst_len);
		} else {
			ret = LZ4_compress_HC(src, stream->buffer, PAGE_SIZE,
					      *dst_len, comp->level, stream->ctx);
		}
		if (ret <= 0)
			return -EINVAL;
		*dst_len = ret;
		return 0;
	case ZRAM_BACKEND_LZ4:
		if (comp->dict) {
			/* memset is LZ4_resetStream, which is not exported. */
			memset(stream->ctx, 0, LZ4_MEM_COMPRESS);
			LZ4_loadDict(stream->ctx, comp->dict, comp->dict_len);
			ret = LZ4_compress_fast_continue(stream->ctx, src,
							 stream->buffer, PAGE_SIZE,
							 *dst_len, 1);
		} else {
			ret = LZ4_compress_default(src, stream->buffer, PAGE_SIZE,
						   *dst_len, stream->ctx);
		}
		if (ret <= 0)
			return -EINVAL;
		*dst_len = ret;
		return 0;
	case ZRAM_BACKEND_CRYPTO:
		len = *dst_len;
		ret = crypto_comp_compress(stream->ctx, src, PAGE_SIZE,
					   stream->buffer, &len);
		*dst_len = len;
		return ret;
	}
	return -EINVAL;
}

int zcx_decompress(struct zcx_host *h, unsigned int priority, const void *src,
		   zcx_size_t src_len, void *dst, zcx_size_t *dst_len)
{
	struct zram_comp *comp = &((struct zram_host *)h)->comps[priority];
	struct zram_zstd_ctx *z;
	unsigned int len;
	size_t out;
	int ret;

	switch (comp->backend->kind) {
	case ZRAM_BACKEND_LZO:
	case ZRAM_BACKEND_LZO_RLE:
		/* Stateless; reads either LZO bitstream version. */
		return lzo1x_decompress_safe(src, src_len, dst, dst_len);
	case ZRAM_BACKEND_LZ4HC:
	case ZRAM_BACKEND_LZ4:
		if (comp->dict)
			ret = LZ4_decompress_safe_usingDict(src, dst, src_len,
							    *dst_len, comp->dict,
							    comp->dict_len);
		else
			ret = LZ4_decompress_safe(src, dst, src_len, *dst_len);
		if (ret < 0)
			return ret;
		*dst_len = ret;
		return 0;
	case ZRAM_BACKEND_ZSTD:
		/* The workspace is per stream: borrow this CPU's. */
		z = zcx_stream_get(h, priority)->ctx;
		out = zstd_decompress_dctx(z->dctx, dst, *dst_len, src, src_len);
		zcx_stream_put(h);
		if (zstd_is_error(out))
			return -EINVAL;
		*dst_len = out;
		return 0;
	case ZRAM_BACKEND_CRYPTO:
		break;
	}
	/* Transforms keep their workspace: borrow this CPU's. */
	len = *dst_len;
	ret = crypto_comp_decompress(zcx_stream_get(h, priority)->ctx, src,
				     src_len, dst, &len);
	zcx_stream_put(h);
	*dst_len = len;
	return ret;
}
