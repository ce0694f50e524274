// SPDX-License-Identifier: GPL-2.0
/*
 * Writeback to a backing block device: backing_dev, idle, writeback,
 * writeback_limit(_enable), bd_stat.  The core decides which slots go and
 * keeps the table consistent; this file owns the device, its block bitmap
 * and the I/O.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/sysfs.h>
#include <linux/timekeeping.h>
#include <linux/workqueue.h>

#include "zcx/abi.h"
#include "zram_drv.h"

/*
 * A writeback run with a page budget takes the largest objects first
 * (upstream 6.13); off, it spends the budget in index order, the way
 * before.  For comparing the two (scripts/bench.sh writeback).
 */
static bool writeback_largest_first = true;
module_param(writeback_largest_first, bool, 0644);
MODULE_PARM_DESC(writeback_largest_first,
		 "Spend a writeback budget on the largest objects first (default Y)");

unsigned int zcx_now_seconds(void)
{
	return (unsigned int)ktime_get_boottime_seconds();
}

static struct zram *zram_of_host(struct zcx_host *h)
{
	return container_of((struct zram_host *)h, struct zram, host);
}

/*
 * Blocks and the reads of them: the core's zcx_blocks
 * (drivers/core/backing.hpp) says which block may take a page, and keeps
 * a block freed while reads of it are in flight from another page until
 * they are over.  The core begins a read under the lock of the slot that
 * names the block; the C layer ends it, with the tag it began with, once
 * the block's data is in.
 */
unsigned int zcx_backing_read_begin(struct zcx_host *h, unsigned long block)
{
	return zcx_blocks_read_begin(zram_of_host(h)->blocks);
}

static void zram_bd_read_end(struct zram *zram, unsigned int tag,
			     unsigned long reads)
{
	zcx_blocks_read_end(zram->blocks, tag, reads);
}

void zcx_backing_free(struct zcx_host *h, unsigned long block)
{
	WARN_ON_ONCE(zcx_blocks_free(zram_of_host(h)->blocks, block));
}

/*
 * Process context (writeback).  Blocks freed under reads come back as the
 * reads end: at most two reads' time under any read load.  Give them up
 * to a second (a slow backing device) rather than fail the run with
 * ENOSPC while the device has blocks that are only waiting.
 */
static unsigned long zram_bd_alloc_block(struct zram *zram)
{
	unsigned long block;
	unsigned int tries;
	int ret;

	for (tries = 0; tries < 1000; tries++) {
		ret = zcx_blocks_alloc(zram->blocks, &block);
		if (ret != -EBUSY)
			return ret ? ULONG_MAX : block;
		usleep_range(500, 1000);
	}
	return ULONG_MAX;
}

static int zram_bd_rw(struct zram *zram, struct page *page,
		      unsigned long block, enum req_op op)
{
	struct bio_vec bvec;
	struct bio bio;
	int ret;

	bio_init(&bio, zram->bdev, &bvec, 1, op | REQ_SYNC);
	bio.bi_iter.bi_sector = (sector_t)block << (PAGE_SHIFT - SECTOR_SHIFT);
	__bio_add_page(&bio, page, PAGE_SIZE, 0);
	ret = submit_bio_wait(&bio);
	bio_uninit(&bio);
	return ret;
}

/*
 * Reads of written-back pages complete on, and wait for, this queue of
 * ours: WQ_MEM_RECLAIM (a rescuer thread), because they are swap-ins and
 * page-cache fills that reclaim itself may be waiting for.  Waiting for
 * system_unbound_wq from such a context draws the workqueue's
 * flush-dependency warning, and under memory pressure the read waited
 * for a new kworker.  High priority: a task is blocked on each item.
 */
static struct workqueue_struct *zram_bd_read_wq;

/*
 * Read bios come from a bioset of ours with a rescuer: a 1 MiB read
 * allocates 256 of them inside our ->submit_bio, where they wait on
 * current->bio_list until we return, so under memory pressure the
 * mempool must not wait for bios of its own that cannot start.
 */
static struct bio_set zram_bd_read_bioset;

/*
 * A raw run's first child has room for this many pages: the bio's inline
 * vectors (BIO_INLINE_VECS, block/blk.h), so no vector array is
 * allocated; a run that fills it gets a child four times larger, up to
 * BIO_MAX_VECS (the block layer merges the children again).  Sized for
 * the rest of the parent instead, each page whose block did not follow
 * the last one's allocated a vector array of up to 4 KiB and used one
 * entry of it (issue 24).
 */
#define ZRAM_BD_FIRST_VECS 4

/*
 * debugfs zram/bd_read_stall_after_open_ms, for tests/vm/writeback.sh: a
 * read sleeps this long after opening a raw child, holding one of the
 * bioset's reserve, so that two readers hold one each at once.  0 (the
 * default) costs one load per raw child.
 */
