#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Splits the callgrind dumps of zcx_percall into instructions per page.

usage: callgrind_split.py OUT_MD META_TSV COMMAND SOURCE DUMP...

Each dump (written with --compress-strings=no) holds one phase of one page
kind, "<phase>/<kind>" in its trigger line.  Every function's own (self)
instructions go to a bucket:

  compressor   liblzo2 (lzo1x_1_compress, lzo1x_decompress_safe)
  xvmalloc     zcx::xv::*                       (lib/xvmalloc)
  table        zcx::Slot::*, zcx::Table::*      (drivers/core/table.*)
  core         the rest of zcx:: and the zcx_dev_* entry points
  host locks   zcx_bit_lock/trylock/unlock, zcx_spin_lock/unlock
  host other   every other platform function of include/zcx/abi.h (read
               from the header, between "Platform" and "Core")

Functions in none of these (libc's memcpy/memset, libstdc++'s std::map,
malloc, the platform's private helpers) are charged to whoever called them,
in proportion to the inclusive cost of each call arc; a chain of such
helpers passes the charge up to the first function with a bucket.  A
memcpy in Device::store_compressed is thus core, the std::map lookup behind
zcx_pfn_to_page is host other.

Writes OUT_MD (tables; an existing "## Analysis" section is kept) and
OUT_MD's data as JSON next to the first dump.
"""
import collections
import json
import os
import re
import sys

BUCKETS = ["compressor", "xvmalloc", "table", "core", "host_locks", "host_other"]
HEAD = {
    "compressor": "compressor (liblzo2)",
    "xvmalloc": "xvmalloc",
    "table": "table",
    "core": "rest of core",
    "host_locks": "host: locks",
    "host_other": "host: other",
}
LOCKS = {"zcx_bit_lock", "zcx_bit_trylock", "zcx_bit_unlock",
         "zcx_spin_lock", "zcx_spin_unlock"}


def platform_functions():
    """The platform half of include/zcx/abi.h: what the C layer (or
    tests/host) implements for the core."""
    abi = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                       "..", "include", "zcx", "abi.h")
    text = open(abi).read()
    start = text.index("---- Platform")
    end = text.index("---- Core")
    names = set(re.findall(r"\b(zcx_\w+)\s*\(", text[start:end]))
    if not LOCKS <= names:
        sys.exit(f"{abi}: lock functions renamed? {LOCKS - names}")
    return names


PLATFORM = platform_functions()
CORE_BUCKETS = ("xvmalloc", "table", "core")
PHASES = ["write", "overwrite", "read"]
KINDS = ["zero", "same", "fio50", "text", "random"]


def short(fn):
    """Function name without parameter lists, for tables."""
    fn = re.sub(r" \[clone [^\]]*\]", "", fn)
    out, depth = [], 0
    for ch in fn:
        if ch == "(":
            depth += 1
            if depth == 1 and out and out[-1] not in " :":
                continue
        if depth == 0:
            out.append(ch)
        if ch == ")":
            depth -= 1
    s = "".join(out).strip()
    return s or fn


def bucket_of(fn, ob):
    if "liblzo2" in ob:
        return "compressor"
    base = fn.split("(")[0].split(" [clone")[0]
    if base in PLATFORM:
        return "host_locks" if base in LOCKS else "host_other"
    if base.startswith("zcx::xv::"):
        return "xvmalloc"
    if base.startswith(("zcx::Slot::", "zcx::Table::")):
        return "table"
    if base.startswith("zcx::") or base.startswith("zcx_dev_") or \
            base == "zcx_parse_size":
        return "core"
    return None


def parse(path):
    """Self cost per function, and per call arc: call count and inclusive
    cost.  Only the Ir event and uncompressed names are supported."""
    label = None
    npos = 1
    ob = fl = fn = ""
    cfn = None
    pending = None
    fn_ob = {}
    selfc = collections.Counter()
    arcs = collections.defaultdict(lambda: [0, 0])
    summary = None
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            c = line[0]
            if c.isdigit() or c in "+-*":
                vals = line.split()
                ir = int(vals[npos]) if len(vals) > npos else 0
                if pending is not None:
                    arc = arcs[(fn, pending[0])]
                    arc[0] += pending[1]
                    arc[1] += ir
                    pending = None
                else:
                    selfc[fn] += ir
                continue
            if line.startswith("desc: Trigger: Client Request: "):
                label = line[len("desc: Trigger: Client Request: "):].strip()
                continue
            if line.startswith("positions:"):
                npos = len(line.split(":", 1)[1].split())
                continue
            if line.startswith("events:"):
                if line.split(":", 1)[1].split()[0] != "Ir":
                    sys.exit(f"{path}: expected Ir as the first event")
                continue
            if line.startswith("summary:"):
                summary = int(line.split(":", 1)[1])
                continue
            key, eq, val = line.partition("=")
            if not eq:
                continue
            if re.match(r"\(\d+\)", val):
                sys.exit(f"{path}: compressed names; record with "
                         "--compress-strings=no")
            if key == "ob":
                ob = val
            elif key == "fl":
                fl = val
            elif key == "fn":
                fn = val
                fn_ob.setdefault(fn, ob)
                cfn = None
            elif key == "cfn":
                cfn = val
            elif key == "calls":
                pending = (cfn, int(val.split()[0]))
    if summary is not None and summary != sum(selfc.values()):
        sys.exit(f"{path}: self costs {sum(selfc.values())} != summary "
                 f"{summary}")
    return label, fn_ob, selfc, arcs


def attribute(fn_ob, selfc, arcs):
    """Instructions per bucket; helpers charged to their callers."""
    own = {fn: bucket_of(fn, ob) for fn, ob in fn_ob.items()}
    callers = collections.defaultdict(list)  # callee -> [(caller, incl)]
    for (caller, callee), (_, incl) in arcs.items():
        if incl:
            callers[callee].append((caller, incl))
    memo = {}

    def share(fn, stack=()):
        """Fractions of fn's cost per bucket (None key: nobody's)."""
        if own.get(fn):
            return {own[fn]: 1.0}
        if fn in memo:
            return memo[fn]
        if fn in stack:  # recursion among helpers: cut the cycle
            return {}
        ins = callers.get(fn, [])
        total = sum(i for _, i in ins)
        out = collections.Counter()
        for caller, incl in ins:
            for b, frac in share(caller, stack + (fn,)).items():
                out[b] += frac * incl / total
        if not out:
            out[None] = 1.0
        memo[fn] = dict(out)
        return memo[fn]

    buckets = collections.Counter()
    # Per owning function: self plus charged helpers ("exclusive" cost).
    per_fn = collections.Counter()
    for fn, ir in selfc.items():
        if not ir:
            continue
        for b, frac in share(fn).items():
            buckets[b] += ir * frac
    # A helper's cost per owning function, through direct arcs only (enough
    # for the libc calls the core makes).
    for fn, ir in selfc.items():
        if own.get(fn) in CORE_BUCKETS:
            per_fn[fn] += ir
    for (caller, callee), (_, incl) in arcs.items():
        if own.get(caller) in CORE_BUCKETS and not own.get(callee):
            per_fn[caller] += incl
    # Platform calls made by the core, and what each cost (inclusive,
    # minus liblzo2 for the codec wrappers).
    plat = collections.defaultdict(lambda: [0, 0])
    for (caller, callee), (calls, incl) in arcs.items():
        if own.get(caller) in CORE_BUCKETS and \
                own.get(callee) in ("host_locks", "host_other"):
            p = plat[short(callee)]
            p[0] += calls
            p[1] += incl
    lzo_in = collections.Counter()
    for (caller, callee), (_, incl) in arcs.items():
        if own.get(caller) in ("host_other",) and own.get(callee) == \
                "compressor":
            lzo_in[short(caller)] += incl
    for name, incl in lzo_in.items():
        if name in plat:
            plat[name][1] -= incl
    # libc calls the core makes directly (memcpy, memset).
    libc = collections.defaultdict(lambda: [0, 0])
    for (caller, callee), (calls, incl) in arcs.items():
        if own.get(caller) in CORE_BUCKETS and not own.get(callee) and \
                "libc" in fn_ob.get(callee, ""):
            k = f"{short(caller)} → {short(callee)}"
            libc[k][0] += calls
            libc[k][1] += incl
    return buckets, per_fn, plat, libc


def fmt(x):
    return f"{x:,.0f}"


def fmt_calls(x):
    return f"{x:.2f}".rstrip("0").rstrip(".") if x else "0"


def main():
    out_md, meta_tsv, command, source = sys.argv[1:5]
    dumps = sys.argv[5:]
    meta = {}
    with open(meta_tsv) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            kind, pages, stored, same, huge, pool = line.split("\t")
            meta[kind] = dict(pages=int(pages), stored=float(stored),
                              same=int(same), huge=int(huge),
                              pool=int(pool))
    results = {}
    for path in dumps:
        label, fn_ob, selfc, arcs = parse(path)
        if not label:
            continue  # the dump at exit: nothing collected
        phase, kind = label.split("/")
        n = meta[kind]["pages"]
        buckets, per_fn, plat, libc = attribute(fn_ob, selfc, arcs)
        results[label] = {
            "pages": n,
            "total": sum(selfc.values()) / n,
            "buckets": {b if b else "unattributed": v / n
                        for b, v in buckets.items()},
            "functions": {short(k): v / n for k, v in per_fn.items()},
            "platform_calls": {k: {"calls": c / n, "instr": i / n}
                               for k, (c, i) in plat.items()},
            "libc_calls": {k: {"calls": c / n, "instr": i / n}
                           for k, (c, i) in libc.items()},
        }
    labels = [f"{p}/{k}" for k in KINDS for p in PHASES
              if f"{p}/{k}" in results]
    with open(os.path.join(os.path.dirname(dumps[0]), "split.json"),
              "w") as f:
        json.dump({"meta": meta, "results": results}, f, indent=1)

    L = []
    w = L.append
    n = next(iter(meta.values()))["pages"]
    w("# Host callgrind: instructions per page through the core")
    w("")
    w("Produced by `scripts/microbench.sh callgrind`: "
      "`tests/microbench/percall.cpp`, one process per page kind, writes "
      f"{n} distinct pages of the kind into the empty slots of a fresh "
      f"{n}-page device, overwrites them with {n} others (so each write "
      "also frees the slot's old object), then reads them back and checks "
      "them; callgrind counts instructions only inside "
      "`zcx_dev_write_page` and `zcx_dev_read_page` and dumps once per "
      "phase. Counts are exact and do not depend on machine load.")
    w("")
    w(f"Source: {source}. Command (from the repository root; the script "
      "builds `build/microbench` first):")
    w("")
    w("```sh")
    w(command)
    w("```")
    w("")
    w("**This is the host, not the kernel.** The compressor is Debian's "
      "liblzo2 LZO1X-1 (the kernel runs its own lib/lzo, `lzo-rle` by "
      "default); the platform is `tests/host/platform_host.cpp`, which "
      "checks the kernel's rules as it goes: its \"spinlocks\" are "
      "`std::mutex` with owner tracking, its bit locks keep a held-lock "
      "list, every `zcx_pfn_to_page`, `zcx_page_to_pfn`, "
      "`zcx_chunk_address` and `zcx_kmap_local` looks the page up in a "
      "`std::map` of live pages under a mutex, `zcx_stream_get` finds the "
      "thread's stream in another `std::map`, and pages and chunks come "
      "from `aligned_alloc` plus a `memset` of their whole size. In the "
      "kernel those are `bit_spin_lock`, `spin_lock`, vmemmap arithmetic, "
      "`page_address`, `preempt_disable` + `this_cpu_ptr` and "
      "`alloc_pages`. So the host "
      "columns measure the host; what carries over is the number of "
      "platform calls the core makes (second table) and the core's own "
      "instructions (xvmalloc, table, rest of core), compiled here with "
      "g++-12 -O2 without SSE, as Kbuild does, but without the kernel's "
      "retpolines, return thunks and `-mfentry` padding, and with glibc's "
      "`memcpy`/`memset` (AVX2) instead of the kernel's. The C layer "
      "(bio walk, kmap of the bio page, blk-mq) is not in these figures.")
    w("")
    w("Stored bytes per page (after the overwrite): " + ", ".join(
        f"{k} {meta[k]['stored']:.0f}" for k in KINDS if k in meta) +
      " (zero and same: same-filled, no object; random: huge, a whole "
      "page).")
    w("")
    w("## Instructions per page, by where they execute")
    w("")
    cols = ["total"] + [HEAD[b] for b in BUCKETS] + ["core share"]
    w("| phase/kind | " + " | ".join(cols) + " |")
    w("|---|" + "---:|" * len(cols))
    for lab in labels:
        r = results[lab]
        b = r["buckets"]
        core = sum(b.get(x, 0) for x in CORE_BUCKETS)
        row = [fmt(r["total"])] + [fmt(b.get(x, 0)) for x in BUCKETS]
        row.append(f"{100 * core / r['total']:.0f} %" if r["total"] else "")
        w(f"| {lab} | " + " | ".join(row) + " |")
    unattr = max((r["buckets"].get("unattributed", 0) for r in
                  results.values()), default=0)
    w("")
    w("\"core share\" = xvmalloc + table + rest of core, the instructions "
      "that are the core's own code on any platform. Largest "
      f"unattributed remainder in any row: {unattr:.1f} instructions/page.")
    w("")
    w("## Platform calls the core makes per page")
    w("")
    w("Calls per page (platform-independent: this is the core's code) and, "
      "in brackets, the host's instructions per call (codec wrappers "
      "without liblzo2).")
    w("")
    show = [lab for lab in ("write/zero", "read/zero", "write/fio50",
                            "overwrite/fio50", "read/fio50", "write/text",
                            "overwrite/text", "overwrite/random",
                            "read/random")
            if lab in results]
    names = sorted({k for lab in show for k in
                    results[lab]["platform_calls"]})
    w("| function | " + " | ".join(show) + " |")
    w("|---|" + "---:|" * len(show))
    for name in names:
        row = []
        for lab in show:
            p = results[lab]["platform_calls"].get(name)
            if not p or not p["calls"]:
                row.append("")
            else:
                row.append(f"{fmt_calls(p['calls'])} "
                           f"({p['instr'] / p['calls']:,.0f})")
        w(f"| `{name}` | " + " | ".join(row) + " |")
    w("")
    w("## The core's own instructions, by function")
    w("")
    w("Self cost plus the libc calls each function makes (memcpy, memset), "
      "per page; functions above 1 % of a column's core total.")
    w("")
    show = [lab for lab in ("write/zero", "read/same", "write/fio50",
                            "overwrite/fio50", "read/fio50",
                            "overwrite/text", "overwrite/random",
                            "read/random")
            if lab in results]
    fns = set()
    for lab in show:
        fs = results[lab]["functions"]
        tot = sum(fs.values())
        fns |= {k for k, v in fs.items() if tot and v >= 0.01 * tot}
    fns = sorted(fns, key=lambda k: -max(results[lab]["functions"].get(k, 0)
                                         for lab in show))
    w("| function | " + " | ".join(show) + " |")
    w("|---|" + "---:|" * len(show))
    for k in fns:
        w(f"| `{k}` | " + " | ".join(
            fmt(results[lab]["functions"].get(k, 0)) for lab in show) + " |")
    w("| **core total** | " + " | ".join(
        f"**{fmt(sum(results[lab]['functions'].values()))}**"
        for lab in show) + " |")
    w("")
    w("libc calls made by core functions, per page (calls, instructions):")
    w("")
    w("| caller → callee | " + " | ".join(show) + " |")
    w("|---|" + "---:|" * len(show))
    arcs = sorted({k for lab in show for k in results[lab]["libc_calls"]})
    for k in arcs:
        row = []
        for lab in show:
            p = results[lab]["libc_calls"].get(k)
            row.append(f"{fmt_calls(p['calls'])}, {fmt(p['instr'])}"
                       if p else "")
        w(f"| `{k}` | " + " | ".join(row) + " |")
    w("")
    w("Raw numbers: `build/microbench/callgrind/split.json`; "
      "per-dump `callgrind_annotate --inclusive=yes` listings: "
      "`build/microbench/callgrind/annotate-*.txt`.")
    w("")

    analysis = ""
    if os.path.exists(out_md):
        old = open(out_md).read()
        i = old.find("\n## Analysis")
        if i >= 0:
            analysis = old[i + 1:]
    with open(out_md, "w") as f:
        f.write("\n".join(L))
        if analysis:
            f.write("\n" + analysis)


if __name__ == "__main__":
    main()
