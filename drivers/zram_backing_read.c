// SPDX-License-Identifier: GPL-2.0
/*
 * Reads of written-back pages: one waited for (rw_page, part-page I/O), or
 * child bios of a parent bio that merge raw runs and decompress compressed
 * blocks off the completion path; and the module-wide queue and bioset
 * they need, made at module load.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/workqueue.h>

#include "zcx/abi.h"
#include "zram_drv.h"

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
