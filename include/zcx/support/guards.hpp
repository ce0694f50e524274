// SPDX-License-Identifier: GPL-2.0
// Scoped guards for the kernel's non-sleeping sections, in the style of
// Zircon's AutoPreemptDisabler and Guard<SpinLock>.
#pragma once

#include "../abi.h"
#include "types.hpp"
#include "utility.hpp"

namespace zcx {

// A compression stream for the guard's lifetime: this CPU's stream of the
// algorithm of that priority, with preemption disabled.  Code holding one
// must not sleep.
class [[nodiscard]] StreamSection : Pinned {
public:
	explicit StreamSection(zcx_host *host, unsigned int priority = 0)
		: host_(host), stream_(zcx_stream_get(host, priority))
	{
	}
	~StreamSection() { zcx_stream_put(host_); }
	zcx_stream &stream() const { return *stream_; }

private:
	zcx_host *host_;
	zcx_stream *stream_;
};

class [[nodiscard]] SpinGuard : Pinned {
public:
	explicit SpinGuard(zcx_spinlock *lock) : lock_(lock)
	{
		zcx_spin_lock(lock_);
	}
	~SpinGuard() { zcx_spin_unlock(lock_); }

private:
	zcx_spinlock *lock_;
};

// A lock bit inside a word (bit_spin_lock): the slot table has millions.
class [[nodiscard]] BitLockGuard : Pinned {
public:
	BitLockGuard(unsigned int bit, unsigned long *word)
		: bit_(bit), word_(word)
	{
		zcx_bit_lock(bit_, word_);
	}
	~BitLockGuard() { zcx_bit_unlock(bit_, word_); }

private:
	unsigned int bit_;
	unsigned long *word_;
};

// Maps a page for the guard's lifetime (kmap_local_page / kunmap_local).
class [[nodiscard]] PageMapping : Pinned {
public:
	explicit PageMapping(zcx_page *page) : addr_(zcx_kmap_local(page)) {}
	~PageMapping() { zcx_kunmap_local(addr_); }
	u8 *bytes() const { return static_cast<u8 *>(addr_); }

private:
	void *addr_;
};

} // namespace zcx
