// SPDX-License-Identifier: GPL-2.0
/*
 * Recompression and algorithm parameters, with upstream's interface
 * (6.2-6.12) on 6.1: recomp_algorithm and algorithm_params before init,
 * recompress after.  The core decides per slot (drivers/core/recompress.cpp);
 * this file parses the attributes with the one key=value parser and runs
 * one recompression at a time per disk, which the idle policy shares.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel_read_file.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/sysfs.h>

#include "zcx/abi.h"
#include "zram_drv.h"

#define ZRAM_NO_PRIORITY (-1)

/* An algorithm name in a token's value, as zram_backend_find wants it. */
static const struct zram_backend *kv_backend(const struct zcx_kv *kv)
{
	return kv->value ? zram_backend_find(kv->value, kv->value_len) : NULL;
}

static int kv_priority(const struct zcx_kv *kv, int *prio)
{
	u64 v;

	if (zcx_kv_u64(kv, &v) || v >= ZCX_MAX_PRIORITIES)
		return -EINVAL;
	*prio = v;
	return 0;
}

/*
 * The algo= and priority= keys every attribute here shares.  1: kv was one
 * of them (stored), 0: another key, -EINVAL: a bad name or priority (0
 * only where primary allows it).
 */
static int kv_algo_or_priority(const struct zcx_kv *kv, bool primary,
			       const struct zram_backend **backend, int *prio)
{
	if (zcx_kv_key_is(kv, "algo")) {
		*backend = kv_backend(kv);
		return *backend ? 1 : -EINVAL;
	}
	if (zcx_kv_key_is(kv, "priority")) {
		if (kv_priority(kv, prio) || (!primary && *prio == 0))
			return -EINVAL;
		return 1;
	}
	return 0;
}

/*
 * Upstream's recomp_algorithm, recompress and algorithm_params skip keys
 * they do not know, so a tool written for a newer kernel still sets what
 * this one knows (zram-generator 1.2 writes "algo=zstd dictionary=/etc/x
 * level=9"); a key without a value stays EINVAL, as there.  Each skipped
 * key is logged once per write, so that a typo is not silent.  kv is a
 * token of buf; every token before it parsed.
 */
static void zram_kv_skipped(struct zram *zram, const char *attr,
			    const char *buf, size_t len, const struct zcx_kv *kv)
{
	struct zcx_kv prev;
	size_t pos = 0;

	while (zcx_kv_next(buf, len, &pos, &prev) == 1 && prev.key != kv->key) {
		if (prev.key_len == kv->key_len &&
		    !memcmp(prev.key, kv->key, kv->key_len))
			return;
	}
	pr_info("%s: %s: skipped unknown key %.*s\n", zram->disk->disk_name,
		attr, (int)kv->key_len, kv->key);
}

/*
 * algo= names the priority (from first on) that has that algorithm, as
 * upstream; with priority= too, that one must.  The priority or -EINVAL.
 */
static int zram_priority_of(struct zram *zram, const struct zram_backend *backend,
			    int prio, int first)
{
	int p;

	for (p = first; p < ZCX_MAX_PRIORITIES; p++) {
		if (zram->comp.backend[p] == backend &&
		    (prio == ZRAM_NO_PRIORITY || prio == p))
			return p;
	}
	return -EINVAL;
}

static ssize_t recomp_algorithm_show(struct device *dev,
				     struct device_attribute *attr, char *buf)
{
	struct zram *zram = dev_to_zram(dev);
	ssize_t at = 0;
	int p;

	down_read(&zram->init_lock);
	for (p = 1; p < ZCX_MAX_PRIORITIES; p++) {
		if (!zram->comp.backend[p])
			continue;
		at += sysfs_emit_at(buf, at, "#%d: ", p);
		at = zram_backends_show_at(zram->comp.backend[p], buf, at);
	}
	up_read(&zram->init_lock);
	return at;
}

