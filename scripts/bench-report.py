#!/usr/bin/env python3
"""Turns tests/vm/bench.sh's RESULT/MEM/SLOT lines into bench/results/:
NAME.md (MiB/s, ratios to stock and brd with their spread, geometric
means, memory, slot table), NAME.csv (raw), NAME.png (gnuplot); or, with
--ablation, tests/vm/ablation.sh's ABL lines into ablation.md."""
import argparse
import collections
import math
import os
import statistics
import subprocess
import sys


def ablation(log_path, out_dir):
    runs = collections.defaultdict(dict)  # (depth, round) -> target -> MiB/s
    with open(log_path) as log:
        for line in log:
            f = line.split()
            if f[:1] == ["ABL"] and len(f) == 5:
                runs[(int(f[3]), f[1])][f[2]] = float(f[4])
    if not runs:
        sys.exit("bench-report: no ABL lines in " + log_path)
    os.makedirs(out_dir, exist_ok=True)
    depths = sorted({d for d, _ in runs})
    nrounds = len({r for _, r in runs})

    def spread(xs):
        return f"{statistics.median(xs):.3f} ({min(xs):.3f}..{max(xs):.3f})"

    md = ["# The seed's ablation: per-CPU streams vs one mutex-protected stream", "",
          f"One boot of Debian's 6.1 kernel, 2 vCPUs, multi-threaded TCG, {nrounds} rounds;"
          " in each round the per-CPU build, the `ZCX_STREAMS=mutex` build and the per-CPU"
          " build again (A/A) run in turn. fio: seq write, 4 KiB, direct, libaio,"
          " numjobs=2, 50 % compressible refilled buffers. Wall-clock MiB/s (median of"
          " rounds); ratios are medians of per-round ratios with min..max. The A/A column"
          " is what noise alone does. Produced by `scripts/bench.sh ablation`.", "",
          "| iodepth | per-CPU MiB/s | mutex MiB/s | per-CPU again | per-CPU/mutex | A/A |",
          "|---:|---:|---:|---:|---|---|"]
    for d in depths:
        rounds = [t for (dd, _), t in runs.items() if dd == d and len(t) == 3]
        pc = [t["percpu"] for t in rounds]
        mu = [t["mutex"] for t in rounds]
        pb = [t["percpu-b"] for t in rounds]
        md.append(f"| {d} | {statistics.median(pc):.1f} | {statistics.median(mu):.1f} |"
                  f" {statistics.median(pb):.1f} |"
                  f" {spread([a / b for a, b in zip(pc, mu)])} |"
                  f" {spread([a / b for a, b in zip(pc, pb)])} |")
    with open(os.path.join(out_dir, "ablation.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    print("\n".join(md))


def main(log_path, out_dir, name, kernel="6.1"):
    runs = collections.defaultdict(dict)  # (job, round) -> target -> MiB/s
    mem = {}
    slot = {}  # driver -> (vmalloc bytes, slots)
    algo = {}  # driver -> algorithm in use
    jobs = []
    with open(log_path) as log:
        for line in log:
            f = line.split()
            if f[:1] == ["RESULT"] and len(f) == 5:
                rnd, target, job, mibps = f[1], f[2], f[3], float(f[4])
                runs[(job, rnd)][target] = mibps
                if job not in jobs:
                    jobs.append(job)
            elif f[:1] == ["MEM"]:
                mem[f[1]] = [int(x) for x in f[2:6]]
            elif f[:1] == ["SLOT"]:
                slot[f[1]] = (int(f[2]), int(f[3]))
            elif f[:1] == ["ALGO"]:
                algo[f[1]] = f[2]
    if not runs:
        sys.exit("bench-report: no RESULT lines in " + log_path)
    os.makedirs(out_dir, exist_ok=True)

    with open(os.path.join(out_dir, name + ".csv"), "w") as csv:
        csv.write("job,round,stock,ours,brd\n")
        for (job, rnd), t in sorted(runs.items()):
            csv.write(f"{job},{rnd},{t.get('stock')},{t.get('ours')},{t.get('brd')}\n")

    rows = []
    for job in jobs:
        rounds = [t for (j, _), t in runs.items() if j == job]
        vs_stock = [t["ours"] / t["stock"] for t in rounds]
        vs_brd = [t["ours"] / t["brd"] for t in rounds]
        rows.append((job,
                     statistics.median(t["ours"] for t in rounds),
                     statistics.median(t["stock"] for t in rounds),
                     statistics.median(t["brd"] for t in rounds),
                     statistics.median(vs_stock), min(vs_stock), max(vs_stock),
                     statistics.median(vs_brd)))
    geo_stock = math.exp(statistics.mean(math.log(r[4]) for r in rows))
    geo_brd = math.exp(statistics.mean(math.log(r[7]) for r in rows))
    nrounds = len({rnd for (_, rnd) in runs})

    md = ["# zram.ko benchmark: ours vs stock zram vs brd", "",
          f"One boot of Debian's {kernel} kernel under QEMU icount (1 vCPU, guest time ="
          f" instructions executed), {nrounds} alternating rounds; fio, 4 KiB, direct,"
          " libaio, 50 % compressible refilled buffers; `real-write`/`real-read`: dd,"
          " 4 KiB, direct, of 64 MiB sampled from the real files below. Ratios are"
          " medians of the per-round ratios; min..max is their spread. Produced by"
          " `scripts/bench.sh`."
          + (f" Algorithms: stock {algo.get('stock', '?')}, ours {algo.get('ours', '?')}."
             if algo else ""),
          "",
          "| job | ours MiB/s | stock MiB/s | brd MiB/s | ours/stock | spread | ours/brd |",
          "|---|---:|---:|---:|---:|---|---:|"]
    for job, o, s, b, r, lo, hi, rb in rows:
        md.append(f"| {job} | {o:.1f} | {s:.1f} | {b:.1f} | {r:.3f} | {lo:.3f}..{hi:.3f} | {rb:.3f} |")
    md.append(f"| **geometric mean** | | | | **{geo_stock:.3f}** | | **{geo_brd:.3f}** |")
    if "ours" in mem and "stock" in mem:
        md += ["", "## Memory on real files", "",
               "The same 256 MiB of real files (tars of /usr/include 64 MiB, /usr/lib/python3.11 48,"
               " /usr/share/perl 16, /usr/bin 64, /usr/lib/x86_64-linux-gnu 64) written to each.", "",
               "| driver | bytes written | orig_data_size | compr_data_size | mem_used_total |",
               "|---|---:|---:|---:|---:|"]
        for driver in ("stock", "ours"):
            m = mem[driver]
            md.append(f"| {driver} | {m[0]} | {m[1]} | {m[2]} | {m[3]} |")
        md.append("")
        md.append(f"mem_used_total ours/stock: **{mem['ours'][3] / mem['stock'][3]:.3f}**.")
    if "ours" in slot and "stock" in slot:
        md += ["", "## Slot table", "",
               "vmalloc'd memory (/proc/meminfo VmallocUsed) taken by setting an 8 GiB disksize,"
               " before any write:", "",
               "| driver | bytes | slots | bytes per slot |", "|---|---:|---:|---:|"]
        for driver in ("stock", "ours"):
            b, n = slot[driver]
            md.append(f"| {driver} | {b} | {n} | {b / n:.2f} |")
    md += ["", f"![ratios]({name}.png)"]
    with open(os.path.join(out_dir, name + ".md"), "w") as f:
        f.write("\n".join(md) + "\n")

    dat = os.path.join(out_dir, name + ".dat")
    with open(dat, "w") as f:
        for job, o, s, b, r, lo, hi, rb in rows:
            f.write(f'"{job}" {r} {lo} {hi} {rb}\n')
    script = f"""
set terminal pngcairo size 1000,500
set output '{os.path.join(out_dir, name + ".png")}'
set title 'ours / stock zram and ours / brd per fio job (median of rounds, spread)'
set style data histograms
set style histogram errorbars gap 2 lw 1
set style fill solid 0.6
set xtics rotate by -30
set yrange [0:*]
set grid y
plot '{dat}' using 2:3:4:xtic(1) title 'ours/stock', '' using 5:5:5 title 'ours/brd', 1 notitle lt 0
"""
    try:
        subprocess.run(["gnuplot"], input=script, text=True, check=True)
    except (OSError, subprocess.CalledProcessError) as e:
        print("bench-report: no plot:", e, file=sys.stderr)
    os.remove(dat)
    print("\n".join(md))


def memory(log_path, out_dir):
    steps = ["full", "half-discarded", "drop-caches", "compact", "refilled"]
    rows = collections.OrderedDict()  # target -> step -> fields
    with open(log_path) as log:
        for line in log:
            f = line.split()
            if f[:1] == ["MEMX"] and len(f) == 8:
                rows.setdefault(f[1], {})[f[2]] = [int(x) for x in f[3:]]
    if "stock" not in rows:
        sys.exit("bench-report: no stock MEMX lines in " + log_path)
    os.makedirs(out_dir, exist_ok=True)
    targets = list(rows)
    mb = lambda b: f"{b / 1e6:.1f}"
    md = ["# Memory: compaction on real files", "",
          "One boot of Debian's 6.1 kernel (2 vCPUs, TCG). 256 MiB of real files (tars of"
          " /usr/lib/x86_64-linux-gnu, /usr/share/doc, /usr/include) written to a 512 MiB"
          " disk; a random half of its pages discarded (fio randtrim); `echo 2 >"
          " /proc/sys/vm/drop_caches` (every shrinker); `echo 1 > compact`; the discarded"
          " pages refilled with other real files. Produced by `scripts/bench.sh memory`.", "",
          "mem_used_total (MB) after each step, and its ratio to stock:", "",
          "| step | " + " | ".join(targets) + " | " +
          " | ".join(f"{t}/stock" for t in targets if t != "stock") + " |",
          "|---|" + "---:|" * (2 * len(targets) - 1)]
    for st in steps:
        base = rows["stock"].get(st)
        if not base:
            continue
        cells = [mb(rows[t][st][2]) if st in rows[t] else "" for t in targets]
        ratios = [f"{rows[t][st][2] / base[2]:.2f}" if st in rows[t] else ""
                  for t in targets if t != "stock"]
        md.append(f"| {st} | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |")
    md += ["", "After the whole run: pages_compacted, huge pages (full disk), compr_data_size"
           " (full disk, MB):", "",
           "| target | pages_compacted | huge pages when full | compr_data_size when full |",
           "|---|---:|---:|---:|"]
    for t in targets:
        last = rows[t].get("refilled") or rows[t][max(rows[t])]
        full = rows[t]["full"]
        md.append(f"| {t} | {last[3]} | {full[4]} | {mb(full[1])} |")
    with open(os.path.join(out_dir, "memory.md"), "w") as out:
        out.write("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--ablation", action="store_true")
    ap.add_argument("--memory", action="store_true")
    ap.add_argument("--name", default="report")
    ap.add_argument("--kernel", default="6.1")
    ap.add_argument("log")
    ap.add_argument("out_dir")
    a = ap.parse_args()
    if a.ablation:
        ablation(a.log, a.out_dir)
    elif a.memory:
        memory(a.log, a.out_dir)
    else:
        main(a.log, a.out_dir, a.name, a.kernel)
