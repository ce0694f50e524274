// SPDX-License-Identifier: GPL-2.0
/*
 * Compressors and per-CPU streams.  LZO and LZO-RLE call the kernel's
 * built-in lib/lzo directly; the others go through the crypto API, which
 * loads their modules on demand, so zram.ko needs nothing that Debian's
 * kernel does not build in.  Each CPU's stream (buffer + compressor state)
 * is created by a CPU-hotplug callback and used with preemption disabled.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpuhotplug.h>
#include <linux/crypto.h>
#include <linux/lzo.h>
#include <linux/mm.h>
#include <linux/percpu.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/sysfs.h>

#include "zcx/abi.h"
#include "zram_drv.h"

/* Stock 6.1's list and order; what the running kernel lacks is not shown. */
static const struct zram_backend zram_backends[] = {
	{ .name = "lzo", .kind = ZRAM_BACKEND_LZO },
	{ .name = "lzo-rle", .kind = ZRAM_BACKEND_LZO_RLE },
	{ .name = "lz4", .kind = ZRAM_BACKEND_CRYPTO },
	{ .name = "lz4hc", .kind = ZRAM_BACKEND_CRYPTO },
	{ .name = "842", .kind = ZRAM_BACKEND_CRYPTO },
	{ .name = "zstd", .kind = ZRAM_BACKEND_CRYPTO },
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
	if (backend->kind != ZRAM_BACKEND_CRYPTO)
		return true;
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

ssize_t zram_backends_show(const struct zram_backend *selected, char *buf)
{
	ssize_t at = 0;
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

/* ---- per-CPU streams ---- */

static void zram_stream_free(const struct zram_backend *backend,
			     struct zcx_stream *stream)
{
	free_pages((unsigned long)stream->buffer, 1);
	if (backend->kind == ZRAM_BACKEND_CRYPTO) {
		if (!IS_ERR_OR_NULL(stream->ctx))
			crypto_free_comp(stream->ctx);
	} else {
		kvfree(stream->ctx);
	}
	stream->buffer = NULL;
	stream->ctx = NULL;
}

static int zram_stream_alloc(const struct zram_backend *backend,
			     struct zcx_stream *stream)
{
	BUILD_BUG_ON(ZCX_STREAM_BUFFER_SIZE != PAGE_SIZE << 1);
	stream->buffer = (void *)__get_free_pages(GFP_KERNEL, 1);
	if (backend->kind == ZRAM_BACKEND_CRYPTO)
		stream->ctx = crypto_alloc_comp(backend->name, 0, 0);
	else
		stream->ctx = kvmalloc(LZO1X_1_MEM_COMPRESS, GFP_KERNEL);
	if (!stream->buffer || IS_ERR_OR_NULL(stream->ctx)) {
		zram_stream_free(backend, stream);
		return -ENOMEM;
	}
	return 0;
}

/* A CPU coming up, or already up when a disk is initialised. */
static int zram_cpu_prepare(unsigned int cpu, struct hlist_node *node)
{
	struct zram_host *host = hlist_entry(node, struct zram_host, cpuhp_node);

	/* On failure the hotplug core rolls back the CPUs already prepared. */
	if (zram_stream_alloc(host->backend, per_cpu_ptr(host->streams, cpu))) {
		pr_err("no memory for CPU %u's %s stream\n", cpu,
		       host->backend->name);
		return -ENOMEM;
	}
	return 0;
}

/* A CPU gone, or the disk being reset: nobody uses its stream now. */
static int zram_cpu_dead(unsigned int cpu, struct hlist_node *node)
{
	struct zram_host *host = hlist_entry(node, struct zram_host, cpuhp_node);

	zram_stream_free(host->backend, per_cpu_ptr(host->streams, cpu));
	return 0;
}

#ifndef ZCX_STREAMS_MUTEX
int zram_host_init(struct zram_host *host, const struct zram_backend *backend)
{
	int ret;

	host->backend = backend;
	host->streams = alloc_percpu(struct zcx_stream);
	if (!host->streams) {
		host->backend = NULL;
		return -ENOMEM;
	}
	ret = cpuhp_state_add_instance(zram_cpuhp_state, &host->cpuhp_node);
	if (ret) {
		free_percpu(host->streams);
		host->streams = NULL;
		host->backend = NULL;
	}
	return ret;
}

void zram_host_destroy(struct zram_host *host)
{
	cpuhp_state_remove_instance(zram_cpuhp_state, &host->cpuhp_node);
	free_percpu(host->streams);
	host->streams = NULL;
	host->backend = NULL;
}

struct zcx_stream *zcx_stream_get(struct zcx_host *h)
{
	preempt_disable();
	return this_cpu_ptr(((struct zram_host *)h)->streams);
}

void zcx_stream_put(struct zcx_host *h)
{
	preempt_enable();
}
#else
int zram_host_init(struct zram_host *host, const struct zram_backend *backend)
{
	int ret = zram_stream_alloc(backend, &host->single);

	if (ret)
		return ret;
	mutex_init(&host->lock);
	host->backend = backend;
	return 0;
}

void zram_host_destroy(struct zram_host *host)
{
	zram_stream_free(host->backend, &host->single);
	mutex_destroy(&host->lock);
	host->backend = NULL;
}

struct zcx_stream *zcx_stream_get(struct zcx_host *h)
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

int zcx_compress(struct zcx_host *h, struct zcx_stream *stream,
		 const void *src, zcx_size_t *dst_len)
{
	struct zram_host *host = (struct zram_host *)h;
	unsigned int len;
	int ret;

	switch (host->backend->kind) {
	case ZRAM_BACKEND_LZO:
		ret = lzo1x_1_compress(src, PAGE_SIZE, stream->buffer, dst_len,
				       stream->ctx);
		return ret == LZO_E_OK ? 0 : -EINVAL;
	case ZRAM_BACKEND_LZO_RLE:
		ret = lzorle1x_1_compress(src, PAGE_SIZE, stream->buffer,
					  dst_len, stream->ctx);
		return ret == LZO_E_OK ? 0 : -EINVAL;
	case ZRAM_BACKEND_CRYPTO:
		len = *dst_len;
		ret = crypto_comp_compress(stream->ctx, src, PAGE_SIZE,
					   stream->buffer, &len);
		*dst_len = len;
		return ret;
	}
	return -EINVAL;
}

int zcx_decompress(struct zcx_host *h, const void *src, zcx_size_t src_len,
		   void *dst, zcx_size_t *dst_len)
{
	struct zram_host *host = (struct zram_host *)h;
	unsigned int len;
	int ret;

	if (host->backend->kind != ZRAM_BACKEND_CRYPTO) {
		/* Stateless; reads either LZO bitstream version. */
		return lzo1x_decompress_safe(src, src_len, dst, dst_len);
	}
	/* zstd keeps its workspace in the transform: borrow this CPU's. */
	len = *dst_len;
	ret = crypto_comp_decompress(zcx_stream_get(h)->ctx, src, src_len, dst,
				     &len);
	zcx_stream_put(h);
	*dst_len = len;
	return ret;
}