static u32 zram_bd_read_stall_after_open_ms;

void zram_backing_debugfs_module(struct dentry *root)
{
	debugfs_create_u32("bd_read_stall_after_open_ms", 0600, root,
			   &zram_bd_read_stall_after_open_ms);
}

int zram_backing_module_init(void)
{
	int ret;

	zram_bd_read_wq = alloc_workqueue("zram_bd_read",
					  WQ_MEM_RECLAIM | WQ_HIGHPRI, 0);
	if (!zram_bd_read_wq)
		return -ENOMEM;
	ret = bioset_init(&zram_bd_read_bioset, BIO_POOL_SIZE,
			  offsetof(struct zram_bd_read, bio),
			  BIOSET_NEED_BVECS | BIOSET_NEED_RESCUER);
	if (ret) {
		destroy_workqueue(zram_bd_read_wq);
		zram_bd_read_wq = NULL;
	}
	return ret;
}

/* After every disk is gone: no read is left to complete. */
void zram_backing_module_exit(void)
{
	if (!zram_bd_read_wq)
		return;
	bioset_exit(&zram_bd_read_bioset);
	destroy_workqueue(zram_bd_read_wq);
	zram_bd_read_wq = NULL;
}

static void zram_bd_read_log(struct zram *zram, unsigned long block, int err)
{
	pr_err_ratelimited("%s: reading block %lu of the backing device failed: %d\n",
			   zram->disk->disk_name, block, err);
}

/*
 * The block layer runs one ->submit_bio at a time per task: a bio
 * submitted and awaited from inside ours would never start.  There the
 * read goes to a worker of our queue; elsewhere (rw_page) it is
 * submitted and awaited right here.
 */
struct zram_bd_sync_read {
	struct work_struct work;
	struct zram *zram;
	struct page *page;
	unsigned long block;
	int ret;
};

static void zram_bd_sync_read_work(struct work_struct *work)
{
	struct zram_bd_sync_read *r =
		container_of(work, struct zram_bd_sync_read, work);

	r->ret = zram_bd_rw(r->zram, r->page, r->block, REQ_OP_READ);
}

static int zram_bd_read_wait(struct zram *zram, unsigned long block,
			     struct page *page)
{
	struct zram_bd_sync_read r = {
		.zram = zram, .page = page, .block = block,
	};

	if (!current->bio_list)
		return zram_bd_rw(zram, page, block, REQ_OP_READ);
	INIT_WORK_ONSTACK(&r.work, zram_bd_sync_read_work);
	queue_work(zram_bd_read_wq, &r.work);
	flush_work(&r.work);
	destroy_work_on_stack(&r.work);
	return r.ret;
}

/*
 * A written-back page the core handed out (ref), read and waited for:
 * rw_page, and a part-page bvec's bounce page.  Ends the read begun by
 * the core.  Failures are counted here, or by the core (corrupt).
 */
int zram_read_backing_sync(struct zram *zram, unsigned long index,
			   const struct zcx_backing_ref *ref, struct page *page)
{
	struct page *bounce = NULL;
	void *src, *dst;
	int ret;

	if (ref->size) {
		bounce = alloc_page(GFP_NOIO);
		if (!bounce) {
			zram_bd_read_end(zram, ref->read_tag, 1);
			zcx_dev_count_failed(zram->core, false);
			return -ENOMEM;
		}
	}
	ret = zram_bd_read_wait(zram, ref->block, bounce ?: page);
	zram_bd_read_end(zram, ref->read_tag, 1);
	if (ret) {
		zram_bd_read_log(zram, ref->block, ret);
		zcx_dev_count_failed(zram->core, false);
		goto out;
	}
	atomic64_inc(&zram->bd_reads);
	if (bounce) {
		src = kmap_local_page(bounce);
		dst = kmap_local_page(page);
		ret = zcx_dev_decompress_backing(zram->core, index, ref, src,
						 dst);
		kunmap_local(dst);
		kunmap_local(src);
	}
out:
	if (bounce)
		__free_page(bounce);
	return ret;
}

/*
 * Reads whose caller does not wait: the parent bio completes once every
 * child is done.  A compressed block is read into a bounce page and
 * decompressed by a worker of our queue, off the completion path, which
 * may be an interrupt.
 */
static void zram_bd_read_finish(struct zram_bd_read *r, int err,
				bool counted)
{
	struct zram *zram = r->zram;
	struct bio *parent = r->parent;
	unsigned int i;

	if (err) {
		for (i = 0; !counted && i < r->pages; i++)
			zcx_dev_count_failed(zram->core, false);
		parent->bi_status = errno_to_blk_status(err);
	} else {
		atomic64_add(r->pages, &zram->bd_reads);
	}
	if (r->bounce)
		__free_page(r->bounce);
	bio_put(&r->bio);
	bio_endio(parent);
}

