#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Google Benchmark JSON (with repetitions) to a Markdown table.

usage: bench_report.py RESULTS_JSON OUT_MD COMMAND SOURCE
"""
import json
import sys

# Shown after the throughput, when a benchmark sets them.
COUNTERS = {
    "out_bytes": "compressed to {:.0f} B",
    "stored_bytes": "stores {:.0f} B/page",
    "pool_pages": "{:.0f} pool pages",
    "fill": "fill {:.1%}",
}


def fmt_time(ns):
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} µs"
    if ns >= 10:
        return f"{ns:.0f} ns"
    return f"{ns:.1f} ns"


def fmt_rate(bps):
    for unit, div in (("GiB/s", 1 << 30), ("MiB/s", 1 << 20),
                      ("KiB/s", 1 << 10)):
        if bps >= div:
            return f"{bps / div:.2f} {unit}"
    return f"{bps:.0f} B/s"


def fmt_items(ips):
    if ips >= 1e6:
        return f"{ips / 1e6:.2f} M/s"
    if ips >= 1e3:
        return f"{ips / 1e3:.1f} k/s"
    return f"{ips:.0f} /s"


def main():
    path, out_md, command, source = sys.argv[1:5]
    d = json.load(open(path))
    ctx = d["context"]
    runs = {}
    order = []
    for b in d["benchmarks"]:
        name = b.get("run_name", b["name"])
        if name not in runs:
            runs[name] = {}
            order.append(name)
        runs[name][b.get("aggregate_name", "single")] = b

    L = []
    w = L.append
    w("# Host microbenchmarks of the core")
    w("")
    w("Produced by `scripts/microbench.sh` (Google Benchmark, "
      "`tests/microbench/bench.cpp`). Command:")
    w("")
    w("```sh")
    w(command)
    w("```")
    w("")
    w(f"Source: {source}. Run {ctx.get('date', '?')} on "
      f"{ctx.get('num_cpus', '?')} CPUs at {ctx.get('mhz_per_cpu', '?')} "
      f"MHz, load average {', '.join(f'{x:.1f}' for x in ctx.get('load_avg', []))}.")
    w("")
    w("**Read with care.** This machine has 2 cores and was running a QEMU "
      "job alongside, so wall time is far above CPU time and varies run "
      "to run; the table gives the median of the repetitions' *CPU* time "
      "per operation (time/op) and the throughput derived from it, with "
      "the median wall time and the CPU time's coefficient of variation "
      "across repetitions as a noise gauge. Debian's libbenchmark is a "
      f"{ctx.get('library_build_type', '?')} build (its own loop only; "
      "the code under test is -O2). Everything runs on the host "
      "platform of `tests/host` (liblzo2 LZO1X-1, `std::mutex` for "
      "spinlocks, a checked `std::map` page registry consulted on every "
      "pfn/address/kmap call), not on the kernel's: `host-callgrind.md` separates "
      "the core's own instructions from the platform's. Throughput is "
      "4 KiB pages (or the object sizes, for xvmalloc) per CPU second.")
    w("")
    w("| benchmark | time/op (CPU) | wall/op | CV | throughput | ops/s | notes |")
    w("|---|---:|---:|---:|---:|---:|---|")
    for name in order:
        r = runs[name]
        m = r.get("median") or r.get("single")
        if not m:
            continue
        cv = r.get("cv")
        cv_s = f"{cv['cpu_time']:.0%}" if cv else ""
        unit = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[m["time_unit"]]
        notes = [fmt.format(m[k]) for k, fmt in COUNTERS.items() if k in m]
        w(f"| `{name}` | {fmt_time(m['cpu_time'] * unit)} | "
          f"{fmt_time(m['real_time'] * unit)} | {cv_s} | "
          f"{fmt_rate(m['bytes_per_second']) if 'bytes_per_second' in m else ''} | "
          f"{fmt_items(m['items_per_second']) if 'items_per_second' in m else ''} | "
          f"{'; '.join(notes)} |")
    w("")
    w("What each benchmark does (see `tests/microbench/bench.cpp`):")
    w("")
    w("- `xv_alloc_free/N`: one N-byte xvmalloc object allocated and freed "
      "(`Gfp::nowait`) next to a pinned 32-byte object, so the pool keeps "
      "its chunk; `xv_alloc_free_page/2200` without the pin: every "
      "iteration grows the pool by a chunk from the (host) page allocator "
      "and gives it back.")
    w("- `xv_churn/20000`: 20000 live objects of 64-3071 bytes (35 % under "
      "1 KiB, 45 % 1-2.5 KiB, 20 % above), each iteration frees a random "
      "one and allocates a new random size; fill = live bytes / pool "
      "bytes.")
    w("- `table_*`: a slot's bit lock alone; the write path's table work "
      "(lock, get, set, touch with `zcx_now_seconds()`, unlock); the read "
      "path's at random slots of a 16 MiB table (cache misses).")
    w("- `codec_*`: `compress_page` / `decompress_page` on 16 distinct "
      "pages of a kind: zero, same (one repeated non-zero word), fio50 "
      "(fio 3.33's `buffer_compress_percentage=50`: each 512-byte chunk "
      "is 256 random bytes then 256 zeros), text (prose-like words), "
      "random.")
    w("- `same_filled/*`: `page_same_filled`; `mid_miss` is a zero page "
      "with one byte set in the middle (both ends agree, so half the page "
      "is scanned before the miss).")
    w("- `dev_write/*`, `dev_read/*`: `zcx_dev_write_page` / "
      "`zcx_dev_read_page` on a 4096-page device filled beforehand, so "
      "writes overwrite (and free) what the slot held.")
    w("")
    with open(out_md, "w") as f:
        f.write("\n".join(L))


if __name__ == "__main__":
    main()
