/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel API differences between Debian's Linux 6.1 and 6.12 that the
 * C layer meets, one small helper each.  Every LINUX_VERSION_CODE test of
 * the module is here and nowhere else; the C++ core knows no kernel at
 * all.  Only 6.1 and 6.12 are built and tested, so each test is "6.12 or
 * not", whatever release in between made the change.
 */
#ifndef ZRAM_COMPAT_H
#define ZRAM_COMPAT_H

#include <linux/blkdev.h>
#include <linux/device.h>
#include <linux/err.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/shrinker.h>
#include <linux/version.h>

#if !(LINUX_VERSION_CODE >= KERNEL_VERSION(6, 1, 0) && \
      LINUX_VERSION_CODE < KERNEL_VERSION(6, 2, 0)) && \
    !(LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0) && \
      LINUX_VERSION_CODE < KERNEL_VERSION(6, 13, 0))
#error "zram-cxx builds against Linux 6.1 or 6.12 only"
#endif

/*
 * The disk and its queue's limits.  6.12 takes the limits (and features:
 * stable writes, synchronous) when it allocates the disk, and returns an
 * ERR_PTR; 6.1 allocates, returns NULL on failure, and is then set up
 * through the queue.  Either way: non-rotational, no entropy, whole pages
 * (logical blocks of lbs bytes), discard and write-zeroes of any size, and
 * pages stable while written (they are compressed in place).
 */
static inline struct gendisk *zram_compat_alloc_disk(int node, unsigned int lbs)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
	struct queue_limits lim = {
		.physical_block_size = PAGE_SIZE,
		.logical_block_size = lbs,
		.io_min = PAGE_SIZE,
		.io_opt = PAGE_SIZE,
		.discard_granularity = PAGE_SIZE,
		.max_hw_discard_sectors = UINT_MAX,
		.max_write_zeroes_sectors = UINT_MAX,
		/*
		 * Not rotational and no add_random: neither feature is set.
		 * Synchronous: swap skips the swap cache on swap-in, what
		 * ->rw_page's presence did on 6.1.
		 */
		.features = BLK_FEAT_STABLE_WRITES | BLK_FEAT_SYNCHRONOUS,
	};

	return blk_alloc_disk(&lim, node);
#else
	struct gendisk *disk = blk_alloc_disk(node);
	struct request_queue *q;

	if (!disk)
		return ERR_PTR(-ENOMEM);
	q = disk->queue;
	blk_queue_flag_set(QUEUE_FLAG_NONROT, q);
	blk_queue_flag_clear(QUEUE_FLAG_ADD_RANDOM, q);
	blk_queue_physical_block_size(q, PAGE_SIZE);
	blk_queue_logical_block_size(q, lbs);
	blk_queue_io_min(q, PAGE_SIZE);
	blk_queue_io_opt(q, PAGE_SIZE);
	q->limits.discard_granularity = PAGE_SIZE;
	blk_queue_max_discard_sectors(q, UINT_MAX);
	blk_queue_max_write_zeroes_sectors(q, UINT_MAX);
	blk_queue_flag_set(QUEUE_FLAG_STABLE_WRITES, q);
	return disk;
#endif
}

/*
 * block_device_operations.open: 6.12 passes the gendisk and a blk_mode_t,
 * 6.1 the block_device and an fmode_t.  zram_compat_open_disk() gives the
 * gendisk of either first argument.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
typedef struct gendisk *zram_compat_open_arg_t;
typedef blk_mode_t zram_compat_open_mode_t;
static inline struct gendisk *zram_compat_open_disk(struct gendisk *disk)
{
	return disk;
}
#else
typedef struct block_device *zram_compat_open_arg_t;
typedef fmode_t zram_compat_open_mode_t;
static inline struct gendisk *zram_compat_open_disk(struct block_device *bdev)
{
	return bdev->bd_disk;
}
#endif

/*
 * ->rw_page (synchronous one-page swap I/O) is gone in 6.12, where swap
 * I/O arrives as bios through ->submit_bio.  Defined where the kernel has
 * it; page_endio(), gone too, is only for rw_page.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 12, 0)
#define ZRAM_COMPAT_HAVE_RW_PAGE 1
#endif

/* I/O accounting by hand: 6.12 takes the sectors at the end, 6.1 at the start. */
static inline unsigned long
zram_compat_start_io_acct(struct block_device *bdev, unsigned int sectors,
			  enum req_op op, unsigned long start_time)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
	return bdev_start_io_acct(bdev, op, start_time);
#else
	return bdev_start_io_acct(bdev, sectors, op, start_time);
#endif
}

static inline void zram_compat_end_io_acct(struct block_device *bdev,
					   enum req_op op, unsigned int sectors,
					   unsigned long start_time)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
	bdev_end_io_acct(bdev, op, sectors, start_time);
#else
	bdev_end_io_acct(bdev, op, start_time);
#endif
}