/* "algo=NAME [priority=N]", N in 1..3 (1 if not given), as upstream. */
static ssize_t recomp_algorithm_store(struct device *dev,
				      struct device_attribute *attr,
				      const char *buf, size_t len)
{
	struct zram *zram = dev_to_zram(dev);
	const struct zram_backend *backend = NULL;
	int prio = 1, ret;
	size_t pos = 0;
	struct zcx_kv kv;

	while ((ret = zcx_kv_next(buf, len, &pos, &kv)) == 1) {
		int known;

		if (!kv.value)
			return -EINVAL;
		known = kv_algo_or_priority(&kv, false, &backend, &prio);
		if (known < 0)
			return known;
		if (!known)
			zram_kv_skipped(zram, "recomp_algorithm", buf, len, &kv);
	}
	if (ret || !backend)
		return -EINVAL;
	if (IS_ENABLED(ZCX_STREAMS_MUTEX))
		return -EOPNOTSUPP; /* the ablation build has one stream */

	down_write(&zram->init_lock);
	if (zram->core) {
		up_write(&zram->init_lock);
		pr_info("%s: set recomp_algorithm before disksize\n",
			zram->disk->disk_name);
		return -EBUSY;
	}
	zram_comp_config_set(&zram->comp, prio, backend);
	up_write(&zram->init_lock);
	return len;
}

/* lz4's window: a dictionary's last 64 KiB are all it can use. */
#define ZRAM_DICT_MAX (64 << 10)

/* The dictionary file at kv's value, read whole; -errno or its length. */
static ssize_t zram_read_dict(struct zram *zram, const struct zcx_kv *kv,
			      void **dict)
{
	char *path = kstrndup(kv->value, kv->value_len, GFP_KERNEL);
	ssize_t ret;

	if (!path)
		return -ENOMEM;
	*dict = NULL;
	/*
	 * READING_POLICY, as upstream's dictionaries: 6.12's IPE warns on
	 * READING_UNKNOWN (a WARNING in the log on every dict=).
	 */
	ret = kernel_read_file_from_path(path, 0, dict, ZRAM_DICT_MAX, NULL,
					 READING_POLICY);
	if (ret < 0)
		pr_info("%s: cannot read dictionary %s (up to %d bytes): %zd\n",
			zram->disk->disk_name, path, ZRAM_DICT_MAX, ret);
	else if (ret == 0)
		pr_info("%s: dictionary %s is empty\n", zram->disk->disk_name, path);
	kfree(path);
	if (ret == 0) {
		kvfree(*dict);
		return -EINVAL;
	}
	return ret;
}

/*
 * "[algo=NAME|priority=N] [level=N] [dict=PATH]", the primary without
 * algo= or priority=.  Levels: zstd, lz4hc.  Dictionaries: lz4, lz4hc,
 * and zstd where lib/zstd exports its dictionary functions (6.12, not 6.1).
 */
