/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What zram.ko and its companion zram_codecs.ko share: the companion links
 * against lib/zstd and lib/lz4 (modules on Debian) so that zram.ko need
 * not, and zram.ko finds its table with symbol_get(), which also holds the
 * companion in memory until symbol_put().  Neither module depends on the
 * other: a bare `insmod zram.ko` loads, `modprobe -r zram` works with the
 * companion loaded, and without the companion zram.ko reaches the same
 * algorithms through the crypto API (no levels, no dictionaries).
 */
#ifndef ZRAM_CODECS_H
#define ZRAM_CODECS_H

#include <linux/types.h>

#define ZRAM_CODECS_MODULE "zram_codecs"

/* What algorithm_params chose for one algorithm of a disk. */
struct zram_codec_params {
	int level;		/* the codec's own default if out of its range */
	const void *dict;	/* NULL: none */
	size_t dict_len;
	/*
	 * The largest input ctx_alloc's state is for (0: a page): a group's
	 * window must span the group, a page's stays a page's.
	 */
	size_t src_size;
	/*
	 * What prepare made of level and dict for every ctx of the disk to
	 * share (zstd's digested dictionaries), or NULL.
	 */
	void *prepared;
};

/*
 * One algorithm.  ctx_alloc runs in process context (GFP_KERNEL) from the
 * CPU-hotplug callback, or for a recompression run's group codec;
 * compress and decompress run with preemption disabled on this CPU's ctx
 * (a group codec's compress: preemptible, on its own ctx), or, when
 * stateless_decompress, decompress on none (NULL).  Sizes go up to a
 * group's (64 KiB, its compressed form a bit more); dst_len: the room in
 * dst in, the bytes written out.
 */
struct zram_codec {
	const char *name;
	bool stateless_decompress;
	/*
	 * Optional: once per disk and algorithm, in process context, before
	 * the first ctx_alloc; release after the last ctx_free.  NULL from
	 * prepare: no memory.
	 */
	void *(*prepare)(const struct zram_codec_params *params);
	void (*release)(void *prepared);
	void *(*ctx_alloc)(const struct zram_codec_params *params);
	void (*ctx_free)(void *ctx);
	int (*compress)(void *ctx, const struct zram_codec_params *params,
			const void *src, size_t src_len, void *dst,
			size_t *dst_len);
	int (*decompress)(void *ctx, const struct zram_codec_params *params,
			  const void *src, size_t src_len, void *dst,
			  size_t *dst_len);
};

struct zram_codecs {
	const struct zram_codec *zstd, *lz4, *lz4hc;
};

/*
 * The exported table.  symbol_get() checks no layout: a zram.ko and a
 * companion from builds that disagree must not find each other, so the
 * layout's version is in the name.  Change the structs above, bump it.
 */
#define zram_codecs_table zram_codecs_v3
extern const struct zram_codecs zram_codecs_table;

#endif /* ZRAM_CODECS_H */