/*
 * The backing device, opened read-write and exclusively (holder): 6.12
 * opens a block device as a file (the handle) and closes it with fput;
 * 6.1 returns the block_device itself and closes it with blkdev_put in
 * the mode it was opened.  Open returns an ERR_PTR on failure.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
typedef struct file *zram_compat_bdev_handle_t;
static inline zram_compat_bdev_handle_t zram_compat_bdev_open(const char *path,
							      void *holder)
{
	return bdev_file_open_by_path(path, BLK_OPEN_READ | BLK_OPEN_WRITE,
				      holder, NULL);
}

static inline struct block_device *
zram_compat_bdev_of(zram_compat_bdev_handle_t handle)
{
	return file_bdev(handle);
}

static inline void zram_compat_bdev_close(zram_compat_bdev_handle_t handle)
{
	fput(handle);
}
#else
typedef struct block_device *zram_compat_bdev_handle_t;
#define ZRAM_COMPAT_BACKING_MODE (FMODE_READ | FMODE_WRITE | FMODE_EXCL)
static inline zram_compat_bdev_handle_t zram_compat_bdev_open(const char *path,
							      void *holder)
{
	return blkdev_get_by_path(path, ZRAM_COMPAT_BACKING_MODE, holder);
}

static inline struct block_device *
zram_compat_bdev_of(zram_compat_bdev_handle_t handle)
{
	return handle;
}

static inline void zram_compat_bdev_close(zram_compat_bdev_handle_t handle)
{
	blkdev_put(handle, ZRAM_COMPAT_BACKING_MODE);
}
#endif

/*
 * A shrinker per disk, named zram-<disk>: 6.12 allocates it
 * (shrinker_alloc, shrinker_register, shrinker_free; the owner in
 * private_data), 6.1 embeds it (register_shrinker, unregister_shrinker),
 * so the owner is kept beside it.  Unregistering waits for a scan in
 * progress on both.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
struct zram_compat_shrinker {
	struct shrinker *shrinker;
};

static inline struct shrinker *
zram_compat_shrinker_get(struct zram_compat_shrinker *zs)
{
	return zs->shrinker;
}

static inline void *zram_compat_shrinker_owner(struct shrinker *s)
{
	return s->private_data;
}

static inline int zram_compat_shrinker_register(
	struct zram_compat_shrinker *zs,
	unsigned long (*count)(struct shrinker *, struct shrink_control *),
	unsigned long (*scan)(struct shrinker *, struct shrink_control *),
	void *owner, const char *disk_name)
{
	struct shrinker *s = shrinker_alloc(0, "zram-%s", disk_name);

	if (!s)
		return -ENOMEM;
	s->count_objects = count;
	s->scan_objects = scan;
	s->seeks = DEFAULT_SEEKS;
	s->batch = 0;
	s->private_data = owner;
	shrinker_register(s);
	zs->shrinker = s;
	return 0;
}

static inline void zram_compat_shrinker_unregister(struct zram_compat_shrinker *zs)
{
	shrinker_free(zs->shrinker);
	zs->shrinker = NULL;
}
#else
struct zram_compat_shrinker {
	struct shrinker shrinker;
	void *owner;
};

static inline struct shrinker *
zram_compat_shrinker_get(struct zram_compat_shrinker *zs)
{
	return &zs->shrinker;
}

static inline void *zram_compat_shrinker_owner(struct shrinker *s)
{
	return container_of(s, struct zram_compat_shrinker, shrinker)->owner;
}

static inline int zram_compat_shrinker_register(
	struct zram_compat_shrinker *zs,
	unsigned long (*count)(struct shrinker *, struct shrink_control *),
	unsigned long (*scan)(struct shrinker *, struct shrink_control *),
	void *owner, const char *disk_name)
{
	zs->owner = owner;
	zs->shrinker.count_objects = count;
	zs->shrinker.scan_objects = scan;
	zs->shrinker.seeks = DEFAULT_SEEKS;
	zs->shrinker.batch = 0;
	return register_shrinker(&zs->shrinker, "zram-%s", disk_name);
}

static inline void zram_compat_shrinker_unregister(struct zram_compat_shrinker *zs)
{
	unregister_shrinker(&zs->shrinker);
}
#endif

/*
 * class_attribute callbacks: 6.12 passes the class and the attribute
 * const, 6.1 does not.  And 6.12's struct class has no owner field; on
 * 6.1 it stays THIS_MODULE, as it was.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
typedef const struct class zram_compat_class_t;
typedef const struct class_attribute zram_compat_class_attribute_t;
#define ZRAM_COMPAT_CLASS_OWNER
#else
typedef struct class zram_compat_class_t;
typedef struct class_attribute zram_compat_class_attribute_t;
#define ZRAM_COMPAT_CLASS_OWNER .owner = THIS_MODULE,
#endif

/*
 * zstd dictionaries: lib/zstd exports its dictionary functions
 * (zstd_create_cdict_byreference and the rest) from 6.12 on, for
 * upstream zram's algorithm_params; 6.1's exports none.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
#define ZRAM_COMPAT_ZSTD_DICT 1
#else
#define ZRAM_COMPAT_ZSTD_DICT 0
#endif

/*
 * The default compressor, the kernel's own (CONFIG_ZRAM_DEF_COMP: lzo-rle
 * on Debian's 6.1, lz4 on its 6.12); lzo-rle, stock 6.1's, when the
 * kernel has no zram configured (the debug kernel).
 */
#ifdef CONFIG_ZRAM_DEF_COMP
#define ZRAM_COMPAT_DEF_COMP CONFIG_ZRAM_DEF_COMP
#else
#define ZRAM_COMPAT_DEF_COMP "lzo-rle"
#endif

#endif /* ZRAM_COMPAT_H */