static ssize_t algorithm_params_store(struct device *dev,
				      struct device_attribute *attr,
				      const char *buf, size_t len)
{
	struct zram *zram = dev_to_zram(dev);
	const struct zram_backend *backend = NULL, *b;
	int prio = ZRAM_NO_PRIORITY, ret;
	const struct zcx_kv *dict_kv = NULL;
	struct zcx_kv kv, dict_token;
	bool has_level = false;
	void *dict = NULL;
	ssize_t dict_len = 0;
	size_t pos = 0;
	u64 level = 0;

	while ((ret = zcx_kv_next(buf, len, &pos, &kv)) == 1) {
		int known;

		if (!kv.value)
			return -EINVAL;
		known = kv_algo_or_priority(&kv, true, &backend, &prio);
		if (known < 0)
			return known;
		if (known) {
			continue;
		} else if (zcx_kv_key_is(&kv, "level")) {
			if (zcx_kv_u64(&kv, &level))
				return -EINVAL;
			has_level = true;
		} else if (zcx_kv_key_is(&kv, "dict")) {
			dict_token = kv;
			dict_kv = &dict_token;
		} else {
			zram_kv_skipped(zram, "algorithm_params", buf, len, &kv);
		}
	}
	if (ret)
		return -EINVAL;
	/* Upstream: neither algo= nor priority= means the primary. */
	if (!backend && prio == ZRAM_NO_PRIORITY)
		prio = 0;

	down_write(&zram->init_lock);
	if (zram->core) {
		ret = -EBUSY;
		goto out;
	}
	if (backend) {
		prio = zram_priority_of(zram, backend, prio, 0);
		if (prio < 0) {
			ret = prio;
			goto out;
		}
	}
	b = zram->comp.backend[prio];
	ret = -EINVAL;
	if (!b)
		goto out;
	if (has_level && !b->max_level) {
		pr_info("%s: %s has no compression levels\n",
			zram->disk->disk_name, b->name);
		goto out;
	}
	if (has_level && (level < b->min_level || level > b->max_level)) {
		pr_info("%s: %s levels are %d..%d\n", zram->disk->disk_name,
			b->name, b->min_level, b->max_level);
		goto out;
	}
	if (dict_kv && !b->takes_dict) {
		if (b->kind == ZRAM_BACKEND_ZSTD) {
			pr_info("%s: a zstd dictionary needs lib/zstd's dictionary functions, which Linux 6.1 does not export\n",
				zram->disk->disk_name);
			ret = -EOPNOTSUPP;
		} else {
			pr_info("%s: %s takes no dictionary\n",
				zram->disk->disk_name, b->name);
		}
		goto out;
	}
	/*
	 * Levels and dictionaries are lib/zstd's and lib/lz4's, which only
	 * the companion calls; the crypto API has neither.  Loading it now
	 * also serves a disk that chose the algorithm before it was there.
	 * (Only zstd, lz4 and lz4hc take either, so only they get here.)
	 */
	if ((has_level || dict_kv) && !zram_comp_config_bind(&zram->comp, prio)) {
		pr_info("%s: %s levels and dictionaries need %s.ko; without it %s goes through the crypto API at its default level (modprobe %s, or insmod it, and write algorithm_params again)\n",
			zram->disk->disk_name, b->name, ZRAM_CODECS_MODULE,
			b->name, ZRAM_CODECS_MODULE);
		ret = -EOPNOTSUPP;
		goto out;
	}
	if (dict_kv) {
		dict_len = zram_read_dict(zram, dict_kv, &dict);
		if (dict_len < 0) {
			ret = dict_len;
			goto out;
		}
	}
	/*
	 * As upstream's comp_params_store: a write sets the whole of the
	 * priority's parameters, so what it leaves out is the default
	 * ("algo=zstd" alone: default level, no dictionary).
	 */
	zram_comp_config_params_reset(&zram->comp, prio);
	zram->comp.dict[prio] = dict;
	zram->comp.dict_len[prio] = dict_len;
	zram->comp.level[prio] = level;
	ret = 0;
out:
	up_write(&zram->init_lock);
	return ret ? ret : len;
}

/* The secondary algorithms a disk has, as a bit per priority. */
unsigned int zram_secondary_mask(struct zram *zram)
{
	unsigned int mask = 0;
	int p;

	for (p = 1; p < ZCX_MAX_PRIORITIES; p++) {
		if (zram->comp.backend[p])
			mask |= 1u << p;
	}
	return mask;
}

/*
 * init_lock held for reading.  One run at a time per disk (nowait: -EBUSY
 * rather than wait for another); a reset or removal that claims the disk
 * stops it after the page in progress.
 */
