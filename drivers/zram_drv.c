// SPDX-License-Identifier: GPL-2.0
/*
 * zram in C++: the thin C layer.  Block device, sysfs, CPU hotplug and
 * module plumbing live here, because only C may include kernel headers;
 * everything that decides what is stored where is the C++ core behind
 * include/zcx/abi.h.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/cpuhotplug.h>
#include <linux/highmem.h>
#include <linux/idr.h>
#include <linux/lzo.h>
#include <linux/module.h>
#include <linux/pagemap.h>
#include <linux/part_stat.h>
#include <linux/mm.h>
#include <linux/percpu.h>
#include <linux/slab.h>
#include <linux/sysfs.h>
#include <linux/vmalloc.h>

#include "zcx/abi.h"
#include "zram_drv.h"

#define SECTORS_PER_PAGE_SHIFT (PAGE_SHIFT - SECTOR_SHIFT)
#define SECTORS_PER_PAGE (1 << SECTORS_PER_PAGE_SHIFT)
#define ZRAM_LOGICAL_BLOCK_SIZE PAGE_SIZE
#define ZRAM_MAX_DEVICES 32

static unsigned int num_devices = 1;
module_param(num_devices, uint, 0444);
MODULE_PARM_DESC(num_devices, "Number of zram devices to create (1..32)");

static DEFINE_IDR(zram_index_idr);
static DEFINE_MUTEX(zram_index_mutex);
static int zram_major;
static enum cpuhp_state zram_cpuhp_state;

static struct zram *dev_to_zram(struct device *dev)
{
	return dev_to_disk(dev)->private_data;
}

/* ---- per-CPU streams: the 2010 design, done without leaks ---- */

static void zram_stream_free(struct zcx_stream *stream)
{
	free_pages((unsigned long)stream->buffer, 1);
	kvfree(stream->wrkmem);
	stream->buffer = NULL;
	stream->wrkmem = NULL;
}

/* CPU coming up (or already up when a disk is initialised). */
static int zram_cpu_prepare(unsigned int cpu, struct hlist_node *node)
{
	struct zram_streams *streams =
		hlist_entry(node, struct zram_streams, cpuhp_node);
	struct zcx_stream *stream = per_cpu_ptr(streams->percpu, cpu);

	BUILD_BUG_ON(ZCX_STREAM_BUFFER_SIZE != PAGE_SIZE << 1);
	stream->buffer = (void *)__get_free_pages(GFP_KERNEL, 1);
	stream->wrkmem = kvmalloc(LZO1X_1_MEM_COMPRESS, GFP_KERNEL);
	if (!stream->buffer || !stream->wrkmem) {
		/* The hotplug core rolls back the CPUs already prepared. */
		zram_stream_free(stream);
		pr_err("no memory for CPU %u's compression stream\n", cpu);
		return -ENOMEM;
	}
	return 0;
}

/* CPU gone (or the disk being reset): its stream is unused now. */
static int zram_cpu_dead(unsigned int cpu, struct hlist_node *node)
{
	struct zram_streams *streams =
		hlist_entry(node, struct zram_streams, cpuhp_node);

	zram_stream_free(per_cpu_ptr(streams->percpu, cpu));
	return 0;
}

static int zram_streams_create(struct zram_streams *streams)
{
	int ret;

	streams->percpu = alloc_percpu(struct zcx_stream);
	if (!streams->percpu)
		return -ENOMEM;
	ret = cpuhp_state_add_instance(zram_cpuhp_state, &streams->cpuhp_node);
	if (ret) {
		free_percpu(streams->percpu);
		streams->percpu = NULL;
	}
	return ret;
}

static void zram_streams_destroy(struct zram_streams *streams)
{
	cpuhp_state_remove_instance(zram_cpuhp_state, &streams->cpuhp_node);
	free_percpu(streams->percpu);
	streams->percpu = NULL;
}

/* ---- initialisation and reset ---- */

static bool init_done(struct zram *zram)
{
	return zram->core != NULL;
}

