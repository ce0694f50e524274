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
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/sysfs.h>
#include <linux/timekeeping.h>
#include <linux/workqueue.h>

#include "zcx/abi.h"
#include "zram_drv.h"

#define BACKING_MODE (FMODE_READ | FMODE_WRITE | FMODE_EXCL)

unsigned int zcx_now_seconds(void)
{
	return (unsigned int)ktime_get_boottime_seconds();
}

void zcx_backing_free(struct zcx_host *h, unsigned long block)
{
	struct zram *zram = container_of((struct zram_host *)h, struct zram,
					 host);

	WARN_ON_ONCE(!test_and_clear_bit(block, zram->bd_bitmap));
	atomic64_dec(&zram->bd_count);
}

static unsigned long zram_bd_alloc_block(struct zram *zram)
{
	unsigned long block = 0;

	for (;;) {
		block = find_next_zero_bit(zram->bd_bitmap, zram->bd_nr_blocks,
					   block);
		if (block >= zram->bd_nr_blocks)
			return ULONG_MAX;
		if (!test_and_set_bit(block, zram->bd_bitmap))
			return block;
	}
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

struct zram_backing_read {
	struct work_struct work;
	struct zram *zram;
	struct page *page;
	unsigned long block;
	int ret;
};

static void zram_backing_read_work(struct work_struct *work)
{
	struct zram_backing_read *r =
		container_of(work, struct zram_backing_read, work);

	r->ret = zram_bd_rw(r->zram, r->page, r->block, REQ_OP_READ);
}

/*
 * The block layer runs one ->submit_bio at a time per task: a bio
 * submitted and awaited from inside ours would never start.  Read from a
 * worker, as stock does.
 */
int zram_read_backing(struct zram *zram, unsigned long block, struct page *page)
{
	struct zram_backing_read r = {
		.zram = zram, .page = page, .block = block,
	};

	INIT_WORK_ONSTACK(&r.work, zram_backing_read_work);
	queue_work(system_unbound_wq, &r.work);
	flush_work(&r.work);
	destroy_work_on_stack(&r.work);
	if (r.ret)
		pr_err_ratelimited("%s: reading block %lu of the backing device failed: %d\n",
				   zram->disk->disk_name, block, r.ret);
	else
		atomic64_inc(&zram->bd_reads);
	return r.ret;
}

void zram_backing_release(struct zram *zram)
{
	if (zram->bdev)
		blkdev_put(zram->bdev, BACKING_MODE);
	kvfree(zram->bd_bitmap);
	kfree(zram->backing_path);
	zram->bdev = NULL;
	zram->bd_bitmap = NULL;
	zram->backing_path = NULL;
	zram->bd_nr_blocks = 0;
	atomic64_set(&zram->bd_count, 0);
	atomic64_set(&zram->bd_reads, 0);
	atomic64_set(&zram->bd_writes, 0);
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
	bdev = blkdev_get_by_path(path, BACKING_MODE, zram);
	if (IS_ERR(bdev)) {
		ret = PTR_ERR(bdev);
		pr_info("%s: cannot use %s as backing device: %d\n",
			zram->disk->disk_name, path, ret);
		goto out;
	}
	nr_blocks = bdev_nr_bytes(bdev) >> PAGE_SHIFT;
	zram_backing_release(zram);
	zram->bd_bitmap = kvcalloc(BITS_TO_LONGS(nr_blocks), sizeof(long),
				   GFP_KERNEL);
	if (!zram->bd_bitmap) {
		blkdev_put(bdev, BACKING_MODE);
		ret = -ENOMEM;
		goto out;
	}
	zram->bdev = bdev;
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

static ssize_t writeback_store(struct device *dev,
			       struct device_attribute *attr, const char *buf,
			       size_t len)
{
	struct zram *zram = dev_to_zram(dev);
	unsigned long index = 0, end, block;
	struct page *page;
	int mode, ret = 0, r;
	void *mem;

	if (sysfs_streq(buf, "idle")) {
		mode = ZCX_WB_IDLE;
	} else if (sysfs_streq(buf, "huge")) {
		mode = ZCX_WB_HUGE;
	} else if (sysfs_streq(buf, "huge_idle")) {
		mode = ZCX_WB_IDLE | ZCX_WB_HUGE;
	} else if (!strncmp(buf, "page_index=", 11)) {
		if (kstrtoul(buf + 11, 10, &index))
			return -EINVAL;
		mode = ZCX_WB_ANY;
	} else {
		return -EINVAL;
	}

	down_read(&zram->init_lock);
	if (!zram->core) {
		ret = -EINVAL;
		goto out_unlock;
	}
	if (!zram->bdev) {
		ret = -ENODEV;
		goto out_unlock;
	}
	end = zram->disksize >> PAGE_SHIFT;
	if (mode == ZCX_WB_ANY) {
		if (index >= end) {
			ret = -EINVAL;
			goto out_unlock;
		}
		end = index + 1;
	}
	page = alloc_page(GFP_KERNEL);
	if (!page) {
		ret = -ENOMEM;
		goto out_unlock;
	}

	for (; index < end; index++, cond_resched()) {
		mem = kmap_local_page(page);
		r = zcx_dev_writeback_prepare(zram->core, index, mode, mem);
		kunmap_local(mem);
		if (r <= 0) {
			if (r)
				ret = r;
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
		r = zram_bd_rw(zram, page, block, REQ_OP_WRITE);
		if (r) {
			zcx_dev_writeback_abort(zram->core, index);
			clear_bit(block, zram->bd_bitmap);
			zram_wb_budget_return(zram);
			ret = r;
			continue;
		}
		atomic64_inc(&zram->bd_writes);
		atomic64_inc(&zram->bd_count);
		/* Rewritten or discarded meanwhile: the copy is stale. */
		if (!zcx_dev_writeback_commit(zram->core, index, block))
			zcx_backing_free((struct zcx_host *)&zram->host, block);
	}
	__free_page(page);
out_unlock:
	up_read(&zram->init_lock);
	return ret ? ret : len;
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

	return sysfs_emit(buf, "%8llu %8llu %8llu\n",
			  (u64)atomic64_read(&zram->bd_count),
			  (u64)atomic64_read(&zram->bd_reads),
			  (u64)atomic64_read(&zram->bd_writes));
}

DEVICE_ATTR_RW(backing_dev);
DEVICE_ATTR_WO(idle);
DEVICE_ATTR_WO(writeback);
DEVICE_ATTR_RW(writeback_limit);
DEVICE_ATTR_RW(writeback_limit_enable);
DEVICE_ATTR_RO(bd_stat);
