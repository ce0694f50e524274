#!/usr/bin/env python3
"""NAME.md, NAME.csv and NAME.png in OUT_DIR from the guest log of
tests/vm/swap-bench.sh (`scripts/bench.sh swap`).

usage: bench-swap-report.py GUEST_LOG OUT_DIR NAME [WALL_SECONDS]
"""
import csv
import os
import subprocess
import sys

log_path, out_dir, name = sys.argv[1:4]
wall = int(sys.argv[4]) if len(sys.argv) > 4 else None

runs = []  # in log order
setup = {}
cur = None
for line in open(log_path):
    f = line.split()
    if not f:
        continue
    if f[0] == "RUN":
        cur = {"scenario": f[1], "config": f[2], "algo": f[3],
               "policy": " ".join(f[4:]), "snaps": {}, "ticks": []}
        runs.append(cur)
    elif f[0] == "SB" and cur is not None:
        kv = dict(x.split("=", 1) for x in f[1:] if "=" in x)
        kind = f[1] if "=" not in f[1] else "phase"
        if kind == "phase":
            if kv["phase"] == "tick":
                cur["ticks"].append(kv)
            else:
                cur["snaps"][kv["phase"]] = kv
        else:
            cur["sb_" + kind] = kv
    elif f[0] == "SETUP":
        setup = dict(x.split("=", 1) for x in f[1:] if "=" in x)
    elif f[0] == "EXIT" and cur is not None:
        cur["rc"] = int(f[1])
if not runs:
    sys.exit("bench-swap-report: no RUN lines in " + log_path)


def num(d, k, default=0.0):
    return float(d.get(k, default)) if d else default


# A run cut short (VM_TIMEOUT) leaves a configuration without its result:
# named in the report, not tabulated.
unfinished = [r for r in runs if "sb_done" not in r]
runs = [r for r in runs if "sb_done" in r]
if not runs:
    sys.exit("bench-swap-report: no finished run in " + log_path)
# The report's order, whatever order the guest ran them in.
ORDER = ["stock-lzo-rle", "stock-lz4", "stock-zstd", "ours-lzo-rle", "ours-lz4", "ours-policy",
         "ours-policy-grouped"]
# The reference is the configuration the guest ran first: stock lzo-rle on
# 6.1, stock lz4 on 6.12 (whose stock has no lzo).
ref = runs[0]["config"]
first = runs[0]["scenario"]
runs.sort(key=lambda r: (r["scenario"] != first,
                         ORDER.index(r["config"]) if r["config"] in ORDER else len(ORDER)))