static int zram_init_device(struct zram *zram, u64 disksize)
{
	int ret;

	ret = zram_streams_create(&zram->streams);
	if (ret)
		return ret;
	ret = zcx_dev_create(disksize, (struct zcx_streams *)&zram->streams,
			     &zram->core);
	if (ret) {
		zram_streams_destroy(&zram->streams);
		return ret;
	}
	zcx_dev_set_mem_limit(zram->core, zram->mem_limit);
	zram->disksize = disksize;
	set_capacity_and_notify(zram->disk, disksize >> SECTOR_SHIFT);
	return 0;
}

static void zram_reset_device(struct zram *zram)
{
	down_write(&zram->init_lock);
	if (init_done(zram)) {
		set_capacity_and_notify(zram->disk, 0);
		part_stat_set_all(zram->disk->part0, 0);
		zcx_dev_destroy(zram->core);
		zram->core = NULL;
		zram_streams_destroy(&zram->streams);
	}
	zram->disksize = 0;
	zram->mem_limit = 0;
	up_write(&zram->init_lock);
}

/* ---- block I/O ---- */

static bool valid_io_request(struct zram *zram, sector_t start,
			     unsigned int size)
{
	u64 end, bound;

	if (start & (SECTORS_PER_PAGE - 1) ||
	    size & (ZRAM_LOGICAL_BLOCK_SIZE - 1))
		return false;
	end = start + (size >> SECTOR_SHIFT);
	bound = zram->disksize >> SECTOR_SHIFT;
	return start < bound && end <= bound && start <= end;
}

/* A bvec that covers part of a page: read-modify-write through a bounce. */
static int zram_partial_io(struct zram *zram, struct bio_vec *bv, u32 index,
			   u32 offset, bool is_write)
{
	struct page *bounce = alloc_page(GFP_NOIO);
	void *whole, *part;
	int ret;

	if (!bounce) {
		zcx_dev_count_failed(zram->core, is_write);
		return -ENOMEM;
	}
	whole = kmap_local_page(bounce);
	ret = zcx_dev_read_page(zram->core, index, whole);
	if (!ret) {
		part = kmap_local_page(bv->bv_page);
		if (is_write)
			memcpy(whole + offset, part + bv->bv_offset, bv->bv_len);
		else
			memcpy(part + bv->bv_offset, whole + offset, bv->bv_len);
		kunmap_local(part);
		if (is_write)
			ret = zcx_dev_write_page(zram->core, index, whole);
	}
	kunmap_local(whole);
	__free_page(bounce);
	return ret;
}

static int zram_bvec_rw(struct zram *zram, struct bio_vec *bv, u32 index,
			u32 offset, bool is_write)
{
	void *mem;
	int ret;

	if (bv->bv_len != PAGE_SIZE)
		return zram_partial_io(zram, bv, index, offset, is_write);
	mem = kmap_local_page(bv->bv_page);
	if (is_write)
		ret = zcx_dev_write_page(zram->core, index, mem);
	else
		ret = zcx_dev_read_page(zram->core, index, mem);
	kunmap_local(mem);
	if (!is_write && !ret)
		flush_dcache_page(bv->bv_page);
	return ret;
}

static void zram_discard(struct zram *zram, struct bio *bio)
{
	u32 index = bio->bi_iter.bi_sector >> SECTORS_PER_PAGE_SHIFT;
	u32 end = index + (bio->bi_iter.bi_size >> PAGE_SHIFT);

	for (; index < end; index++)
		zcx_dev_discard_page(zram->core, index);
}

