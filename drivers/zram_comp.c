// SPDX-License-Identifier: GPL-2.0
/*
 * Compressors and per-CPU streams.  LZO and LZO-RLE call the kernel's
 * built-in lib/lzo directly.  zstd, lz4 and lz4hc go through the companion
 * module zram_codecs.ko (drivers/zram_codecs.c), which calls lib/zstd and
 * lib/lz4 directly so that algorithm_params can set levels and
 * dictionaries; zram.ko itself links against no compressor module, so a
 * bare insmod works.  Without the companion (an insmod from the build
 * directory, nothing installed) the same three go through the crypto API,
 * which loads their modules itself, at their default level and with no
 * dictionary; 842 always does.  Every algorithm of a disk (comp_algorithm
 * and each recomp_algorithm) has its own per-CPU streams (buffer +
 * compressor state), created by a CPU-hotplug callback and used with
 * preemption disabled.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpuhotplug.h>
#include <linux/crypto.h>
#include <linux/kmod.h>
#include <linux/lz4.h>	/* lz4hc's levels only: no function of it is called */
#include <linux/lzo.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/percpu.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/sysfs.h>
#include <linux/vmalloc.h>

#include "zcx/abi.h"
#include "zram_codecs.h"
#include "zram_drv.h"

/*
 * Stock 6.1's list and order, then deflate, which stock 6.12 lists (6.1's
 * took any crypto compressor by name); what the running kernel lacks is
 * not shown.
 */
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
	  .max_level = 22, .default_level = 3,
	  .takes_dict = ZRAM_COMPAT_ZSTD_DICT },
	{ .name = "deflate", .kind = ZRAM_BACKEND_CRYPTO },
};

static enum cpuhp_state zram_cpuhp_state;

/*
 * The kernel's own default, as stock's (CONFIG_ZRAM_DEF_COMP, zram_compat.h:
 * lzo-rle on 6.1, lz4 on 6.12), if this build offers it here; else
 * lzo-rle, which it always does.  May load a crypto module: process
 * context.
 */
const struct zram_backend *zram_backend_default(void)
{
	const char *name = ZRAM_COMPAT_DEF_COMP;

	return zram_backend_find(name, strlen(name)) ?: &zram_backends[1];
}

/* The companion's codec of a backend, or NULL for the others. */
static const struct zram_codec *zram_codec_of(const struct zram_codecs *t,
					      const struct zram_backend *backend)
{
	switch (backend->kind) {
	case ZRAM_BACKEND_ZSTD:
		return t->zstd;
	case ZRAM_BACKEND_LZ4:
		return t->lz4;
	case ZRAM_BACKEND_LZ4HC:
		return t->lz4hc;
	default:
		return NULL;
	}
}

static bool zram_backend_needs_codec(const struct zram_backend *backend)
{
	return backend->kind == ZRAM_BACKEND_ZSTD ||
	       backend->kind == ZRAM_BACKEND_LZ4 ||
	       backend->kind == ZRAM_BACKEND_LZ4HC;
}

/* Whether the companion is loaded now; loads nothing. */
static bool zram_codecs_loaded(void)
{
	const struct zram_codecs *t = symbol_get(zram_codecs_table);

	if (!t)
		return false;
	symbol_put(zram_codecs_table);
	return true;
}

/*
 * What a crypto API probe last found, per backend.  A probe of an algorithm
 * the kernel lacks runs modprobe ("crypto-NAME", then "crypto-NAME-all"),
 * seconds under a debug kernel and never free, and tools read
 * comp_algorithm often: a list asks the crypto API once per load and
 * answers from here after.  Choosing an algorithm always asks, and its
 * answer replaces the list's, so one installed since shows once chosen.
 * One byte per backend, written whole: racing probes store the same answer.
 */
enum { ZRAM_PROBE_NOT_YET, ZRAM_PROBE_ABSENT, ZRAM_PROBE_PRESENT };
static u8 zram_backend_probed[ARRAY_SIZE(zram_backends)];

