/* SPDX-License-Identifier: GPL-2.0 */
/* State the C layer keeps per disk; the core never sees this header. */
#ifndef ZRAM_DRV_H
#define ZRAM_DRV_H

#include <linux/blkdev.h>
#include <linux/kthread.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/rwsem.h>
#include <linux/shrinker.h>
#include <linux/workqueue.h>

#include "zcx/abi.h"
#include "zram_codecs.h"
#include "zram_compat.h"

enum zram_backend_kind {
	ZRAM_BACKEND_LZO,     /* lib/lzo, built into Debian's kernel */
	ZRAM_BACKEND_LZO_RLE,
	ZRAM_BACKEND_CRYPTO,  /* crypto API, module loaded on demand */
	/*
	 * zram_codecs.ko (lib/zstd, lib/lz4 directly) when loaded, else the
	 * crypto API: see zram_comp_config_bind.
	 */
	ZRAM_BACKEND_ZSTD,    /* levels */
	ZRAM_BACKEND_LZ4HC,   /* levels, a dictionary */
	ZRAM_BACKEND_LZ4,     /* a dictionary */
};

struct zram_backend {
	const char *name;
	enum zram_backend_kind kind;
	/* Levels algorithm_params accepts; both 0: the algorithm has none. */
	int min_level, max_level, default_level;
	bool takes_dict;	/* algorithm_params dict= */
};

/*
 * What a disk compresses with, chosen before init and kept across reset:
 * comp_algorithm at priority 0, recomp_algorithm at 1..3 (NULL: none), and
 * algorithm_params' level (0: the algorithm's default) and dictionary
 * (kvmalloc'd; NULL: none) of each, and the companion's codec for it
 * (NULL: none, or not loaded; a module reference while set).
 */
struct zram_comp_config {
	const struct zram_backend *backend[ZCX_MAX_PRIORITIES];
	const struct zram_codec *codec[ZCX_MAX_PRIORITIES];
	int level[ZCX_MAX_PRIORITIES];
	void *dict[ZCX_MAX_PRIORITIES];
	size_t dict_len[ZCX_MAX_PRIORITIES];
};

/* One algorithm of an initialised disk, with its per-CPU streams. */
struct zram_comp {
	const struct zram_backend *backend;	/* NULL: priority unused */
	const struct zram_codec *codec;	/* NULL: lib/lzo or the crypto API */
	/* The config's dictionary: it cannot change while in use. */
	struct zram_codec_params params;
	struct zcx_stream __percpu *streams;
};

/* What zcx_host points at: one initialised disk's compressors. */
struct zram_host {
	struct zram_comp comps[ZCX_MAX_PRIORITIES];
	struct hlist_node cpuhp_node;
	bool initialised;
	/*
	 * Reading grouped pages: every possible CPU's, from the first
	 * zcx_group_buffers_prepare to the disk's reset (NULL before).
	 */
	struct zcx_group_buffers __percpu *group_bufs;
#ifdef ZCX_STREAMS_MUTEX
	/* Ablation build: one stream per disk behind a mutex (pre-2010). */
	struct mutex lock;
	struct zcx_stream single;
#endif
};

/*
 * idle_policy: every interval seconds (0: off), recompress up to
 * recompress_pages pages (0: all) idle for recompress_after seconds (0:
 * never), then write back up to writeback_pages idle for writeback_after.
 * Changed under init_lock for writing; the counters by the worker under
 * it for reading, one worker per disk.
 */
struct zram_idle_policy {
	unsigned int interval;
	unsigned int recompress_after;
	u64 recompress_pages;
	/* Recompress in groups of this many (recompress's group_pages). */
	unsigned int recompress_group_pages;
	unsigned int writeback_after;
	u64 writeback_pages;
	u64 runs, tried, recompressed, written;
	/* Runs that gave way to other work, and backed-off intervals. */
	u64 yields, backoffs;
};

/*
 * What the worker carries from one run to the next (zram_idle_policy.c):
 * only it touches this, under init_lock for reading, or a store under
 * init_lock for writing.
 */
struct zram_policy_state {
	struct zcx_policy_ages ages; /* when a page is recompressed, grouped */
	bool resume;		/* the pass is not over */
	u64 cursor;		/* where it goes on */
	u64 budget;		/* recompress_pages left this pass */
	struct zcx_pp_plan plan; /* the pass's, with a budget */
	unsigned long next_interval; /* jiffies: the next interval begins */
	unsigned long owed;	/* jiffies of work due even on a busy CPU */
	u64 uncompacted;	/* recompressed since the last compaction */
};