static void zram_rw_bio(struct zram *zram, struct bio *bio)
{
	bool is_write = op_is_write(bio_op(bio));
	u32 index = bio->bi_iter.bi_sector >> SECTORS_PER_PAGE_SHIFT;
	u32 offset = (bio->bi_iter.bi_sector & (SECTORS_PER_PAGE - 1))
		     << SECTOR_SHIFT;
	unsigned long start_time = bio_start_io_acct(bio);
	struct bvec_iter iter;
	struct bio_vec bv;

	bio_for_each_segment(bv, bio, iter) {
		u32 left = bv.bv_len;

		/* A segment may straddle two of our pages. */
		while (left) {
			bv.bv_len = min_t(u32, PAGE_SIZE - offset, left);
			if (zram_bvec_rw(zram, &bv, index, offset, is_write)) {
				bio->bi_status = BLK_STS_IOERR;
				goto out;
			}
			bv.bv_offset += bv.bv_len;
			left -= bv.bv_len;
			offset += bv.bv_len;
			if (offset == PAGE_SIZE) {
				offset = 0;
				index++;
			}
		}
	}
out:
	bio_end_io_acct(bio, start_time);
	bio_endio(bio);
}

static void zram_submit_bio(struct bio *bio)
{
	struct zram *zram = bio->bi_bdev->bd_disk->private_data;

	if (!init_done(zram)) {
		bio_io_error(bio);
		return;
	}
	if (!valid_io_request(zram, bio->bi_iter.bi_sector,
			      bio->bi_iter.bi_size)) {
		zcx_dev_count_invalid_io(zram->core);
		bio_io_error(bio);
		return;
	}
	switch (bio_op(bio)) {
	case REQ_OP_READ:
	case REQ_OP_WRITE:
		zram_rw_bio(zram, bio);
		return;
	case REQ_OP_DISCARD:
	case REQ_OP_WRITE_ZEROES:
		zram_discard(zram, bio);
		bio_endio(bio);
		return;
	default:
		bio->bi_status = BLK_STS_NOTSUPP;
		bio_endio(bio);
	}
}

/*
 * Synchronous single-page I/O.  Its presence makes swap set
 * SWP_SYNCHRONOUS_IO, so swap-in skips the swap cache.
 */
static int zram_rw_page(struct block_device *bdev, sector_t sector,
			struct page *page, enum req_op op)
{
	struct zram *zram = bdev->bd_disk->private_data;
	bool is_write = op_is_write(op);
	unsigned long start_time;
	void *mem;
	int ret;

	if (PageTransHuge(page))
		return -ENOTSUPP;
	if (!init_done(zram))
		return -EIO;
	if (!valid_io_request(zram, sector, PAGE_SIZE)) {
		zcx_dev_count_invalid_io(zram->core);
		return -EINVAL;
	}
	start_time = bdev_start_io_acct(bdev, SECTORS_PER_PAGE, op, jiffies);
	mem = kmap_local_page(page);
	if (is_write)
		ret = zcx_dev_write_page(zram->core,
					 sector >> SECTORS_PER_PAGE_SHIFT, mem);
	else
		ret = zcx_dev_read_page(zram->core,
					sector >> SECTORS_PER_PAGE_SHIFT, mem);
	kunmap_local(mem);
	bdev_end_io_acct(bdev, op, start_time);
	/* On error the caller retries through submit_bio, which reports it. */
	if (!ret)
		page_endio(page, is_write, 0);
	return ret;
}

/* Called with the swap device's spinlock held: must not sleep. */
static void zram_slot_free_notify(struct block_device *bdev,
				  unsigned long index)
{
	struct zram *zram = bdev->bd_disk->private_data;

	if (init_done(zram))
		zcx_dev_slot_free_notify(zram->core, index);
}

static int zram_open(struct block_device *bdev, fmode_t mode)
{
	struct zram *zram = bdev->bd_disk->private_data;

	lockdep_assert_held(&bdev->bd_disk->open_mutex);
	return zram->claim ? -EBUSY : 0;
}

static const struct block_device_operations zram_devops = {
	.owner = THIS_MODULE,
	.open = zram_open,
	.submit_bio = zram_submit_bio,
	.rw_page = zram_rw_page,
	.swap_slot_free_notify = zram_slot_free_notify,
};

/* ---- sysfs ---- */