static void zram_bd_decompress_work(struct work_struct *work)
{
	struct zram_bd_read *r = container_of(work, struct zram_bd_read, work);
	void *src = kmap_local_page(r->bounce);
	void *dst = kmap_local_page(r->page);
	int ret = zcx_dev_decompress_backing(r->zram->core, r->index, &r->ref,
					     src, dst);

	kunmap_local(dst);
	kunmap_local(src);
	if (!ret)
		flush_dcache_page(r->page);
	zram_bd_read_finish(r, ret, true);
}

static void zram_bd_read_end_io(struct bio *bio)
{
	struct zram_bd_read *r = container_of(bio, struct zram_bd_read, bio);
	struct zram *zram = r->zram;
	int err = blk_status_to_errno(bio->bi_status);

	/* Every page's block is in (or failed): none is read any more. */
	zram_bd_read_end(zram, 0, r->reads[0]);
	zram_bd_read_end(zram, 1, r->reads[1]);
	if (err) {
		zram_bd_read_log(zram, r->ref.block, err);
		zram_bd_read_finish(r, err, false);
		return;
	}
	if (r->bounce) {
		INIT_WORK(&r->work, zram_bd_decompress_work);
		queue_work(zram_bd_read_wq, &r->work);
		return;
	}
	zram_bd_read_finish(r, 0, false);
}

static struct zram_bd_read *zram_bd_read_alloc(struct zram *zram,
					       struct zram_bd_chain *chain,
					       unsigned short nr_vecs,
					       unsigned long block)
{
	struct bio *parent = chain->parent;
	struct zram_bd_read *r;
	struct bio *bio;

	bio = bio_alloc_bioset(zram->bdev, nr_vecs,
			       REQ_OP_READ | (parent->bi_opf &
					      (REQ_SYNC | REQ_META | REQ_PRIO)),
			       GFP_NOIO, &zram_bd_read_bioset);
	r = container_of(bio, struct zram_bd_read, bio);
	r->zram = zram;
	r->parent = parent;
	r->page = NULL;
	r->bounce = NULL;
	r->pages = 0;
	r->reads[0] = r->reads[1] = 0;
	bio->bi_iter.bi_sector = (sector_t)block << (PAGE_SHIFT - SECTOR_SHIFT);
	bio->bi_end_io = zram_bd_read_end_io;
	return r;
}

/* Submits the child being filled, if any. */
void zram_read_backing_flush(struct zram_bd_chain *chain)
{
	struct zram_bd_read *r = chain->open;

	if (!r)
		return;
	chain->open = NULL;
	bio_inc_remaining(chain->parent);
	submit_bio(&r->bio);
}

/*
 * A whole-page read of a bio: child bios of the parent, all in flight at
 * once, as stock 6.1 reads written-back pages (read_from_bdev_async), but
 * with an end_io of our own instead of bio_chain()'s, so that the reads
 * end (and a compressed block is decompressed) before the parent can
 * complete.  Beyond stock: raw pages that follow each other in the parent
 * and on the backing device share one child (writeback fills blocks in
 * order, so a sequential read of written-back pages is mostly such runs),
 * one request to the backing device instead of one per page.  The child
 * being filled goes when the run breaks or at zram_read_backing_flush(),
 * which the bio path calls before it ends the parent.  0: under way.
 * Ends the read begun by the core.
 */
int zram_read_backing_async(struct zram *zram, unsigned long index,
			    const struct zcx_backing_ref *ref,
			    struct page *page, struct zram_bd_chain *chain)
{
	struct zram_bd_read *r = chain->open;
	struct page *bounce;
	u32 nr_vecs = ZRAM_BD_FIRST_VECS;

	if (!ref->size) {
		if (r && ref->block == chain->next_block) {
			if (r->bio.bi_vcnt < r->bio.bi_max_vecs) {
				__bio_add_page(&r->bio, page, PAGE_SIZE, 0);
				r->pages++;
				r->reads[ref->read_tag & 1]++;
				chain->next_block++;
				return 0;
			}
			/* The run outgrew its child: the next one is larger. */
			nr_vecs = r->bio.bi_max_vecs * 4;
		}
		zram_read_backing_flush(chain);
		r = zram_bd_read_alloc(zram, chain,
				       min3(chain->end - index, nr_vecs,
					    (u32)BIO_MAX_VECS),
				       ref->block);
		r->ref = *ref;
		r->index = index;
		__bio_add_page(&r->bio, page, PAGE_SIZE, 0);
		r->pages = 1;
		r->reads[ref->read_tag & 1] = 1;
		chain->open = r;
		chain->next_block = ref->block + 1;
		if (unlikely(READ_ONCE(zram_bd_read_stall_after_open_ms)))
			msleep(READ_ONCE(zram_bd_read_stall_after_open_ms));
		return 0;
	}

