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
 *
 * Background work must not take the CPU from the work the memory is for
 * (issue 19: at normal priority it halved a program living on zram swap
 * in a one-CPU guest).  So one kthread worker for the module, started
 * when a disk first gets a policy, runs every disk's policy, waking as
 * SCHED_IDLE (see zram_policy_lower); a recompression pass gives way as
 * soon as anything else is
 * runnable on its CPU or a writer waits for init_lock, and goes on from
 * the same slot a little later; and it backs off (a longer effective
 * age) while pages it recompressed keep being read back, each of which
 * was a wasted recompression and costs a slower decompression.  With
 * recompress_group_pages it groups only pages older than almost every
 * page read back lately, the younger ones page by page.  The ages are
 * the core's to decide (drivers/core/policy.hpp).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/sched.h>
#include <linux/sched/stat.h>
#include <linux/seq_file.h>
#include <linux/sysfs.h>
#include <uapi/linux/sched/types.h>

#include "zcx/abi.h"
#include "zram_drv.h"

#define ZRAM_POLICY_MAX_INTERVAL (24 * 3600)
/* After giving way to other work: try again this soon. */
#define ZRAM_POLICY_RETRY (HZ / 4)
/*
 * A pass runs in slices this long; after each it compacts what it has
 * recompressed (the memory comes back only then) and counts it.
 */
#define ZRAM_POLICY_SLICE (HZ / 2)
/* Created on first use: with no policy set, no thread exists. */
static struct kthread_worker *zram_policy_worker;
static DEFINE_MUTEX(zram_policy_worker_lock);
/*
 * The lowest CPU priority there is: between runs the worker wakes and
 * tries only when a CPU would otherwise idle.  Not while it holds
 * init_lock: a SCHED_IDLE task preempted on a busy CPU is next picked
 * only after the others have caught up with its virtual runtime, a tick
 * of it being 341 ticks of theirs (VM test: a reset waited 2.7 s behind
 * it), and raising its priority then does not shorten that wait.  So a
 * run raises it to normal priority before it takes the lock, and it
 * gives the CPU away between pages anyway.
 */
static void zram_policy_lower(struct task_struct *task)
{
	struct sched_attr attr = {
		.size = sizeof(attr),
		.sched_policy = SCHED_IDLE,
		.sched_nice = 19,
	};

	WARN_ON_ONCE(sched_setattr_nocheck(task, &attr));
}

/*
 * Set at module exit, before the worker is raised for its last flush: a
 * lowering queued earlier must not lower it again.
 */
static bool zram_policy_exiting;

/*
 * debugfs zram/policy_stall_after_lowering_ms, for tests/vm/policy.sh:
 * the worker sleeps this long once lowered, to stretch the window in
 * which a canceller could be kept waiting by an idle-class thread.  0
 * (the default) costs one load per run.
 */
static u32 zram_policy_stall_after_lowering_ms;

/*
 * A work of its own, queued by a run as its last act, so that the run is
 * over (and a reset, hot_remove or rmmod cancelling it has stopped waiting)
 * before its thread goes down to SCHED_IDLE: lowered in the run's own
 * function, a run preempted right after would keep the canceller waiting
 * for an idle-class thread on a busy CPU (issue 24).  Nobody waits for
 * this work but module exit, which raises the thread first.
 */
static void zram_policy_lower_fn(struct kthread_work *work)
{
	unsigned int stall;

	if (READ_ONCE(zram_policy_exiting))
		return;
	zram_policy_lower(current);
	stall = READ_ONCE(zram_policy_stall_after_lowering_ms);
	if (stall)
		msleep(stall);
}
static DEFINE_KTHREAD_WORK(zram_policy_lower_work, zram_policy_lower_fn);

static int zram_policy_worker_get(void)
{
	struct kthread_worker *worker;

	mutex_lock(&zram_policy_worker_lock);
	if (!zram_policy_worker) {
		worker = kthread_create_worker(0, "zram_policy");
		if (IS_ERR(worker)) {
			mutex_unlock(&zram_policy_worker_lock);
			return PTR_ERR(worker);
		}
		zram_policy_lower(worker->task);
		WRITE_ONCE(zram_policy_worker, worker);
	}
	mutex_unlock(&zram_policy_worker_lock);
	return 0;
}

