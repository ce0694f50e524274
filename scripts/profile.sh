#!/usr/bin/env bash
# Guest profile: where the guest's instructions go on zram's write and read
# paths, ours vs the stock module, by perf's cpu-clock software event.
#
#   scripts/profile.sh [OUTDIR]      (default build/profile)
#   scripts/profile.sh --report OUTDIR   only redo OUTDIR/summary.md
#
# Builds zram.ko from a copy of the sources in build/profile-src (the
# checkout's zram.ko may be in use by other runs), boots one VM under
# QEMU's icount mode (1 vCPU; guest time = instructions executed, so
# cpu-clock samples are proportional to instructions), and runs
# tests/vm/profile.sh there: stock zram, then ours, each on a fresh 256M
# disk, the seed's fio job, random reads over its data and random
# overwrites, each under its own `perf record -a -g`.  The guest writes
# perf's text reports to OUTDIR/profile/; this script sorts every symbol
# into categories (compressor, allocator, page allocator, ...) and writes
# OUTDIR/summary.md.  T_FREQ (default 20000 Hz), T_SEED_MB (64),
# T_READ_MB, T_WRITE_MB and T_CALLGRAPH=0 tune the guest side.
set -euo pipefail
cd "$(dirname "$0")/.."
report_only=0
if [[ ${1:-} == --report ]]; then
	report_only=1
	shift
fi
out=${1:-build/profile}
if [[ $report_only == 0 ]]; then
scripts/setup.sh >/dev/null
command -v perf >/dev/null || { echo "profile: perf missing (linux-perf)" >&2; exit 1; }

src=build/profile-src
rm -rf "$src"
mkdir -p "$src" "$(dirname "$out")"
git ls-files -z --cached --others --exclude-standard |
	rsync -a --from0 --files-from=- ./ "$src/"
make --no-print-directory -C "$src" modules >"$out.build.log" 2>&1 ||
	{ tail -30 "$out.build.log"; exit 1; }
# The guest's phase jitter (see tests/vm/profile.sh): a SCHED_FIFO task
# that sleeps SLEEP_MIN + 0..SLEEP_RANGE ns (default 25..75 us, about one
# sample period), then spins 0..SPIN_MAX rounds (~5 instructions each),
# forever; xorshift with a fixed seed, so every run and both drivers get
# the same sequence.
cat >"$src/profile-jitter.c" <<'C'
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
static uint64_t x = 0x9e3779b97f4a7c15ull;
static uint64_t next(void)
{
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return x;
}
int main(int argc, char **argv) /* [SLEEP_MIN SLEEP_RANGE SPIN_MAX] */
{
	long sleep_min = argc > 1 ? atol(argv[1]) : 25000;
	long sleep_range = argc > 2 ? atol(argv[2]) : 50000;
	uint64_t spin_max = argc > 3 ? strtoull(argv[3], 0, 0) : 3000;
	volatile uint64_t sink = 0;
	for (;;) {
		struct timespec ts = { 0, sleep_min + (long)(next() % sleep_range) };
		nanosleep(&ts, 0);
		for (uint64_t i = next() % spin_max; i; i--)
			sink += i;
	}
}
C
gcc -O2 -o "$src/profile-jitter" "$src/profile-jitter.c"
rm -rf "$out"
mkdir -p "$out"
{
	echo "commit $(git rev-parse HEAD)"
	git status --short -- drivers lib include Kbuild Makefile
} >"$out/source.txt"

start=$SECONDS
T_KO=$(pwd)/$src/zram.ko T_JITTER=${T_JITTER-$(pwd)/$src/profile-jitter} VM_ICOUNT=1 VM_MEM=${VM_MEM:-2048} \
	VM_TIMEOUT=${VM_TIMEOUT:-5400} scripts/vm-run.sh -o "$out" tests/vm/profile.sh
echo "profile: VM run took $((SECONDS - start)) s" | tee "$out/elapsed.txt"
fi

python3 - "$out" <<'PY'
import os, re, subprocess, sys

out = sys.argv[1]
prof = os.path.join(out, "profile")
drivers = ["stock", "ours"]
jobs = ["seed", "randread", "randwrite"]

