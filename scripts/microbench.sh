#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Host microbenchmarks of the core (tests/microbench), Release build.
#
#   scripts/microbench.sh            Google Benchmark, under 3 minutes:
#                                    bench/results/host-micro.md,
#                                    raw JSON in build/microbench/
#   scripts/microbench.sh callgrind  instructions per page written and read,
#                                    split by where they execute:
#                                    bench/results/host-callgrind.md
#
#   BUILD_DIR   build tree (default: build/microbench)
#   RESULTS_DIR where the .md files go (default: bench/results)
#   MIN_TIME    Google Benchmark min time per run, seconds (default: 0.1)
#   REPS        repetitions per benchmark (default: 3; the median is shown)
#   FILTER      benchmark name regex (default: all)
#   PAGES       pages per kind for callgrind (default: 20000; 4-8 minutes)
#   JOBS        parallel build jobs and callgrind processes (default: 2)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-$root/build/microbench}
jobs=${JOBS:-2}
results=${RESULTS_DIR:-$root/bench/results}
mode=${1:-bench}

case $mode in
bench | callgrind) ;;
-h | --help)
	sed -n '3,18p' "${BASH_SOURCE[0]}"
	exit 0
	;;
*)
	echo "usage: $0 [callgrind]" >&2
	exit 2
	;;
esac

configure=(cmake -S "$root/tests/microbench" -B "$build" -DCMAKE_BUILD_TYPE=Release)
if [[ ! -f $build/CMakeCache.txt ]] && command -v g++-12 >/dev/null; then
	configure+=(-DCMAKE_CXX_COMPILER=g++-12)
fi
"${configure[@]}" >/dev/null
cmake --build "$build" -j "$jobs"

# Which core the figures are of: the commit, and whether the files that
# make up the host build differ from it.
rev=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$root" status --porcelain -- drivers/core lib include \
	tests/host tests/microbench 2>/dev/null | awk '{print $2}' | tr '\n' ' ')
if [[ -n $dirty ]]; then
	source_desc="commit $rev with uncommitted changes to ${dirty% }"
else
	source_desc="commit $rev"
fi
mkdir -p "$results"

if [[ $mode == bench ]]; then
	json=$build/host-micro.json
	args=(--benchmark_min_time="${MIN_TIME:-0.1}"
	      --benchmark_repetitions="${REPS:-3}"
	      --benchmark_report_aggregates_only=true
	      --benchmark_out="$json" --benchmark_out_format=json)
	[[ -n ${FILTER:-} ]] && args+=(--benchmark_filter="$FILTER")
	"$build/zcx_microbench" "${args[@]}"
	shown="${build#$root/}/zcx_microbench ${args[*]}"
	python3 "$root/tests/microbench/bench_report.py" "$json" \
		"$results/host-micro.md" "${shown//$root\//}" "$source_desc"
	echo "microbench: wrote $results/host-micro.md (raw: $json)"
	exit 0
fi

# callgrind: count only inside the core's two entry points, one dump per
# phase (percall.cpp's client requests), one process per page kind (see
# percall.cpp for why), $JOBS at a time: instruction counts do not depend
# on load.  LD_BIND_NOW keeps the dynamic linker's lazy binding out of the
# first calls.
command -v valgrind >/dev/null || { echo "microbench: valgrind missing (scripts/setup.sh)" >&2; exit 1; }
out=$build/callgrind
rm -rf "$out"
mkdir -p "$out"
pages=${PAGES:-20000}
kinds=(zero same fio50 text random)
vg=(valgrind --tool=callgrind --collect-atstart=no
    --toggle-collect=zcx_dev_write_page --toggle-collect=zcx_dev_read_page
    --compress-strings=no --compress-pos=no)
echo "microbench: callgrind over $pages pages of each kind (several minutes)"
pids=()
for kind in "${kinds[@]}"; do
	if ((${#pids[@]} >= jobs)); then
		wait "${pids[0]}" || true
		pids=("${pids[@]:1}")
	fi
	LD_BIND_NOW=1 "${vg[@]}" --callgrind-out-file="$out/callgrind.$kind.out" \
		"$build/zcx_percall" "$pages" "$kind" \
		>"$out/meta.$kind.tsv" 2>"$out/valgrind.$kind.log" &
	pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid" || true; done
# percall prints a kind's line only after all its phases passed.
for kind in "${kinds[@]}"; do
	grep -q "^$kind	" "$out/meta.$kind.tsv" || {
		cat "$out/valgrind.$kind.log" >&2
		echo "microbench: callgrind run of $kind failed" >&2
		exit 1
	}
	cat "$out/meta.$kind.tsv"
done >"$out/meta.tsv"
dumps=("$out"/callgrind.*.out.*)
for d in "${dumps[@]}"; do
	label=$(sed -n 's|^desc: Trigger: Client Request: ||p' "$d" | tr / -)
	[[ -n $label ]] || continue
	# (its "uninitialized value" warnings on these dumps are harmless)
	callgrind_annotate --inclusive=yes "$d" >"$out/annotate-$label.txt" \
		2>>"$out/annotate.log"
done
shown="for kind in ${kinds[*]}; do LD_BIND_NOW=1 ${vg[*]} --callgrind-out-file=${out#$root/}/callgrind.\$kind.out ${build#$root/}/zcx_percall $pages \$kind; done"
shown=${shown//$root\//}
python3 "$root/tests/microbench/callgrind_split.py" \
	"$results/host-callgrind.md" "$out/meta.tsv" "$shown" "$source_desc" \
	"${dumps[@]}"
echo "microbench: wrote $results/host-callgrind.md (dumps and annotations: $out)"
