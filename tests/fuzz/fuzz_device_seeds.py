#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
# Writes the hand-made seeds of fuzz_device into its corpus; run from the
# top of the tree.  Byte layout: the op switch of tests/fuzz/fuzz_device.cpp.
import os
out = "tests/fuzz/corpus/fuzz_device"
def run(first, n, version=0, family=0): return [3 | family << 4, first, n - 1, version]
def recompress(gp_idx, opts=0, extra=()): return [8 | gp_idx << 4, opts, *extra]
READ_ALL = [14]
seeds = {
 # 64 neighbours grouped by 16, members let go every way, regrouped, compacted
 "groups16": run(0, 32) + run(32, 32) + READ_ALL + recompress(4) + READ_ALL
   + [4, 3, 5, 4, 0x02 | 2 << 4, 5, 1, 0, 0, 0x14, 16, 12, 6, 17, 6, 33]
   + [10] + [0x1b] + READ_ALL + [15],
 # groups of 4, members written back raw and compressed, committed, aborted
 "writeback": run(0, 32, 1, 1) + recompress(2) + [12, 3, 12 | 8 << 4, 9, 12, 20]
   + [0x1d, 0, 6, 3, 13, 0, 0x1d, 0, 6, 9, 12 | 8 << 4, 40, 0, 0x1d, 0, 6, 40]
   + [12, 41, 0x02, 41, 5, 3, 0x1d, 0] + READ_ALL,
 # idle marks and an older clock: type=idle group_pages=8, min_age, budget
 "idle": run(0, 32, 2) + [0x27, 0] + [0x17, 50] + run(32, 32, 3)
   + recompress(3, 1) + recompress(1, 8 | 16, (20, 10)) + [6, 1, 6, 2]
   + [0x07, 30] + recompress(4, 1 | 32, (40,)) + READ_ALL + [10, 0x1b, 14],
 # every kind of page, page by page with both algorithms, then huge ones
 "kinds": sum(([k << 4, i, i, i * 7, 0] for i, k in
               enumerate([0, 1, 2, 3, 4, 5, 6, 7] * 4)), [])
   + recompress(0, 0xc0) + recompress(5, 2 | 4) + [0x1c, 5, 0x3c, 5]
   + [0x1d, 0] + READ_ALL + [15, 0x1f, 4, 0, 3, 14],
}
for name, prog in seeds.items():
    with open(os.path.join(out, "seed-" + name), "wb") as f:
        f.write(bytes(b & 0xff for b in prog))
# other CPUs while groups form: writes, a discard, a slot free, a read,
# compact, regroup and idle between a group's copy and its commit
prog = (run(0, 32, 4) + run(32, 32, 4)
        + recompress(4 | 8, 8, (4, 0, 0, 3, 0, 2, 5, 1, 3, 20, 2, 5 | 8, 0))
        + READ_ALL + run(0, 32, 5)
        + recompress(2 | 8, 8, (4, 0, 4, 1, 1, 7 | 8, 0, 2, 1, 9, 4, 0, 12))
        + READ_ALL + [15])
with open(os.path.join(out, "seed-other-cpus"), "wb") as f:
    f.write(bytes(b & 0xff for b in prog))
# refused memory: writes failing with -ENOMEM, runs and regrouping without
# codecs, group buffers or pages, then the faults dropped
FAULT = lambda kind, n=0, skip=0: [15 | kind << 5, n, skip]
prog = (run(0, 32, 6) + run(32, 32, 6) + FAULT(1, 2, 5) + [0x50, 3, 3, 1, 0] * 8
        + recompress(4) + FAULT(5, 1) + recompress(2) + FAULT(6, 1) + recompress(3)
        + FAULT(4, 128) + recompress(1) + [0x50, 9, 3, 1, 0] + [10] + FAULT(7)
        + recompress(4) + [4, 0, 4, 1, 4, 2, 4, 3, 4, 4, 4, 5, 4, 6, 10] + READ_ALL)
with open(os.path.join(out, "seed-faults"), "wb") as f:
    f.write(bytes(b & 0xff for b in prog))
# two post-processors at once (issue 24): a regroup claims pages 0 and 1
# of a sparse group; in its group compression page 0 is rewritten and a
# grouped recompression starts on another thread, claims page 0 again
# (with pages 2 and 3) and parks; the regroup commits, then the parked run
prog = (run(0, 16, 7) + recompress(2) + [4, 2, 4, 3]
        + [0x40, 2, 0, 5, 0, 0x40, 3, 0, 6, 0]
        + [10 | 16, 2, 0, 0, 0, 0, 6 | 8 | 2 << 4, 0] + READ_ALL)
with open(os.path.join(out, "seed-two-runs"), "wb") as f:
    f.write(bytes(b & 0xff for b in prog))
# reads of written-back blocks held in flight (issue 24, item 8): 48 pages
# written back to 40 blocks (the last 8 find none), reads of pages 0-3
# held, those pages rewritten (their blocks wait), writebacks while the
# reads are held (only waiting blocks: EBUSY), the reads ended, then the
# waiting blocks taken by other pages
WB = lambda i: [12, i, 0x1d, 0]
prog = (run(0, 32, 8) + run(32, 16, 8) + sum((WB(i) for i in range(48)), [])
        + sum(([0x16, i] for i in range(4)), [])
        + sum(([0x40, i, i, 9, 1] for i in range(4)), [])
        + WB(40) + WB(41) + [0x26, 0, 0x26, 0, 0x26, 0, 0x26, 0]
        + sum((WB(i) for i in range(40, 48)), []) + READ_ALL)
with open(os.path.join(out, "seed-held-reads"), "wb") as f:
    f.write(bytes(b & 0xff for b in prog))