# Module of every kernel symbol, from the guest's /proc/kallsyms (perf
# shows module symbols under [kernel.kallsyms]); C++ names demangled as
# perf --demangle-kernel shows them.
def kallsyms_modules(path):
    mods, mangled = {}, []
    for line in open(path):
        f = line.split()
        if len(f) >= 4 and f[3].startswith("["):
            mods[f[2]] = f[3].strip("[]")
            if f[2].startswith("_Z"):
                mangled.append(f[2])
    if mangled:
        dem = subprocess.run(["c++filt"], input="\n".join(mangled), text=True,
                             capture_output=True).stdout.split("\n")
        for m, d in zip(mangled, dem):
            mods[d] = mods[m]
    return mods

def base(sym):  # foo.constprop.0 / foo.part.0 / foo.isra.0 -> foo
    return re.sub(r"\.(constprop|part|isra|cold|lto_priv)\.\d+", "", sym)

R = lambda *p: re.compile("^(" + "|".join(p) + ")")
rules = [
    ("idle", R(r"native_safe_halt$", r"default_idle", r"do_idle$", r"cpuidle",
               r"amd_e400_idle", r"arch_cpu_idle", r"tick_nohz_idle",
               r"cpu_startup_entry", r"mwait_idle")),
    ("compressor: LZO compress", R(r"lzo1x_1_do_compress", r"lzogeneric1x_1_compress",
                                   r"lzo1x_1_compress", r"lzorle1x_1_compress")),
    ("compressor: LZO decompress", R(r"lzo1x_decompress")),
    ("compressor: crypto API glue", R(r"crypto_", r"scomp", r"__lzorle", r"lzorle_",
                                      r"lzo_(de)?compress", r"__lzo_")),
    ("page allocator", R(r"get_page_from_freelist$", r"__alloc_pages", r"alloc_pages",
                         r"__folio_alloc", r"rmqueue", r"__rmqueue", r"free_unref_page",
                         r"__free_pages", r"free_pages", r"free_pcppages_bulk",
                         r"__free_one_page", r"prep_new_page", r"post_alloc_hook",
                         r"kernel_init_pages", r"__zone_watermark", r"zone_watermark",
                         r"free_tail_page_prepare", r"free_page_is_bad",
                         r"__mod_zone_page_state", r"__mod_zone_freepage",
                         r"free_pcp_prepare", r"free_unref_page_prepare",
                         r"should_fail_alloc_page", r"__put_page$",
                         r"__free_pages_ok", r"split_page", r"__count_vm_events",
                         r"prep_compound_page", r"__isolate_free_page",
                         r"check_new_pages", r"free_compound_page",
                         r"destroy_large_folio", r"__folio_put$", r"__page_cache_release",
                         r"__dec_node_page_state", r"__inc_node_page_state",
                         r"__mod_node_page_state", r"__mod_lruvec")),
    ("clear_page (init_on_alloc zeroing)", R(r"clear_page")),
    ("memcpy/memset", R(r"memcpy", r"memset", r"__memcpy", r"__memset", r"memmove",
                        r"copy_page$", r"memcmp", r"__memmove")),
    ("kmap/kunmap, page->address", R(r"kmap", r"kunmap", r"page_address")),
    ("slab (kmalloc, kmem_cache)", R(r"kmem_cache_", r"__kmalloc", r"kmalloc", r"kfree",
                                     r"__slab", r"___slab", r"slab_", r"cache_from_obj",
                                     r"__kmem_cache", r"kmalloc_slab", r"obj_cgroup",
                                     r"memcg_slab", r"mempool_")),
    ("block layer, direct I/O, GUP", R(r"blk_", r"__blk", r"bio_", r"__bio", r"submit_bio",
                                       r"__submit_bio", r"blkdev_", r"__blkdev", r"bdev_",
                                       r"bvec_", r"iov_iter", r"__iov_iter", r"gup_",
                                       r"__get_user_pages", r"get_user_pages",
                                       r"pin_user_pages", r"unpin_user_page",
                                       r"try_grab", r"internal_get_user_pages",
                                       r"lockless_pages_from_mm", r"follow_page",
                                       r"bio$", r"part_stat", r"update_io_ticks",
                                       r"disk_", r"should_fail_bio", r"submit_bio_noacct",
                                       r"bvec_try_merge", r"page_is_mergeable",
                                       r"ktime_get$", r"__bvec_")),
    ("aio", R(r"aio_", r"io_submit", r"__x64_sys_io_", r"do_io_getevents",
              r"read_events", r"lookup_ioctx", r"io_getevents", r"__io_submit_one",
              r"refill_reqs_available", r"user_refill_reqs_available",
              r"__do_sys_io_", r"__se_sys_io_", r"put_reqs_available",
              r"get_reqs_available", r"iocb_", r"kiocb_")),
    ("syscall entry/exit", R(r"entry_SYSCALL", r"do_syscall_64", r"syscall_",
                             r"exit_to_user_mode", r"x64_sys_call", r"__x64_sys_",
                             r"syscall_return_via_sysret", r"__fdget", r"__fget",
                             r"fput", r"rw_verify_area", r"fpregs_",
                             r"switch_fpu", r"restore_fpregs")),
    ("scheduler, timers, IRQ, softirq", R(r"__schedule", r"schedule", r"finish_task_switch",
                                          r"update_", r"load_balance", r"rebalance_domains",
                                          r"run_rebalance", r"handle_softirqs", r"__do_softirq",
                                          r"rcu_", r"note_gp_changes", r"__run_timers",
                                          r"run_timer", r"hrtimer", r"tick_", r"read_hpet",
                                          r"find_busiest", r"_find_next", r"__bitmap",
                                          r"__msecs_to_jiffies", r"irq", r"__irq",
                                          r"sysvec_", r"asm_sysvec", r"enqueue_", r"dequeue_",
                                          r"try_to_wake_up", r"ttwu_", r"pick_next",
                                          r"__sched", r"sched_", r"psi_", r"ktime_get",
                                          r"clockevents", r"lapic_", r"native_apic",
                                          r"__cond_resched", r"raw_spin_rq", r"newidle",
                                          r"select_task_rq", r"set_next_entity",
                                          r"put_prev", r"check_preempt", r"wake_up",
                                          r"__wake_up", r"reweight", r"account_")),
    ("spin unlock with IRQs re-enabled", R(r"_raw_spin_unlock_irq")),
    ("page faults, mm (fio startup)", R(r"do_user_addr_fault", r"__handle_mm_fault",
                                        r"handle_mm_fault", r"filemap_", r"unmap_",
                                        r"mtree_", r"do_anonymous_page", r"do_fault",
                                        r"next_uptodate_page", r"zap_", r"release_pages",
                                        r"page_remove_rmap", r"page_add_", r"set_pte",
                                        r"copy_user_enhanced_fast_string", r"copy_page_range",
                                        r"__pte", r"pte_", r"lru_", r"folio_",
                                        r"vma_", r"mas_", r"exc_page_fault",
                                        r"asm_exc_page_fault", r"do_read_fault",
                                        r"do_wp_page", r"p9_", r"v9fs_")),
]
PERF_SAMPLER = R(r"perf_", r"__perf", r"x86_pmu")

