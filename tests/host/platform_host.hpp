// SPDX-License-Identifier: GPL-2.0
// Test knobs of the user-space platform (platform_host.cpp).
//
// The host platform enforces the kernel's rules that the core relies on and
// abort()s with a message when they are broken: no sleeping allocation with
// preemption off or a spinlock / bit lock held, kmap_local strictly LIFO and
// less than 16 deep, no unknown or double page frees, balanced preemption.
#pragma once

#include "zcx/abi.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

namespace host {

inline constexpr unsigned kForever = ~0u;

// ---- Fault injection (all knobs are process-wide and thread-safe) ----

// After `skip` more successful calls, the next n zcx_kzalloc calls with
// this gfp return NULL (n = kForever: all of them).
void fail_kzalloc(zcx_gfp gfp, unsigned n, unsigned skip = 0);
// The same for zcx_page_alloc and zcx_chunk_alloc together.
void fail_page_alloc(zcx_gfp gfp, unsigned n, unsigned skip = 0);
// Page allocations fail where they would take more than this many pages
// live (SIZE_MAX: no cap).  Keeps a runaway allocator from eating the
// host's memory.
void set_page_cap(std::size_t max_live_pages);
// Every zcx_chunk_alloc of order > 0 fails, as on a fragmented system.
void fail_multipage_chunks(bool fail);
void fail_vzalloc(unsigned n);
void fail_spinlock_create(unsigned n);
// The next n zcx_group_codec_create calls return NULL, the next n
// zcx_group_buffers_prepare calls -ZCX_ENOMEM.
void fail_group_codec_create(unsigned n);
void fail_group_buffers_prepare(unsigned n);
// Drops every injected failure and the page cap.
void reset_faults();

// ---- Pages ----

std::size_t live_pages(); // every page of every chunk counts
// The first page of each live allocation: single pages and chunks.
std::vector<zcx_page *> live_page_list();
unsigned page_order(zcx_page *first);
std::uint8_t *page_bytes(zcx_page *page); // direct access, no kmap
// Successful page and chunk allocations per gfp since the last
// reset_counters().
std::uint64_t page_allocs(zcx_gfp gfp);
// Frees every live page: clean-up after a test that failed mid-way, so that
// one failure does not turn into leak reports for the rest.
void free_all_pages();

// ---- Other allocations ----

std::size_t live_kzallocs(); // includes spinlocks
std::size_t live_vzallocs();

// ---- Context ----

int preempt_depth();  // this thread; spinlocks and bit locks count too
int kmap_depth();     // this thread
// The word and bit of this thread's most recent bit lock / trylock, so a
// test can take a slot's lock itself.
unsigned long *last_bit_lock_word();
unsigned last_bit_lock_bit();

// ---- Corruption reports ----

struct CorruptReports {
	std::uint64_t count;
	unsigned long last_index;
	int last_status;
};
CorruptReports corrupt_reports();

// zcx_decompress calls for more than a page: groups decompressed.
std::uint64_t group_decompressions();
void reset_counters(); // page_allocs, corrupt reports, group decompressions

// ---- Clock and backing device ----

// zcx_now_seconds() returns this; tests move it.
void set_now_seconds(unsigned int now);
// Blocks the core has freed through zcx_backing_free, in order.
std::vector<unsigned long> backing_frees();
// zcx_backing_read_begin calls so far (each checked to hold a slot lock).
unsigned long backing_reads();
// Called after the platform's own bookkeeping, for a model of the C
// layer's block allocator; empty functions: none.  Set while no other
// thread runs the core.
struct BackingHooks {
	std::function<void(unsigned long)> free;
	std::function<unsigned int(unsigned long)> begin; // the read's tag
};
void set_backing_hooks(BackingHooks hooks);

// ---- Compression streams ----

// One zcx_stream per calling thread (a thread is a CPU here), created on
// first use and freed with the set.
zcx_host *streams_create();
void streams_destroy(zcx_host *streams);
// Gives the disk a secondary algorithm of this priority (1..3): LZO1X-999
// in a format of its own (platform_host.cpp).
void configure_priority(zcx_host *streams, unsigned int priority);

// ---- Grouped recompression ----

// zcx_group_codec_create's codecs not yet destroyed, of every disk.
std::size_t live_group_codecs();
// Whether zcx_group_buffers_prepare succeeded on this disk (each thread's
// buffers are made on its first get and freed with the disk).
bool group_buffers_prepared(zcx_host *streams);
// Called by zcx_group_compress before it compresses, where the core holds
// no lock: a test's writes there land between a run's copy of a group and
// its commit.  Empty: none.  Set while no other thread runs the core.
void set_group_compress_hook(std::function<void()> hook);

// ---- Race points (include/zcx/abi.h) ----

// Called at every zcx_race_point the core passes, on the thread that
// passes it.  Empty: none.  Set while no other thread runs the core.
void set_race_hook(std::function<void(zcx_race)> hook);

} // namespace host

// The host's model of preemption, which its locks and streams share.  Not
// part of the core's ABI: the core enters non-sleeping sections only
// through locks and zcx_stream_get().
extern "C" {
void zcx_preempt_disable(void);
void zcx_preempt_enable(void);
}
