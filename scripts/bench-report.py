#!/usr/bin/env python3
"""Turns tests/vm/bench.sh's RESULT/MEM lines into bench/results/:
report.md (MiB/s, ratios to stock and brd with their spread, geometric
means, memory), bench.csv (raw), ratios.png (gnuplot)."""
import collections
import math
import os
import statistics
import subprocess
import sys


def main(log_path, out_dir):
    runs = collections.defaultdict(dict)  # (job, round) -> target -> MiB/s
    mem = {}
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
    if not runs:
        sys.exit("bench-report: no RESULT lines in " + log_path)
    os.makedirs(out_dir, exist_ok=True)

    with open(os.path.join(out_dir, "bench.csv"), "w") as csv:
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
          f"One boot of Debian's 6.1 kernel under QEMU icount (1 vCPU, guest time ="
          f" instructions executed), {nrounds} alternating rounds; fio, 4 KiB, direct,"
          " libaio, 50 % compressible refilled buffers. Ratios are medians of the"
          " per-round ratios; min..max is their spread. Produced by `scripts/bench.sh`.",
          "",
          "| job | ours MiB/s | stock MiB/s | brd MiB/s | ours/stock | spread | ours/brd |",
          "|---|---:|---:|---:|---:|---|---:|"]
    for job, o, s, b, r, lo, hi, rb in rows:
        md.append(f"| {job} | {o:.1f} | {s:.1f} | {b:.1f} | {r:.3f} | {lo:.3f}..{hi:.3f} | {rb:.3f} |")
    md.append(f"| **geometric mean** | | | | **{geo_stock:.3f}** | | **{geo_brd:.3f}** |")
    if "ours" in mem and "stock" in mem:
        md += ["", "## Memory on real files", "",
               "The same tar of /usr/share/perl and /usr/lib/python3.11 written to each.", "",
               "| driver | bytes written | orig_data_size | compr_data_size | mem_used_total |",
               "|---|---:|---:|---:|---:|"]
        for name in ("stock", "ours"):
            m = mem[name]
            md.append(f"| {name} | {m[0]} | {m[1]} | {m[2]} | {m[3]} |")
        md.append("")
        md.append(f"mem_used_total ours/stock: **{mem['ours'][3] / mem['stock'][3]:.3f}**."
                  " Table: 16 bytes per slot (ours, with access tracking) vs 24 (stock 6.1"
                  " with CONFIG_ZRAM_MEMORY_TRACKING, as Debian builds it): a 100 GiB disk's"
                  " table is 400 MiB vs 600 MiB.")
    with open(os.path.join(out_dir, "report.md"), "w") as f:
        f.write("\n".join(md) + "\n")

    dat = os.path.join(out_dir, "ratios.dat")
    with open(dat, "w") as f:
        for job, o, s, b, r, lo, hi, rb in rows:
            f.write(f'"{job}" {r} {lo} {hi} {rb}\n')
    script = f"""
set terminal pngcairo size 1000,500
set output '{os.path.join(out_dir, "ratios.png")}'
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


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
