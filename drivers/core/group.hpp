// SPDX-License-Identifier: GPL-2.0
// Groups: up to ZCX_GROUP_MAX_PAGES pages of one aligned window of slots,
// compressed together as one stream by a recompression run (issue 18).  A
// 4 KiB page is a small window for a compressor; its neighbours, written
// out together by swap's per-CPU clusters, usually share its matches.
//
// A group lives in the pool as a header object and the stream cut into
// pieces of kMinPieceBytes..kMaxPieceBytes, each the biggest hole the pool
// has (Pool::alloc_fill) or, with none, the largest object a single-page
// chunk holds (four fill a 16 KiB chunk).  Cut only to that size, pieces
// fit no hole that the members' own objects left, and the pool kept them
// (issue 26: 14.1 MB beyond the compressed bytes on the swap bench, 2.9
// without groups).  Every member slot names the header
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
inline constexpr usize kMaxPieceBytes = xv::kMaxAlloc;
// Smaller holes cost more in headers (20 bytes a piece: its block's and
// its place in GroupHeader) than they give back; they stay for the small
// objects of pages that compress well.
inline constexpr usize kMinPieceBytes = 512;
// Every piece but the last is at least kMinPieceBytes, and a group's
// stream at most ZCX_GROUP_MAX_BYTES.
inline constexpr usize kMaxGroupPieces = ZCX_GROUP_MAX_BYTES / kMinPieceBytes;
static_assert(kMaxGroupPieces <= 255, "nr_pieces is a u8");

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
	// Piece i: its handle (low word first) and its bytes of the stream,
	// which follow those of piece i - 1.
	u32 pieces[3 * kMaxGroupPieces];

	static constexpr usize bytes_for(unsigned int nr_pieces)
	{
		return __builtin_offsetof(GroupHeader, pieces) + 3 * sizeof(u32) * nr_pieces;
	}
	u64 stamp() const { return u64{stamp_hi} << 32 | stamp_lo; }
	xv::Handle piece(unsigned int i) const
	{
		return xv::Handle{pieces[3 * i + 1]} << 32 | pieces[3 * i];
	}
	void set_piece(unsigned int i, xv::Handle h)
	{
		pieces[3 * i] = static_cast<u32>(h);
		pieces[3 * i + 1] = static_cast<u32>(h >> 32);
	}
	usize piece_len(unsigned int i) const { return pieces[3 * i + 2]; }
	void set_piece_len(unsigned int i, usize len)
	{
		pieces[3 * i + 2] = static_cast<u32>(len);
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
static_assert(GroupHeader::bytes_for(kMaxGroupPieces) <= xv::kMaxAlloc);

// What a group costs the pool at least, block headers included: with
// pieces of the largest size (holes cut it into more).
inline usize group_cost(usize packed_len)
{
	const usize nr_pieces = (packed_len + kMaxPieceBytes - 1) / kMaxPieceBytes;
	usize cost = xv::block_size_for_request(GroupHeader::bytes_for(nr_pieces)) +
		     xv::kHeaderSize;
	for (usize done = 0; done < packed_len; done += kMaxPieceBytes)
		cost += xv::block_size_for_request(min(kMaxPieceBytes, packed_len - done)) +
			xv::kHeaderSize;
	return cost;
}

} // namespace zcx
