// SPDX-License-Identifier: GPL-2.0
/*
 * The backing block device: backing_dev, bd_stat, and the glue between it
 * and the core's block allocator (drivers/core/backing.hpp).  Reads of
 * written-back pages are zram_backing_read.c's, writes zram_writeback.c's.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/blkdev.h>
#include <linux/delay.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/sysfs.h>

#include "zcx/abi.h"
#include "zram_drv.h"

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

void zram_bd_read_end(struct zram *zram, unsigned int tag,
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
unsigned long zram_bd_alloc_block(struct zram *zram)
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
DEVICE_ATTR_RO(bd_stat);