static ssize_t disksize_show(struct device *dev, struct device_attribute *attr,
			     char *buf)
{
	return sysfs_emit(buf, "%llu\n", dev_to_zram(dev)->disksize);
}

static ssize_t disksize_store(struct device *dev,
			      struct device_attribute *attr, const char *buf,
			      size_t len)
{
	struct zram *zram = dev_to_zram(dev);
	u64 disksize;
	int ret;

	ret = zcx_parse_size(buf, len, &disksize);
	if (ret == -ERANGE || (!ret && disksize > MAX_LFS_FILESIZE))
		ret = -EINVAL;
	if (ret || !disksize)
		return -EINVAL;
	disksize = PAGE_ALIGN(disksize);

	down_write(&zram->init_lock);
	if (init_done(zram)) {
		up_write(&zram->init_lock);
		pr_info("%s: cannot change disksize of an initialised device\n",
			zram->disk->disk_name);
		return -EBUSY;
	}
	ret = zram_init_device(zram, disksize);
	up_write(&zram->init_lock);
	return ret ? ret : len;
}

static ssize_t initstate_show(struct device *dev, struct device_attribute *attr,
			      char *buf)
{
	struct zram *zram = dev_to_zram(dev);
	bool val;

	down_read(&zram->init_lock);
	val = init_done(zram);
	up_read(&zram->init_lock);
	return sysfs_emit(buf, "%u\n", val);
}

static ssize_t reset_store(struct device *dev, struct device_attribute *attr,
			   const char *buf, size_t len)
{
	struct zram *zram = dev_to_zram(dev);
	struct gendisk *disk = zram->disk;
	unsigned short do_reset;
	int ret;

	ret = kstrtou16(buf, 10, &do_reset);
	if (ret)
		return ret;
	if (!do_reset)
		return -EINVAL;

	mutex_lock(&disk->open_mutex);
	if (disk_openers(disk) || zram->claim) {
		mutex_unlock(&disk->open_mutex);
		return -EBUSY;
	}
	/* From now on nobody can open the disk until the reset is over. */
	zram->claim = true;
	mutex_unlock(&disk->open_mutex);

	sync_blockdev(disk->part0);
	zram_reset_device(zram);

	mutex_lock(&disk->open_mutex);
	zram->claim = false;
	mutex_unlock(&disk->open_mutex);
	return len;
}

static void zram_read_stats(struct zram *zram, struct zcx_stats *stats)
{
	memset(stats, 0, sizeof(*stats));
	down_read(&zram->init_lock);
	if (init_done(zram))
		zcx_dev_get_stats(zram->core, stats);
	up_read(&zram->init_lock);
}

static ssize_t mm_stat_show(struct device *dev, struct device_attribute *attr,
			    char *buf)
{
	struct zcx_stats s;

	zram_read_stats(dev_to_zram(dev), &s);
	return sysfs_emit(buf, "%8llu %8llu %8llu %8llu %8llu %8llu %8llu %8llu %8llu\n",
			  s.orig_data_size, s.compr_data_size, s.mem_used_total,
			  s.mem_limit, s.mem_used_max, s.same_pages,
			  s.pages_compacted, s.huge_pages, s.huge_pages_since);
}

static ssize_t io_stat_show(struct device *dev, struct device_attribute *attr,
			    char *buf)
{
	struct zcx_stats s;

	zram_read_stats(dev_to_zram(dev), &s);
	return sysfs_emit(buf, "%8llu %8llu %8llu %8llu\n", s.failed_reads,
			  s.failed_writes, s.invalid_io, s.notify_free);
}

static ssize_t debug_stat_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	struct zcx_stats s;

	zram_read_stats(dev_to_zram(dev), &s);
	return sysfs_emit(buf, "version: %d\n%8llu %8llu\n", 1, s.writestall,
			  s.miss_free);
}