static bool zram_crypto_has(const struct zram_backend *backend, bool listing)
{
	u8 *probed = &zram_backend_probed[backend - zram_backends];
	u8 last = READ_ONCE(*probed);
	bool has;

	if (listing && last != ZRAM_PROBE_NOT_YET)
		return last == ZRAM_PROBE_PRESENT;
	has = crypto_has_comp(backend->name, 0, 0);
	WRITE_ONCE(*probed, has ? ZRAM_PROBE_PRESENT : ZRAM_PROBE_ABSENT);
	return has;
}

/*
 * May load the algorithm's crypto module; process context only.  The
 * ablation build offers LZO only: its reads cannot take the stream mutex
 * under a slot lock, and only the stateless LZO decompressor needs none.
 */
static bool zram_backend_available(const struct zram_backend *backend,
				   bool listing)
{
	switch (backend->kind) {
	case ZRAM_BACKEND_LZO:
	case ZRAM_BACKEND_LZO_RLE:
		return true;
	case ZRAM_BACKEND_ZSTD:
	case ZRAM_BACKEND_LZ4HC:
	case ZRAM_BACKEND_LZ4:
		if (IS_ENABLED(ZCX_STREAMS_MUTEX))
			return false;
		if (zram_codecs_loaded())
			return true;
		break;
	case ZRAM_BACKEND_CRYPTO:
		break;
	}
	return !IS_ENABLED(ZCX_STREAMS_MUTEX) &&
	       zram_crypto_has(backend, listing);
}

const struct zram_backend *zram_backend_find(const char *buf, size_t len)
{
	size_t i;

	if (len && buf[len - 1] == '\n')
		len--;
	for (i = 0; i < ARRAY_SIZE(zram_backends); i++) {
		const struct zram_backend *b = &zram_backends[i];

		if (strlen(b->name) == len && !memcmp(b->name, buf, len))
			return zram_backend_available(b, false) ? b : NULL;
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
		else if (zram_backend_available(b, true))
			at += sysfs_emit_at(buf, at, "%s ", b->name);
	}
	at += sysfs_emit_at(buf, at, "\n");
	return at;
}

ssize_t zram_backends_show(const struct zram_backend *selected, char *buf)
{
	return zram_backends_show_at(selected, buf, 0);
}

/*
 * Binds priority p to the companion's codec for its algorithm, loading the
 * companion if need be, and holds the companion in memory while bound
 * (symbol_get's module reference): a disk's level and dictionary mean
 * something only to it, so it stays from the choice of the algorithm until
 * another choice or the disk's removal, across disksize and reset.  Not
 * bound (no companion): the algorithm goes through the crypto API.
 * Process context.
 */
bool zram_comp_config_bind(struct zram_comp_config *cfg, unsigned int p)
{
	const struct zram_codecs *t;

	if (!cfg->backend[p] || !zram_backend_needs_codec(cfg->backend[p]))
		return false;
	if (cfg->codec[p])
		return true;
	t = symbol_get(zram_codecs_table);
	if (!t) {
		/* modprobe runs apart from us: nothing of ours is locked. */
		request_module(ZRAM_CODECS_MODULE);
		t = symbol_get(zram_codecs_table);
	}
	if (!t)
		return false;
	cfg->codec[p] = zram_codec_of(t, cfg->backend[p]);
	return true;
}

static void zram_comp_config_unbind(struct zram_comp_config *cfg,
				    unsigned int p)
{
	if (!cfg->codec[p])
		return;
	cfg->codec[p] = NULL;
	symbol_put(zram_codecs_table);
}

void zram_comp_config_params_reset(struct zram_comp_config *cfg,
				   unsigned int p)
{
	cfg->level[p] = 0;
	kvfree(cfg->dict[p]);
	cfg->dict[p] = NULL;
	cfg->dict_len[p] = 0;
}

void zram_comp_config_set(struct zram_comp_config *cfg, unsigned int p,
			  const struct zram_backend *backend)
{
	if (cfg->backend[p] != backend) {
		zram_comp_config_unbind(cfg, p);
		zram_comp_config_params_reset(cfg, p);
		cfg->backend[p] = backend;
	}
	/* Chosen again after loading the companion: now through it. */
	if (backend)
		zram_comp_config_bind(cfg, p);
}