/*
 * Module exit, every disk gone: none of their work is queued, at most a
 * lowering, and the flush in kthread_destroy_worker waits for that at
 * normal priority.
 */
void zram_policy_module_exit(void)
{
	if (!zram_policy_worker)
		return;
	WRITE_ONCE(zram_policy_exiting, true);
	sched_set_normal(zram_policy_worker->task, 0);
	kthread_destroy_worker(zram_policy_worker);
	zram_policy_worker = NULL;
}

static void zram_policy_queue_in(struct zram *zram, unsigned long delay)
{
	if (zram->policy.interval && zram_policy_worker)
		kthread_mod_delayed_work(zram_policy_worker, &zram->policy_work,
					 delay);
}

static void zram_policy_queue(struct zram *zram)
{
	zram_policy_queue_in(zram, zram->policy.interval * HZ);
}

/*
 * A machine that is never idle still needs its cold memory compressed:
 * each interval owes the pass this share of it (1/128: 8 ms a second)
 * even on busy CPUs, and at most four intervals' worth accumulate.
 */
#define ZRAM_POLICY_SHARE_SHIFT 7
#define ZRAM_POLICY_MAX_OWED_INTERVALS 4

struct zram_policy_run {
	struct zram *zram;
	unsigned long deadline;
	unsigned long forced_until; /* until then, busy CPUs do not stop it */
	bool yielded;
};

/*
 * Before each slot.  Whatever woke meanwhile runs first; if it is still
 * runnable once this one is back, the CPU is busy and the pass gives way.
 * A writer waiting for init_lock (reset, hot_remove, rmmod, a store) gets
 * it after this slot.
 */
static int zram_policy_should_stop(void *ctx)
{
	struct zram_policy_run *run = ctx;

	cond_resched();
	if (rwsem_is_contended(&run->zram->init_lock))
		return 1;
	if (time_before(jiffies, run->forced_until))
		return 0;
	if (!single_task_running()) {
		run->yielded = true;
		return 1;
	}
	return time_after(jiffies, run->deadline);
}

/* A compaction already running (a user's, the shrinker's) does it. */
static void zram_policy_compact(struct zram *zram)
{
	u64 freed;

	if (zram->policy_state.uncompacted &&
	    !zram_compact_all_nowait(zram, &freed))
		zram->policy_state.uncompacted = 0;
}

/*
 * One slice of the interval's recompression pass.  true: the pass is
 * over; false: it goes on after *delay.
 */
static bool zram_policy_recompress(struct zram *zram, unsigned long *delay)
{
	struct zram_policy_state *st = &zram->policy_state;
	unsigned long start = jiffies;
	struct zram_policy_run run = {
		.zram = zram,
		.deadline = start + ZRAM_POLICY_SLICE,
		.forced_until = start + st->owed,
	};
	struct zcx_recompress_request req = {
		.min_age = st->ages.age,
		.max_pages = st->budget,
		.group_pages = zram->policy.recompress_group_pages,
		.group_min_age = st->ages.group_age,
		.should_stop = zram_policy_should_stop,
		.ctx = &run,
		.first = st->cursor,
		.plan = &st->plan,
		.keep_workspace = 1,
	};
	struct zcx_recompress_result result;
	int ret;

	/*
	 * -EBUSY: a user's `recompress` runs on this disk; the worker serves
	 * every disk and does not wait for it: this interval's pass is over.
	 */
	ret = zram_recompress_run(zram, &req, &result, false, true);
	st->owed -= min(st->owed, jiffies - start);
	if (ret)
		return true;
	zram->policy.recompressed += result.recompressed;
	zram->policy.tried += result.tried;
	st->ages.recent += result.recompressed;
	st->uncompacted += result.recompressed;
	if (zram->policy.recompress_pages) {
		st->budget -= min(st->budget, result.tried);
		if (!st->budget)
			return true;
	}
	if (!result.stopped)
		return true;
	st->cursor = result.next;
	if (run.yielded) {
		/* Compaction would take the busy CPU too: later. */
		zram->policy.yields++;
		*delay = ZRAM_POLICY_RETRY;
	} else if (READ_ONCE(zram->claim) ||
		   rwsem_is_contended(&zram->init_lock)) {
		*delay = ZRAM_POLICY_RETRY;
	} else {
		zram_policy_compact(zram);	/* the slice is over */
		*delay = 0;
	}
	return false;
}