static ssize_t mem_limit_store(struct device *dev,
			       struct device_attribute *attr, const char *buf,
			       size_t len)
{
	struct zram *zram = dev_to_zram(dev);
	u64 limit;

	if (zcx_parse_size(buf, len, &limit))
		return -EINVAL;
	down_write(&zram->init_lock);
	zram->mem_limit = PAGE_ALIGN(limit);
	if (init_done(zram))
		zcx_dev_set_mem_limit(zram->core, zram->mem_limit);
	up_write(&zram->init_lock);
	return len;
}

static ssize_t mem_used_max_store(struct device *dev,
				  struct device_attribute *attr,
				  const char *buf, size_t len)
{
	struct zram *zram = dev_to_zram(dev);
	unsigned long val;

	if (kstrtoul(buf, 10, &val) || val != 0)
		return -EINVAL;
	down_read(&zram->init_lock);
	if (init_done(zram))
		zcx_dev_reset_mem_used_max(zram->core);
	up_read(&zram->init_lock);
	return len;
}

/* Only LZO so far; zramctl and friends read the bracketed name. */
static ssize_t comp_algorithm_show(struct device *dev,
				   struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "[lzo]\n");
}

static ssize_t comp_algorithm_store(struct device *dev,
				    struct device_attribute *attr,
				    const char *buf, size_t len)
{
	struct zram *zram = dev_to_zram(dev);
	size_t n = len && buf[len - 1] == '\n' ? len - 1 : len;
	int ret = 0;

	if (n != 3 || memcmp(buf, "lzo", 3))
		return -EINVAL;
	down_read(&zram->init_lock);
	if (init_done(zram))
		ret = -EBUSY;
	up_read(&zram->init_lock);
	return ret ? ret : len;
}

/* Writes accepted and ignored since 4.7; streams are per CPU. */
static ssize_t max_comp_streams_show(struct device *dev,
				     struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n", num_online_cpus());
}

static ssize_t max_comp_streams_store(struct device *dev,
				      struct device_attribute *attr,
				      const char *buf, size_t len)
{
	return len;
}

static DEVICE_ATTR_RW(disksize);
static DEVICE_ATTR_RO(initstate);
static DEVICE_ATTR_WO(reset);
static DEVICE_ATTR_RO(mm_stat);
static DEVICE_ATTR_RO(io_stat);
static DEVICE_ATTR_RO(debug_stat);
static DEVICE_ATTR_WO(mem_limit);
static DEVICE_ATTR_WO(mem_used_max);
static DEVICE_ATTR_RW(comp_algorithm);
static DEVICE_ATTR_RW(max_comp_streams);

static struct attribute *zram_disk_attrs[] = {
	&dev_attr_disksize.attr,
	&dev_attr_initstate.attr,
	&dev_attr_reset.attr,
	&dev_attr_mm_stat.attr,
	&dev_attr_io_stat.attr,
	&dev_attr_debug_stat.attr,
	&dev_attr_mem_limit.attr,
	&dev_attr_mem_used_max.attr,
	&dev_attr_comp_algorithm.attr,
	&dev_attr_max_comp_streams.attr,
	NULL,
};
ATTRIBUTE_GROUPS(zram_disk);

/* ---- devices ---- */