	/*
	 * The open child first: it holds one of the bioset's reserve, and
	 * unsubmitted it is not on current->bio_list, where the rescuer could
	 * find it.  Two readers each holding one and waiting for another
	 * would wait for ever under memory pressure (issue 24).
	 */
	zram_read_backing_flush(chain);
	bounce = alloc_page(GFP_NOIO);
	if (!bounce) {
		zram_bd_read_end(zram, ref->read_tag, 1);
		zcx_dev_count_failed(zram->core, false);
		return -ENOMEM;
	}
	r = zram_bd_read_alloc(zram, chain, 1, ref->block);
	r->ref = *ref;
	r->index = index;
	r->page = page;
	r->bounce = bounce;
	r->pages = 1;
	r->reads[ref->read_tag & 1] = 1;
	__bio_add_page(&r->bio, bounce, PAGE_SIZE, 0);
	bio_inc_remaining(chain->parent);
	submit_bio(&r->bio);
	return 0;
}

void zram_backing_release(struct zram *zram)
{
	if (zram->bdev)
		zram_compat_bdev_close(zram->bdev_handle);
	if (zram->blocks)
		zcx_blocks_destroy(zram->blocks);
	kfree(zram->backing_path);
	zram->bdev = NULL;
	zram->bdev_handle = NULL;
	zram->blocks = NULL;
	zram->backing_path = NULL;
	zram->bd_nr_blocks = 0;
	atomic64_set(&zram->bd_reads, 0);
	atomic64_set(&zram->bd_writes, 0);
	atomic64_set(&zram->wb_stale, 0);
	atomic64_set(&zram->wb_failed, 0);
}

static ssize_t backing_dev_show(struct device *dev,
				struct device_attribute *attr, char *buf)
{
	struct zram *zram = dev_to_zram(dev);
	ssize_t ret;

	down_read(&zram->init_lock);
	ret = sysfs_emit(buf, "%s\n", zram->backing_path ?: "none");
	up_read(&zram->init_lock);
	return ret;
}

static ssize_t backing_dev_store(struct device *dev,
				 struct device_attribute *attr,
				 const char *buf, size_t len)
{
	struct zram *zram = dev_to_zram(dev);
	zram_compat_bdev_handle_t handle;
	struct block_device *bdev;
	unsigned long nr_blocks;
	char *path;
	int ret = 0;

	path = kstrndup(buf, len, GFP_KERNEL);
	if (!path)
		return -ENOMEM;
	strim(path);
	if (!*path) {
		kfree(path);
		return -EINVAL;
	}

	down_write(&zram->init_lock);
	if (zram->core) {
		pr_info("%s: set backing_dev before disksize\n",
			zram->disk->disk_name);
		ret = -EBUSY;
		goto out;
	}
	handle = zram_compat_bdev_open(path, zram);
	if (IS_ERR(handle)) {
		ret = PTR_ERR(handle);
		pr_info("%s: cannot use %s as backing device: %d\n",
			zram->disk->disk_name, path, ret);
		goto out;
	}
	bdev = zram_compat_bdev_of(handle);
	nr_blocks = bdev_nr_bytes(bdev) >> PAGE_SHIFT;
	zram_backing_release(zram);
	ret = zcx_blocks_create(nr_blocks, &zram->blocks);
	if (ret) {
		zram->blocks = NULL;
		zram_compat_bdev_close(handle);
		pr_info("%s: cannot use %s as backing device: %d\n",
			zram->disk->disk_name, path, ret);
		goto out;
	}
	zram->bdev = bdev;
	zram->bdev_handle = handle;
	zram->bd_nr_blocks = nr_blocks;
	zram->backing_path = path;
	path = NULL;
	pr_info("%s: backing device %s, %lu pages\n", zram->disk->disk_name,
		zram->backing_path, nr_blocks);
out:
	up_write(&zram->init_lock);
	kfree(path);
	return ret ? ret : len;
}

static ssize_t idle_store(struct device *dev, struct device_attribute *attr,
			  const char *buf, size_t len)
{
	struct zram *zram = dev_to_zram(dev);
	bool all = sysfs_streq(buf, "all");
	u64 age = 0;
	int ret = 0;

	/* Not "all": an age in seconds (access tracking is always on). */
	if (!all && kstrtoull(buf, 0, &age))
		return -EINVAL;
	down_read(&zram->init_lock);
	if (zram->core)
		zcx_dev_mark_idle(zram->core, all, min_t(u64, age, UINT_MAX));
	else
		ret = -EINVAL;
	up_read(&zram->init_lock);
	return ret ? ret : len;
}

