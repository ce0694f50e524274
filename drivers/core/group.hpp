// SPDX-License-Identifier: GPL-2.0
// Groups: up to ZCX_GROUP_MAX_PAGES pages of one aligned window of slots,
// compressed together as one stream by a recompression run (issue 18).  A
// 4 KiB page is a small window for a compressor; its neighbours, written
// out together by swap's per-CPU clusters, usually share its matches.
//
// A group lives in the pool as a header object and the stream cut into
// pieces of at most kPieceBytes (the largest object a single-page chunk
// holds: four fill a 16 KiB chunk).  Every member slot names the header
// and its page's place in the stream (Slot::kGrouped, Slot::kMemberMask),
// so the table stays at 16 bytes per page.  The header's live mask says
// which stream pages still belong to a slot: a write, discard, slot free
// or writeback of a member clears its bit under the member's lock, and
// whoever clears the last one frees the group.  All of the group's objects
// are owned (for compaction) by the window's first slot; the mover finds a
// member from there and moves an object only with every live member
// locked.
#pragma once

#include "table.hpp"
#include "xvmalloc/xvmalloc.hpp"

namespace zcx {

inline constexpr unsigned int kMaxGroupPages = ZCX_GROUP_MAX_PAGES;
inline constexpr usize kPieceBytes = xv::kMaxAlloc;
inline constexpr usize kMaxGroupPieces =
	(ZCX_GROUP_COMPRESS_BOUND + kPieceBytes - 1) / kPieceBytes;

// The header object.  u32 fields only: pool objects are 4-byte aligned.
struct GroupHeader {
	// Set while the run that forms the group commits its members: the
	// group is not freed meanwhile, nor moved.
	static constexpr u32 kForming = 1u << 31;

	u32 live;	// bit k: stream page k belongs to a slot (atomic)
	u32 packed_len; // bytes of the compressed stream
	// Never the same for two groups of a disk: what the per-CPU read
	// cache checks, since a freed header's handle can come back.
	u32 stamp_lo;
	u32 stamp_hi;
	u32 window;	// the first slot of the window, the objects' owner
	u8 pages;	// pages in the stream
	u8 priority;	// the secondary algorithm that compressed it
	u8 nr_pieces;
	u8 unused;
	u8 offsets[kMaxGroupPages]; // stream page k is slot window + offsets[k]
	u32 pieces[2 * kMaxGroupPieces]; // handles, low word first

	static constexpr usize bytes_for(unsigned int nr_pieces)
	{
		return __builtin_offsetof(GroupHeader, pieces) + 2 * sizeof(u32) * nr_pieces;
	}
	u64 stamp() const { return u64{stamp_hi} << 32 | stamp_lo; }
	xv::Handle piece(unsigned int i) const
	{
		return xv::Handle{pieces[2 * i + 1]} << 32 | pieces[2 * i];
	}
	void set_piece(unsigned int i, xv::Handle h)
	{
		pieces[2 * i] = static_cast<u32>(h);
		pieces[2 * i + 1] = static_cast<u32>(h >> 32);
	}
	usize piece_len(unsigned int i) const
	{
		const usize start = i * kPieceBytes;
		return min(kPieceBytes, packed_len - start);
	}
	u32 load_live() const { return __atomic_load_n(&live, __ATOMIC_ACQUIRE); }
};

// The bits set in a live mask.  Not __builtin_popcount: without
// -mpopcnt GCC calls libgcc for it, which the kernel does not link.
constexpr unsigned int count_members(u32 mask)
{
	mask = mask - ((mask >> 1) & 0x55555555u);
	mask = (mask & 0x33333333u) + ((mask >> 2) & 0x33333333u);
	return (((mask + (mask >> 4)) & 0x0f0f0f0fu) * 0x01010101u) >> 24;
}
static_assert(count_members(0) == 0 && count_members(0xffffu) == 16 &&
	      count_members(0x80000001u) == 2);

// What a group of these pieces costs the pool, block headers included.
inline usize group_cost(usize packed_len)
{
	const usize nr_pieces = (packed_len + kPieceBytes - 1) / kPieceBytes;
	usize cost = xv::block_size_for_request(GroupHeader::bytes_for(nr_pieces)) +
		     xv::kHeaderSize;
	for (usize done = 0; done < packed_len; done += kPieceBytes)
		cost += xv::block_size_for_request(min(kPieceBytes, packed_len - done)) +
			xv::kHeaderSize;
	return cost;
}

} // namespace zcx
