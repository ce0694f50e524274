// SPDX-License-Identifier: GPL-2.0
// The platform half of include/zcx/abi.h for user space.  Besides standing
// in for the kernel it checks the kernel's rules the core must follow, since
// breaking them on the host would otherwise go unnoticed: see
// platform_host.hpp.
#include "platform_host.hpp"

#include <lzo/lzo1x.h>

#include <atomic>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <set>
#include <thread>
#include <unordered_set>
#include <vector>

#include <sched.h>

namespace {

[[noreturn]] __attribute__((format(printf, 1, 2))) void die(const char *fmt,
							      ...)
{
	va_list ap;
	va_start(ap, fmt);
	std::fputs("platform_host: ", stderr);
	std::vfprintf(stderr, fmt, ap);
	std::fputc('\n', stderr);
	va_end(ap);
	std::abort();
}

constexpr std::uintptr_t kPageMask = ZCX_PAGE_SIZE - 1;
constexpr int kMaxKmapDepth = 16; // the kernel's KM_MAX_IDX
// The kernel bounds nested bit locks only by preempt_count (255); moving
// a group object holds every live member's lock, with a few to spare.
constexpr int kMaxHeldBitLocks = 2 * ZCX_GROUP_MAX_PAGES;

const char *gfp_name(zcx_gfp gfp)
{
	switch (gfp) {
	case ZCX_GFP_NOWAIT: return "NOWAIT";
	case ZCX_GFP_NOIO: return "NOIO";
	case ZCX_GFP_KERNEL: return "KERNEL";
	}
	die("invalid zcx_gfp %d", static_cast<int>(gfp));
}

unsigned gfp_index(zcx_gfp gfp)
{
	gfp_name(gfp); // validates
	return static_cast<unsigned>(gfp);
}

// Let `skip` calls succeed, then fail `fail` (host::kForever = always).
struct Fault {
	unsigned skip;
	unsigned fail;
};

bool take_failure(Fault &f)
{
	if (f.fail == 0)
		return false;
	if (f.skip) {
		f.skip--;
		return false;
	}
	if (f.fail != host::kForever)
		f.fail--;
	return true;
}

// Function-local statics: no dependence on static initialisation order.
struct State {
	std::mutex mu;
	Fault kzalloc_faults[3] = {};
	Fault page_faults[3] = {};
	Fault vzalloc_faults = {};
	Fault spinlock_faults = {};
	Fault group_codec_faults = {};
	Fault group_buffers_faults = {};
	std::size_t group_codecs = 0; // live zcx_group_codec objects
	std::size_t page_cap = SIZE_MAX;
	bool fail_multipage = false;
	// Registries of live memory.  pages: first page of each allocation
	// (a single page or a chunk) -> its order; npages: pages in all.
	std::map<std::uintptr_t, unsigned> pages;
	std::size_t npages = 0;
	std::unordered_set<const void *> kzallocs;
	std::unordered_set<const void *> vzallocs;
	std::uint64_t page_allocs[3] = {};
	host::CorruptReports corrupt = {};
};

State &state()
{
	static State s;
	return s;
}

// Per-thread context: a host thread plays one CPU.
thread_local int t_preempt;
thread_local int t_spinlocks;
thread_local std::uintptr_t t_kmaps[kMaxKmapDepth];
thread_local int t_kmap_depth;
struct HeldBit {
	unsigned long *word;
	unsigned bit;
};
thread_local HeldBit t_bits[kMaxHeldBitLocks];
thread_local int t_nbits;
thread_local unsigned long *t_last_bit_word;
thread_local unsigned t_last_bit;
// Inside zcx_group_buffers_get .. put: the CPU's buffers are handed out.
thread_local int t_group_buffers;
// host::group_decompressions().
std::atomic<std::uint64_t> g_group_decompressions;

// The kernel's might_sleep(): sleeping allocations need process context.
void might_sleep(const char *what, zcx_gfp gfp)
{
	if (gfp == ZCX_GFP_NOWAIT)
		return;
	if (t_preempt > 0)
		die("%s(GFP_%s) may sleep but runs in atomic context "
		    "(preempt depth %d, %d spinlock(s), %d bit lock(s) held)",
		    what, gfp_name(gfp), t_preempt, t_spinlocks, t_nbits);
}

void check_live_page(std::uintptr_t addr, const char *what)
{
	State &s = state();
	std::lock_guard<std::mutex> g(s.mu);
	if (!s.pages.count(addr))
		die("%s: %#lx is not a live page", what,
		    static_cast<unsigned long>(addr));
}

unsigned long bit_mask(unsigned bit, const char *what)
{
	if (bit >= sizeof(unsigned long) * 8)
		die("%s: bit %u out of range", what, bit);
	return 1UL << bit;
}

void note_bit(unsigned long *word, unsigned bit)
{
	t_last_bit_word = word;
	t_last_bit = bit;
}

void push_held_bit(unsigned long *word, unsigned bit)
{
	if (t_nbits == kMaxHeldBitLocks)
		die("more than %d bit locks held", kMaxHeldBitLocks);
	t_bits[t_nbits++] = {word, bit};
}

void check_not_held(unsigned long *word, unsigned bit)
{
	for (int i = 0; i < t_nbits; i++) {
		if (t_bits[i].word == word && t_bits[i].bit == bit)
			die("bit lock %u of %p taken twice by one thread "
			    "(self-deadlock)",
			    bit, static_cast<void *>(word));
	}
}

void pop_held_bit(unsigned long *word, unsigned bit)
{
	for (int i = t_nbits - 1; i >= 0; i--) {
		if (t_bits[i].word == word && t_bits[i].bit == bit) {
			t_bits[i] = t_bits[--t_nbits];
			return;
		}
	}
	die("bit unlock %u of %p by a thread that does not hold it", bit,
	    static_cast<void *>(word));
}

void ensure_lzo_init()
{
	static const bool ok = lzo_init() == LZO_E_OK;
	if (!ok)
		die("lzo_init failed");
}

} // namespace

