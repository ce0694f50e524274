// SPDX-License-Identifier: GPL-2.0
// Checked allocation with an explicit context. There is deliberately no
// plain operator new: a stray `new T` fails to link in the module.
#pragma once

#include "../abi.h"
#include "result.hpp"
#include "types.hpp"
#include "utility.hpp"

namespace zcx {

enum class Gfp {
	nowait = ZCX_GFP_NOWAIT,
	noio = ZCX_GFP_NOIO,
	kernel = ZCX_GFP_KERNEL,
};

constexpr zcx_gfp to_c(Gfp g) { return static_cast<zcx_gfp>(g); }

struct PlacementTag {};

} // namespace zcx

// A placement form of our own, so the core never needs <new> and never
// clashes with it in host builds.
inline void *operator new(__SIZE_TYPE__, void *where, zcx::PlacementTag) noexcept
{
	return where;
}

namespace zcx {

// Sole owner of a T in kzalloc'ed memory; destroys and frees on scope exit.
template <class T> class Owned : Pinned {
public:
	Owned() = default;
	explicit Owned(T *p) : p_(p) {}
	Owned(Owned &&o) : p_(o.release()) {}
	~Owned() { reset(); }

	T *get() const { return p_; }
	T *operator->() const { return p_; }
	T &operator*() const { return *p_; }
	explicit operator bool() const { return p_ != nullptr; }
	T *release()
	{
		T *p = p_;
		p_ = nullptr;
		return p;
	}
	void reset()
	{
		if (p_) {
			p_->~T();
			zcx_kfree(p_);
			p_ = nullptr;
		}
	}

private:
	T *p_ = nullptr;
};

// Allocates and constructs a T, or reports -ENOMEM.
template <class T, class... Args>
Result<T *> try_new(Gfp gfp, Args &&...args)
{
	void *mem = zcx_kzalloc(sizeof(T), to_c(gfp));
	if (!mem)
		return Errc::nomem;
	return new (mem, PlacementTag{}) T(forward<Args>(args)...);
}

} // namespace zcx