struct zram {
	struct gendisk *disk;
	/* Serialises disksize, reset and readers of the stat files. */
	struct rw_semaphore init_lock;
	/* NULL until disksize is set; the I/O path relies on capacity 0. */
	struct zcx_dev *core;
	struct zram_host host;
	/* Chosen before init; survives reset, as with stock. */
	struct zram_comp_config comp;
	u64 disksize;
	u64 mem_limit;
	/* Under disk->open_mutex: a reset or removal owns the disk. */
	bool claim;

	/* Writeback target, chosen before init (zram_backing.c). */
	struct block_device *bdev;
	zram_compat_bdev_handle_t bdev_handle;	/* what closes bdev */
	char *backing_path;
	/* Its page-sized blocks, and the reads of them in flight. */
	struct zcx_blocks *blocks;
	unsigned long bd_nr_blocks;
	atomic64_t bd_reads;
	atomic64_t bd_writes;
	/*
	 * One writeback run per disk at a time (zram_writeback_run): every
	 * run's claims on slots name one owner, kWritebackClaim
	 * (drivers/core/table.hpp), which says "nothing touched it since my
	 * copy" only if no other run can claim it again meanwhile.
	 */
	struct mutex writeback_lock;
	spinlock_t wb_limit_lock;
	bool wb_limit_enable;
	u64 bd_wb_limit;		/* pages writeback may still write */
	unsigned int wb_batch_size;	/* write bios in flight per run */
	bool compressed_wb;		/* compressed_writeback, before init */
	/* debugfs zram/zramN/writeback: what became of each write bio. */
	atomic64_t wb_stale;		/* written, but the slot changed */
	atomic64_t wb_failed;		/* the backing device failed it */

	struct dentry *debugfs_dir;	/* zram/zramN, see pool_show */

	/* The idle policy (zram_idle_policy.c); survives reset. */
	struct zram_idle_policy policy;
	/* Serialises idle_policy stores, cancel included. */
	struct mutex policy_lock;
	struct kthread_delayed_work policy_work;
	struct zram_policy_state policy_state;

	/* Recompression (zram_recompress.c): one run at a time per disk. */
	struct mutex recompress_lock;

	/* Compaction (zram_compact.c): one pass at a time per disk. */
	struct mutex compact_lock;
	struct zram_compat_shrinker shrinker;
	bool shrinker_registered;
};

#ifdef ZCX_KUNIT
/*
 * For tests/kunit: a new initialised disk (recomp: its algorithm at
 * priority 1, or NULL), and its removal.
 */
struct zram *zram_kunit_create(u64 disksize, const char *recomp);
void zram_kunit_destroy(struct zram *zram);
#endif

static inline struct zram *dev_to_zram(struct device *dev)
{
	return dev_to_disk(dev)->private_data;
}

/* zram_backing.c */
void zram_backing_release(struct zram *zram);
/* The block allocator's glue, for reads and writeback. */
unsigned long zram_bd_alloc_block(struct zram *zram);
void zram_bd_read_end(struct zram *zram, unsigned int tag,
		      unsigned long reads);
extern struct device_attribute dev_attr_backing_dev, dev_attr_bd_stat;

/* zram_backing_read.c */

/*
 * One child read bio of written-back pages (zram_read_backing_async):
 * raw pages on consecutive blocks, or one compressed block.
 */
struct zram_bd_read {
	struct work_struct work;	/* decompression, compressed blocks */
	struct zram *zram;
	struct bio *parent;
	struct page *page;		/* compressed: the parent's page */
	struct page *bounce;		/* compressed: the block; else NULL */
	struct zcx_backing_ref ref;	/* of the first page */
	unsigned long index;		/* of the first page */
	unsigned int pages;		/* reads begun by the core */
	unsigned int reads[2];		/* of them, by zcx_backing_ref.read_tag */
	struct bio bio;			/* last: the bioset's front_pad */
};

/* The reads of written-back pages of one parent bio. */
struct zram_bd_chain {
	struct bio *parent;
	u32 end;			/* page index past the parent's last */
	struct zram_bd_read *open;	/* raw run being filled, unsubmitted */
	unsigned long next_block;	/* the block that would extend it */
};

int zram_backing_module_init(void);
void zram_backing_module_exit(void);
/*
 * A page the core answered ZCX_READ_BACKING(_COMPRESSED) for, ref as it
 * handed out; both end the read the core began.  sync: waits (rw_page,
 * part-page I/O).  async: a child of chain->parent, which completes after
 * it; 0 once under way, perhaps held in chain->open until
 * zram_read_backing_flush().
 */