/* Takes one page from the budget; false once it is spent. */
static bool zram_wb_budget_take(struct zram *zram)
{
	bool ok = true;

	spin_lock(&zram->wb_limit_lock);
	if (zram->wb_limit_enable) {
		if (zram->bd_wb_limit)
			zram->bd_wb_limit--;
		else
			ok = false;
	}
	spin_unlock(&zram->wb_limit_lock);
	return ok;
}

static void zram_wb_budget_return(struct zram *zram)
{
	spin_lock(&zram->wb_limit_lock);
	if (zram->wb_limit_enable)
		zram->bd_wb_limit++;
	spin_unlock(&zram->wb_limit_lock);
}

/*
 * One batch of writeback: up to wb_batch_size pages, each copied out of
 * its slot (now under writeback) into its own page and bio, all submitted
 * at once; then, in process context, each slot is committed to its block,
 * or left in memory if its write failed.  A run keeps two batches and
 * fills one while the other's bios are in flight, so the copying (and
 * decompressing) overlaps the device's work.
 */
struct zram_wb_req {
	struct bio bio;
	struct bio_vec bvec;
	struct page *page;
	unsigned long index;
	unsigned long block;
	unsigned int len;	/* below a page: a compressed object */
};

struct zram_wb_batch {
	struct zram *zram;
	struct zram_wb_req *reqs;
	unsigned int size;	/* reqs and their pages */
	unsigned int count;	/* prepared (and, once submitted, in flight) */
	bool submitted;
	atomic_t pending;	/* bios in flight, plus one while submitting */
	struct completion done;
};

/* Any context: only counts; the bio keeps its own status. */
static void zram_wb_end_io(struct bio *bio)
{
	struct zram_wb_batch *b = bio->bi_private;

	if (atomic_dec_and_test(&b->pending))
		complete(&b->done);
}

static void zram_wb_batch_free(struct zram_wb_batch *b)
{
	unsigned int i;

	if (!b->reqs)
		return;
	for (i = 0; i < b->size; i++)
		if (b->reqs[i].page)
			__free_page(b->reqs[i].page);
	kvfree(b->reqs);
	b->reqs = NULL;
}

static int zram_wb_batch_alloc(struct zram_wb_batch *b, struct zram *zram,
			       unsigned int size)
{
	unsigned int i;

	b->zram = zram;
	b->count = 0;
	b->size = size;
	b->submitted = false;
	init_completion(&b->done);
	b->reqs = kvcalloc(size, sizeof(*b->reqs), GFP_KERNEL);
	if (!b->reqs)
		return -ENOMEM;
	for (i = 0; i < size; i++) {
		b->reqs[i].page = alloc_page(GFP_KERNEL);
		if (!b->reqs[i].page) {
			zram_wb_batch_free(b);
			return -ENOMEM;
		}
	}
	return 0;
}

/* Submits the prepared requests under one plug; does not wait. */
static void zram_wb_batch_submit(struct zram_wb_batch *b)
{
	struct zram *zram = b->zram;
	struct blk_plug plug;
	unsigned int i;

	if (!b->count)
		return;
	reinit_completion(&b->done);
	atomic_set(&b->pending, 1);
	blk_start_plug(&plug);
	for (i = 0; i < b->count; i++) {
		struct zram_wb_req *req = &b->reqs[i];

		bio_init(&req->bio, zram->bdev, &req->bvec, 1, REQ_OP_WRITE);
		req->bio.bi_iter.bi_sector =
			(sector_t)req->block << (PAGE_SHIFT - SECTOR_SHIFT);
		__bio_add_page(&req->bio, req->page, PAGE_SIZE, 0);
		req->bio.bi_end_io = zram_wb_end_io;
		req->bio.bi_private = b;
		atomic_inc(&b->pending);
		submit_bio(&req->bio);
	}
	blk_finish_plug(&plug);
	b->submitted = true;
}

/*
 * Waits for a submitted batch and settles each slot.  A failed write
 * hands its block and its page of writeback_limit back; a write whose
 * slot changed meanwhile (stale) frees its block but stays charged to
 * writeback_limit and in bd_writes: the device did write it.  Returns 0
 * or the errno of the last failed write.
 */
