// SPDX-License-Identifier: GPL-2.0
/*
 * zram in C++: the thin C layer.  Block device, sysfs, CPU hotplug and
 * module plumbing live here, because only C may include kernel headers;
 * everything that decides what is stored where is the C++ core behind
 * include/zcx/abi.h.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bio.h>
#include <linux/debugfs.h>
#include <linux/blkdev.h>
#include <linux/highmem.h>
#include <linux/idr.h>
#include <linux/module.h>
#include <linux/pagemap.h>
#include <linux/part_stat.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/seq_file.h>
#include <linux/sysfs.h>

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

/* ---- initialisation and reset ---- */

static bool init_done(struct zram *zram)
{
	return zram->core != NULL;
}

static int zram_init_device(struct zram *zram, u64 disksize)
{
	int ret;

	ret = zram_host_init(&zram->host, &zram->comp);
	if (ret)
		return ret;
	ret = zcx_dev_create(disksize, (struct zcx_host *)&zram->host,
			     &zram->core);
	if (ret) {
		zram_host_destroy(&zram->host);
		return ret;
	}
	ret = zram_compact_init(zram);
	if (ret) {
		zcx_dev_destroy(zram->core);
		zram->core = NULL;
		zram_host_destroy(&zram->host);
		return ret;
	}
	zcx_dev_set_mem_limit(zram->core, zram->mem_limit);
	zram->disksize = disksize;
	set_capacity_and_notify(zram->disk, disksize >> SECTOR_SHIFT);
	zram_policy_start(zram);
	return 0;
}