int zram_read_backing_sync(struct zram *zram, unsigned long index,
			   const struct zcx_backing_ref *ref, struct page *page);
int zram_read_backing_async(struct zram *zram, unsigned long index,
			    const struct zcx_backing_ref *ref,
			    struct page *page, struct zram_bd_chain *chain);
void zram_read_backing_flush(struct zram_bd_chain *chain);
void zram_backing_debugfs_module(struct dentry *root);

/* zram_writeback.c */
extern struct device_attribute dev_attr_idle, dev_attr_writeback,
	dev_attr_writeback_limit, dev_attr_writeback_limit_enable,
	dev_attr_writeback_batch_size, dev_attr_compressed_writeback;

#define ZRAM_WB_BATCH_DEFAULT 32
#define ZRAM_WB_BATCH_MAX 1024

/*
 * One writeback run, for `writeback` and for the idle-policy worker.
 * mode: ZCX_WB_* bits (include/zcx/abi.h), every one required (0: any
 * stored page); [lo, hi): page indexes, hi exclusive, clipped to the disk;
 * max_pages: a budget for this run (0: none), spent on the largest objects
 * first, as is writeback_limit when enabled (the smaller of the two
 * applies); min_age: only slots not accessed for that many seconds (0:
 * any).
 */
struct zram_wb_request {
	int mode;
	u64 lo, hi;
	u64 max_pages;
	u32 min_age;
	bool nowait;	/* another run in progress: -EBUSY, not a wait */
};

/*
 * Writes the request's pages to the backing device, writeback_batch_size
 * bios in flight at a time, and adds the pages that now live there to
 * *written.  The caller holds zram->init_lock for reading.  Process
 * context; sleeps, and yields between batches.  Runs of one disk never
 * overlap: a second waits for the first (killably), or with req->nowait
 * gets -EBUSY.  A reset or removal waiting for the disk (zram->claim)
 * stops the run after the batch in flight, so it waits for one batch,
 * not a whole run.  0, or: -EINVAL before
 * init, -ENODEV without backing device, -EINTR when killed while waiting
 * for another run, -EIO when writeback_limit stopped
 * the run with eligible pages left, -ENOSPC when the backing device is
 * full, -ENOMEM, or the errno of a failed write (the run stops after the
 * batch where a write failed; those pages stay in memory).
 */
int zram_writeback_run(struct zram *zram, const struct zram_wb_request *req,
		       u64 *written);

/* zram_compact.c */
int zram_compact_init(struct zram *zram);
void zram_compact_exit(struct zram *zram);
u64 zram_compact_all(struct zram *zram);
int zram_compact_all_nowait(struct zram *zram, u64 *freed);
extern struct device_attribute dev_attr_compact;

/* zram_recompress.c */
int zram_recompress_run(struct zram *zram, struct zcx_recompress_request *req,
			struct zcx_recompress_result *result, bool compact,
			bool nowait);
extern struct device_attribute dev_attr_recomp_algorithm,
	dev_attr_recompress, dev_attr_algorithm_params;

unsigned int zram_secondary_mask(struct zram *zram);

/* zram_idle_policy.c */
void zram_policy_init(struct zram *zram);
void zram_policy_start(struct zram *zram);
void zram_policy_stop(struct zram *zram);
void zram_policy_module_exit(void);
void zram_policy_debugfs(struct zram *zram, struct dentry *dir);
void zram_policy_debugfs_module(struct dentry *root);
extern struct device_attribute dev_attr_idle_policy;

/* zram_comp.c */
const struct zram_backend *zram_backend_default(void);
const struct zram_backend *zram_backend_find(const char *buf, size_t len);
ssize_t zram_backends_show(const struct zram_backend *selected, char *buf);
ssize_t zram_backends_show_at(const struct zram_backend *selected, char *buf,
			      ssize_t at);
int zram_host_init(struct zram_host *host, const struct zram_comp_config *cfg);
/* Another algorithm at priority p (or none): its level and dictionary go. */
void zram_comp_config_set(struct zram_comp_config *cfg, unsigned int p,
			  const struct zram_backend *backend);
/* Whether priority p now goes through zram_codecs.ko (loads it if need be). */
bool zram_comp_config_bind(struct zram_comp_config *cfg, unsigned int p);
void zram_comp_config_params_reset(struct zram_comp_config *cfg,
				   unsigned int p);
void zram_comp_config_release(struct zram_comp_config *cfg);
void zram_host_destroy(struct zram_host *host);
int zram_comp_init(void);
void zram_comp_exit(void);

#endif /* ZRAM_DRV_H */
