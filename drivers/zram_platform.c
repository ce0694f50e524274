// SPDX-License-Identifier: GPL-2.0
/*
 * The platform half of include/zcx/abi.h: kernel services for the C++
 * core, which may not include kernel headers itself.
 */
/* First: 6.12's bit_spinlock.h uses cpu_relax() and does not include it. */
#include <asm/processor.h>
#include <linux/bit_spinlock.h>
#include <linux/build_bug.h>
#include <linux/errno.h>
#include <linux/gfp.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/percpu.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/timekeeping.h>
#include <linux/vmalloc.h>

#include "zcx/abi.h"
#include "zram_drv.h"

static_assert(PAGE_SIZE == ZCX_PAGE_SIZE, "the core assumes 4 KiB pages");
static_assert(ZCX_EIO == EIO && ZCX_ENOMEM == ENOMEM && ZCX_EBUSY == EBUSY &&
	      ZCX_EINVAL == EINVAL && ZCX_ENOSPC == ENOSPC &&
	      ZCX_ERANGE == ERANGE, "errno values the core names");
static_assert(sizeof(unsigned long) == 8, "slot words are 64-bit");

static gfp_t to_gfp(enum zcx_gfp gfp)
{
	switch (gfp) {
	case ZCX_GFP_NOWAIT:
		/* No warning: the caller has a sleeping fallback. */
		return GFP_NOWAIT | __GFP_NOWARN;
	case ZCX_GFP_NOIO:
		return GFP_NOIO;
	case ZCX_GFP_KERNEL:
		return GFP_KERNEL;
	}
	return GFP_NOWAIT | __GFP_NOWARN;
}

void *zcx_kzalloc(zcx_size_t size, enum zcx_gfp gfp)
{
	return kzalloc(size, to_gfp(gfp));
}

void zcx_kfree(const void *ptr)
{
	kfree(ptr);
}

/* Sized by the user's disksize: failure is an answer, not a kernel warning. */
void *zcx_vzalloc(zcx_size_t size)
{
	return __vmalloc(size, GFP_KERNEL | __GFP_ZERO | __GFP_NOWARN);
}

void zcx_vfree(const void *ptr)
{
	vfree(ptr);
}

struct zcx_page *zcx_page_alloc(enum zcx_gfp gfp)
{
	return (struct zcx_page *)alloc_page(to_gfp(gfp));
}

void zcx_page_free(struct zcx_page *page)
{
	__free_page((struct page *)page);
}

void zcx_cond_resched(void)
{
	cond_resched();
}

unsigned int zcx_now_seconds(void)
{
	return (unsigned int)ktime_get_boottime_seconds();
}

void zcx_memset64(void *dst, zcx_u64 word, zcx_size_t count)
{
	memset64(dst, word, count);
}

struct zcx_page *zcx_chunk_alloc(enum zcx_gfp gfp, unsigned int order)
{
	gfp_t flags = to_gfp(gfp) & ~__GFP_HIGHMEM;

	if (order)
		flags |= __GFP_NORETRY | __GFP_NOWARN;
	return (struct zcx_page *)alloc_pages(flags, order);
}

void zcx_chunk_free(struct zcx_page *first, unsigned int order)
{
	__free_pages((struct page *)first, order);
}

unsigned long zcx_chunk_pfn(const void *address)
{
	return page_to_pfn(virt_to_page(address));
}

void *zcx_chunk_address(struct zcx_page *first)
{
	return page_address((struct page *)first);
}

unsigned long zcx_page_to_pfn(struct zcx_page *page)
{
	return page_to_pfn((struct page *)page);
}

struct zcx_page *zcx_pfn_to_page(unsigned long pfn)
{
	return (struct zcx_page *)pfn_to_page(pfn);
}

void *zcx_kmap_local(struct zcx_page *page)
{
	return kmap_local_page((struct page *)page);
}

void zcx_kunmap_local(const void *addr)
{
	kunmap_local(addr);
}

struct zcx_pcpu_counter *zcx_pcpu_counter_create(unsigned int n)
{
	return (struct zcx_pcpu_counter *)__alloc_percpu(n * sizeof(u64),
							 sizeof(u64));
}

void zcx_pcpu_counter_destroy(struct zcx_pcpu_counter *counter)
{
	free_percpu((u64 __percpu *)counter);
}

void zcx_pcpu_counter_inc(struct zcx_pcpu_counter *counter, unsigned int i)
{
	this_cpu_inc(((u64 __percpu *)counter)[i]);
}

zcx_u64 zcx_pcpu_counter_sum(const struct zcx_pcpu_counter *counter,
			     unsigned int i)
{
	u64 sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += per_cpu_ptr((u64 __percpu *)counter, cpu)[i];
	return sum;
}

/* One lock class for every pool: pools never nest. */
struct zcx_spinlock *zcx_spinlock_create(void)
{
	spinlock_t *lock = kmalloc(sizeof(*lock), GFP_KERNEL);

	if (lock)
		spin_lock_init(lock);
	return (struct zcx_spinlock *)lock;
}

void zcx_spinlock_destroy(struct zcx_spinlock *lock)
{
	kfree(lock);
}

void zcx_spin_lock(struct zcx_spinlock *lock)
{
	spin_lock((spinlock_t *)lock);
}

void zcx_spin_unlock(struct zcx_spinlock *lock)
{
	spin_unlock((spinlock_t *)lock);
}

void zcx_bit_lock(unsigned int bit, unsigned long *word)
{
	bit_spin_lock(bit, word);
}

int zcx_bit_trylock(unsigned int bit, unsigned long *word)
{
	return bit_spin_trylock(bit, word);
}

void zcx_bit_unlock(unsigned int bit, unsigned long *word)
{
	bit_spin_unlock(bit, word);
}

void zcx_report_corrupt(unsigned long index, int codec_status)
{
	pr_err_ratelimited("zram: page %lu does not decompress (codec status %d), read fails with EIO\n",
			   index, codec_status);
}