rows = []
for r in runs:
    s = r["snaps"]
    fl, ac, idl, ck = (s.get(p, {}) for p in ("filled", "accessed", "idle", "checked"))
    res = r.get("sb_result", {})
    secs = num(res, "secs")
    busy = num(res, "busy", float("nan"))
    if busy != busy:  # older swapbench: from the snapshots around the phase
        busy = (num(ac, "cpu_total") - num(ac, "cpu_idle")) - (num(fl, "cpu_total") - num(fl, "cpu_idle"))
    self_cpu = num(res, "self_cpu")
    recomp_total = num(ac, "policy_recompressed")
    row = {
        "scenario": r["scenario"],
        "config": r["config"],
        "accesses": int(num(res, "accesses")),
        "access_s": secs,
        "per_s": num(res, "per_s"),
        "fill_s": num(r.get("sb_config", {}), "fill_s"),
        "swapin": int(num(ac, "pswpin") - num(fl, "pswpin")),
        "swapout": int(num(ac, "pswpout") - num(fl, "pswpout")),
        "fill_swapout": int(num(fl, "pswpout") - num(s.get("start", {}), "pswpout")),
        "mem_used_access_end": int(num(ac, "mem_used")),
        "mem_used_max_access": int(max([num(t, "mem_used") for t in r["ticks"]] + [num(ac, "mem_used")])),
        "orig_access_end": int(num(ac, "orig")),
        "mem_used_idle": int(num(idl, "mem_used")),
        "orig_idle": int(num(idl, "orig")),
        "mem_used_filled": int(num(fl, "mem_used")),
        "self_cpu_s": self_cpu,
        # Guest CPU busy in the access phase beyond the program's own:
        # kswapd, kworkers (the idle policy's among them), interrupts.
        "others_cpu_s": busy - self_cpu,
        "policy_recomp_access": int(recomp_total - num(fl, "policy_recompressed")),
        "policy_recomp_idle": int(num(idl, "policy_recompressed") - recomp_total),
        "policy_tried_access": int(num(ac, "policy_tried") - num(fl, "policy_tried")),
        "stored_recomp_access_end": int(num(ac, "stored_recompressed")),
        # Recompressed pages freed (swapped in, mostly) during the accesses:
        # recompressions so far less those still stored, at both ends.
        "recomp_freed_access": int((recomp_total - num(ac, "stored_recompressed")) -
                                   (num(fl, "policy_recompressed") - num(fl, "stored_recompressed"))),
        "stored_recomp_idle": int(num(idl, "stored_recompressed")),
        "final_s": num(r.get("sb_final", {}), "secs"),
        "final_swapin": int(num(ck, "pswpin") - num(idl, "pswpin")),
        "final_self_cpu_s": num(ck, "self_cpu") - num(idl, "self_cpu"),
        "final_others_cpu_s": ((num(ck, "cpu_total") - num(ck, "cpu_idle")) -
                               (num(idl, "cpu_total") - num(idl, "cpu_idle")) -
                               (num(ck, "self_cpu") - num(idl, "self_cpu"))),
        # The debugfs counters move after each slice of a policy pass (at
        # the end of a run before issue 19) and the r flags as it goes,
        # so this is a lower bound: recompressions whose page had been
        # swapped in or rewritten by the end of the idle period.  The
        # slice in progress can make the difference negative: 0 then.
        "recomp_freed_by_idle_end": max(0, int(num(idl, "policy_recompressed") - num(idl, "stored_recompressed"))),
        # What the pool holds after the idle period (ours: debugfs pool).
        "compr_idle": int(num(idl, "compr")),
        "dead_group_bytes_idle": int(num(idl, "dead_group_bytes")),
        "compactable_pages_idle": int(num(idl, "compactable_pages")),
        "chunks_16k_idle": int(num(idl, "chunks_16k")),
        "free_small_idle": int(num(idl, "free_small")),
        "free_mid_idle": int(num(idl, "free_mid")),
        "free_rest_idle": int(num(idl, "free_rest")),
        "chunks_4k_idle": int(num(idl, "chunks_4k")),
        "policy_age_access_end": int(num(ac, "policy_age", -1)),
        "policy_group_age_access_end": int(num(ac, "policy_group_age", -1)),
        "policy_age_idle": int(num(idl, "policy_age", -1)),
        "policy_group_age_idle": int(num(idl, "policy_group_age", -1)),
        "groups_idle": int(num(idl, "groups")),
        "grouped_pages_idle": int(num(idl, "grouped_pages")),
        "fails": int(num(r.get("sb_done", {}), "fails", -1)),
        "rc": r.get("rc", -1),
    }
    rows.append(row)

