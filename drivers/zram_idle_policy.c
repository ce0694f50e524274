// SPDX-License-Identifier: GPL-2.0
/*
 * The idle policy: one background worker per disk that does by itself
 * what `idle` + `recompress` and `writeback` do when a script asks, for
 * pages nobody has read or written for a given age, within a budget of
 * pages per interval: recompress what has gone cool, write back what has
 * gone cold.  Upstream leaves this to a user-space daemon; here it is
 *
 *   echo "interval=60 recompress_after=600 recompress_pages=2048 \
 *         writeback_after=3600 writeback_pages=1024" > idle_policy
 *   echo off > idle_policy
 *
 * It uses the access time every slot keeps anyway (no `idle` marking, so
 * a script's own idle/recompress/writeback runs are not disturbed), the
 * recompression run `recompress` uses and the writeback run `writeback`
 * uses (batched, largest first, within writeback_limit).  Off by default, and then nothing
 * runs and the I/O path is as without it.  It stops on reset, hot_remove
 * and rmmod (all go through zram_reset_device) before the core goes.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/jiffies.h>
#include <linux/seq_file.h>
#include <linux/sysfs.h>
#include <linux/workqueue.h>

#include "zcx/abi.h"
#include "zram_drv.h"

#define ZRAM_POLICY_MAX_INTERVAL (24 * 3600)

static void zram_policy_queue(struct zram *zram)
{
	if (zram->policy.interval)
		mod_delayed_work(system_unbound_wq, &zram->policy_work,
				 zram->policy.interval * HZ);
}

static void zram_policy_work(struct work_struct *work)
{
	struct zram *zram = container_of(to_delayed_work(work), struct zram,
					 policy_work);
	struct zcx_recompress_request req = {};
	struct zcx_recompress_result result;

	/*
	 * Reset takes init_lock for writing and then cancels this work:
	 * waiting for the lock here would deadlock with it.  Try again
	 * soon instead; a cancel in progress stops the requeue.
	 */
	if (!down_read_trylock(&zram->init_lock)) {
		queue_delayed_work(system_unbound_wq, &zram->policy_work, HZ);
		return;
	}
	if (!zram->core)
		goto out;
	zram->policy.runs++;
	if (zram->policy.recompress_after && zram_secondary_mask(zram)) {
		req.min_age = zram->policy.recompress_after;
		req.max_pages = zram->policy.recompress_pages;
		if (!zram_recompress_run(zram, &req, &result)) {
			zram->policy.recompressed += result.recompressed;
			zram->policy.tried += result.tried;
		}
	}
	if (zram->policy.writeback_after && zram->bdev) {
		struct zram_wb_request wb = {
			.mode = ZCX_WB_ANY,
			.lo = 0,
			.hi = zcx_dev_nr_pages(zram->core),
			.max_pages = zram->policy.writeback_pages,
			.min_age = zram->policy.writeback_after,
			.nowait = true,	/* a user's run is on: next time */
		};
		u64 written = 0;

		/* -EIO: writeback_limit is spent; the rest is counted there. */
		zram_writeback_run(zram, &wb, &written);
		zram->policy.written += written;
	}
	zram_policy_queue(zram);
out:
	up_read(&zram->init_lock);
}

/* The disk initialised; init_lock held for writing. */
void zram_policy_start(struct zram *zram)
{
	zram_policy_queue(zram);
}

/*
 * Before the core goes; init_lock held for writing, so a run in progress
 * has finished and the next one cannot start.
 */
void zram_policy_stop(struct zram *zram)
{
	cancel_delayed_work_sync(&zram->policy_work);
}

void zram_policy_init(struct zram *zram)
{
	mutex_init(&zram->policy_lock);
	INIT_DELAYED_WORK(&zram->policy_work, zram_policy_work);
}

static ssize_t idle_policy_show(struct device *dev,
				struct device_attribute *attr, char *buf)
{
	struct zram *zram = dev_to_zram(dev);
	struct zram_idle_policy p;

	down_read(&zram->init_lock);
	p = zram->policy;
	up_read(&zram->init_lock);
	if (!p.interval)
		return sysfs_emit(buf, "off\n");
	return sysfs_emit(buf, "interval=%u recompress_after=%u recompress_pages=%llu writeback_after=%u writeback_pages=%llu\n",
			  p.interval, p.recompress_after, p.recompress_pages,
			  p.writeback_after, p.writeback_pages);
}