static int zram_wb_batch_settle(struct zram_wb_batch *b, u64 *written)
{
	struct zram *zram = b->zram;
	unsigned int i, failed = 0;
	int ret = 0;

	if (!b->submitted)
		return 0;
	if (!atomic_dec_and_test(&b->pending))
		wait_for_completion_io(&b->done);

	for (i = 0; i < b->count; i++) {
		struct zram_wb_req *req = &b->reqs[i];
		int err = blk_status_to_errno(req->bio.bi_status);

		bio_uninit(&req->bio);
		if (err) {
			zcx_dev_writeback_abort(zram->core, req->index);
			WARN_ON_ONCE(zcx_blocks_put_unused(zram->blocks,
							   req->block));
			zram_wb_budget_return(zram);
			atomic64_inc(&zram->wb_failed);
			failed++;
			ret = err;
			continue;
		}
		atomic64_inc(&zram->bd_writes);
		/*
		 * Rewritten or discarded meanwhile: the copy is stale, and
		 * no slot ever named its block, so no reader was handed it.
		 */
		if (zcx_dev_writeback_commit_len(zram->core, req->index,
						 req->block, req->len)) {
			(*written)++;
		} else {
			WARN_ON_ONCE(zcx_blocks_put_unused(zram->blocks,
							   req->block));
			atomic64_inc(&zram->wb_stale);
		}
	}
	if (failed)
		pr_err_ratelimited("%s: %u of %u writes to the backing device failed (%d); those pages stay in memory\n",
				   zram->disk->disk_name, failed, b->count, ret);
	b->count = 0;
	b->submitted = false;
	return ret;
}

/* zram_writeback_run's work, under writeback_lock. */
static int zram_writeback_batches(struct zram *zram,
				  const struct zram_wb_request *req,
				  u64 *written)
{
	struct zcx_pp_filter filter = {
		.mode = req->mode, .min_age = req->min_age,
	};
	struct zram_wb_batch batch[2] = {};
	struct zcx_pp_plan plan;
	unsigned long index, block, hi;
	u64 max = req->max_pages;
	unsigned int cur = 0, size;
	bool limited = false;
	int ret = 0, r;
	void *mem;

	lockdep_assert_held(&zram->init_lock);
	if (!zram->core)
		return -EINVAL;
	if (!zram->bdev)
		return -ENODEV;
	hi = min_t(u64, req->hi, zram->disksize >> PAGE_SHIFT);
	if (req->lo >= hi)
		return 0;
	filter.lo = req->lo;
	filter.hi = hi;

	spin_lock(&zram->wb_limit_lock);
	if (zram->wb_limit_enable && (!max || zram->bd_wb_limit <= max)) {
		max = zram->bd_wb_limit;
		limited = true;
	}
	spin_unlock(&zram->wb_limit_lock);
	zcx_dev_pp_plan(zram->core, &filter, max, writeback_largest_first,
			&plan);
	if (!plan.eligible)
		return 0;
	if (limited && !max)
		return -EIO; /* writeback_limit spent, as stock */

	size = min_t(u64, READ_ONCE(zram->wb_batch_size), plan.eligible);
	r = zram_wb_batch_alloc(&batch[0], zram, size);
	if (!r && plan.eligible > size)
		r = zram_wb_batch_alloc(&batch[1], zram, size);
	if (r) {
		zram_wb_batch_free(&batch[0]);
		return r;
	}
	for (index = req->lo; index < hi; index++, cond_resched()) {
		struct zram_wb_batch *b = &batch[cur];
		struct zram_wb_req *wr = &b->reqs[b->count];

		mem = kmap_local_page(wr->page);
		r = zcx_dev_writeback_prepare_pp(zram->core, index, &filter,
						 &plan, mem, zram->compressed_wb,
						 &wr->len);
		kunmap_local(mem);
		if (r <= 0) {
			if (r)
				ret = r; /* a corrupt object: reported */
			continue;
		}
		if (!zram_wb_budget_take(zram)) {
			zcx_dev_writeback_abort(zram->core, index);
			ret = -EIO;
			break;
		}
		block = zram_bd_alloc_block(zram);
		if (block == ULONG_MAX) {
			zcx_dev_writeback_abort(zram->core, index);
			zram_wb_budget_return(zram);
			ret = -ENOSPC;
			break;
		}
		wr->index = index;
		wr->block = block;
		if (++b->count < b->size && plan.budget)
			continue;
		/* This batch goes; the one before it is settled meanwhile. */
		zram_wb_batch_submit(b);
		cur ^= 1;
		if (!batch[cur].reqs) {
			/* One batch holds every eligible page. */
			cur ^= 1;
			r = zram_wb_batch_settle(b, written);
		} else {
			r = zram_wb_batch_settle(&batch[cur], written);
		}
		if (r) {
			ret = r;
			break;
		}
		if (!plan.budget)
			break; /* the plan is spent: nothing more to scan */
		/* A reset or removal waits for init_lock: let it have it. */
		if (READ_ONCE(zram->claim))
			break;
	}
	/* The older batch (in flight), then what is left in the newer. */
	r = zram_wb_batch_settle(&batch[cur ^ 1], written);
	if (r)
		ret = r;
	zram_wb_batch_submit(&batch[cur]);
	r = zram_wb_batch_settle(&batch[cur], written);
	if (r)
		ret = r;
	zram_wb_batch_free(&batch[0]);
	zram_wb_batch_free(&batch[1]);
	/* The limit, not the end of the range, ended the run. */
	if (!ret && limited && plan.eligible > max)
		ret = -EIO;
	return ret;
}