/*
 * Every interval, whether or not the pass is over: count it, adapt the
 * age, owe the pass its share of busy CPUs, and write back.
 */
static void zram_policy_interval(struct zram *zram)
{
	struct zram_policy_state *st = &zram->policy_state;
	unsigned long interval = zram->policy.interval * HZ;
	unsigned long share = max(interval >> ZRAM_POLICY_SHARE_SHIFT, 1UL);

	zram->policy.runs++;
	/* Before any pass: the ages it works with. */
	if (zcx_policy_ages_adapt(zram->core, &st->ages,
				  zram->policy.recompress_after,
				  zram->policy.recompress_group_pages))
		zram->policy.backoffs++;
	st->owed = min(st->owed + share, share * ZRAM_POLICY_MAX_OWED_INTERVALS);
	st->next_interval = jiffies + interval;
	if (!st->resume) {
		st->cursor = 0;
		st->budget = zram->policy.recompress_pages;
		st->resume = true;
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
}

static void zram_policy_work(struct kthread_work *work)
{
	struct zram *zram = container_of(work, struct zram, policy_work.work);
	struct zram_policy_state *st = &zram->policy_state;
	unsigned long delay;

	sched_set_normal(current, 0);	/* see zram_policy_lower */
	/*
	 * Reset takes init_lock for writing and then cancels this work:
	 * waiting for the lock here would deadlock with it.  Try again
	 * soon instead; a cancel in progress stops the requeue.
	 */
	if (!down_read_trylock(&zram->init_lock)) {
		zram_policy_queue_in(zram, HZ);
		goto lower;
	}
	if (!zram->core || READ_ONCE(zram->claim))
		goto out;
	if (!st->next_interval || time_after_eq(jiffies, st->next_interval))
		zram_policy_interval(zram);
	if (st->resume && zram->policy.recompress_after &&
	    zram_secondary_mask(zram) && !zram_policy_recompress(zram, &delay)) {
		zram_policy_queue_in(zram, min(delay, st->next_interval - jiffies));
		goto out;
	}
	if (st->resume) {
		zram_policy_compact(zram);
		st->resume = false;
	}
	zram_policy_queue_in(zram, time_after(st->next_interval, jiffies) ?
					   st->next_interval - jiffies : 0);
out:
	up_read(&zram->init_lock);
lower:
	kthread_queue_work(zram_policy_worker, &zram_policy_lower_work);
}

/*
 * A new policy or a new core: from the start, no back-off.  The core has
 * counted reads since the disk was made; a policy set on a running disk
 * learns from those from now on, not those of before.
 */
static void zram_policy_state_reset(struct zram *zram)
{
	memset(&zram->policy_state, 0, sizeof(zram->policy_state));
	zcx_policy_ages_reset(zram->core, &zram->policy_state.ages,
			      zram->policy.recompress_after);
}

/* The disk initialised; init_lock held for writing. */
void zram_policy_start(struct zram *zram)
{
	zram_policy_state_reset(zram);
	zram_policy_queue(zram);
}

/*
 * Before the core goes; init_lock held for writing, so a run in progress
 * has finished and the next one cannot start.
 */
void zram_policy_stop(struct zram *zram)
{
	/* Never queued without the worker. */
	if (!zram_policy_worker)
		return;
	/*
	 * A run that has just begun is still at SCHED_IDLE until its first
	 * line: waited for at that priority, it could take seconds.
	 */
	sched_set_normal(zram_policy_worker->task, 0);
	kthread_cancel_delayed_work_sync(&zram->policy_work);
}

void zram_policy_init(struct zram *zram)
{
	mutex_init(&zram->policy_lock);
	kthread_init_delayed_work(&zram->policy_work, zram_policy_work);
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
	/* The key of ours beyond these only when set: as it was without it. */
	if (p.recompress_group_pages)
		return sysfs_emit(buf, "interval=%u recompress_after=%u recompress_pages=%llu writeback_after=%u writeback_pages=%llu recompress_group_pages=%u\n",
				  p.interval, p.recompress_after,
				  p.recompress_pages, p.writeback_after,
				  p.writeback_pages, p.recompress_group_pages);
	return sysfs_emit(buf, "interval=%u recompress_after=%u recompress_pages=%llu writeback_after=%u writeback_pages=%llu\n",
			  p.interval, p.recompress_after, p.recompress_pages,
			  p.writeback_after, p.writeback_pages);
}

/*
 * "off", or "interval=SECONDS" with recompress_after=SECONDS
 * [recompress_pages=N] [recompress_group_pages=N] and/or
 * writeback_after=SECONDS [writeback_pages=N]:
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
		} else if (zcx_kv_key_is(&kv, "recompress_group_pages")) {
			/* As recompress's group_pages=. */
			if (zcx_kv_u64(&kv, &v) || v < 2 ||
			    v > ZCX_GROUP_MAX_PAGES || (v & (v - 1))) {
				pr_info("%s: idle_policy: recompress_group_pages is 2, 4, 8 or 16\n",
					zram->disk->disk_name);
				return -EINVAL;
			}
			p.recompress_group_pages = v;
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
	if (!off) {
		ret = zram_policy_worker_get();
		if (ret) {
			mutex_unlock(&zram->policy_lock);
			return ret;
		}
	}
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
	p.yields = zram->policy.yields;
	p.backoffs = zram->policy.backoffs;
	zram->policy = p;
	zram_policy_state_reset(zram);
	up_write(&zram->init_lock);
	/* Outside init_lock: a run in progress takes it. */
	if (off)
		zram_policy_stop(zram);
	down_read(&zram->init_lock);
	if (zram->core)
		zram_policy_queue(zram);
	up_read(&zram->init_lock);
	mutex_unlock(&zram->policy_lock);
	return len;
}
DEVICE_ATTR_RW(idle_policy);

