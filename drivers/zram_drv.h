/* SPDX-License-Identifier: GPL-2.0 */
/* State the C layer keeps per disk; the core never sees this header. */
#ifndef ZRAM_DRV_H
#define ZRAM_DRV_H

#include <linux/blkdev.h>
#include <linux/list.h>
#include <linux/rwsem.h>

#include "zcx/abi.h"

/* What zcx_streams points at: one disk's per-CPU compression streams. */
struct zram_streams {
	struct zcx_stream __percpu *percpu;
	struct hlist_node cpuhp_node;
};

struct zram {
	struct gendisk *disk;
	/* Serialises disksize, reset and readers of the stat files. */
	struct rw_semaphore init_lock;
	/* NULL until disksize is set; the I/O path relies on capacity 0. */
	struct zcx_dev *core;
	struct zram_streams streams;
	u64 disksize;
	u64 mem_limit;
	/* Under disk->open_mutex: a reset or removal owns the disk. */
	bool claim;
};

#endif /* ZRAM_DRV_H */