int zram_writeback_run(struct zram *zram, const struct zram_wb_request *req,
		       u64 *written)
{
	int ret;

	if (req->nowait) {
		if (!mutex_trylock(&zram->writeback_lock))
			return -EBUSY;
	} else if (mutex_lock_killable(&zram->writeback_lock)) {
		return -EINTR;
	}
	ret = zram_writeback_batches(zram, req, written);
	mutex_unlock(&zram->writeback_lock);
	return ret;
}

/* A legacy bare word or a type= value. */
static int zram_wb_parse_mode(const struct zcx_kv *kv, bool word, int *mode)
{
	static const struct {
		const char *name;
		int mode;
	} modes[] = {
		{ "idle", ZCX_WB_IDLE },
		{ "huge", ZCX_WB_HUGE },
		{ "huge_idle", ZCX_WB_IDLE | ZCX_WB_HUGE },
		{ "incompressible", ZCX_WB_INCOMPRESSIBLE },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(modes); i++) {
		if (word ? zcx_kv_key_is(kv, modes[i].name) :
			   zcx_kv_value_is(kv, modes[i].name)) {
			*mode = modes[i].mode;
			return 0;
		}
	}
	return -EINVAL;
}

/*
 * One pass over `writeback`'s tokens.  The first pass (run == false)
 * validates all of them, finds the type and counts the ranges; the second
 * runs each range with that type, in the order given.
 */
static int zram_wb_parse(struct zram *zram, const char *buf, size_t len,
			 bool run, int *mode, unsigned int *ranges,
			 u64 *written)
{
	u64 nr_pages = zram->disksize >> PAGE_SHIFT;
	struct zcx_kv kv;
	size_t pos = 0;
	int r;

	while ((r = zcx_kv_next(buf, len, &pos, &kv)) > 0) {
		struct zram_wb_request req = { .mode = *mode };
		bool word = !kv.value;
		int m;

		/* 6.1's bare words, or type=; one type per write. */
		if (word || zcx_kv_key_is(&kv, "type")) {
			r = zram_wb_parse_mode(&kv, word, &m);
			if (r)
				return r;
			if (!run && *mode >= 0 && m != *mode)
				return -EINVAL;
			*mode = m;
			continue;
		}
		if (zcx_kv_key_is(&kv, "page_index")) {
			r = zcx_kv_u64(&kv, &req.lo);
			if (r)
				return r;
			if (req.lo >= nr_pages)
				return -ERANGE;
			req.hi = req.lo + 1;
		} else if (zcx_kv_key_is(&kv, "page_indexes")) {
			r = zcx_kv_range(&kv, &req.lo, &req.hi);
			if (r)
				return r;
			if (req.hi >= nr_pages)
				return -ERANGE;
			req.hi++;
		} else {
			return -EINVAL;
		}
		(*ranges)++;
		if (run) {
			r = zram_writeback_run(zram, &req, written);
			if (r)
				return r;
		}
	}
	return r;
}

/*
 * `writeback`: upstream 6.16's key=value form, `type=idle|huge|huge_idle|
 * incompressible`, `page_index=N`, `page_indexes=LOW-HIGH` (HIGH
 * included), any number of each, and 6.1's bare words.  The type applies
 * to every range of the write (no range: the whole disk); ranges run in
 * the order given.
 */
static ssize_t writeback_store(struct device *dev,
			       struct device_attribute *attr, const char *buf,
			       size_t len)
{
	struct zram *zram = dev_to_zram(dev);
	struct zram_wb_request whole = { .hi = U64_MAX };
	unsigned int ranges = 0;
	u64 written = 0;
	int mode = -1, ret;

	down_read(&zram->init_lock);
	if (!zram->core) {
		ret = -EINVAL;
		goto out;
	}
	if (!zram->bdev) {
		ret = -ENODEV;
		goto out;
	}
	ret = zram_wb_parse(zram, buf, len, false, &mode, &ranges, &written);
	if (ret)
		goto out;
	if (mode < 0 && !ranges) {
		ret = -EINVAL; /* nothing asked */
		goto out;
	}
	if (mode < 0)
		mode = ZCX_WB_ANY;
	if (ranges) {
		ranges = 0;
		ret = zram_wb_parse(zram, buf, len, true, &mode, &ranges,
				    &written);
	} else {
		whole.mode = mode;
		ret = zram_writeback_run(zram, &whole, &written);
	}
out:
	up_read(&zram->init_lock);
	return ret ? ret : len;
}