static int zram_add(void)
{
	struct zram *zram;
	struct request_queue *q;
	int ret, id;

	zram = kzalloc(sizeof(*zram), GFP_KERNEL);
	if (!zram)
		return -ENOMEM;
	mutex_lock(&zram_index_mutex);
	id = idr_alloc(&zram_index_idr, zram, 0, 0, GFP_KERNEL);
	mutex_unlock(&zram_index_mutex);
	if (id < 0) {
		ret = id;
		goto out_free;
	}
	init_rwsem(&zram->init_lock);

	zram->disk = blk_alloc_disk(NUMA_NO_NODE);
	if (!zram->disk) {
		ret = -ENOMEM;
		goto out_idr;
	}
	zram->disk->major = zram_major;
	zram->disk->first_minor = id;
	zram->disk->minors = 1;
	zram->disk->flags |= GENHD_FL_NO_PART;
	zram->disk->fops = &zram_devops;
	zram->disk->private_data = zram;
	snprintf(zram->disk->disk_name, DISK_NAME_LEN, "zram%d", id);
	set_capacity(zram->disk, 0);

	q = zram->disk->queue;
	blk_queue_flag_set(QUEUE_FLAG_NONROT, q);
	blk_queue_flag_clear(QUEUE_FLAG_ADD_RANDOM, q);
	blk_queue_physical_block_size(q, PAGE_SIZE);
	blk_queue_logical_block_size(q, ZRAM_LOGICAL_BLOCK_SIZE);
	blk_queue_io_min(q, PAGE_SIZE);
	blk_queue_io_opt(q, PAGE_SIZE);
	q->limits.discard_granularity = PAGE_SIZE;
	blk_queue_max_discard_sectors(q, UINT_MAX);
	blk_queue_max_write_zeroes_sectors(q, UINT_MAX);
	/* The page is compressed in place: it must not change under us. */
	blk_queue_flag_set(QUEUE_FLAG_STABLE_WRITES, q);

	ret = device_add_disk(NULL, zram->disk, zram_disk_groups);
	if (ret)
		goto out_put_disk;
	pr_info("Added device: %s\n", zram->disk->disk_name);
	return id;

out_put_disk:
	put_disk(zram->disk);
out_idr:
	mutex_lock(&zram_index_mutex);
	idr_remove(&zram_index_idr, id);
	mutex_unlock(&zram_index_mutex);
out_free:
	kfree(zram);
	return ret;
}

static int zram_remove(struct zram *zram)
{
	mutex_lock(&zram->disk->open_mutex);
	if (disk_openers(zram->disk) || zram->claim) {
		mutex_unlock(&zram->disk->open_mutex);
		return -EBUSY;
	}
	zram->claim = true;
	mutex_unlock(&zram->disk->open_mutex);

	sync_blockdev(zram->disk->part0);
	pr_info("Removed device: %s\n", zram->disk->disk_name);
	del_gendisk(zram->disk);
	/* After del_gendisk nobody can set disksize again: free it all. */
	zram_reset_device(zram);
	put_disk(zram->disk);
	kfree(zram);
	return 0;
}

static int zram_remove_cb(int id, void *ptr, void *data)
{
	WARN_ON_ONCE(zram_remove(ptr));
	return 0;
}

static void destroy_devices(void)
{
	idr_for_each(&zram_index_idr, &zram_remove_cb, NULL);
	idr_destroy(&zram_index_idr);
	if (zram_major > 0)
		unregister_blkdev(zram_major, "zram");
	if (zram_cpuhp_state > 0)
		cpuhp_remove_multi_state(zram_cpuhp_state);
}

static int __init zram_init(void)
{
	unsigned int i;
	int ret;

	if (num_devices < 1 || num_devices > ZRAM_MAX_DEVICES) {
		pr_err("num_devices=%u is out of range 1..%d\n", num_devices,
		       ZRAM_MAX_DEVICES);
		return -EINVAL;
	}

	ret = cpuhp_setup_state_multi(CPUHP_BP_PREPARE_DYN, "block/zram:prepare",
				      zram_cpu_prepare, zram_cpu_dead);
	if (ret < 0)
		return ret;
	zram_cpuhp_state = ret;

	zram_major = register_blkdev(0, "zram");
	if (zram_major <= 0) {
		pr_err("unable to get a major number\n");
		ret = zram_major ? zram_major : -EBUSY;
		goto out_error;
	}

	for (i = 0; i < num_devices; i++) {
		ret = zram_add();
		if (ret < 0)
			goto out_error;
	}
	return 0;

out_error:
	destroy_devices();
	return ret;
}

static void __exit zram_exit(void)
{
	destroy_devices();
}

module_init(zram_init);
module_exit(zram_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Compressed RAM block device (C++ core, per-CPU streams, xvmalloc)");
/* Gives the module a srcversion, by which tests tell it from stock's. */
MODULE_VERSION("0.1-cxx");