def category(comm, dso, sym, mods, driver):
    if comm == "profile-jitter":
        return "phase jitter task (not the workload)"
    b = base(sym)
    mod = mods.get(sym) or mods.get(b)
    if dso != "[kernel.kallsyms]" and not dso.startswith("[zram") and not dso.startswith("[zsmalloc"):
        if dso == "fio":
            return "fio user space"
        if dso == "perf":
            return "perf tool"
        return "user libraries (ld.so, libc, libaio, ...)"
    if "zcx::xv::" in sym or sym.startswith("_ZN3zcx2xv") or sym.startswith("_ZNK3zcx2xv"):
        return "allocator: xvmalloc (ours)"
    if mod == "zsmalloc" or b.startswith("zs_") or dso.startswith("[zsmalloc"):
        return "allocator: zsmalloc (stock)"
    for name, rx in rules:
        if rx.match(b):
            return name
    if mod == "zram" or dso.startswith("[zram") or "zcx::" in sym:
        return "zram driver: rest of the module"
    if PERF_SAMPLER.match(b):
        return "perf sampling"
    return "other kernel"

line_rx = re.compile(r"^\s*([\d.]+)%\s+(\d+)\s+(\S+)\s+(\S+)\s+\[(.)\]\s+(.*?)\s*$")