struct zcx_spinlock {
	std::mutex mu;
	std::atomic<std::thread::id> owner{};
};

namespace {

struct HostStream {
	zcx_stream stream{};
	~HostStream()
	{
		std::free(stream.buffer);
		std::free(stream.ctx);
	}
};

struct HostGroupBuffers {
	zcx_group_buffers buffers{};
	~HostGroupBuffers()
	{
		std::free(buffers.packed);
		for (void *plain : buffers.plain)
			std::free(plain);
	}
};

} // namespace

struct zcx_host {
	std::mutex mu;
	// Priority 0 always; others once host::configure_priority says so.
	unsigned int priorities = 1;
	std::map<std::pair<std::thread::id, unsigned int>,
		 std::unique_ptr<HostStream>>
		per_thread;
	// After zcx_group_buffers_prepare: each thread's, made on first get.
	bool group_buffers_prepared = false;
	std::map<std::thread::id, std::unique_ptr<HostGroupBuffers>>
		group_buffers;
};

// A recompression run's group compressor: its own work area, no stream.
struct zcx_group_codec {
	zcx_host *host;
	unsigned int priority;
	zcx_size_t max_src;
	void *wrkmem;
};

extern "C" {

void *zcx_kzalloc(zcx_size_t size, zcx_gfp gfp)
{
	might_sleep("zcx_kzalloc", gfp);
	State &s = state();
	std::lock_guard<std::mutex> g(s.mu);
	if (take_failure(s.kzalloc_faults[gfp_index(gfp)]))
		return nullptr;
	void *p = std::calloc(1, size ? size : 1);
	if (p)
		s.kzallocs.insert(p);
	return p;
}

void zcx_kfree(const void *ptr)
{
	if (!ptr)
		return;
	State &s = state();
	{
		std::lock_guard<std::mutex> g(s.mu);
		if (!s.kzallocs.erase(ptr))
			die("zcx_kfree(%p): not from zcx_kzalloc, or freed twice",
			    ptr);
	}
	std::free(const_cast<void *>(ptr));
}

void *zcx_vzalloc(zcx_size_t size)
{
	might_sleep("zcx_vzalloc", ZCX_GFP_KERNEL);
	State &s = state();
	std::lock_guard<std::mutex> g(s.mu);
	if (take_failure(s.vzalloc_faults))
		return nullptr;
	void *p = std::calloc(1, size ? size : 1);
	if (p)
		s.vzallocs.insert(p);
	return p;
}

void zcx_vfree(const void *ptr)
{
	if (!ptr)
		return;
	State &s = state();
	{
		std::lock_guard<std::mutex> g(s.mu);
		if (!s.vzallocs.erase(ptr))
			die("zcx_vfree(%p): not from zcx_vzalloc, or freed twice",
			    ptr);
	}
	std::free(const_cast<void *>(ptr));
}

namespace {

zcx_page *pages_alloc(const char *what, zcx_gfp gfp, unsigned order)
{
	might_sleep(what, gfp);
	if (order > 2)
		die("%s: order %u, the pool never asks above 2", what, order);
	State &s = state();
	std::lock_guard<std::mutex> g(s.mu);
	const unsigned i = gfp_index(gfp);
	const std::size_t n = std::size_t{1} << order;
	if ((order && s.fail_multipage) || take_failure(s.page_faults[i]) ||
	    s.npages + n > s.page_cap)
		return nullptr;
	void *mem = std::aligned_alloc(ZCX_PAGE_SIZE, n * ZCX_PAGE_SIZE);
	if (!mem)
		return nullptr;
	// alloc_pages() without __GFP_ZERO hands out stale data.
	std::memset(mem, 0xa5, n * ZCX_PAGE_SIZE);
	s.pages[reinterpret_cast<std::uintptr_t>(mem)] = order;
	s.npages += n;
	s.page_allocs[i]++;
	return static_cast<zcx_page *>(mem);
}

void pages_free(const char *what, zcx_page *page, unsigned order)
{
	State &s = state();
	{
		std::lock_guard<std::mutex> g(s.mu);
		auto it = s.pages.find(reinterpret_cast<std::uintptr_t>(page));
		if (it == s.pages.end())
			die("%s(%p): not a live page (double or foreign free)",
			    what, static_cast<void *>(page));
		if (it->second != order)
			die("%s(%p, order %u): allocated with order %u", what,
			    static_cast<void *>(page), order, it->second);
		s.npages -= std::size_t{1} << order;
		s.pages.erase(it);
	}
	std::free(page);
}

} // namespace

zcx_page *zcx_page_alloc(zcx_gfp gfp)
{
	return pages_alloc("zcx_page_alloc", gfp, 0);
}

void zcx_page_free(zcx_page *page) { pages_free("zcx_page_free", page, 0); }

zcx_page *zcx_chunk_alloc(zcx_gfp gfp, unsigned int order)
{
	return pages_alloc("zcx_chunk_alloc", gfp, order);
}

void zcx_chunk_free(zcx_page *first, unsigned int order)
{
	pages_free("zcx_chunk_free", first, order);
}

void *zcx_chunk_address(zcx_page *first)
{
	check_live_page(reinterpret_cast<std::uintptr_t>(first),
			"zcx_chunk_address");
	return first;
}

unsigned long zcx_chunk_pfn(const void *address)
{
	const auto addr = reinterpret_cast<std::uintptr_t>(address);
	check_live_page(addr, "zcx_chunk_pfn");
	return addr >> ZCX_PAGE_SHIFT;
}

unsigned long zcx_page_to_pfn(zcx_page *page)
{
	const auto addr = reinterpret_cast<std::uintptr_t>(page);
	check_live_page(addr, "zcx_page_to_pfn");
	return addr >> ZCX_PAGE_SHIFT;
}

zcx_page *zcx_pfn_to_page(unsigned long pfn)
{
	const std::uintptr_t addr = std::uintptr_t{pfn} << ZCX_PAGE_SHIFT;
	check_live_page(addr, "zcx_pfn_to_page");
	return reinterpret_cast<zcx_page *>(addr);
}

void *zcx_kmap_local(zcx_page *page)
{
	const auto addr = reinterpret_cast<std::uintptr_t>(page);
	check_live_page(addr, "zcx_kmap_local");
	if (t_kmap_depth + 1 >= kMaxKmapDepth)
		die("kmap_local nested %d deep (KM_MAX_IDX is %d)",
		    t_kmap_depth + 1, kMaxKmapDepth);
	t_kmaps[t_kmap_depth++] = addr;
	return page;
}

void zcx_kunmap_local(const void *addr)
{
	const auto page = reinterpret_cast<std::uintptr_t>(addr) & ~kPageMask;
	if (t_kmap_depth == 0)
		die("kunmap_local(%p) with nothing mapped", addr);
	if (t_kmaps[t_kmap_depth - 1] != page)
		die("kunmap_local(%p) out of order: last mapped %#lx", addr,
		    static_cast<unsigned long>(t_kmaps[t_kmap_depth - 1]));
	t_kmap_depth--;
}

// A CPU is a thread here: each thread bumps its own line of 64, picked
// once per thread, so threads seldom share one (as CPUs never do).
struct zcx_pcpu_counter {
	explicit zcx_pcpu_counter(unsigned int count) : n(count), counts(64 * count) {}
	unsigned int n;
	std::vector<std::atomic<std::uint64_t>> counts;
};

zcx_pcpu_counter *zcx_pcpu_counter_create(unsigned int n)
{
	might_sleep("zcx_pcpu_counter_create", ZCX_GFP_KERNEL);
	return new zcx_pcpu_counter(n);
}

void zcx_pcpu_counter_destroy(zcx_pcpu_counter *counter) { delete counter; }

void zcx_pcpu_counter_inc(zcx_pcpu_counter *counter, unsigned int i)
{
	static std::atomic<unsigned> next_cpu{0};
	thread_local const unsigned cpu = next_cpu++ % 64;
	if (i >= counter->n)
		die("zcx_pcpu_counter_inc(%u) of %u counters", i, counter->n);
	counter->counts[cpu * counter->n + i].fetch_add(1, std::memory_order_relaxed);
}

zcx_u64 zcx_pcpu_counter_sum(const zcx_pcpu_counter *counter, unsigned int i)
{
	zcx_u64 sum = 0;
	for (unsigned cpu = 0; cpu < 64; cpu++)
		sum += counter->counts[cpu * counter->n + i].load(std::memory_order_relaxed);
	return sum;
}

zcx_spinlock *zcx_spinlock_create(void)
{
	might_sleep("zcx_spinlock_create", ZCX_GFP_KERNEL);
	{
		State &s = state();
		std::lock_guard<std::mutex> g(s.mu);
		if (take_failure(s.spinlock_faults))
			return nullptr;
	}
	void *mem = zcx_kzalloc(sizeof(zcx_spinlock), ZCX_GFP_KERNEL);
	return mem ? new (mem) zcx_spinlock : nullptr;
}

void zcx_spinlock_destroy(zcx_spinlock *lock)
{
	if (!lock)
		return;
	if (lock->owner.load() != std::thread::id{})
		die("spinlock %p destroyed while held", static_cast<void *>(lock));
	lock->~zcx_spinlock();
	zcx_kfree(lock);
}

void zcx_preempt_disable(void) { t_preempt++; }

void zcx_preempt_enable(void)
{
	if (t_preempt <= 0)
		die("preempt_enable without preempt_disable");
	t_preempt--;
}

void zcx_spin_lock(zcx_spinlock *lock)
{
	zcx_preempt_disable();
	if (lock->owner.load() == std::this_thread::get_id())
		die("spin_lock(%p) twice on one thread (self-deadlock)",
		    static_cast<void *>(lock));
	lock->mu.lock();
	lock->owner.store(std::this_thread::get_id());
	t_spinlocks++;
}

void zcx_spin_unlock(zcx_spinlock *lock)
{
	if (lock->owner.load() != std::this_thread::get_id())
		die("spin_unlock(%p) by a thread that does not hold it",
		    static_cast<void *>(lock));
	t_spinlocks--;
	lock->owner.store(std::thread::id{});
	lock->mu.unlock();
	zcx_preempt_enable();
}

void zcx_bit_lock(unsigned int bit, unsigned long *word)
{
	const unsigned long mask = bit_mask(bit, "zcx_bit_lock");
	zcx_preempt_disable();
	note_bit(word, bit);
	check_not_held(word, bit);
	while (__atomic_fetch_or(word, mask, __ATOMIC_ACQUIRE) & mask) {
		// Two CPUs here may be many threads: let the holder run.
		while (__atomic_load_n(word, __ATOMIC_RELAXED) & mask)
			sched_yield();
	}
	push_held_bit(word, bit);
}

int zcx_bit_trylock(unsigned int bit, unsigned long *word)
{
	const unsigned long mask = bit_mask(bit, "zcx_bit_trylock");
	zcx_preempt_disable();
	note_bit(word, bit);
	if (__atomic_fetch_or(word, mask, __ATOMIC_ACQUIRE) & mask) {
		zcx_preempt_enable();
		return 0;
	}
	push_held_bit(word, bit);
	return 1;
}

void zcx_bit_unlock(unsigned int bit, unsigned long *word)
{
	const unsigned long mask = bit_mask(bit, "zcx_bit_unlock");
	if (!(__atomic_load_n(word, __ATOMIC_RELAXED) & mask))
		die("bit unlock %u of %p: not locked", bit,
		    static_cast<void *>(word));
	pop_held_bit(word, bit);
	__atomic_fetch_and(word, ~mask, __ATOMIC_RELEASE);
	zcx_preempt_enable();
}

// Like the kernel's per-CPU section: preemption stays off until put.
zcx_stream *zcx_stream_get(zcx_host *streams, unsigned int priority)
{
	zcx_preempt_disable();
	std::lock_guard<std::mutex> g(streams->mu);
	if (priority >= ZCX_MAX_PRIORITIES ||
	    !(streams->priorities & (1u << priority)))
		die("zcx_stream_get of priority %u, which the disk has not configured",
		    priority);
	auto &slot = streams->per_thread[{std::this_thread::get_id(), priority}];
	if (!slot) {
		slot = std::make_unique<HostStream>();
		// Exact sizes, so ASan catches a stream overrun.
		slot->stream.buffer = std::malloc(ZCX_STREAM_BUFFER_SIZE);
		slot->stream.ctx = std::malloc(priority ? LZO1X_999_MEM_COMPRESS
							: LZO1X_1_MEM_COMPRESS);
		if (!slot->stream.buffer || !slot->stream.ctx)
			die("out of memory for a stream");
	}
	return &slot->stream;
}

void zcx_stream_put(zcx_host *)
{
	if (t_preempt <= 0)
		die("zcx_stream_put without zcx_stream_get");
	zcx_preempt_enable();
}

namespace {

// The host's algorithms: priority 0 is LZO1X-1 (liblzo2), the kernel's
// "lzo"; the secondary ones are LZO1X-999, denser and slower, each with
// its output XORed with a key of its own, so that decoding an object with
// another priority's decompressor fails, as it would between real
// algorithms.
unsigned char priority_key(unsigned int priority) { return 0x3b * priority; }

void check_priority(zcx_host *host, unsigned int priority, const char *what)
{
	const unsigned int configured = host ? host->priorities : 1;
	if (priority >= ZCX_MAX_PRIORITIES || !(configured & (1u << priority)))
		die("%s with priority %u, which the disk has not configured",
		    what, priority);
}

} // namespace

int zcx_compress(zcx_host *host, unsigned int priority, zcx_stream *stream,
		 const void *src, zcx_size_t *dst_len)
{
	check_priority(host, priority, "zcx_compress");
	ensure_lzo_init();
	lzo_uint out_len = 0;
	auto *out = static_cast<unsigned char *>(stream->buffer);
	const auto *in = static_cast<const unsigned char *>(src);
	const int rc = priority
		? lzo1x_999_compress(in, ZCX_PAGE_SIZE, out, &out_len, stream->ctx)
		: lzo1x_1_compress(in, ZCX_PAGE_SIZE, out, &out_len, stream->ctx);
	for (lzo_uint i = 0; priority && i < out_len; i++)
		out[i] ^= priority_key(priority);
	*dst_len = out_len;
	return rc;
}

int zcx_decompress(zcx_host *host, unsigned int priority, const void *src,
		   zcx_size_t src_len, void *dst, zcx_size_t *dst_len)
{
	check_priority(host, priority, "zcx_decompress");
	if (*dst_len > ZCX_PAGE_SIZE)
		g_group_decompressions++;
	ensure_lzo_init();
	const auto *in = static_cast<const unsigned char *>(src);
	std::vector<unsigned char> plain; // priority 0 (benchmarks) copies nothing
	if (priority) {
		plain.assign(in, in + src_len);
		for (auto &b : plain)
			b ^= priority_key(priority);
		in = plain.data();
	}
	lzo_uint out_len = *dst_len; // in: capacity, out: produced
	const int rc = lzo1x_decompress_safe(in, src_len,
					     static_cast<unsigned char *>(dst),
					     &out_len, nullptr);
	*dst_len = out_len;
	return rc;
}

namespace {

std::function<void()> group_compress_hook;
std::function<void(zcx_race)> race_hook;

// The kernel's lzo1x_worst_compress: what the C layer demands of dst
// before it lets lib/lzo, which never checks, write there.
constexpr zcx_size_t lzo_worst(zcx_size_t n) { return n + n / 16 + 64 + 3 + 2; }
static_assert(lzo_worst(ZCX_GROUP_MAX_BYTES) == ZCX_GROUP_COMPRESS_BOUND);

} // namespace

zcx_group_codec *zcx_group_codec_create(zcx_host *host, unsigned int priority,
					zcx_size_t max_src)
{
	might_sleep("zcx_group_codec_create", ZCX_GFP_KERNEL);
	check_priority(host, priority, "zcx_group_codec_create");
	if (max_src == 0)
		die("zcx_group_codec_create for 0 bytes of input");
	{
		State &s = state();
		std::lock_guard<std::mutex> g(s.mu);
		if (take_failure(s.group_codec_faults))
			return nullptr;
		s.group_codecs++;
	}
	auto *codec = new zcx_group_codec{host, priority, max_src, nullptr};
	// Exact size, so ASan catches an overrun.
	codec->wrkmem = std::malloc(priority ? LZO1X_999_MEM_COMPRESS
					     : LZO1X_1_MEM_COMPRESS);
	if (!codec->wrkmem)
		die("out of memory for a group codec");
	return codec;
}

void zcx_group_codec_destroy(zcx_host *host, zcx_group_codec *codec)
{
	if (!codec)
		return;
	if (codec->host != host)
		die("zcx_group_codec_destroy(%p) with another disk's host",
		    static_cast<void *>(codec));
	{
		State &s = state();
		std::lock_guard<std::mutex> g(s.mu);
		if (s.group_codecs == 0)
			die("zcx_group_codec_destroy(%p): none is live",
			    static_cast<void *>(codec));
		s.group_codecs--;
	}
	std::free(codec->wrkmem);
	delete codec;
}

// The same algorithms as zcx_compress, on the group's bytes.
int zcx_group_compress(zcx_host *host, zcx_group_codec *codec, const void *src,
		       zcx_size_t src_len, void *dst, zcx_size_t *dst_len)
{
	if (!codec || codec->host != host)
		die("zcx_group_compress with a codec of another disk, or none");
	// abi.h: a whole group compresses preemptibly, never under a lock.
	if (t_preempt > 0)
		die("zcx_group_compress in atomic context (preempt depth %d, "
		    "%d spinlock(s), %d bit lock(s) held)",
		    t_preempt, t_spinlocks, t_nbits);
	if (group_compress_hook)
		group_compress_hook();
	if (src_len > codec->max_src)
		return -ZCX_EINVAL;
	if (*dst_len < lzo_worst(src_len))
		return -ZCX_ENOSPC;
	ensure_lzo_init();
	lzo_uint out_len = 0;
	auto *out = static_cast<unsigned char *>(dst);
	const auto *in = static_cast<const unsigned char *>(src);
	const unsigned int priority = codec->priority;
	const int rc = priority
		? lzo1x_999_compress(in, src_len, out, &out_len, codec->wrkmem)
		: lzo1x_1_compress(in, src_len, out, &out_len, codec->wrkmem);
	if (rc != LZO_E_OK)
		return rc;
	for (lzo_uint i = 0; priority && i < out_len; i++)
		out[i] ^= priority_key(priority);
	*dst_len = out_len;
	return 0;
}

int zcx_group_buffers_prepare(zcx_host *host)
{
	might_sleep("zcx_group_buffers_prepare", ZCX_GFP_KERNEL);
	{
		State &s = state();
		std::lock_guard<std::mutex> g(s.mu);
		if (take_failure(s.group_buffers_faults))
			return -ZCX_ENOMEM;
	}
	std::lock_guard<std::mutex> g(host->mu);
	host->group_buffers_prepared = true;
	return 0;
}

// Like the kernel's per-CPU section: preemption stays off until put.
zcx_group_buffers *zcx_group_buffers_get(zcx_host *host)
{
	zcx_preempt_disable();
	if (t_group_buffers)
		die("zcx_group_buffers_get twice on one CPU: the second would "
		    "get the buffers the first is using");
	t_group_buffers++;
	std::lock_guard<std::mutex> g(host->mu);
	if (!host->group_buffers_prepared)
		die("zcx_group_buffers_get before zcx_group_buffers_prepare");
	auto &slot = host->group_buffers[std::this_thread::get_id()];
	if (!slot) {
		slot = std::make_unique<HostGroupBuffers>();
		// Exact sizes, so ASan catches an overrun; stale contents,
		// as vmalloc's.
		slot->buffers.packed = std::malloc(ZCX_GROUP_MAX_BYTES);
		if (!slot->buffers.packed)
			die("out of memory for group buffers");
		std::memset(slot->buffers.packed, 0xa5, ZCX_GROUP_MAX_BYTES);
		for (void *&plain : slot->buffers.plain) {
			plain = std::malloc(ZCX_GROUP_MAX_BYTES);
			if (!plain)
				die("out of memory for group buffers");
			std::memset(plain, 0xa5, ZCX_GROUP_MAX_BYTES);
		}
	}
	return &slot->buffers;
}

void zcx_group_buffers_put(zcx_host *)
{
	if (t_group_buffers <= 0)
		die("zcx_group_buffers_put without zcx_group_buffers_get");
	t_group_buffers--;
	zcx_preempt_enable();
}

namespace {
std::atomic<unsigned int> fake_now{1000};
std::mutex backing_mu;
std::vector<unsigned long> backing_freed;
std::atomic<unsigned long> backing_reads_begun{0};
host::BackingHooks backing_hooks;
} // namespace

unsigned int zcx_now_seconds(void) { return fake_now.load(); }

// cond_resched() may sleep: the same check as a sleeping allocation.
void zcx_cond_resched(void)
{
	might_sleep("zcx_cond_resched", ZCX_GFP_KERNEL);
	std::this_thread::yield();
}

void zcx_memset64(void *dst, zcx_u64 word, zcx_size_t count)
{
	auto *out = static_cast<unsigned char *>(dst);
	for (zcx_size_t i = 0; i < count; i++)
		std::memcpy(out + i * sizeof(word), &word, sizeof(word));
}

// Called with a slot lock held (or from swap's spinlock): may not sleep.
void zcx_backing_free(zcx_host *, unsigned long block)
{
	{
		std::lock_guard<std::mutex> g(backing_mu);
		backing_freed.push_back(block);
	}
	if (backing_hooks.free)
		backing_hooks.free(block);
}

// The contract: under the lock of the slot naming the block.
unsigned int zcx_backing_read_begin(zcx_host *, unsigned long block)
{
	if (t_nbits == 0)
		die("zcx_backing_read_begin(%lu) without a slot lock", block);
	backing_reads_begun.fetch_add(1);
	return backing_hooks.begin ? backing_hooks.begin(block) : 0;
}

void zcx_report_corrupt(unsigned long index, int codec_status)
{
	State &s = state();
	std::lock_guard<std::mutex> g(s.mu);
	s.corrupt.count++;
	s.corrupt.last_index = index;
	s.corrupt.last_status = codec_status;
}

} // extern "C"