static void zram_reset_device(struct zram *zram)
{
	down_write(&zram->init_lock);
	if (init_done(zram)) {
		zram_policy_stop(zram);
		set_capacity_and_notify(zram->disk, 0);
		part_stat_set_all(zram->disk->part0, 0);
		zram_compact_exit(zram);
		zcx_dev_destroy(zram->core);
		zram->core = NULL;
		zram_host_destroy(&zram->host);
	}
	zram_backing_release(zram);
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

/*
 * One whole page in, from the core or, if written back, from the backing
 * device: through a child of chain's parent (which then completes after
 * it), or without a chain synchronously.
 */
static int zram_read_page(struct zram *zram, unsigned long index, struct page *page,
			  struct zram_bd_chain *chain)
{
	struct zcx_backing_ref ref;
	void *mem = kmap_local_page(page);
	int ret = zcx_dev_read_page_ref(zram->core, index, mem, &ref);

	kunmap_local(mem);
	if (ret > 0) {
		if (chain)
			return zram_read_backing_async(zram, index, &ref, page,
						       chain);
		ret = zram_read_backing_sync(zram, index, &ref, page);
	}
	if (!ret)
		flush_dcache_page(page);
	return ret;
}

static int zram_write_page(struct zram *zram, unsigned long index, struct page *page)
{
	void *mem = kmap_local_page(page);
	int ret = zcx_dev_write_page(zram->core, index, mem);

	kunmap_local(mem);
	return ret;
}

/* A bvec that covers part of a page: read-modify-write through a bounce. */
static int zram_partial_io(struct zram *zram, struct bio_vec *bv, unsigned long index,
			   u32 offset, bool is_write)
{
	struct page *bounce = alloc_page(GFP_NOIO);
	int ret;

	if (!bounce) {
		zcx_dev_count_failed(zram->core, is_write);
		return -ENOMEM;
	}
	ret = zram_read_page(zram, index, bounce, NULL);
	if (!ret) {
		if (is_write)
			memcpy_page(bounce, offset, bv->bv_page, bv->bv_offset,
				    bv->bv_len);
		else
			memcpy_page(bv->bv_page, bv->bv_offset, bounce, offset,
				    bv->bv_len);
		if (is_write)
			ret = zram_write_page(zram, index, bounce);
	}
	__free_page(bounce);
	return ret;
}

static int zram_bvec_rw(struct zram *zram, struct bio_vec *bv, unsigned long index,
			u32 offset, struct zram_bd_chain *chain, bool is_write)
{
	if (bv->bv_len != PAGE_SIZE)
		return zram_partial_io(zram, bv, index, offset, is_write);
	if (is_write)
		return zram_write_page(zram, index, bv->bv_page);
	return zram_read_page(zram, index, bv->bv_page, chain);
}

/* valid_io_request has made the range whole pages inside the disk. */
static void zram_discard(struct zram *zram, struct bio *bio)
{
	zcx_dev_discard_range(zram->core,
			      bio->bi_iter.bi_sector >> SECTORS_PER_PAGE_SHIFT,
			      bio->bi_iter.bi_size >> PAGE_SHIFT);
}

static void zram_rw_bio(struct zram *zram, struct bio *bio)
{
	bool is_write = op_is_write(bio_op(bio));
	unsigned long index = bio->bi_iter.bi_sector >> SECTORS_PER_PAGE_SHIFT;
	u32 offset = (bio->bi_iter.bi_sector & (SECTORS_PER_PAGE - 1))
		     << SECTOR_SHIFT;
	unsigned long start_time = bio_start_io_acct(bio);
	struct zram_bd_chain chain = {
		.parent = bio,
		.end = index + DIV_ROUND_UP(offset + bio->bi_iter.bi_size,
					    PAGE_SIZE),
	};
	struct bvec_iter iter;
	struct bio_vec bv;

	bio_for_each_segment(bv, bio, iter) {
		u32 left = bv.bv_len;

		/* A segment may straddle two of our pages. */
		while (left) {
			bv.bv_len = min_t(u32, PAGE_SIZE - offset, left);
			if (zram_bvec_rw(zram, &bv, index, offset, &chain,
					 is_write)) {
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
	zram_read_backing_flush(&chain);
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

#ifdef ZRAM_COMPAT_HAVE_RW_PAGE
/*
 * Synchronous single-page I/O.  Its presence makes swap set
 * SWP_SYNCHRONOUS_IO, so swap-in skips the swap cache.  (6.12 has no
 * rw_page: the disk's BLK_FEAT_SYNCHRONOUS does that, zram_compat.h.)
 */
static int zram_rw_page(struct block_device *bdev, sector_t sector,
			struct page *page, enum req_op op)
{
	struct zram *zram = bdev->bd_disk->private_data;
	bool is_write = op_is_write(op);
	unsigned long start_time;
	int ret;

	if (PageTransHuge(page))
		return -ENOTSUPP;
	if (!init_done(zram))
		return -EIO;
	if (!valid_io_request(zram, sector, PAGE_SIZE)) {
		zcx_dev_count_invalid_io(zram->core);
		return -EINVAL;
	}
	start_time = zram_compat_start_io_acct(bdev, SECTORS_PER_PAGE, op,
					       jiffies);
	if (is_write)
		ret = zram_write_page(zram, sector >> SECTORS_PER_PAGE_SHIFT, page);
	else
		ret = zram_read_page(zram, sector >> SECTORS_PER_PAGE_SHIFT,
				     page, NULL);
	zram_compat_end_io_acct(bdev, op, SECTORS_PER_PAGE, start_time);
	/* On error the caller retries through submit_bio, which reports it. */
	if (!ret)
		page_endio(page, is_write, 0);
	return ret;
}
#endif

/* Called with the swap device's spinlock held: must not sleep. */
static void zram_slot_free_notify(struct block_device *bdev,
				  unsigned long index)
{
	struct zram *zram = bdev->bd_disk->private_data;

	if (init_done(zram))
		zcx_dev_slot_free_notify(zram->core, index);
}

static int zram_open(zram_compat_open_arg_t arg, zram_compat_open_mode_t mode)
{
	struct gendisk *disk = zram_compat_open_disk(arg);
	struct zram *zram = disk->private_data;

	lockdep_assert_held(&disk->open_mutex);
	return zram->claim ? -EBUSY : 0;
}

static const struct block_device_operations zram_devops = {
	.owner = THIS_MODULE,
	.open = zram_open,
	.submit_bio = zram_submit_bio,
#ifdef ZRAM_COMPAT_HAVE_RW_PAGE
	.rw_page = zram_rw_page,
#endif
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
	if (ret == -ENOMEM)
		pr_warn("%s: no memory for a %llu-byte disk's table\n",
			zram->disk->disk_name, disksize);
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

	/* A removal that came meanwhile keeps its claim (zram_remove). */
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

static ssize_t comp_algorithm_show(struct device *dev,
				   struct device_attribute *attr, char *buf)
{
	struct zram *zram = dev_to_zram(dev);
	ssize_t ret;

	down_read(&zram->init_lock);
	ret = zram_backends_show(zram->comp.backend[0], buf);
	up_read(&zram->init_lock);
	return ret;
}

static ssize_t comp_algorithm_store(struct device *dev,
				    struct device_attribute *attr,
				    const char *buf, size_t len)
{
	struct zram *zram = dev_to_zram(dev);
	const struct zram_backend *backend = zram_backend_find(buf, len);
	int ret = 0;

	if (!backend)
		return -EINVAL;
	down_write(&zram->init_lock);
	if (init_done(zram)) {
		pr_info("%s: cannot change algorithm of an initialised device\n",
			zram->disk->disk_name);
		ret = -EBUSY;
	} else {
		/* The old one's level and dictionary go with it. */
		zram_comp_config_set(&zram->comp, 0, backend);
	}
	up_write(&zram->init_lock);
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
	&dev_attr_bd_stat.attr,
	&dev_attr_backing_dev.attr,
	&dev_attr_idle.attr,
	&dev_attr_writeback.attr,
	&dev_attr_writeback_limit.attr,
	&dev_attr_writeback_limit_enable.attr,
	&dev_attr_writeback_batch_size.attr,
	&dev_attr_compressed_writeback.attr,
	&dev_attr_compact.attr,
	&dev_attr_recomp_algorithm.attr,
	&dev_attr_recompress.attr,
	&dev_attr_algorithm_params.attr,
	&dev_attr_idle_policy.attr,
	NULL,
};
ATTRIBUTE_GROUPS(zram_disk);

/* ---- devices ---- */

/*
 * debugfs zram/zramN/pool: what mem_used_total is made of.  The sysfs
 * files keep stock's formats; this is for people tuning the pool.
 */
static struct dentry *zram_debugfs_root;

/* Where the pool's free space is, by block size: holes between objects
 * that no object of a size fits stay until compaction empties a chunk. */
static void zram_pool_holes_show(struct seq_file *m)
{
	static const char buckets[] = "(<256 <512 <1024 <2048 <4064 rest):";
	struct zram *zram = m->private;
	u64 count[ZCX_POOL_HOLE_BUCKETS] = {}, bytes[ZCX_POOL_HOLE_BUCKETS] = {};
	int b;

	down_read(&zram->init_lock);
	if (init_done(zram))
		zcx_dev_pool_holes(zram->core, count, bytes);
	up_read(&zram->init_lock);
	seq_printf(m, "free_blocks %s", buckets);
	for (b = 0; b < ZCX_POOL_HOLE_BUCKETS; b++)
		seq_printf(m, " %llu", count[b]);
	seq_printf(m, "\nfree_bytes %s", buckets);
	for (b = 0; b < ZCX_POOL_HOLE_BUCKETS; b++)
		seq_printf(m, " %llu", bytes[b]);
	seq_putc(m, '\n');
}

static int pool_show(struct seq_file *m, void *unused)
{
	struct zcx_stats s;

	zram_read_stats(m->private, &s);
	seq_printf(m, "chunks_16k: %llu\nchunks_4k: %llu\ncompactable_pages: %llu\n",
		   s.pool_chunks, s.pool_page_chunks, s.pool_compactable);
	seq_printf(m, "groups: %llu\ngrouped_pages: %llu\ndead_group_bytes: %llu\n",
		   s.groups, s.grouped_pages, s.dead_group_bytes);
	zram_pool_holes_show(m);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(pool);

/*
 * debugfs zram/zramN/block_state, upstream's format: index, last access
 * (seconds.microseconds; we keep seconds), then flags: s same-filled,
 * w written back, h huge, i idle, r recompressed, n incompressible; and
 * ours after them, so that upstream's columns stay where tools look:
 * g grouped.
 */
struct zram_block_iter {
	struct zram *zram;
	struct zcx_slot_state st;
	loff_t index;
};

static void *block_state_find(struct zram_block_iter *it, loff_t *pos)
{
	u64 nr = zcx_dev_nr_pages(it->zram->core);

	for (; *pos < nr; ++*pos) {
		if (zcx_dev_slot_state(it->zram->core, *pos, &it->st)) {
			it->index = *pos;
			return it;
		}
		if (!(*pos & 1023))
			cond_resched();
	}
	return NULL;
}

static void *block_state_start(struct seq_file *m, loff_t *pos)
{
	struct zram_block_iter *it = m->private;

	down_read(&it->zram->init_lock);
	return init_done(it->zram) ? block_state_find(it, pos) : NULL;
}

static void *block_state_next(struct seq_file *m, void *v, loff_t *pos)
{
	++*pos;
	return block_state_find(m->private, pos);
}

static void block_state_stop(struct seq_file *m, void *v)
{
	struct zram_block_iter *it = m->private;

	up_read(&it->zram->init_lock);
}

static int block_state_show(struct seq_file *m, void *v)
{
	struct zram_block_iter *it = v;
	const struct zcx_slot_state *st = &it->st;

	seq_printf(m, "%12lld %12u.%06u %c%c%c%c%c%c%c\n", it->index,
		   st->access_time, 0, st->same ? 's' : '.',
		   st->written_back ? 'w' : '.', st->huge ? 'h' : '.',
		   st->idle ? 'i' : '.', st->recompressed ? 'r' : '.',
		   st->incompressible ? 'n' : '.', st->grouped ? 'g' : '.');
	return 0;
}

static const struct seq_operations block_state_ops = {
	.start = block_state_start,
	.next = block_state_next,
	.stop = block_state_stop,
	.show = block_state_show,
};

static int block_state_open(struct inode *inode, struct file *file)
{
	struct zram_block_iter *it;

	it = __seq_open_private(file, &block_state_ops, sizeof(*it));
	if (!it)
		return -ENOMEM;
	it->zram = inode->i_private;
	return 0;
}

static const struct file_operations block_state_fops = {
	.owner = THIS_MODULE,
	.open = block_state_open,
	.read = seq_read,
	.llseek = seq_lseek,
	.release = seq_release_private,
};
/* debugfs zram/zramN/writeback: write bios beyond what bd_stat says. */
static int writeback_show(struct seq_file *m, void *unused)
{
	struct zram *zram = m->private;
	struct zcx_blocks_stats blocks = {};

	down_read(&zram->init_lock);
	if (zram->blocks)
		zcx_blocks_get_stats(zram->blocks, &blocks);
	up_read(&zram->init_lock);
	/*
	 * read_deferred: frees that waited for reads in flight, so far;
	 * waiting: blocks waiting now.
	 */
	seq_printf(m, "stale: %lld\nfailed: %lld\nread_deferred: %llu\nwaiting: %llu\n",
		   (long long)atomic64_read(&zram->wb_stale),
		   (long long)atomic64_read(&zram->wb_failed),
		   blocks.deferrals, blocks.deferred);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(writeback);

static void zram_debugfs_add(struct zram *zram)
{
	/* None before module init (KUnit suites run earlier). */
	if (IS_ERR_OR_NULL(zram_debugfs_root))
		return;
	zram->debugfs_dir = debugfs_create_dir(zram->disk->disk_name,
					       zram_debugfs_root);
	debugfs_create_file("pool", 0400, zram->debugfs_dir, zram, &pool_fops);
	debugfs_create_file("block_state", 0400, zram->debugfs_dir, zram,
			    &block_state_fops);
	zram_policy_debugfs(zram, zram->debugfs_dir);
	debugfs_create_file("writeback", 0400, zram->debugfs_dir, zram,
			    &writeback_fops);
}

static int zram_add(void)
{
	struct zram *zram;
	int ret, id;

	lockdep_assert_held(&zram_index_mutex);
	zram = kzalloc(sizeof(*zram), GFP_KERNEL);
	if (!zram)
		return -ENOMEM;
	id = idr_alloc(&zram_index_idr, zram, 0, 0, GFP_KERNEL);
	if (id < 0) {
		ret = id;
		goto out_free;
	}
	init_rwsem(&zram->init_lock);
	mutex_init(&zram->compact_lock);
	mutex_init(&zram->recompress_lock);
	zram_policy_init(zram);
	mutex_init(&zram->writeback_lock);
	spin_lock_init(&zram->wb_limit_lock);
	zram->comp.backend[0] = zram_backend_default();
	zram->wb_batch_size = ZRAM_WB_BATCH_DEFAULT;

	/* Non-rotational, whole pages, stable pages (zram_compat.h). */
	zram->disk = zram_compat_alloc_disk(NUMA_NO_NODE,
					    ZRAM_LOGICAL_BLOCK_SIZE);
	if (IS_ERR(zram->disk)) {
		ret = PTR_ERR(zram->disk);
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

	ret = device_add_disk(NULL, zram->disk, zram_disk_groups);
	if (ret)
		goto out_put_disk;
	zram_debugfs_add(zram);
	pr_info("Added device: %s\n", zram->disk->disk_name);
	return id;

out_put_disk:
	put_disk(zram->disk);
out_idr:
	idr_remove(&zram_index_idr, id);
out_free:
	kfree(zram);
	return ret;
}

/*
 * Caller holds zram_index_mutex and drops the id from the idr.  -EBUSY
 * only while the disk is open.  A reset in progress (it set claim, and
 * may wait long for init_lock behind a writeback run) does not stop a
 * removal, as with stock: del_gendisk waits for every sysfs store in
 * progress, that reset's included, before the disk goes.  Returning
 * -EBUSY instead would let rmmod free the module under a live disk.
 */
static int zram_remove(struct zram *zram)
{
	bool claimed;

	mutex_lock(&zram->disk->open_mutex);
	if (disk_openers(zram->disk)) {
		mutex_unlock(&zram->disk->open_mutex);
		return -EBUSY;
	}
	claimed = zram->claim;
	zram->claim = true;
	mutex_unlock(&zram->disk->open_mutex);

	debugfs_remove_recursive(zram->debugfs_dir);
	if (!claimed) {
		/* Pending I/O first; the reset then waits for no writer. */
		sync_blockdev(zram->disk->part0);
		zram_reset_device(zram);
	}
	pr_info("Removed device: %s\n", zram->disk->disk_name);
	del_gendisk(zram->disk);
	/*
	 * No store can run now.  disksize may have been set between the
	 * reset above and del_gendisk, and a claimed disk was not reset
	 * here at all: free whatever is left.
	 */
	zram_reset_device(zram);
	zram_comp_config_release(&zram->comp);
	put_disk(zram->disk);
	kfree(zram);
	return 0;
}

/* Module init, or a KUnit suite before it (see zram_comp_init). */
static int zram_register_major(void)
{
	if (zram_major > 0)
		return 0;
	zram_major = register_blkdev(0, "zram");
	if (zram_major <= 0) {
		pr_err("unable to get a major number\n");
		return zram_major ? zram_major : -EBUSY;
	}
	return 0;
}

#ifdef ZCX_KUNIT
/*
 * recomp: an algorithm for priority 1, or NULL.  Chosen before init, as
 * recomp_algorithm's store does: the streams are made at init.
 */
struct zram *zram_kunit_create(u64 disksize, const char *recomp)
{
	const struct zram_backend *backend = NULL;
	struct zram *zram;
	int id, ret;

	if (recomp) {
		backend = zram_backend_find(recomp, strlen(recomp));
		if (!backend)
			return ERR_PTR(-ENOENT);
	}

	ret = zram_comp_init() ?: zram_register_major();
	if (ret)
		return ERR_PTR(ret);
	mutex_lock(&zram_index_mutex);
	id = zram_add();
	mutex_unlock(&zram_index_mutex);
	if (id < 0)
		return ERR_PTR(id);
	zram = idr_find(&zram_index_idr, id);
	down_write(&zram->init_lock);
	if (backend)
		zram_comp_config_set(&zram->comp, 1, backend);
	ret = zram_init_device(zram, disksize);
	up_write(&zram->init_lock);
	if (ret) {
		zram_kunit_destroy(zram);
		return ERR_PTR(ret);
	}
	return zram;
}

void zram_kunit_destroy(struct zram *zram)
{
	int id = zram->disk->first_minor;

	mutex_lock(&zram_index_mutex);
	if (!zram_remove(zram))
		idr_remove(&zram_index_idr, id);
	mutex_unlock(&zram_index_mutex);
}
#endif

static int zram_remove_cb(int id, void *ptr, void *data)
{
	WARN_ON_ONCE(zram_remove(ptr));
	return 0;
}

/* /sys/class/zram-control: hot_add creates a disk, hot_remove drops one. */
static ssize_t hot_add_show(zram_compat_class_t *class,
			    zram_compat_class_attribute_t *attr, char *buf)
{
	int id;

	mutex_lock(&zram_index_mutex);
	id = zram_add();
	mutex_unlock(&zram_index_mutex);
	if (id < 0)
		return id;
	return sysfs_emit(buf, "%d\n", id);
}
/* Reading creates a device: root only, as with stock. */
static struct class_attribute class_attr_hot_add =
	__ATTR(hot_add, 0400, hot_add_show, NULL);

static ssize_t hot_remove_store(zram_compat_class_t *class,
				zram_compat_class_attribute_t *attr,
				const char *buf, size_t count)
{
	struct zram *zram;
	int ret, id;

	ret = kstrtoint(buf, 10, &id);
	if (ret)
		return ret;
	if (id < 0)
		return -EINVAL;
	mutex_lock(&zram_index_mutex);
	zram = idr_find(&zram_index_idr, id);
	if (zram) {
		ret = zram_remove(zram);
		if (!ret)
			idr_remove(&zram_index_idr, id);
	} else {
		ret = -ENODEV;
	}
	mutex_unlock(&zram_index_mutex);
	return ret ? ret : count;
}
static CLASS_ATTR_WO(hot_remove);

static struct attribute *zram_control_class_attrs[] = {
	&class_attr_hot_add.attr,
	&class_attr_hot_remove.attr,
	NULL,
};
ATTRIBUTE_GROUPS(zram_control_class);

static struct class zram_control_class = {
	.name = "zram-control",
	ZRAM_COMPAT_CLASS_OWNER
	.class_groups = zram_control_class_groups,
};

static void destroy_devices(void)
{
	class_unregister(&zram_control_class);
	idr_for_each(&zram_index_idr, &zram_remove_cb, NULL);
	idr_destroy(&zram_index_idr);
	zram_policy_module_exit();
	if (zram_major > 0)
		unregister_blkdev(zram_major, "zram");
	debugfs_remove_recursive(zram_debugfs_root);
	zram_debugfs_root = NULL;
	zram_backing_module_exit();
	zram_comp_exit();
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
	/*
	 * The seed's design compresses in this CPU's buffers with preemption
	 * disabled, and takes the pool's spinlocks and allocates inside that
	 * section and inside the slots' bit spinlocks.  On PREEMPT_RT those
	 * spinlocks sleep: "sleeping function called from invalid context".
	 * Refuse to load rather than load and misbehave.
	 */
	if (IS_ENABLED(CONFIG_PREEMPT_RT)) {
		pr_err("not for PREEMPT_RT kernels: per-CPU streams run with preemption disabled and take locks that sleep on RT; use the kernel's own zram here\n");
		return -EOPNOTSUPP;
	}

	ret = zram_comp_init();
	if (ret)
		return ret;
	ret = zram_backing_module_init();
	if (ret) {
		zram_comp_exit();
		return ret;
	}
	ret = class_register(&zram_control_class);
	if (ret) {
		pr_err("unable to register zram-control class\n");
		zram_backing_module_exit();
		zram_comp_exit();
		return ret;
	}

	ret = zram_register_major();
	if (ret)
		goto out_error;

	zram_debugfs_root = debugfs_create_dir("zram", NULL);
	zram_policy_debugfs_module(zram_debugfs_root);
	zram_backing_debugfs_module(zram_debugfs_root);
	for (i = 0; i < num_devices; i++) {
		mutex_lock(&zram_index_mutex);
		ret = zram_add();
		mutex_unlock(&zram_index_mutex);
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
