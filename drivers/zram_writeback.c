// SPDX-License-Identifier: GPL-2.0
/*
 * Writeback runs and what steers them: idle, writeback, writeback_limit
 * (_enable), writeback_batch_size, compressed_writeback.  The core decides
 * which slots go and keeps the table consistent; this file batches their
 * copies into write bios to the backing device.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/sysfs.h>

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

DEVICE_ATTR_WO(idle);
DEVICE_ATTR_WO(writeback);
DEVICE_ATTR_RW(writeback_limit);
DEVICE_ATTR_RW(writeback_limit_enable);
DEVICE_ATTR_RW(writeback_batch_size);
DEVICE_ATTR_RW(compressed_writeback);