void zram_comp_config_release(struct zram_comp_config *cfg)
{
	unsigned int p;

	for (p = 0; p < ZCX_MAX_PRIORITIES; p++)
		zram_comp_config_set(cfg, p, NULL);
}

/* ---- per-CPU streams ---- */

static void zram_stream_free(const struct zram_comp *comp,
			     struct zcx_stream *stream)
{
	free_pages((unsigned long)stream->buffer, 1);
	if (comp->codec) {
		if (stream->ctx)
			comp->codec->ctx_free(stream->ctx);
	} else if (comp->backend->kind == ZRAM_BACKEND_LZO ||
		   comp->backend->kind == ZRAM_BACKEND_LZO_RLE) {
		kvfree(stream->ctx);
	} else if (!IS_ERR_OR_NULL(stream->ctx)) {
		crypto_free_comp(stream->ctx);
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
	if (comp->codec)
		stream->ctx = comp->codec->ctx_alloc(&comp->params);
	else if (backend->kind == ZRAM_BACKEND_LZO ||
		 backend->kind == ZRAM_BACKEND_LZO_RLE)
		stream->ctx = kvmalloc(LZO1X_1_MEM_COMPRESS, GFP_KERNEL);
	else
		stream->ctx = crypto_alloc_comp(backend->name, 0, 0);
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

/* ---- per-CPU buffers for reading grouped pages ---- */

static void zram_group_buffers_free(struct zcx_group_buffers __percpu *bufs)
{
	unsigned int cpu, e;

	if (!bufs)
		return;
	for_each_possible_cpu(cpu) {
		struct zcx_group_buffers *b = per_cpu_ptr(bufs, cpu);

		vfree(b->packed);
		for (e = 0; e < ZCX_GROUP_CACHED; e++)
			vfree(b->plain[e]);
	}
	free_percpu(bufs);
}

/*
 * Every possible CPU's, not the online ones': a CPU coming up can read a
 * group at once, with no hotplug callback to race against the first
 * grouped run.  Only disks that group pay for them.
 */
int zcx_group_buffers_prepare(struct zcx_host *h)
{
	struct zram_host *host = (struct zram_host *)h;
	struct zcx_group_buffers __percpu *bufs;
	unsigned int cpu, e;

	might_sleep();
	if (READ_ONCE(host->group_bufs))
		return 0;
	/* Zeroed: cached_handle 0, no group cached. */
	bufs = alloc_percpu(struct zcx_group_buffers);
	if (!bufs)
		return -ENOMEM;
	for_each_possible_cpu(cpu) {
		struct zcx_group_buffers *b = per_cpu_ptr(bufs, cpu);

		b->packed = vmalloc_node(ZCX_GROUP_MAX_BYTES, cpu_to_node(cpu));
		if (!b->packed)
			goto nomem;
		for (e = 0; e < ZCX_GROUP_CACHED; e++) {
			b->plain[e] = vmalloc_node(ZCX_GROUP_MAX_BYTES, cpu_to_node(cpu));
			if (!b->plain[e])
				goto nomem;
		}
	}
	/* Two first runs at once (recompress and the policy): one set stays. */
	if (cmpxchg(&host->group_bufs, NULL, bufs))
		zram_group_buffers_free(bufs);
	return 0;
nomem:
	zram_group_buffers_free(bufs);
	return -ENOMEM;
}

struct zcx_group_buffers *zcx_group_buffers_get(struct zcx_host *h)
{
	struct zcx_group_buffers __percpu *bufs =
		READ_ONCE(((struct zram_host *)h)->group_bufs);

	preempt_disable();
	/* A NULL to fault on rather than an offset from nothing. */
	if (WARN_ON_ONCE(!bufs))
		return NULL;
	return this_cpu_ptr(bufs);
}

void zcx_group_buffers_put(struct zcx_host *h)
{
	preempt_enable();
}

/* The disk's reset: no reader is left. */
static void zram_host_free_group_buffers(struct zram_host *host)
{
	zram_group_buffers_free(host->group_bufs);
	host->group_bufs = NULL;
}

#ifndef ZCX_STREAMS_MUTEX
static void zram_host_free_streams(struct zram_host *host)
{
	unsigned int p;

	for (p = 0; p < ZCX_MAX_PRIORITIES; p++) {
		struct zram_comp *comp = &host->comps[p];

		free_percpu(comp->streams);
		comp->streams = NULL;
		/* After the last ctx: no CPU's stream is left. */
		if (comp->params.prepared)
			comp->codec->release(comp->params.prepared);
		comp->params.prepared = NULL;
		comp->backend = NULL;
		comp->codec = NULL;
	}
	host->initialised = false;
}

int zram_host_init(struct zram_host *host, const struct zram_comp_config *cfg)
{
	unsigned int p;
	int ret;

	for (p = 0; p < ZCX_MAX_PRIORITIES; p++) {
		const struct zram_backend *b = cfg->backend[p];

		if (!b)
			continue;
		host->comps[p].backend = b;
		host->comps[p].codec = cfg->codec[p];
		host->comps[p].params.level = cfg->level[p] ?: b->default_level;
		host->comps[p].params.dict = cfg->dict[p];
		host->comps[p].params.dict_len = cfg->dict_len[p];
		if (cfg->codec[p] && cfg->codec[p]->prepare && cfg->dict[p]) {
			host->comps[p].params.prepared =
				cfg->codec[p]->prepare(&host->comps[p].params);
			if (!host->comps[p].params.prepared) {
				zram_host_free_streams(host);
				return -ENOMEM;
			}
		}
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
	zram_host_free_group_buffers(host);
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
	host->comps[0].codec = NULL; /* LZO only, see zram_backend_available */
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
	zram_host_free_group_buffers(host);
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
	unsigned int len;
	int ret;

	if (comp->codec)
		return comp->codec->compress(stream->ctx, &comp->params, src,
					     PAGE_SIZE, stream->buffer, dst_len);
	switch (comp->backend->kind) {
	case ZRAM_BACKEND_LZO:
		ret = lzo1x_1_compress(src, PAGE_SIZE, stream->buffer, dst_len,
				       stream->ctx);
		return ret == LZO_E_OK ? 0 : -EINVAL;
	case ZRAM_BACKEND_LZO_RLE:
		ret = lzorle1x_1_compress(src, PAGE_SIZE, stream->buffer,
					  dst_len, stream->ctx);
		return ret == LZO_E_OK ? 0 : -EINVAL;
	default:
		len = *dst_len;
		ret = crypto_comp_compress(stream->ctx, src, PAGE_SIZE,
					   stream->buffer, &len);
		*dst_len = len;
		return ret;
	}
}

/*
 * A page, or a whole group (up to ZCX_GROUP_MAX_BYTES): every backend
 * here decompresses in one shot into a flat buffer, which needs no window
 * buffer, so a stream's state serves both.
 */
int zcx_decompress(struct zcx_host *h, unsigned int priority, const void *src,
		   zcx_size_t src_len, void *dst, zcx_size_t *dst_len)
{
	struct zram_comp *comp = &((struct zram_host *)h)->comps[priority];
	const struct zram_codec *codec = comp->codec;
	unsigned int len;
	int ret;

	if (codec && codec->stateless_decompress)
		return codec->decompress(NULL, &comp->params, src, src_len, dst,
					 dst_len);
	if (codec) {
		/* The workspace is per stream: borrow this CPU's. */
		ret = codec->decompress(zcx_stream_get(h, priority)->ctx,
					&comp->params, src, src_len, dst,
					dst_len);
		zcx_stream_put(h);
		return ret;
	}
	switch (comp->backend->kind) {
	case ZRAM_BACKEND_LZO:
	case ZRAM_BACKEND_LZO_RLE:
		/* Stateless; reads either LZO bitstream version. */
		return lzo1x_decompress_safe(src, src_len, dst, dst_len);
	default:
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

/* ---- grouped recompression's compressors ---- */

/*
 * A recompression run's own compressor: a group outgrows a stream's
 * buffer and, for zstd, its window, and compressing one with preemption
 * disabled would hold a CPU for too long.
 */
struct zcx_group_codec {
	const struct zram_comp *comp;
	/* comp's level and dictionary; src_size: the run's max_src. */
	struct zram_codec_params params;
	void *ctx;
};

static bool zram_backend_is_lzo(const struct zram_backend *backend)
{
	return backend->kind == ZRAM_BACKEND_LZO ||
	       backend->kind == ZRAM_BACKEND_LZO_RLE;
}

struct zcx_group_codec *zcx_group_codec_create(struct zcx_host *h,
					       unsigned int priority,
					       zcx_size_t max_src)
{
	struct zram_host *host = (struct zram_host *)h;
	const struct zram_comp *comp;
	struct zcx_group_codec *gc;
	void *ctx;

	might_sleep();
	if (WARN_ON_ONCE(priority >= ZCX_MAX_PRIORITIES || !max_src))
		return NULL;
	comp = &host->comps[priority];
	if (WARN_ON_ONCE(!comp->backend))
		return NULL;
	gc = kzalloc(sizeof(*gc), GFP_KERNEL);
	if (!gc)
		return NULL;
	gc->comp = comp;
	gc->params = comp->params;
	gc->params.src_size = max_src;
	if (comp->codec)
		ctx = comp->codec->ctx_alloc(&gc->params);
	else if (zram_backend_is_lzo(comp->backend))
		ctx = kvmalloc(LZO1X_1_MEM_COMPRESS, GFP_KERNEL);
	else
		ctx = crypto_alloc_comp(comp->backend->name, 0, 0);
	if (IS_ERR_OR_NULL(ctx)) {
		kfree(gc);
		return NULL;
	}
	gc->ctx = ctx;
	return gc;
}

void zcx_group_codec_destroy(struct zcx_host *h, struct zcx_group_codec *gc)
{
	if (!gc)
		return;
	if (gc->comp->codec)
		gc->comp->codec->ctx_free(gc->ctx);
	else if (zram_backend_is_lzo(gc->comp->backend))
		kvfree(gc->ctx);
	else
		crypto_free_comp(gc->ctx);
	kfree(gc);
}

int zcx_group_compress(struct zcx_host *h, struct zcx_group_codec *gc,
		       const void *src, zcx_size_t src_len, void *dst,
		       zcx_size_t *dst_len)
{
	const struct zram_comp *comp = gc->comp;
	unsigned int len;
	int ret;

	BUILD_BUG_ON(ZCX_GROUP_COMPRESS_BOUND <
		     lzo1x_worst_compress(ZCX_GROUP_MAX_BYTES));
	/* zstd's window was sized for max_src. */
	if (src_len > gc->params.src_size)
		return -EINVAL;
	if (comp->codec)
		return comp->codec->compress(gc->ctx, &gc->params, src, src_len,
					     dst, dst_len);
	switch (comp->backend->kind) {
	case ZRAM_BACKEND_LZO:
	case ZRAM_BACKEND_LZO_RLE:
		/* lib/lzo never checks the room it writes to. */
		if (*dst_len < lzo1x_worst_compress(src_len))
			return -ENOSPC;
		if (comp->backend->kind == ZRAM_BACKEND_LZO)
			ret = lzo1x_1_compress(src, src_len, dst, dst_len,
					       gc->ctx);
		else
			ret = lzorle1x_1_compress(src, src_len, dst, dst_len,
						  gc->ctx);
		return ret == LZO_E_OK ? 0 : -EINVAL;
	default:
		len = min_t(zcx_size_t, *dst_len, UINT_MAX);
		ret = crypto_comp_compress(gc->ctx, src, src_len, dst, &len);
		if (!ret)
			*dst_len = len;
		return ret;
	}
}