/*
 * "off", or "interval=SECONDS" with recompress_after=SECONDS
 * [recompress_pages=N] and/or writeback_after=SECONDS [writeback_pages=N]:
 * every interval, recompress up to recompress_pages pages (0 or absent:
 * all) not accessed for recompress_after seconds, then write back up to
 * writeback_pages not accessed for writeback_after seconds.
 */
static ssize_t idle_policy_store(struct device *dev,
				 struct device_attribute *attr, const char *buf,
				 size_t len)
{
	struct zram *zram = dev_to_zram(dev);
	struct zram_idle_policy p = {};
	bool off = false;
	size_t pos = 0;
	struct zcx_kv kv;
	int ret, tokens = 0;
	u64 v;

	while ((ret = zcx_kv_next(buf, len, &pos, &kv)) == 1) {
		tokens++;
		if (zcx_kv_key_is(&kv, "off") && !kv.value) {
			off = true;
		} else if (zcx_kv_key_is(&kv, "interval")) {
			if (zcx_kv_u64(&kv, &v) || !v || v > ZRAM_POLICY_MAX_INTERVAL)
				return -EINVAL;
			p.interval = v;
		} else if (zcx_kv_key_is(&kv, "recompress_after")) {
			if (zcx_kv_u64(&kv, &v) || !v || v > UINT_MAX)
				return -EINVAL;
			p.recompress_after = v;
		} else if (zcx_kv_key_is(&kv, "recompress_pages")) {
			if (zcx_kv_u64(&kv, &p.recompress_pages))
				return -EINVAL;
		} else if (zcx_kv_key_is(&kv, "writeback_after")) {
			if (zcx_kv_u64(&kv, &v) || !v || v > UINT_MAX)
				return -EINVAL;
			p.writeback_after = v;
		} else if (zcx_kv_key_is(&kv, "writeback_pages")) {
			if (zcx_kv_u64(&kv, &p.writeback_pages))
				return -EINVAL;
		} else {
			return -EINVAL;
		}
	}
	if (ret)
		return ret;
	/* "off" alone; otherwise an interval and something to do. */
	if (off ? tokens != 1
		: !p.interval || (!p.recompress_after && !p.writeback_after))
		return -EINVAL;

	/*
	 * One store at a time, from setting to cancel or queue: else an
	 * "off" that has set the policy but not yet cancelled could cancel
	 * the work another store just queued, leaving it on but idle.
	 */
	mutex_lock(&zram->policy_lock);
	down_write(&zram->init_lock);
	if (p.recompress_after && !zram_secondary_mask(zram)) {
		up_write(&zram->init_lock);
		mutex_unlock(&zram->policy_lock);
		pr_info("%s: idle_policy recompresses with recomp_algorithm: set one first\n",
			zram->disk->disk_name);
		return -EINVAL;
	}
	p.runs = zram->policy.runs;
	p.tried = zram->policy.tried;
	p.recompressed = zram->policy.recompressed;
	p.written = zram->policy.written;
	zram->policy = p;
	up_write(&zram->init_lock);
	/* Outside init_lock: a run in progress takes it. */
	if (off)
		cancel_delayed_work_sync(&zram->policy_work);
	down_read(&zram->init_lock);
	if (zram->core)
		zram_policy_queue(zram);
	up_read(&zram->init_lock);
	mutex_unlock(&zram->policy_lock);
	return len;
}
DEVICE_ATTR_RW(idle_policy);

/* debugfs zram/zramN/idle_policy: what the worker has done. */
static int idle_policy_stats_show(struct seq_file *m, void *unused)
{
	struct zram *zram = m->private;

	down_read(&zram->init_lock);
	seq_printf(m, "runs: %llu\ntried: %llu\nrecompressed: %llu\nwritten: %llu\n",
		   zram->policy.runs, zram->policy.tried,
		   zram->policy.recompressed, zram->policy.written);
	up_read(&zram->init_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(idle_policy_stats);

void zram_policy_debugfs(struct zram *zram, struct dentry *dir)
{
	debugfs_create_file("idle_policy", 0400, dir, zram,
			    &idle_policy_stats_fops);
}