/*
 * compressed_writeback (upstream 7.0): before init, 0 or 1.  Compressed
 * objects then go to the backing device as they are, one per block, and
 * reads decompress them; huge pages go raw as before.  Kept across reset.
 */
static ssize_t compressed_writeback_show(struct device *dev,
					 struct device_attribute *attr,
					 char *buf)
{
	struct zram *zram = dev_to_zram(dev);
	bool val;

	down_read(&zram->init_lock);
	val = zram->compressed_wb;
	up_read(&zram->init_lock);
	return sysfs_emit(buf, "%d\n", val);
}

static ssize_t compressed_writeback_store(struct device *dev,
					  struct device_attribute *attr,
					  const char *buf, size_t len)
{
	struct zram *zram = dev_to_zram(dev);
	int ret = 0;
	bool val;

	if (kstrtobool(buf, &val))
		return -EINVAL;
	down_write(&zram->init_lock);
	if (zram->core)
		ret = -EBUSY;
	else
		zram->compressed_wb = val;
	up_write(&zram->init_lock);
	return ret ? ret : len;
}

/* Pages per batch of write bios: 1..ZRAM_WB_BATCH_MAX, any time. */
static ssize_t writeback_batch_size_show(struct device *dev,
					 struct device_attribute *attr,
					 char *buf)
{
	struct zram *zram = dev_to_zram(dev);

	return sysfs_emit(buf, "%u\n", READ_ONCE(zram->wb_batch_size));
}

static ssize_t writeback_batch_size_store(struct device *dev,
					  struct device_attribute *attr,
					  const char *buf, size_t len)
{
	struct zram *zram = dev_to_zram(dev);
	unsigned int val;

	if (kstrtouint(buf, 10, &val) || !val || val > ZRAM_WB_BATCH_MAX)
		return -EINVAL;
	WRITE_ONCE(zram->wb_batch_size, val);
	return len;
}

static ssize_t writeback_limit_enable_show(struct device *dev,
					   struct device_attribute *attr,
					   char *buf)
{
	struct zram *zram = dev_to_zram(dev);
	bool val;

	spin_lock(&zram->wb_limit_lock);
	val = zram->wb_limit_enable;
	spin_unlock(&zram->wb_limit_lock);
	return sysfs_emit(buf, "%d\n", val);
}

static ssize_t writeback_limit_enable_store(struct device *dev,
					    struct device_attribute *attr,
					    const char *buf, size_t len)
{
	struct zram *zram = dev_to_zram(dev);
	u64 val;

	if (kstrtoull(buf, 10, &val) || val > 1)
		return -EINVAL;
	spin_lock(&zram->wb_limit_lock);
	zram->wb_limit_enable = val;
	spin_unlock(&zram->wb_limit_lock);
	return len;
}

static ssize_t writeback_limit_show(struct device *dev,
				    struct device_attribute *attr, char *buf)
{
	struct zram *zram = dev_to_zram(dev);
	u64 val;

	spin_lock(&zram->wb_limit_lock);
	val = zram->bd_wb_limit;
	spin_unlock(&zram->wb_limit_lock);
	return sysfs_emit(buf, "%llu\n", val);
}

/* In 4 KiB pages, as stock. */
static ssize_t writeback_limit_store(struct device *dev,
				     struct device_attribute *attr,
				     const char *buf, size_t len)
{
	struct zram *zram = dev_to_zram(dev);
	u64 val;

	if (kstrtoull(buf, 10, &val))
		return -EINVAL;
	spin_lock(&zram->wb_limit_lock);
	zram->bd_wb_limit = val;
	spin_unlock(&zram->wb_limit_lock);
	return len;
}

static ssize_t bd_stat_show(struct device *dev, struct device_attribute *attr,
			    char *buf)
{
	struct zram *zram = dev_to_zram(dev);
	struct zcx_blocks_stats blocks = {};
	ssize_t ret;

	down_read(&zram->init_lock);
	if (zram->blocks)
		zcx_blocks_get_stats(zram->blocks, &blocks);
	ret = sysfs_emit(buf, "%8llu %8llu %8llu\n", blocks.held,
			 (u64)atomic64_read(&zram->bd_reads),
			 (u64)atomic64_read(&zram->bd_writes));
	up_read(&zram->init_lock);
	return ret;
}

DEVICE_ATTR_RW(backing_dev);
DEVICE_ATTR_WO(idle);
DEVICE_ATTR_WO(writeback);
DEVICE_ATTR_RW(writeback_limit);
DEVICE_ATTR_RW(writeback_limit_enable);
DEVICE_ATTR_RO(bd_stat);
DEVICE_ATTR_RW(writeback_batch_size);
DEVICE_ATTR_RW(compressed_writeback);