/*
 * debugfs zram/zramN/idle_policy: what the worker has done, counted after
 * every slice of a pass; yields: slices cut short by other work on the
 * CPU; backoffs: intervals that doubled the age; age: the seconds a page
 * must now sit untouched to be recompressed; comebacks: reads of
 * recompressed pages the policy has seen; group_age: with
 * recompress_group_pages, the seconds a page must sit untouched to be
 * grouped (younger ones go page by page).
 */
static int idle_policy_stats_show(struct seq_file *m, void *unused)
{
	struct zram *zram = m->private;

	down_read(&zram->init_lock);
	seq_printf(m, "runs: %llu\ntried: %llu\nrecompressed: %llu\nwritten: %llu\n",
		   zram->policy.runs, zram->policy.tried,
		   zram->policy.recompressed, zram->policy.written);
	seq_printf(m, "yields: %llu\nbackoffs: %llu\nage: %u\ncomebacks: %llu\ngroup_age: %u\n",
		   zram->policy.yields, zram->policy.backoffs,
		   zram->policy_state.ages.age,
		   zram->policy_state.ages.comebacks,
		   zram->policy_state.ages.group_age);
	up_read(&zram->init_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(idle_policy_stats);

void zram_policy_debugfs_module(struct dentry *root)
{
	debugfs_create_u32("policy_stall_after_lowering_ms", 0600, root,
			   &zram_policy_stall_after_lowering_ms);
}

void zram_policy_debugfs(struct zram *zram, struct dentry *dir)
{
	debugfs_create_file("idle_policy", 0400, dir, zram,
			    &idle_policy_stats_fops);
}