os.makedirs(out_dir, exist_ok=True)
with open(os.path.join(out_dir, name + ".csv"), "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)

base = {}
for row in rows:
    if row["config"] == ref:
        base[row["scenario"]] = row
cfg0 = runs[0].get("sb_config", {})
primary = setup.get("policy_primary", "lzo-rle")
kernel = setup.get("kernel", "6.1")
labels = {
    "stock-lzo-rle": "stock, lzo-rle",
    "stock-lz4": "stock, lz4",
    "stock-zstd": "stock, zstd",
    "ours-lzo-rle": "ours, lzo-rle",
    "ours-lz4": "ours, lz4",
    "ours-policy": f"ours, {primary}, zstd recompression, `idle_policy` `" +
                   setup.get("policy", "?").replace(",", " ") + "`",
    "ours-policy-grouped": f"ours, {primary}, the same policy with `recompress_group_pages=" +
                           setup.get("group_pages", "?") + "`",
}


def ratio(row, key):
    b = base.get(row["scenario"])
    return f"{row[key] / b[key]:.3f}" if b and b[key] else ""


mb = lambda b: f"{b / 1e6:.1f}"
# The commit that ran, as scripts/bench.sh recorded it beside the log.
rev_file = os.path.join(os.path.dirname(log_path), "rev")
rev = open(rev_file).read().strip() if os.path.exists(rev_file) else "?"
md = [f"# Swap: a program living on zram swap (issue 19)", "",
      f"`scripts/bench.sh swap` ({rev}),"
      f" one boot of Debian's {kernel} under QEMU's icount (one vCPU; guest time is a"
      " function of the instructions executed).", "",
      f"swapbench (`tests/swapbench/swapbench.c`): {cfg0.get('mib', '?')} MiB of anonymous memory"
      " (no THP) filled with real files (`make_real_tar`: /usr/lib/x86_64-linux-gnu,"
      " /usr/share/doc, /usr/include), in a memory cgroup with `memory.max` "
      f"{setup.get('cg_mib', '?')} MiB, zram0 ({setup.get('disk', '?')}) the only swap"
      f" ({setup.get('data_mb', '?')} MiB of files; past them the fill starts over half a page off);"
      f" then {int(cfg0.get('accesses', 0)):,} accesses, {cfg0.get('hot_share', '?')} % to a hot"
      f" {int(cfg0.get('hot', 0)):,} pages (10 %), the rest uniform over the warm pages"
      " (all of them, or the 40 % not left cold); every access checks its whole page"
      f" against its checksum, one in {cfg0.get('rewrite', '?')} rewrites 64..1024 bytes of it"
      f" with other bytes of the files. Seed {cfg0.get('seed', '?')}: every run makes the same accesses."
      f" Then {cfg0.get('idle', '?')} s asleep (still holding its memory) and every page"
      " checked once more.", ""]
for scen in dict.fromkeys(r["scenario"] for r in rows):
    cold = scen.replace("cold", "")
    title = ("Every page keeps getting accesses" if cold == "0"
             else f"{cold} % of the pages never touched again after the fill ({int(cfg0.get('pages', 0)) * (100 - int(cold)) // 100:,} warm pages)")
    md += [f"## {title}", "",
           f"| configuration | accesses/s | vs {labels.get(ref, ref)} | swap-ins | swap-outs |"
           " pool at the end of the accesses (MB) | vs stock | pool after "
           f"{cfg0.get('idle', '?')} s idle (MB) | vs stock | checksum failures |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        if row["scenario"] != scen:
            continue
        md.append(f"| {labels.get(row['config'], row['config'])} | {row['per_s']:,.0f} |"
                  f" {ratio(row, 'per_s')} | {row['swapin']:,} | {row['swapout']:,} |"
                  f" {mb(row['mem_used_access_end'])} | {ratio(row, 'mem_used_access_end')} |"
                  f" {mb(row['mem_used_idle'])} | {ratio(row, 'mem_used_idle')} | {row['fails']} |")
    md += ["", "Where the time goes (guest seconds): the access phase, then the final check:", "",
           "| configuration | access phase s | program's CPU s | other CPU s |"
           " policy recompressed during accesses | while idle | recompressions lost to swap-in or rewrite by the idle period's end |"
           " policy's age / group age (s), end of the accesses -> of the idle period |"
           " final check s | program's CPU s | other CPU s | its swap-ins | program's µs per page swapped in |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        if row["scenario"] != scen:
            continue
        pol = row["config"].startswith("ours-policy")
        per = row["final_self_cpu_s"] / row["final_swapin"] * 1e6 if row["final_swapin"] else 0
        if pol:
            ages = (f"{row['policy_age_access_end']} / {row['policy_group_age_access_end']} ->"
                    f" {row['policy_age_idle']} / {row['policy_group_age_idle']}"
                    if row["policy_age_idle"] >= 0 else "")
            policy = (f"{row['policy_recomp_access']:,} | {row['policy_recomp_idle']:,} |"
                      f" >= {row['recomp_freed_by_idle_end']:,} | {ages}")
        else:
            policy = " | | |"
        md.append(f"| {row['config']} | {row['access_s']:.2f} | {row['self_cpu_s']:.2f} |"
                  f" {row['others_cpu_s']:.2f} | {policy} |"
                  f" {row['final_s']:.2f} | {row['final_self_cpu_s']:.2f} | {row['final_others_cpu_s']:.2f} |"
                  f" {row['final_swapin']:,} | {per:.1f} |")
    md += ["", f"What the pool holds after the idle period (MB; ours' from debugfs zram/zram0/pool):", "",
           "| configuration | pool | compressed bytes | pool beyond them | of which dead members of groups |"
           " free in blocks < 512 B | free in blocks 512 B - 4 KB | free in chunks' tails |"
           " compaction could free | 16 KiB chunks | 4 KiB chunks | groups | grouped pages |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        if row["scenario"] != scen:
            continue
        # Logs from before swapbench read debugfs pool have no chunks.
        ours = row["chunks_16k_idle"] + row["chunks_4k_idle"] > 0
        pool = (f" {mb(row['dead_group_bytes_idle'])} | {mb(row['free_small_idle'])} |"
                f" {mb(row['free_mid_idle'])} | {mb(row['free_rest_idle'])} |"
                f" {mb(row['compactable_pages_idle'] * 4096)} |"
                f" {row['chunks_16k_idle']:,} | {row['chunks_4k_idle']:,} | {row['groups_idle']:,} |"
                f" {row['grouped_pages_idle']:,} |") if ours else " | | | | | | | | |"
        md.append(f"| {row['config']} | {mb(row['mem_used_idle'])} | {mb(row['compr_idle'])} |"
                  f" {mb(row['mem_used_idle'] - row['compr_idle'])} |{pool}")
    md.append("")
md += ["Swap-ins and swap-outs: /proc/vmstat pswpin/pswpout over the access phase."
       " Pool: mm_stat mem_used_total. Program's CPU: its getrusage over the access"
       " phase; other CPU: the guest's busy time (/proc/stat) in the same phase minus"
       " the program's (kswapd, kworkers, the idle policy's worker among them)."
       " Policy counts: debugfs zram/zram0/idle_policy `recompressed`, which moves"
       " after every half-second slice of the policy's pass (the slice in progress"
       " is not in it yet; before issue 19, when a run ended). Recompressions lost:"
       " that count less the pages flagged `r` in debugfs block_state at the end of"
       " the idle period, a lower bound on the recompressed pages the program"
       " swapped in (or rewrote) again, each a wasted recompression and a zstd"
       " decompression on its way back."
       " Final check: every page read once after the idle period, index order, the"
       " program's CPU and the rest as above (the policy keeps running meanwhile);"
       " µs per page swapped in: the program's CPU over its swap-ins (the checksums"
       " and the swap-outs it causes included; also the idle snapshot's block_state"
       " read, about 0.1 s, in every configuration).", ""]
if unfinished:
    md += ["Not finished (the run was cut short): " +
           ", ".join(f"{r['scenario']} {r['config']}" for r in unfinished) + ".", ""]
if wall:
    md += [f"The run took {wall // 60} min {wall % 60} s of wall clock on the host"
           " (boot, data, every configuration).", ""]
md.append(f"![accesses/s and pool against {labels.get(ref, ref)}]({name}.png)")
with open(os.path.join(out_dir, name + ".md"), "w") as f:
    f.write("\n".join(md) + "\n")

# Plot: ratios to the reference per configuration, one group per scenario,
# and the pool over the access phase and idle period.
dat = os.path.join(out_dir, name + ".dat")
with open(dat, "w") as f:
    for row in rows:
        b = base.get(row["scenario"])
        if not b:
            continue
        q = lambda k: row[k] / b[k] if b[k] else 0
        f.write(f'"{row["scenario"]} {row["config"]}" {q("per_s"):.4f}'
                f' {q("mem_used_access_end"):.4f} {q("mem_used_idle"):.4f}\n')
tl = os.path.join(out_dir, name + ".tl")
with open(tl, "w") as f:
    for r in runs:
        idle = float(r.get("sb_config", {}).get("idle", 0))
        res = r.get("sb_result", {})
        pts = [(0.0, num(r["snaps"].get("filled"), "mem_used"))]
        pts += [(num(t, "t"), num(t, "mem_used")) for t in r["ticks"]]
        pts.append((num(res, "secs"), num(r["snaps"].get("accessed"), "mem_used")))
        if "idle" in r["snaps"]:
            pts.append((num(res, "secs") + idle, num(r["snaps"]["idle"], "mem_used")))
        f.write(f'# {r["scenario"]} {r["config"]}\n')
        for t, m in pts:
            f.write(f"{t:.3f} {m / 1e6:.2f}\n")
        f.write("\n\n")
ntl = len(runs)
COLOURS = {"stock-lzo-rle": "black", "stock-lz4": "dark-gray", "stock-zstd": "orange",
           "ours-lzo-rle": "blue", "ours-lz4": "web-green", "ours-policy": "red",
           "ours-policy-grouped": "magenta"}
plots = ", ".join(
    f"'{tl}' index {i} using 1:2 with linespoints lw 2 pt 7 ps 0.5 "
    f"dt {1 if r['scenario'].endswith('cold0') or r['scenario'] == 'cold0' else 2} "
    f"lc rgb '{COLOURS.get(r['config'], 'gray')}' "
    f"title '{r['scenario']} {r['config']}'"
    for i, r in enumerate(runs))
script = f"""
set terminal pngcairo size 1100,900
set output '{os.path.join(out_dir, name + ".png")}'
set multiplot layout 2,1
set title 'ratio to {labels.get(ref, ref)}, same scenario (cold0: every page in use; cold60: 60 % cold after the fill)'
set style data histograms
set style histogram clustered gap 2
set style fill solid 0.6
set xtics rotate by -20 font ',9'
set key below
set yrange [0:*]
set grid y
plot '{dat}' using 2:xtic(1) title 'accesses/s', '' using 3 title 'pool at the end of the accesses', '' using 4 title 'pool after the idle period', 1 notitle lt 0
unset style
set style data lines
set xtics norotate font ',10'
set title 'mem\\_used\\_total during the access phase, then after the idle period (last point)'
set xlabel 'guest seconds since the access phase began'
set ylabel 'MB'
set key outside right font ',8'
set xtics autofreq
set autoscale y
plot {plots}
unset multiplot
"""
try:
    subprocess.run(["gnuplot"], input=script, text=True, check=True)
except (OSError, subprocess.CalledProcessError) as e:
    print("bench-swap-report: no plot:", e, file=sys.stderr)
os.remove(dat)
os.remove(tl)
print("\n".join(md))
bad = [r for r in rows if r["fails"] != 0 or r["rc"] != 0]
if bad or unfinished:
    sys.exit("bench-swap-report: checksum failures or failed runs: " +
             ", ".join(f"{r['scenario']} {r['config']}" for r in bad + unfinished))
