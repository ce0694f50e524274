#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# libFuzzer targets of the C++ core (tests/fuzz), built with clang under
# ASan+UBSan into build/fuzz.  Safe to re-run.
#
#   scripts/fuzz.sh build
#   scripts/fuzz.sh run [SECONDS] [TARGET...]
#       Fuzzes each target (default: all) for SECONDS (default 60), one
#       process at a time, growing build/fuzz/corpus-new/<target> from the
#       stored corpus, then merges what adds coverage into
#       tests/fuzz/corpus/<target>.  Crashes land in
#       build/fuzz/artifacts/<target>/; exits non-zero if any target
#       crashed.
#   scripts/fuzz.sh replay
#       Builds, then runs every file of each stored corpus once (no
#       fuzzing).  Prints "PASS: fuzz/<target>" or "FAIL: fuzz/<target>",
#       one line per target, on stdout; logs go to build/fuzz/logs.
#
#   BUILD_DIR  build tree (default: build/fuzz)
#   JOBS       parallel build jobs (default: 1)
#   FUZZ_CXX   compiler on first configure (default: clang++-14; not
#              CXX, which make exports as the kernel module's g++)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-$root/build/fuzz}
jobs=${JOBS:-1}
corpus=$root/tests/fuzz/corpus
all_targets=(fuzz_xvmalloc fuzz_decompress fuzz_parse fuzz_kv fuzz_device)

usage() {
	sed -n '3,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

# Options of a target for fuzzing and merging (not for replay, which runs
# whole files).
fuzz_flags() {
	case $1 in
	# Programs of a few hundred operations from the start, rather than
	# libFuzzer's slowly growing length limit.
	fuzz_xvmalloc) echo "-max_len=1024 -len_control=0" ;;
	# A random page compresses to ~4.4 KiB, and the round trip wants
	# whole pages of content.
	fuzz_decompress) echo "-max_len=9000" ;;
	fuzz_parse) echo "-max_len=64 -dict=$root/tests/fuzz/fuzz_parse.dict" ;;
	fuzz_kv) echo "-max_len=128 -dict=$root/tests/fuzz/fuzz_kv.dict" ;;
	# Programs of up to ~150 device operations at once; longer ones only
	# slow each execution (whole-disk checks after every operation).
	fuzz_device) echo "-max_len=512 -len_control=0" ;;
	esac
}

# Extra options of a target for merging into the stored corpus only.
merge_flags() {
	case $1 in
	# Edges only, not hit counts: one input per edge is about 70 files
	# that replay in a second, where counters keep ~700 (12 s).
	fuzz_device) echo "-use_counters=0" ;;
	esac
}

build() {
	local configure=(cmake -S "$root/tests/fuzz" -B "$build")
	# Pick the compiler on first configure only: changing it later makes
	# CMake throw the cache away.
	if [[ ! -f $build/CMakeCache.txt ]]; then
		local cxx=${FUZZ_CXX:-clang++-14}
		command -v "$cxx" >/dev/null || cxx=clang++
		configure+=(-DCMAKE_CXX_COMPILER="$cxx")
	fi
	"${configure[@]}"
	cmake --build "$build" -j "$jobs"
}

# fuzz_parse or parse -> fuzz_parse; rejects unknown names.
target_name() {
	local t=$1
	[[ $t == fuzz_* ]] || t=fuzz_$t
	local k
	for k in "${all_targets[@]}"; do
		[[ $k == "$t" ]] && { echo "$t"; return; }
	done
	echo "fuzz.sh: unknown target '$1' (have: ${all_targets[*]})" >&2
	exit 2
}

cmd_run() {
	local secs=60
	if [[ $# -gt 0 && $1 =~ ^[0-9]+$ ]]; then
		secs=$1
		shift
	fi
	local targets=("${all_targets[@]}")
	if [[ $# -gt 0 ]]; then
		targets=()
		local t
		for t in "$@"; do targets+=("$(target_name "$t")"); done
	fi
	build
	mkdir -p "$build/logs"
	local failed=()
	local t
	for t in "${targets[@]}"; do
		local new=$build/corpus-new/$t art=$build/artifacts/$t/
		mkdir -p "$new" "$art" "$corpus/$t"
		local log=$build/logs/run-$t.log
		echo "== $t: fuzzing for ${secs}s (log: $log)"
		# shellcheck disable=SC2046
		if ! "$build/$t" $(fuzz_flags "$t") -max_total_time="$secs" \
			-timeout=25 -print_final_stats=1 -artifact_prefix="$art" \
			"$new" "$corpus/$t" >"$log" 2>&1; then
			failed+=("$t")
			echo "FAIL: $t crashed; artifacts in $art" >&2
			grep -E '^(==[0-9]+==ERROR|SUMMARY|fuzz_|platform_host|.*runtime error)' \
				"$log" | head -20 >&2 || true
		fi
		grep -E '^#[0-9]+[[:space:]]+DONE|^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' \
			"$log" || tail -n 3 "$log"
		# Keep only what adds coverage to the stored corpus.
		local before after
		before=$(find "$corpus/$t" -type f | wc -l)
		# shellcheck disable=SC2046
		"$build/$t" $(fuzz_flags "$t") $(merge_flags "$t") -merge=1 \
			"$corpus/$t" "$new" \
			>"$build/logs/merge-$t.log" 2>&1 ||
			{ echo "fuzz.sh: merge of $t failed" >&2; failed+=("$t-merge"); }
		after=$(find "$corpus/$t" -type f | wc -l)
		echo "   corpus: $before -> $after files," \
			"$(find "$corpus/$t" -type f -exec cat {} + | wc -c) bytes"
	done
	[[ ${#failed[@]} -eq 0 ]] || { echo "fuzz.sh: failed: ${failed[*]}" >&2; exit 1; }
}

cmd_replay() {
	mkdir -p "$build"
	local status=0 t
	if ! build >"$build/build.log" 2>&1; then
		tail -n 30 "$build/build.log" >&2
		for t in "${all_targets[@]}"; do echo "FAIL: fuzz/$t"; done
		exit 1
	fi
	mkdir -p "$build/logs"
	for t in "${all_targets[@]}"; do
		local log=$build/logs/replay-$t.log rc=0
		# Files, not the directory: libFuzzer then runs each whole
		# file once and fuzzes nothing.
		if [[ -z $(find "$corpus/$t" -type f -print -quit 2>/dev/null) ]]; then
			echo "fuzz.sh: no corpus in $corpus/$t" >"$log"
			rc=1
		else
			find "$corpus/$t" -type f -print0 | sort -z |
				xargs -0 "$build/$t" -runs=0 >"$log" 2>&1 || rc=$?
		fi
		if [[ $rc == 0 ]]; then
			echo "PASS: fuzz/$t"
		else
			echo "FAIL: fuzz/$t"
			tail -n 20 "$log" >&2
			status=1
		fi
	done
	exit $status
}

[[ $# -ge 1 ]] || usage
cmd=$1
shift
case $cmd in
build) build ;;
run) cmd_run "$@" ;;
replay) [[ $# -eq 0 ]] || usage; cmd_replay ;;
*) usage ;;
esac
