#!/bin/bash
# Guest side of scripts/profile.sh: where the guest's instructions go on
# zram's write and read paths, stock zram vs ours, by perf's cpu-clock
# software event (under icount, guest time = instructions executed, so
# samples are proportional to instructions).  For each driver, one fresh
# 256M disk and three fio jobs, each under its own `perf record -a -g`:
#   seed       the seed's job (write, numjobs=2, iodepth=8, 2 x 64M)
#   randread   random 4k reads over the 128M the seed job wrote
#   randwrite  random 4k overwrites of the first 64M
# perf report runs here, while the module is loaded: module symbols (our
# C++ ones too) come from /proc/kallsyms, which the host cannot see.
#
# Under icount the guest is deterministic and cpu-clock fires every
# exactly 1/FREQ s of instructions, while a fio job repeats one I/O of
# nearly constant cost, and each sample's own cost depends on where it
# lands: the samples lock onto a few phases of the I/O loop and the
# profile lies.  Without help, ours' random reads had 10 % of their
# samples in internal_get_user_pages_fast at 20000 Hz and under 1 % at
# 17389 Hz, and LZO decompression went from 3 % to 10 %.  A jitter task
# waking every millisecond did not help (the locking pulls the phase back
# within a few samples).  T_JITTER (built by scripts/profile.sh), a
# SCHED_FIFO task that wakes about once per sample period at
# pseudo-random times and spins a pseudo-random while (T_JITTER_ARGS:
# SLEEP_MIN SLEEP_RANGE ns, SPIN_MAX rounds), does: the same check then
# gave 9.4..11.0 % for decompression and 1.8..2.9 % for GUP at both rates
# on both drivers.  It takes ~11 % of the samples plus context switches
# (finish_task_switch); both are reported as their own categories, and
# its generator has a fixed seed, so runs stay repeatable.
# Writes $VM_OUT/profile/DRIVER-JOB.{fio,sym,dso,dsosym,children,callers}.txt,
# DRIVER-JOB.mm_stat and DRIVER.kallsyms.
set -euo pipefail
# shellcheck source=tests/vm/lib.sh
source "$(dirname "$0")/lib.sh"

FREQ=${T_FREQ:-20000}          # samples per second of guest time
SEED_MB=${T_SEED_MB:-64}       # per seed job (2 jobs)
READ_MB=${T_READ_MB:-$((SEED_MB * 2))}
WRITE_MB=${T_WRITE_MB:-$SEED_MB}
CALLGRAPH=${T_CALLGRAPH:-1}    # 0: flat profiles only (perf record without -g)
OUT=$VM_OUT/profile
mkdir -p "$OUT"
cd /tmp # fio and perf write state files into the working directory

# Kernel addresses visible, every event allowed, and no throttling of the
# sample rate when an interrupt looks slow under TCG (the default maximum
# rate, 100000, is above T_FREQ).
sysctl -q -w kernel.kptr_restrict=0 kernel.perf_event_paranoid=-1 \
	kernel.perf_cpu_time_max_percent=0
perf --version

common=(--filename=/dev/zram0 --bs=4k --direct=1 --ioengine=libaio
	--refill_buffers --buffer_compress_percentage=50 --group_reporting)
declare -A job_opts=(
	[seed]="--rw=write --iodepth=8 --numjobs=2 --size=${SEED_MB}M --offset_increment=${SEED_MB}M"
	[randread]="--rw=randread --iodepth=1 --numjobs=1 --size=${READ_MB}M"
	[randwrite]="--rw=randwrite --iodepth=1 --numjobs=1 --size=${WRITE_MB}M"
)
jobs=(seed randread randwrite)

setup_driver() { # stock|ours
	(unload_zram)
	case $1 in
	ours)
		insmod_zram "$KO" num_devices=1
		assert_ours
		;;
	stock)
		load_stock num_devices=1
		;;
	esac
	udevadm settle 2>/dev/null || true
	echo 256M >/sys/block/zram0/disksize
	echo "DRIVER $1 srcversion $(cat /sys/module/zram/srcversion 2>/dev/null || echo none)" \
		"algorithm $(sed 's/.*\[\(.*\)\].*/\1/' /sys/block/zram0/comp_algorithm)"
}

report() { # DATA NAME: the text reports, while the module is still loaded
	local data=$1 name=$2
	# perf leaves the C++ names it takes from kallsyms mangled.
	local rep=(perf report -i "$data" --stdio -n)
	# The flat profile by symbol (self samples), top 40 entries.
	"${rep[@]}" --no-children --sort sym -g none 2>/dev/null | c++filt |
		awk '/^#/ || /^$/ {print; next} ++n <= 40' >"$OUT/$name.sym.txt"
	"${rep[@]}" --no-children --sort dso -g none 2>/dev/null >"$OUT/$name.dso.txt"
	# Every symbol with its task and object: scripts/profile.sh sorts them
	# into categories.
	"${rep[@]}" --no-children --sort comm,dso,sym -g none --percent-limit 0 \
		2>/dev/null | c++filt >"$OUT/$name.dsosym.txt"
	[[ $CALLGRAPH == 1 ]] || return 0
	# Inclusive (children) shares: whole subtrees such as zs_malloc or
	# the page allocator under our pool.
	"${rep[@]}" --children --sort sym -g none --percent-limit 0.3 \
		2>/dev/null | c++filt >"$OUT/$name.children.txt" || true
	# Who calls the hot leaves: folded chains, kernel part only (fio's
	# user stacks have no frame pointers and only scatter the chains).
	"${rep[@]}" --no-children --sort sym -g folded,0.1,callee,function,percent \
		--percent-limit 0.5 --max-stack 12 2>/dev/null | c++filt \
		>"$OUT/$name.callers.txt" || true
}

for driver in stock ours; do
	setup_driver $driver
	for job in "${jobs[@]}"; do
		name=$driver-$job
		data=/tmp/$name.data
		g=()
		[[ $CALLGRAPH != 1 ]] || g=(-g)
		jpid=
		if [[ -n ${T_JITTER:-} ]]; then
			# shellcheck disable=SC2086
			chrt -f 1 "$T_JITTER" ${T_JITTER_ARGS:-} &
			jpid=$!
		fi
		# shellcheck disable=SC2086
		perf record -q -o "$data" -e cpu-clock -F "$FREQ" -a "${g[@]}" -- \
			fio --name="$job" "${common[@]}" ${job_opts[$job]} \
			>"$OUT/$name.fio.txt" 2>&1 ||
			fail "$name: perf record or fio failed: $(tail -5 "$OUT/$name.fio.txt")"
		if [[ -n $jpid ]]; then
			kill "$jpid"
			wait "$jpid" 2>/dev/null || true
		fi
		cat /sys/block/zram0/mm_stat >"$OUT/$name.mm_stat"
		report "$data" "$name"
		# perf's header rounds ("67K"): add up the exact counts.
		echo "RECORDED $name $(awk '!/^#/ && NF >= 3 {n += $2} END {print n}' \
			"$OUT/$name.dso.txt") samples;" \
			"fio: $(grep -E '^ +(READ|WRITE):' "$OUT/$name.fio.txt" | sed 's/^ *//')"
		rm -f "$data"
	done
	cp /proc/kallsyms "$OUT/$driver.kallsyms"
	cat /proc/modules >"$OUT/$driver.modules"
done
(unload_zram)
echo "PROFILE DONE"
