/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one contract between the C layer (the only code that sees kernel
 * headers) and the freestanding C++ core.  Plain C types only, no includes:
 * the core compiles unchanged in the kernel and in user space, where
 * tests/host provides another implementation of the platform half.
 */
#ifndef ZCX_ABI_H
#define ZCX_ABI_H

#ifdef __cplusplus
extern "C" {
#endif

typedef __SIZE_TYPE__ zcx_size_t;
typedef unsigned long long zcx_u64;

/* The core is written for 4 KiB pages; the C layer asserts PAGE_SIZE. */
#define ZCX_PAGE_SHIFT 12
#define ZCX_PAGE_SIZE (1UL << ZCX_PAGE_SHIFT)

/*
 * Linux errno values are user-visible ABI; the C layer checks each one
 * against <linux/errno.h> at build time, so the core may name them.
 */
enum zcx_errno {
	ZCX_EIO = 5,
	ZCX_ENOMEM = 12,
	ZCX_EBUSY = 16,
	ZCX_EINVAL = 22,
	ZCX_ENOSPC = 28,
	ZCX_ERANGE = 34,
};

/* Allocation contexts; the C layer maps them to real gfp_t values. */
enum zcx_gfp {
	ZCX_GFP_NOWAIT, /* atomic context, no reclaim, may fail */
	ZCX_GFP_NOIO,   /* may sleep, must not recurse into block I/O */
	ZCX_GFP_KERNEL, /* process context, set-up paths only */
};

/* ---- Platform: implemented by the C layer (or tests/host) ---- */

void *zcx_kzalloc(zcx_size_t size, enum zcx_gfp gfp);
void zcx_kfree(const void *ptr);
/* Large zeroed arrays (the slot table); may sleep. */
void *zcx_vzalloc(zcx_size_t size);
void zcx_vfree(const void *ptr);

/* Order-0 pages, named by pointer or by pfn (pfns fit in a slot word). */
struct zcx_page;
struct zcx_page *zcx_page_alloc(enum zcx_gfp gfp);
void zcx_page_free(struct zcx_page *page);
unsigned long zcx_page_to_pfn(struct zcx_page *page);
struct zcx_page *zcx_pfn_to_page(unsigned long pfn);
/* kmap_local_page semantics: unmap in reverse order of mapping. */
void *zcx_kmap_local(struct zcx_page *page);
void zcx_kunmap_local(const void *addr);

/*
 * The object pool's chunks: 2^order contiguous pages (order <= 2) from the
 * direct map, never highmem, so one address covers the whole chunk and no
 * kmap is needed.  An order > 0 request neither retries hard nor warns:
 * the caller falls back to order 0.
 */
struct zcx_page *zcx_chunk_alloc(enum zcx_gfp gfp, unsigned int order);
void zcx_chunk_free(struct zcx_page *first, unsigned int order);
void *zcx_chunk_address(struct zcx_page *first);
/* The pfn of a chunk's first page, from its address (virt_to_page). */
unsigned long zcx_chunk_pfn(const void *address);

/*
 * n counters each CPU bumps in its own memory (this_cpu_inc: no lock
 * prefix, no line shared between CPUs), summed when someone reads one,
 * rarely.  For counts the read path keeps.  inc: any context; i < n.
 */
struct zcx_pcpu_counter;
struct zcx_pcpu_counter *zcx_pcpu_counter_create(unsigned int n);
void zcx_pcpu_counter_destroy(struct zcx_pcpu_counter *counter);
void zcx_pcpu_counter_inc(struct zcx_pcpu_counter *counter, unsigned int i);
zcx_u64 zcx_pcpu_counter_sum(const struct zcx_pcpu_counter *counter,
			     unsigned int i);

struct zcx_spinlock;
struct zcx_spinlock *zcx_spinlock_create(void);
void zcx_spinlock_destroy(struct zcx_spinlock *lock);
void zcx_spin_lock(struct zcx_spinlock *lock);
void zcx_spin_unlock(struct zcx_spinlock *lock);

/* bit_spin_lock on one bit of a word; disables preemption while held. */
void zcx_bit_lock(unsigned int bit, unsigned long *word);
int zcx_bit_trylock(unsigned int bit, unsigned long *word);
void zcx_bit_unlock(unsigned int bit, unsigned long *word);

/*
 * The C layer's context for one initialised disk: its per-CPU streams and
 * its compressor.  Opaque to the core, which only hands it back.
 */
struct zcx_host;

/*
 * One CPU's compression stream, created by the CPU-hotplug callback.
 * buffer holds ZCX_STREAM_BUFFER_SIZE bytes (LZO's worst case exceeds a
 * page); ctx is the compressor's state (LZO work area, crypto transform).
 */
#define ZCX_STREAM_BUFFER_SIZE (2 * ZCX_PAGE_SIZE)
struct zcx_stream {
	void *buffer;
	void *ctx;
};
/*
 * Every algorithm of a disk has a priority: 0 is comp_algorithm, 1..3 the
 * secondary algorithms of recomp_algorithm, each with its own per-CPU
 * streams.  The core only passes priorities the disk has configured.
 */
#define ZCX_MAX_PRIORITIES 4
/*
 * Enters the stream section of the algorithm of this priority and returns
 * the stream to use: this CPU's,
 * with preemption disabled until zcx_stream_put (the seed design).  The
 * ablation build (ZCX_STREAMS=mutex) hands out the disk's one stream under
 * a mutex instead, as zram did before per-CPU buffers.
 */
struct zcx_stream *zcx_stream_get(struct zcx_host *host, unsigned int priority);
void zcx_stream_put(struct zcx_host *host);

/*
 * Compresses one page into stream->buffer with the disk's algorithm of
 * that priority.
 * Preemption disabled.  0 or a negative value on failure.
 */
int zcx_compress(struct zcx_host *host, unsigned int priority,
		 struct zcx_stream *stream, const void *src, zcx_size_t *dst_len);
/*
 * Decompresses src into dst (capacity *dst_len, updated).  Callable in
 * atomic context; 0 or a negative, codec-specific status.
 */
int zcx_decompress(struct zcx_host *host, unsigned int priority,
		   const void *src, zcx_size_t src_len, void *dst,
		   zcx_size_t *dst_len);

/*
 * Grouped recompression (drivers/core/group.hpp): up to
 * ZCX_GROUP_MAX_PAGES neighbouring pages compressed as one stream with a
 * secondary algorithm.
 */
#define ZCX_GROUP_MAX_PAGES 16
#define ZCX_GROUP_MAX_BYTES (ZCX_GROUP_MAX_PAGES * ZCX_PAGE_SIZE)
/*
 * What a compressor may write for a whole group: LZO's worst case, the
 * kernel's lzo1x_worst_compress (lzo-rle's 2 bytes more than LZO's own).
 */
#define ZCX_GROUP_COMPRESS_BOUND \
	(ZCX_GROUP_MAX_BYTES + ZCX_GROUP_MAX_BYTES / 16 + 64 + 3 + 2)
/*
 * A compressor of the algorithm of that priority with a workspace of its
 * own, sized for max_src bytes of input (its window spans a whole group),
 * for one recompression run: process context, may sleep; used with
 * preemption enabled.  NULL: no memory.
 */
struct zcx_group_codec;
struct zcx_group_codec *zcx_group_codec_create(struct zcx_host *host,
					       unsigned int priority,
					       zcx_size_t max_src);
void zcx_group_codec_destroy(struct zcx_host *host,
			     struct zcx_group_codec *codec);
/*
 * Compresses src_len bytes into dst, whose capacity is *dst_len (at least
 * ZCX_GROUP_COMPRESS_BOUND); *dst_len becomes the compressed length.
 * 0, or a negative value (output would not fit, codec failure).  A group
 * decompresses with zcx_decompress, *dst_len the group's bytes.
 */
int zcx_group_compress(struct zcx_host *host, struct zcx_group_codec *codec,
		       const void *src, zcx_size_t src_len, void *dst,
		       zcx_size_t *dst_len);
/*
 * One CPU's buffers for reading a grouped page: packed gathers the
 * group's compressed pieces, plain[e] receives a decompressed group (each
 * ZCX_GROUP_MAX_BYTES); cached_handle[e] and cached_stamp[e] name the
 * group plain[e] holds (0: none), so that reading its neighbours costs a
 * copy, and last_used the entry read last.  Two entries: a program
 * reading its pages in order finds the group of the next one still there
 * after reading a page of another group in between (a page swapped out
 * at another time); the swap bench's final read of every page, issue 26.
 * zcx_group_buffers_prepare creates them for every possible CPU, once per
 * initialised disk (process context, may sleep; 0 or -ENOMEM); they go
 * with the disk.  get enters this CPU's buffers with preemption disabled
 * until put; callable in atomic context once prepared.
 */
#define ZCX_GROUP_CACHED 2
struct zcx_group_buffers {
	void *packed;
	void *plain[ZCX_GROUP_CACHED];
	zcx_u64 cached_handle[ZCX_GROUP_CACHED];
	zcx_u64 cached_stamp[ZCX_GROUP_CACHED];
	unsigned int last_used;
};
int zcx_group_buffers_prepare(struct zcx_host *host);
struct zcx_group_buffers *zcx_group_buffers_get(struct zcx_host *host);
void zcx_group_buffers_put(struct zcx_host *host);

/* count copies of word at dst (the kernel's memset64: rep stosq on x86). */
void zcx_memset64(void *dst, zcx_u64 word, zcx_size_t count);

/*
 * Frees a block of the backing device (zcx_blocks_free of the disk's
 * blocks).  Never sleeps.
 */
void zcx_backing_free(struct zcx_host *host, unsigned long block);
/*
 * A read of block of the backing device starts: called by the core under
 * the lock of the slot that names the block, when it hands the block out
 * (zcx_dev_read_page).  So a zcx_backing_free of that block, which comes
 * only after the slot stops naming it, always follows this call, and the
 * block is not reused until the read is over: the C layer ends it with
 * zcx_blocks_read_end and the tag returned here (zcx_blocks_read_begin's).
 * Never sleeps.
 */
unsigned int zcx_backing_read_begin(struct zcx_host *host, unsigned long block);
/* A point where process context may yield the CPU (cond_resched). */
void zcx_cond_resched(void);
/* Seconds since boot (CLOCK_BOOTTIME), for access tracking. */
unsigned int zcx_now_seconds(void);

/* Rate-limited log line for a stored object that fails to decompress. */
void zcx_report_corrupt(unsigned long index, int codec_status);

/* ---- Core: implemented in C++ ---- */

struct zcx_dev;

/*
 * The blocks of a backing device (drivers/core/backing.hpp): which hold
 * pages, and blocks freed while reads of them are in flight, which go back
 * only once those reads are over.  Created with the backing device; every
 * call but create and destroy may come from any context.
 */
struct zcx_blocks;
struct zcx_blocks_stats {
	zcx_u64 held;		/* holding pages, or taken for a write */
	zcx_u64 deferred;	/* freed, waiting for reads to end */
	zcx_u64 deferrals;	/* frees that had to wait, so far */
};
int zcx_blocks_create(zcx_u64 nr_blocks, struct zcx_blocks **out);
void zcx_blocks_destroy(struct zcx_blocks *blocks);
/*
 * 0: *block is taken.  -EBUSY: the only free blocks wait for reads in
 * flight; they come back as those end (ask again shortly).  -ENOSPC: every
 * block holds a page.
 */
int zcx_blocks_alloc(struct zcx_blocks *blocks, unsigned long *block);
/* A taken block no reader was ever handed (its write failed or went
 * stale); -EINVAL for a block not taken. */
int zcx_blocks_put_unused(struct zcx_blocks *blocks, unsigned long block);
/* A block a slot named, after the slot stopped naming it; -EINVAL for a
 * block not taken. */
int zcx_blocks_free(struct zcx_blocks *blocks, unsigned long block);
unsigned int zcx_blocks_read_begin(struct zcx_blocks *blocks);
/* reads begun with tag are over: their blocks' data is in. */
void zcx_blocks_read_end(struct zcx_blocks *blocks, unsigned int tag,
			 unsigned long reads);
void zcx_blocks_get_stats(const struct zcx_blocks *blocks,
			  struct zcx_blocks_stats *out);

struct zcx_stats {
	zcx_u64 orig_data_size;   /* bytes of pages stored */
	zcx_u64 compr_data_size;  /* bytes after compression */
	zcx_u64 mem_used_total;   /* bytes of pages held by the pool */
	zcx_u64 mem_limit;        /* bytes, 0 = none */
	zcx_u64 mem_used_max;     /* bytes, peak of mem_used_total */
	zcx_u64 same_pages;
	zcx_u64 pages_compacted;
	zcx_u64 huge_pages;
	zcx_u64 huge_pages_since;
	zcx_u64 failed_reads;
	zcx_u64 failed_writes;
	zcx_u64 invalid_io;
	zcx_u64 notify_free;
	zcx_u64 writestall;
	zcx_u64 miss_free;
	zcx_u64 pool_chunks;       /* multi-page (16 KiB) chunks in the pool */
	zcx_u64 pool_page_chunks;  /* single-page fallback chunks */
	zcx_u64 pool_compactable;  /* pages compaction could free (estimate) */
	zcx_u64 groups;            /* group objects (grouped recompression) */
	zcx_u64 grouped_pages;     /* pages stored in them */
	zcx_u64 dead_group_bytes;  /* of their streams, no page's any more */
};

/* Allocates the table and pool for disksize bytes (a multiple of pages). */
int zcx_dev_create(zcx_u64 disksize, struct zcx_host *host,
		   struct zcx_dev **out);
void zcx_dev_destroy(struct zcx_dev *dev);
zcx_u64 zcx_dev_nr_pages(const struct zcx_dev *dev);

/* Whole-page I/O on page index; src/dst are mapped page-sized buffers. */
int zcx_dev_write_page(struct zcx_dev *dev, unsigned long index,
		       const void *src);
/*
 * 0: dst holds the page.  ZCX_READ_BACKING: the page was written back and
 * lives in ref->block of the backing device; the caller reads it.
 * ZCX_READ_BACKING_COMPRESSED: the block holds the page's compressed
 * object (compressed_writeback), ref->size bytes made by the algorithm of
 * ref->priority; the caller reads the block and hands it to
 * zcx_dev_decompress_backing.  In both cases zcx_backing_read_begin was
 * called for the block.
 */
#define ZCX_READ_BACKING 1
#define ZCX_READ_BACKING_COMPRESSED 2
struct zcx_backing_ref {
	unsigned long block;
	unsigned int size;	/* compressed object's bytes; 0: a raw page */
	unsigned int priority;	/* the algorithm that made it */
	unsigned int read_tag;	/* zcx_blocks_read_end's, when the read is over */
};
int zcx_dev_read_page_ref(struct zcx_dev *dev, unsigned long index, void *dst,
			  struct zcx_backing_ref *ref);
/* zcx_dev_read_page_ref for callers that need only the block. */
int zcx_dev_read_page(struct zcx_dev *dev, unsigned long index, void *dst,
		      unsigned long *backing_block);
/*
 * src: the block of a ZCX_READ_BACKING_COMPRESSED page, read after the
 * core handed ref out.  No slot lock: the block cannot have been reused
 * while the read was in flight (zcx_backing_read_begin), so it holds the
 * object ref describes, even if the slot has moved on since.  0: dst holds
 * the page; -EIO: it did not decompress (counted in failed_reads, logged).
 */
int zcx_dev_decompress_backing(struct zcx_dev *dev, unsigned long index,
			       const struct zcx_backing_ref *ref,
			       const void *src, void *dst);
/* Discard / write-zeroes: frees the slot. */
void zcx_dev_discard_page(struct zcx_dev *dev, unsigned long index);
/* count pages from first, clipped to the disk (discard, write-zeroes). */
void zcx_dev_discard_range(struct zcx_dev *dev, zcx_u64 first, zcx_u64 count);
/* Called under the swap device's spinlock: never sleeps or spins. */
void zcx_dev_slot_free_notify(struct zcx_dev *dev, unsigned long index);
void zcx_dev_count_invalid_io(struct zcx_dev *dev);
void zcx_dev_count_failed(struct zcx_dev *dev, int is_write);

/* `idle`: marks stored pages not accessed for max_age seconds (or all). */
void zcx_dev_mark_idle(struct zcx_dev *dev, int all, unsigned int max_age);

/*
 * Writeback, driven by the C layer, which does the block I/O:
 * prepare copies an eligible slot's page into dst and marks it under
 * writeback (1), or skips it (0); commit makes the slot point at block
 * (1), or reports that the slot changed meanwhile and block is unused (0);
 * abort undoes prepare after a failed write.
 */
enum zcx_writeback_mode {
	ZCX_WB_ANY = 0,  /* page_index=N */
	ZCX_WB_IDLE = 1, /* only slots marked idle */
	ZCX_WB_HUGE = 2, /* only incompressible (huge) slots */
	/* only slots recompression flagged (Slot::kIncompressible) */
	ZCX_WB_INCOMPRESSIBLE = 4,
};
int zcx_dev_writeback_prepare(struct zcx_dev *dev, unsigned long index,
			      int mode, void *dst);

/*
 * Post-processing selection (writeback now, recompress later;
 * drivers/core/postprocess.hpp).  A filter names the eligible slots:
 * stored compressed or raw (huge), not under writeback or recompression,
 * with every ZCX_WB_* bit of mode satisfied, not accessed for min_age
 * seconds (0: any), at least min_size stored bytes (0: any), index in
 * [lo, hi).  A plan spends a budget of max_pages (0: none) on the largest
 * eligible objects first, in 64-byte size buckets (upstream's 6.13
 * post-processing buckets): zcx_dev_pp_plan counts the eligible slots per
 * bucket and sets the cutoff; zcx_pp_take then admits, in index order,
 * every object above the cutoff bucket and as many at it as the budget
 * leaves.  largest_first = 0 spends the budget in index order instead
 * (the comparison the benchmark makes).
 */
struct zcx_pp_filter {
	int mode;
	unsigned int min_age;
	unsigned int min_size;
	zcx_u64 lo, hi;
};
struct zcx_pp_plan {
	zcx_u64 budget;       /* pages still to take; ~0 = unlimited */
	zcx_u64 eligible;     /* eligible slots the counting pass saw */
	zcx_u64 at_cutoff;    /* still to take from the cutoff bucket */
	unsigned int cutoff;  /* lowest bucket taken */
	unsigned int now;     /* seconds, for min_age */
};
void zcx_dev_pp_plan(struct zcx_dev *dev, const struct zcx_pp_filter *filter,
		     zcx_u64 max_pages, int largest_first,
		     struct zcx_pp_plan *plan);
/*
 * zcx_dev_writeback_prepare for a filter and plan: 1 and the page in dst
 * if the slot is eligible and the plan takes it (the plan is charged), 0
 * if not, or a negative errno (the stored object is corrupt).  With
 * compressed, a compressed object goes to dst as it is (zero-padded) and
 * *len is its size; else *len is a page.  len may be NULL.
 */
int zcx_dev_writeback_prepare_pp(struct zcx_dev *dev, unsigned long index,
				 const struct zcx_pp_filter *filter,
				 struct zcx_pp_plan *plan, void *dst,
				 int compressed, unsigned int *len);
/* zcx_dev_writeback_commit with prepare's len (below a page: compressed). */
int zcx_dev_writeback_commit_len(struct zcx_dev *dev, unsigned long index,
				 unsigned long block, unsigned int len);
int zcx_dev_writeback_commit(struct zcx_dev *dev, unsigned long index,
			     unsigned long block);
void zcx_dev_writeback_abort(struct zcx_dev *dev, unsigned long index);

/*
 * Compaction: moves objects out of the pool's sparsest chunks and frees
 * the chunks it empties, up to max_pages pages; returns the pages freed.
 * Process context, may cond_resched; the caller serialises calls on one
 * disk.  compactable is a lock-free estimate of what it could free.
 */
zcx_u64 zcx_dev_compact(struct zcx_dev *dev, zcx_u64 max_pages);
zcx_u64 zcx_dev_compactable_pages(const struct zcx_dev *dev);
/*
 * The pool's free space by block size (debugfs pool): blocks and bytes
 * under 256, 512, 1024, 2048 and 4064 bytes, and the rest (what no object
 * is too big for: mostly fresh chunks' tails).  Walks every free block
 * under the pool lock.
 */
#define ZCX_POOL_HOLE_BUCKETS 6
void zcx_dev_pool_holes(struct zcx_dev *dev, zcx_u64 count[ZCX_POOL_HOLE_BUCKETS],
			zcx_u64 bytes[ZCX_POOL_HOLE_BUCKETS]);
/*
 * Before a `compact`: the live pages of each group more than a quarter dead
 * are grouped again without the dead ones (a lone page stored alone),
 * where that takes less memory, so that the old group goes with its dead
 * pages.  compactable does not count groups' dead bytes (zcx_stats
 * does): only this gives them back.  Each group is tried once a call.
 * Process context, may sleep; page is a page-sized buffer; stops early
 * once *stop is non-zero (NULL: never); *pages: pages taken.
 */
int zcx_dev_regroup_sparse(struct zcx_dev *dev, void *page,
			   const unsigned char *stop, zcx_u64 *pages);
/* Pages in groups now: none, and regroup_sparse has nothing to do. */
zcx_u64 zcx_dev_grouped_pages(const struct zcx_dev *dev);
/*
 * Recompression (`recompress`, the idle policy): which slots a run takes
 * and which secondary algorithms it tries.  Process context, may sleep;
 * the caller serialises runs on one disk.  page is a page-sized buffer.
 */
struct zcx_recompress_request {
	int idle;		/* only slots marked idle (type=idle, huge_idle) */
	int huge;		/* only slots stored raw (type=huge, huge_idle) */
	/* Instead of the idle mark: not accessed for this many seconds. */
	unsigned int min_age;
	/* Only objects of at least this size, new forms only below it. */
	unsigned int threshold;
	zcx_u64 max_pages;	/* slots tried, recompressed or not; 0: all */
	unsigned int priorities; /* bit p: try priority p (1..3), lowest first */
	unsigned int configured; /* secondary algorithms the disk has */
	/*
	 * Not NULL: the run stops before the next slot once *stop reads
	 * non-zero (a reset or removal is waiting for the disk).
	 */
	const unsigned char *stop;
	/*
	 * 2..ZCX_GROUP_MAX_PAGES, a power of two: compress the eligible
	 * slots of each aligned run of this many as one group.  0: page by
	 * page, as upstream.
	 */
	unsigned int group_pages;
	/*
	 * With group_pages: only slots not accessed for this many seconds
	 * join a group; younger ones min_age selects are recompressed page
	 * by page (the idle policy's group age).  0: every one it selects.
	 */
	unsigned int group_min_age;
	/*
	 * Not NULL: asked before each slot too, and non-zero stops the run
	 * there.  The idle policy's: a background run gives way to any
	 * other work on its CPU, and resumes later from where it stopped.
	 */
	int (*should_stop)(void *ctx);
	void *ctx;
	zcx_u64 first;		/* the run starts at this slot (resuming) */
	/*
	 * Not NULL: with max_pages, where the run's plan is kept between the
	 * calls of one pass: made when first is 0, reused (and charged) by
	 * the calls that resume it, so a resumed run does not count the
	 * whole table again.
	 */
	struct zcx_pp_plan *plan;
	/*
	 * Non-zero: a grouped run's compressor and buffers (about 1 MiB for
	 * zstd) stay with the disk for the next such run, until the disk is
	 * reset; the idle policy's, which runs in many short slices.
	 */
	int keep_workspace;
};
struct zcx_recompress_result {
	zcx_u64 tried;		/* slots a secondary algorithm ran on */
	zcx_u64 recompressed;	/* now stored smaller */
	zcx_u64 incompressible;	/* no algorithm shrank them: now marked */
	zcx_u64 changed;	/* rewritten or freed meanwhile: left as is */
	zcx_u64 groups;		/* groups formed (recompressed counts their pages) */
	zcx_u64 next;		/* the slot a stopped run would go on at */
	int stopped;		/* stop or should_stop ended it early */
};
int zcx_dev_recompress(struct zcx_dev *dev,
		       const struct zcx_recompress_request *req, void *page,
		       struct zcx_recompress_result *out);
/*
 * Reads of slots a secondary algorithm made (the policy's measure of
 * pages that came back after it recompressed them), since creation.
 */
zcx_u64 zcx_dev_recompressed_reads(const struct zcx_dev *dev);
/*
 * The idle policy's ages (drivers/core/policy.hpp), kept by the worker
 * between intervals: the age at which a page is recompressed, backed off
 * while recompressed pages come back, and the age at which it is grouped,
 * past all but 1/group_pages of the ages at which pages were read lately.  Learnt from
 * the reads the device counts (recompressed ones, and all by age).
 */
#define ZCX_AGE_BUCKETS 64
struct zcx_policy_ages {
	unsigned int age;	/* seconds: recompress_after, backed off */
	unsigned int group_age;	/* seconds, >= age: grouped from this age on */
	zcx_u64 comebacks;	/* reads of recompressed pages, in all */
	zcx_u64 reads_seen;	/* recompressed reads at the last look */
	zcx_u64 recent;		/* recompressed lately, halved every interval */
	zcx_u64 recent_back;	/* comebacks lately, halved every interval */
	unsigned int ages_halved; /* seconds: recent_ages last halved then */
	zcx_u64 ages_seen[ZCX_AGE_BUCKETS];   /* reads by age at the last look */
	zcx_u64 recent_ages[ZCX_AGE_BUCKETS]; /* lately: halved every group_age */
};
/*
 * A new policy or a new device: no back-off, reads counted from now.  dev
 * may be NULL (a policy set before disksize).
 */
void zcx_policy_ages_reset(const struct zcx_dev *dev, struct zcx_policy_ages *a,
			   unsigned int recompress_after);
/*
 * At the start of each interval: 1 if the age backed off.  group_pages:
 * the size of the policy's groups, 0 for none.
 */
int zcx_policy_ages_adapt(const struct zcx_dev *dev, struct zcx_policy_ages *a,
			  unsigned int recompress_after, unsigned int group_pages);

/* debugfs block_state: one slot, as upstream's flags s w h i r n. */
struct zcx_slot_state {
	unsigned int access_time; /* seconds since boot */
	unsigned char same, written_back, huge, idle, recompressed,
		incompressible, grouped;
};
/* 0 for an empty slot, 1 and *out filled otherwise. */
int zcx_dev_slot_state(struct zcx_dev *dev, unsigned long index,
		       struct zcx_slot_state *out);

void zcx_dev_set_mem_limit(struct zcx_dev *dev, zcx_u64 bytes);
void zcx_dev_reset_mem_used_max(struct zcx_dev *dev);
void zcx_dev_get_stats(const struct zcx_dev *dev, struct zcx_stats *out);

/*
 * memparse-style size: decimal (or 0x hex / 0 octal) digits, optional
 * K/M/G/T/P/E suffix, optional trailing newline.  Unlike memparse,
 * anything else after the number is rejected.  0 or -EINVAL/-ERANGE.
 */
int zcx_parse_size(const char *buf, zcx_size_t len, zcx_u64 *out);

/*
 * key=value attributes (recompress, recomp_algorithm, algorithm_params,
 * writeback, idle_policy), one parser for all (drivers/core/kv.cpp).
 * zcx_kv_next takes the next whitespace-separated token of buf[*pos, len):
 * 1 and *kv filled (value NULL for a bare word), 0 at the end, -EINVAL for
 * "=value" or "key=".  The others: 0 or -EINVAL/-ERANGE, *out untouched on
 * error.  Numbers are decimal only, as kstrtou64(s, 10).
 */
struct zcx_kv {
	const char *key;
	zcx_size_t key_len;
	const char *value;
	zcx_size_t value_len;
};
int zcx_kv_next(const char *buf, zcx_size_t len, zcx_size_t *pos,
		struct zcx_kv *kv);
/* Whether the token's key is exactly key (a NUL-terminated string). */
int zcx_kv_key_is(const struct zcx_kv *kv, const char *key);
/* Whether the token's value is exactly value. */
int zcx_kv_value_is(const struct zcx_kv *kv, const char *value);
int zcx_kv_u64(const struct zcx_kv *kv, zcx_u64 *out);
/* LOW-HIGH with LOW <= HIGH; HIGH is included. */
int zcx_kv_range(const struct zcx_kv *kv, zcx_u64 *low, zcx_u64 *high);

/*
 * Race points: where a host test or fuzzer runs another thread's step in
 * the middle of one of the core's races, to force an interleaving a
 * stress would hit only by luck (tests/host/platform_host.hpp).  Only
 * user-space builds that define ZCX_RACE_POINTS call it; the module has
 * no such call.
 */
enum zcx_race {
	/* A grouped slot has just cleared its bit of the group's live mask,
	 * still holding its own lock: another member may free the group. */
	ZCX_RACE_MEMBER_LET_GO = 1,
	/* A read of a grouped page is about to decompress its group. */
	ZCX_RACE_GROUP_DECOMPRESS = 2,
};
void zcx_race_point(enum zcx_race where);

#ifdef __cplusplus
}
#endif

#endif /* ZCX_ABI_H */