static_assert(sizeof(lzo_uint) == sizeof(zcx_size_t),
	      "lzo_uint and size_t differ: convert through a temporary");

namespace host {

void fail_kzalloc(zcx_gfp gfp, unsigned n, unsigned skip)
{
	State &s = state();
	std::lock_guard<std::mutex> g(s.mu);
	s.kzalloc_faults[gfp_index(gfp)] = {skip, n};
}

void fail_page_alloc(zcx_gfp gfp, unsigned n, unsigned skip)
{
	State &s = state();
	std::lock_guard<std::mutex> g(s.mu);
	s.page_faults[gfp_index(gfp)] = {skip, n};
}

void set_page_cap(std::size_t max_live_pages)
{
	State &s = state();
	std::lock_guard<std::mutex> g(s.mu);
	s.page_cap = max_live_pages;
}

void fail_vzalloc(unsigned n)
{
	State &s = state();
	std::lock_guard<std::mutex> g(s.mu);
	s.vzalloc_faults = {0, n};
}

void fail_spinlock_create(unsigned n)
{
	State &s = state();
	std::lock_guard<std::mutex> g(s.mu);
	s.spinlock_faults = {0, n};
}

void fail_group_codec_create(unsigned n)
{
	State &s = state();
	std::lock_guard<std::mutex> g(s.mu);
	s.group_codec_faults = {0, n};
}

void fail_group_buffers_prepare(unsigned n)
{
	State &s = state();
	std::lock_guard<std::mutex> g(s.mu);
	s.group_buffers_faults = {0, n};
}

std::size_t live_group_codecs()
{
	State &s = state();
	std::lock_guard<std::mutex> g(s.mu);
	return s.group_codecs;
}

bool group_buffers_prepared(zcx_host *host)
{
	std::lock_guard<std::mutex> g(host->mu);
	return host->group_buffers_prepared;
}

void set_group_compress_hook(std::function<void()> hook)
{
	group_compress_hook = std::move(hook);
}

void set_race_hook(std::function<void(zcx_race)> hook)
{
	race_hook = std::move(hook);
}

void reset_faults()
{
	State &s = state();
	std::lock_guard<std::mutex> g(s.mu);
	for (unsigned i = 0; i < 3; i++)
		s.kzalloc_faults[i] = s.page_faults[i] = {};
	s.vzalloc_faults = {};
	s.spinlock_faults = {};
	s.group_codec_faults = {};
	s.group_buffers_faults = {};
	s.page_cap = SIZE_MAX;
	s.fail_multipage = false;
}

void fail_multipage_chunks(bool fail)
{
	State &s = state();
	std::lock_guard<std::mutex> g(s.mu);
	s.fail_multipage = fail;
}

std::size_t live_pages()
{
	State &s = state();
	std::lock_guard<std::mutex> g(s.mu);
	return s.npages;
}

std::vector<zcx_page *> live_page_list()
{
	State &s = state();
	std::lock_guard<std::mutex> g(s.mu);
	std::vector<zcx_page *> out;
	for (const auto &[addr, order] : s.pages)
		out.push_back(reinterpret_cast<zcx_page *>(addr));
	return out;
}

unsigned page_order(zcx_page *first)
{
	State &s = state();
	std::lock_guard<std::mutex> g(s.mu);
	auto it = s.pages.find(reinterpret_cast<std::uintptr_t>(first));
	if (it == s.pages.end())
		die("page_order(%p): not a live allocation",
		    static_cast<void *>(first));
	return it->second;
}

std::uint8_t *page_bytes(zcx_page *page)
{
	return reinterpret_cast<std::uint8_t *>(page);
}

std::uint64_t page_allocs(zcx_gfp gfp)
{
	State &s = state();
	std::lock_guard<std::mutex> g(s.mu);
	return s.page_allocs[gfp_index(gfp)];
}

void free_all_pages()
{
	State &s = state();
	std::lock_guard<std::mutex> g(s.mu);
	for (const auto &[addr, order] : s.pages)
		std::free(reinterpret_cast<void *>(addr));
	s.pages.clear();
	s.npages = 0;
}

std::size_t live_kzallocs()
{
	State &s = state();
	std::lock_guard<std::mutex> g(s.mu);
	return s.kzallocs.size();
}

std::size_t live_vzallocs()
{
	State &s = state();
	std::lock_guard<std::mutex> g(s.mu);
	return s.vzallocs.size();
}

int preempt_depth() { return t_preempt; }
int kmap_depth() { return t_kmap_depth; }
unsigned long *last_bit_lock_word() { return t_last_bit_word; }
unsigned last_bit_lock_bit() { return t_last_bit; }

void set_now_seconds(unsigned int now) { fake_now.store(now); }

std::vector<unsigned long> backing_frees()
{
	std::lock_guard<std::mutex> g(backing_mu);
	return backing_freed;
}

unsigned long backing_reads() { return backing_reads_begun.load(); }

void set_backing_hooks(BackingHooks hooks) { backing_hooks = std::move(hooks); }

CorruptReports corrupt_reports()
{
	State &s = state();
	std::lock_guard<std::mutex> g(s.mu);
	return s.corrupt;
}

void reset_counters()
{
	State &s = state();
	std::lock_guard<std::mutex> g(s.mu);
	for (auto &n : s.page_allocs)
		n = 0;
	s.corrupt = {};
	g_group_decompressions = 0;
}

std::uint64_t group_decompressions() { return g_group_decompressions; }

zcx_host *streams_create() { return new zcx_host; }

void streams_destroy(zcx_host *streams) { delete streams; }

void configure_priority(zcx_host *streams, unsigned int priority)
{
	std::lock_guard<std::mutex> g(streams->mu);
	streams->priorities |= 1u << priority;
}

} // namespace host

void zcx_race_point(zcx_race where)
{
	if (race_hook)
		race_hook(where);
}
