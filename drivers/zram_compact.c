// SPDX-License-Identifier: GPL-2.0
/*
 * Compaction of a disk's pool: on `echo 1 > compact`, and by the kernel
 * itself under memory pressure through a shrinker, as stock zram's
 * zsmalloc does.  The work is the core's (xvmalloc's compact pass); this
 * file only serialises it and plugs it into sysfs and the shrinker API.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/highmem.h>
#include <linux/mutex.h>
#include <linux/shrinker.h>
#include <linux/sysfs.h>

#include "zcx/abi.h"
#include "zram_drv.h"

/* Pages one call of the core's pass may free before it looks up again. */
#define ZRAM_COMPACT_SLICE 256

static unsigned long zram_shrink_count(struct shrinker *s,
				       struct shrink_control *sc)
{
	struct zram *zram = zram_compat_shrinker_owner(s);
	u64 pages = zcx_dev_compactable_pages(zram->core);

	return pages ? pages : SHRINK_EMPTY;
}

/*
 * Runs with shrinker_rwsem held for reading (6.1) or a reference on the
 * shrinker (6.12); reset unregisters the shrinker (waiting for this to
 * return) before it frees the core, so zram->core is valid here without
 * init_lock, which reset holds while it waits.  A compaction already
 * running (sysfs, another CPU's reclaim) is not waited for.
 */
static unsigned long zram_shrink_scan(struct shrinker *s,
				      struct shrink_control *sc)
{
	struct zram *zram = zram_compat_shrinker_owner(s);
	u64 freed;

	if (!mutex_trylock(&zram->compact_lock))
		return SHRINK_STOP;
	freed = zcx_dev_compact(zram->core, sc->nr_to_scan);
	mutex_unlock(&zram->compact_lock);
	return freed ? freed : SHRINK_STOP;
}

/* After the core exists; init_lock held for writing. */
int zram_compact_init(struct zram *zram)
{
	int ret;

	ret = zram_compat_shrinker_register(&zram->shrinker, zram_shrink_count,
					    zram_shrink_scan, zram,
					    zram->disk->disk_name);
	if (ret)
		return ret;
	zram->shrinker_registered = true;
	return 0;
}

/* Before the core goes; init_lock held for writing. */
void zram_compact_exit(struct zram *zram)
{
	if (!zram->shrinker_registered)
		return;
	zram_compat_shrinker_unregister(&zram->shrinker);
	zram->shrinker_registered = false;
}

/* compact_lock held. */
static u64 zram_compact_locked(struct zram *zram)
{
	struct page *page = NULL;
	u64 n, freed = 0, ungrouped = 0;
	/*
	 * Groups mostly dead first: their live pages move out, the groups
	 * go, and the pass below packs what is left.  Without a page to
	 * work in, this time only the pool is compacted.  A disk without
	 * groups (the usual one) allocates nothing.
	 */
	if (zcx_dev_grouped_pages(zram->core))
		page = alloc_page(GFP_KERNEL);
	if (page) {
		void *mem = kmap_local_page(page);

		/* A reset or removal waiting for the disk stops it. */
		if (zcx_dev_regroup_sparse(zram->core, mem,
					   (const unsigned char *)&zram->claim,
					   &ungrouped))
			pr_warn_ratelimited("%s: compact could not ungroup every sparse group\n",
					    zram->disk->disk_name);
		kunmap_local(mem);
		__free_page(page);
	}
	/*
	 * In slices, so that a reset or removal waiting for the disk waits
	 * for one slice, not for the whole pool.
	 */
	do {
		n = zcx_dev_compact(zram->core, ZRAM_COMPACT_SLICE);
		freed += n;
	} while (n == ZRAM_COMPACT_SLICE && !READ_ONCE(zram->claim));
	return freed;
}

/* A whole pass; init_lock held (either way), the core exists. */
u64 zram_compact_all(struct zram *zram)
{
	u64 freed;

	mutex_lock(&zram->compact_lock);
	freed = zram_compact_locked(zram);
	mutex_unlock(&zram->compact_lock);
	return freed;
}

/*
 * The same, unless a pass is running (a user's `compact`, the shrinker):
 * then -EBUSY, and that pass does the work.  For the idle policy, whose
 * one worker serves every disk.
 */
int zram_compact_all_nowait(struct zram *zram, u64 *freed)
{
	if (!mutex_trylock(&zram->compact_lock))
		return -EBUSY;
	*freed = zram_compact_locked(zram);
	mutex_unlock(&zram->compact_lock);
	return 0;
}

/*
 * Any value written runs a whole pass, as with stock (which ignores the
 * value too).  init_lock for reading keeps reset out; compact_lock keeps
 * the shrinker's pass out, since the core takes one caller at a time.
 */
static ssize_t compact_store(struct device *dev, struct device_attribute *attr,
			     const char *buf, size_t len)
{
	struct zram *zram = dev_to_zram(dev);
	int ret = 0;

	down_read(&zram->init_lock);
	if (!zram->core) {
		ret = -EINVAL;
	} else {
		zram_compact_all(zram);
	}
	up_read(&zram->init_lock);
	return ret ? ret : len;
}
DEVICE_ATTR_WO(compact);