def load(driver, job):
    mods = kallsyms_modules(os.path.join(prof, driver + ".kallsyms"))
    cats, syms = {}, {}
    for line in open(os.path.join(prof, "%s-%s.dsosym.txt" % (driver, job))):
        m = line_rx.match(line)
        if not m:
            continue
        n, comm, dso, sym = int(m.group(2)), m.group(3), m.group(4), m.group(6)
        c = category(comm, dso, sym, mods, driver)
        cats[c] = cats.get(c, 0) + n
        syms[(c, sym)] = syms.get((c, sym), 0) + n
    return cats, syms

def fio_line(driver, job):
    t = open(os.path.join(prof, "%s-%s.fio.txt" % (driver, job))).read()
    m = re.search(r"^\s+(READ|WRITE): bw=(\S+) \((\S+)\).*run=(\S+)", t, re.M)
    return (m.group(2), m.group(4)) if m else ("?", "?")

md = ["# Guest profile: ours vs stock zram (generated by scripts/profile.sh)", ""]
md.append("Samples of perf's cpu-clock at the guest's rate under QEMU icount "
          "(1 vCPU): samples are proportional to guest instructions. "
          "\"work\" leaves out the idle loop and the phase jitter task.")
md.append("")
md.append("| job | stock samples | ours samples | ours/stock | stock work | ours work | ours/stock work | stock fio | ours fio |")
md.append("|---|---:|---:|---:|---:|---:|---:|---|---|")
data = {}
for job in jobs:
    row = []
    for d in drivers:
        data[(d, job)] = load(d, job)
    tot = {d: sum(data[(d, job)][0].values()) for d in drivers}
    busy = {d: tot[d] - data[(d, job)][0].get("idle", 0)
            - data[(d, job)][0].get("phase jitter task (not the workload)", 0) for d in drivers}
    fs = {d: "%s, run=%s" % fio_line(d, job) for d in drivers}
    md.append("| %s | %d | %d | %.3f | %d | %d | %.3f | %s | %s |" % (
        job, tot["stock"], tot["ours"], tot["ours"] / tot["stock"],
        busy["stock"], busy["ours"], busy["ours"] / busy["stock"], fs["stock"], fs["ours"]))
md.append("")
for job in jobs:
    tot = {d: sum(data[(d, job)][0].values()) for d in drivers}
    cats = sorted(set(data[("stock", job)][0]) | set(data[("ours", job)][0]),
                  key=lambda c: -(data[("stock", job)][0].get(c, 0) + data[("ours", job)][0].get(c, 0)))
    md.append("## %s" % job)
    md.append("")
    md.append("| category | stock % | ours % | stock samples | ours samples | ours - stock |")
    md.append("|---|---:|---:|---:|---:|---:|")
    for c in cats:
        s, o = data[("stock", job)][0].get(c, 0), data[("ours", job)][0].get(c, 0)
        md.append("| %s | %.1f | %.1f | %d | %d | %+d |" % (
            c, 100 * s / tot["stock"], 100 * o / tot["ours"], s, o, o - s))
    md.append("| **total** | 100 | 100 | %d | %d | %+d |" % (
        tot["stock"], tot["ours"], tot["ours"] - tot["stock"]))
    md.append("")
    for d in drivers:
        syms = data[(d, job)][1]
        md.append("<details><summary>%s %s: symbols by category (top 6 each)</summary>" % (d, job))
        md.append("")
        for c in cats:
            top = sorted(((n, s) for (cc, s), n in syms.items() if cc == c), reverse=True)[:6]
            if top:
                md.append("- **%s**: " % c + ", ".join("`%s` %d" % (s[:70], n) for n, s in top))
        md.append("")
        md.append("</details>")
        md.append("")
open(os.path.join(out, "summary.md"), "w").write("\n".join(md) + "\n")
print("profile: %s/summary.md" % out)
PY