int zram_recompress_run(struct zram *zram, struct zcx_recompress_request *req,
			struct zcx_recompress_result *result, bool compact,
			bool nowait)
{
	struct page *page;
	void *mem;
	int ret;

	memset(result, 0, sizeof(*result));
	/* A waiting reset or removal gets init_lock after one page. */
	BUILD_BUG_ON(sizeof(zram->claim) != 1);
	req->stop = (const unsigned char *)&zram->claim;
	req->configured = hweight32(zram_secondary_mask(zram));
	if (!req->priorities)
		req->priorities = zram_secondary_mask(zram);
	if (nowait) {
		if (!mutex_trylock(&zram->recompress_lock))
			return -EBUSY;
	} else {
		mutex_lock(&zram->recompress_lock);
	}
	page = alloc_page(GFP_KERNEL);
	if (!page) {
		mutex_unlock(&zram->recompress_lock);
		return -ENOMEM;
	}
	mem = kmap_local_page(page);
	ret = zcx_dev_recompress(zram->core, req, mem, result);
	kunmap_local(mem);
	mutex_unlock(&zram->recompress_lock);
	__free_page(page);
	/*
	 * Each smaller object was allocated before the old one was freed,
	 * so the pool's pages only empty out when compaction packs what is
	 * left: without it, recompression saves no memory at all.  The
	 * idle policy compacts by itself, once per many short runs.
	 */
	if (compact && result->recompressed)
		zram_compact_all(zram);
	return ret;
}

/*
 * "[type=idle|huge|huge_idle] [max_pages=N] [threshold=BYTES]
 * [algo=NAME|priority=N] [group_pages=N]".
 */
static ssize_t recompress_store(struct device *dev,
				struct device_attribute *attr, const char *buf,
				size_t len)
{
	struct zram *zram = dev_to_zram(dev);
	struct zcx_recompress_request req = {};
	struct zcx_recompress_result result;
	const struct zram_backend *backend = NULL;
	int prio = ZRAM_NO_PRIORITY, ret;
	size_t pos = 0;
	struct zcx_kv kv;
	u64 v;

	while ((ret = zcx_kv_next(buf, len, &pos, &kv)) == 1) {
		int known;

		if (!kv.value)
			return -EINVAL;
		known = kv_algo_or_priority(&kv, false, &backend, &prio);
		if (known < 0)
			return known;
		if (known) {
			continue;
		} else if (zcx_kv_key_is(&kv, "type")) {
			if (zcx_kv_value_is(&kv, "idle")) {
				req.idle = 1;
			} else if (zcx_kv_value_is(&kv, "huge")) {
				req.huge = 1;
			} else if (zcx_kv_value_is(&kv, "huge_idle")) {
				req.idle = 1;
				req.huge = 1;
			} else {
				return -EINVAL;
			}
		} else if (zcx_kv_key_is(&kv, "max_pages")) {
			if (zcx_kv_u64(&kv, &req.max_pages))
				return -EINVAL;
		} else if (zcx_kv_key_is(&kv, "threshold")) {
			/* Upstream: 0 < threshold < PAGE_SIZE. */
			if (zcx_kv_u64(&kv, &v) || !v || v >= PAGE_SIZE)
				return -EINVAL;
			req.threshold = v;
		} else if (zcx_kv_key_is(&kv, "group_pages")) {
			if (zcx_kv_u64(&kv, &v) || v < 2 ||
			    v > ZCX_GROUP_MAX_PAGES || !is_power_of_2(v)) {
				pr_info("%s: recompress: group_pages is a power of two from 2 to %d\n",
					zram->disk->disk_name,
					ZCX_GROUP_MAX_PAGES);
				return -EINVAL;
			}
			req.group_pages = v;
		} else {
			zram_kv_skipped(zram, "recompress", buf, len, &kv);
		}
	}
	if (ret)
		return ret;

	down_read(&zram->init_lock);
	ret = -EINVAL;
	if (!zram->core)
		goto out;
	if (backend) {
		prio = zram_priority_of(zram, backend, prio, 1);
		if (prio < 0)
			goto out;
	}
	if (prio != ZRAM_NO_PRIORITY) {
		if (!zram->comp.backend[prio])
			goto out;
		req.priorities = 1u << prio;
	}
	if (!zram_secondary_mask(zram))
		goto out; /* nothing to recompress with */
	ret = zram_recompress_run(zram, &req, &result, true, false);
out:
	up_read(&zram->init_lock);
	return ret ? ret : len;
}

DEVICE_ATTR_RW(recomp_algorithm);
DEVICE_ATTR_WO(recompress);
DEVICE_ATTR_WO(algorithm_params);
