#!/usr/bin/env bash
# `make check`: every test, ending with one line "N passed, M failed".
#   1. the module builds against Debian's 6.1 headers (+ post-link check)
#   2. host tests of the C++ core (GoogleTest, ASan + UBSan), via ctest,
#      and the stored fuzz corpus replayed (libFuzzer, ASan + UBSan)
#   3. the VM suite on Debian's stock 6.1 kernel in QEMU; a kernel BUG,
#      WARNING, Oops, lockdep or KASAN report anywhere fails the run
#   4. the KUnit suites in zram.ko on a KASAN + lockdep debug kernel
#      (built, the first time, at SCHED_IDLE from stage 1 on)
#   5. fault injection and the VM suite again on that debug kernel
#      (ZCX_CHECK_DEBUG_VM=0 leaves them out: half of make check's time)
# Each stage's seconds follow its lines, and a table of them comes just
# before the final line.
set -uo pipefail
cd "$(dirname "$0")/.."
# Warnings are errors in every build below (the exported variable reaches
# each make they run); a user's plain `make` does not (Kbuild).
export ZCX_WERROR=1
mkdir -p build
passed=0
failed=0
failures=()

# Each stage's seconds: printed under its heading as it ends, and listed
# again before the final line, so a slow stage shows in any CI log.
stage_names=()
stage_secs=()
stage_title=
stage_start=
stage() { # TITLE: ends the running stage, starts TITLE
	stage_end
	echo "== $1"
	stage_title=$1
	stage_start=$SECONDS
}
stage_end() {
	[[ -n $stage_start ]] || return 0
	local secs=$((SECONDS - stage_start))
	echo "  ($secs s)"
	stage_names+=("$stage_title")
	stage_secs+=("$secs")
	stage_start=
}

record() { # NAME STATUS
	if [[ $2 == 0 ]]; then
		passed=$((passed + 1))
		echo "PASS: $1"
	else
		failed=$((failed + 1))
		failures+=("$1")
		echo "FAIL: $1"
	fi
}

stage "build"
make --no-print-directory modules >build/check-build.log 2>&1
status=$?
[[ $status == 0 ]] || tail -30 build/check-build.log
record build/zram.ko $status

# The debug kernel (stages 4 and 5) takes a fresh machine about 17
# minutes of both cores.  Started now at SCHED_IDLE, it runs on what the
# stages in between leave idle (a TCG guest keeps about one core busy) and
# takes nothing from them: any of their threads that wakes preempts it.
# Its stage below waits for what is left.  Cached, it ends at once.
chrt --idle 0 scripts/build-debug-kernel.sh >build/check-debug-kernel.log 2>&1 &
debug_kernel_pid=$!

stage "host tests"
scripts/host-test.sh >build/check-host.log 2>&1
status=$?
grep -E '^ *[0-9]+/[0-9]+ Test' build/check-host.log | grep -v ' Passed ' || true
summary=$(grep -E 'tests passed, [0-9]+ tests failed out of [0-9]+' build/check-host.log | tail -n1)
echo "  ${summary:-no ctest summary}"
if [[ $summary =~ ([0-9]+)\ tests\ failed\ out\ of\ ([0-9]+) ]]; then
	passed=$((passed + BASH_REMATCH[2] - BASH_REMATCH[1]))
	failed=$((failed + BASH_REMATCH[1]))
	((BASH_REMATCH[1] == 0)) || failures+=("host tests (see build/check-host.log)")
	# A crash or build error outside ctest's count still fails.
	[[ $status == 0 || ${BASH_REMATCH[1]} != 0 ]] || record host/ctest-exit $status
else
	tail -30 build/check-host.log
	record host/build $((status == 0 ? 1 : status))
fi

stage "fuzz corpus replay (libFuzzer targets, ASan + UBSan)"
scripts/fuzz.sh replay >build/check-fuzz.log 2>build/check-fuzz.err
status=$?
fuzz_pass=$(grep -cE '^PASS: fuzz/' build/check-fuzz.log)
fuzz_fail=$(grep -cE '^FAIL: fuzz/' build/check-fuzz.log)
while read -r verdict name; do
	[[ $verdict == PASS: ]] && record "$name" 0 || record "$name" 1
done < <(grep -E '^(PASS|FAIL): fuzz/' build/check-fuzz.log)
# A build error, or a failure no target line owns, still fails.
if [[ $((fuzz_pass + fuzz_fail)) == 0 || ($status != 0 && $fuzz_fail == 0) ]]; then
	tail -20 build/check-fuzz.err
	record fuzz/replay $((status == 0 ? 1 : status))
fi

stage "install (make install and DKMS, staged for the VM)"
scripts/stage-install.sh >build/check-install.log 2>&1
status=$?
[[ $status == 0 ]] || tail -30 build/check-install.log
record install/stage $status

# One VM run's verdicts: each test's PASS/FAIL line, whether the guest
# finished, and whether the kernel log is free of problem reports.
record_vm_run() { # PREFIX OUTDIR VM-RUN-STATUS LOG
	local prefix=$1 outdir=$2 status=$3 log=$4 vm_tests verdict name
	vm_tests=$(grep -cE '^(PASS|FAIL): vm/' "$outdir/guest.log" 2>/dev/null || echo 0)
	while read -r verdict name _; do
		[[ $verdict == PASS: ]] && record "$prefix${name#vm/}" 0 || record "$prefix${name#vm/}" 1
	done < <(grep -E '^(PASS|FAIL): vm/' "$outdir/guest.log" 2>/dev/null)
	grep -E '^  FAIL:' "$outdir/guest.log" 2>/dev/null || true
	# 2: kernel problem reports; 3: guest crashed, hung or timed out.
	[[ $status != 3 ]] || { grep -E 'vm-run: FAIL' "$log"; record "${prefix}suite-finished" 1; }
	case $status in
	0 | 1) record "${prefix}kernel-log-clean" 0 ;;
	*)
		sed -n '/kernel problem/,$p' "$log" | head -40
		record "${prefix}kernel-log-clean" 1
		;;
	esac
	[[ $vm_tests -gt 0 ]] || record "${prefix}suite-ran" 1
}

stage "VM suite (Debian's stock 6.1 kernel, our zram.ko)"
if [[ -f zram.ko ]]; then
	outdir=build/vm/check
	rm -rf "$outdir"
	# ~10 min alone on 2 cores; a busy machine can take twice that.
	VM_TIMEOUT=${VM_TIMEOUT:-3600} scripts/vm-run.sh -o "$outdir" tests/vm/suite.sh >build/check-vm.log 2>&1
	record_vm_run vm/ "$outdir" $? build/check-vm.log
else
	record vm/suite 1
fi

# Linux 6.12, Debian's LTS beside 6.1 (issue 25): the module built for it
# from the same tree, the VM suite on its stock kernel, and its PREEMPT_RT
# flavour, which the module refuses.
stage "Linux 6.12: build, VM suite on Debian's stock 6.12, PREEMPT_RT refusal"
k612=$(find /boot -maxdepth 1 -name 'vmlinuz-6.12.*+deb12-amd64' | sort -V | tail -n1 | sed 's,.*/vmlinuz-,,')
: >build/check-build-6.12.log
for rel in "$k612" "${k612%-amd64}-rt-amd64"; do
	scripts/build-for.sh "$rel" >>build/check-build-6.12.log 2>&1
	status=$?
	[[ $status == 0 ]] || tail -30 build/check-build-6.12.log
	record "build/zram.ko-$rel" $status
done
# The whole suite, as on 6.1 (VM612_TESTS picks tests instead; "all" is
# every one, as is the default).  Until issue 25's budget had room, 8 tests
# that measure the core's figures were left out here (about 212 s).
vm612_tests=${VM612_TESTS:-}
[[ $vm612_tests != all ]] || vm612_tests=''
for rel in "$k612" "${k612%-amd64}-rt-amd64"; do
	ko=build/kernels/$rel/zram.ko
	outdir=build/vm/check-$rel
	rm -rf "$outdir"
	if [[ ! -f $ko ]]; then
		record "vm-$rel/suite" 1
		continue
	fi
	tests=$vm612_tests smp=2
	# One vCPU for RT: Debian's RT kernel once took an int3 oops in
	# interrupt 1.6 s into boot under multi-threaded TCG, before any module
	# was loaded (a vCPU ran a breakpoint another had patched away; CI,
	# stop 28).  The refusal needs no second CPU.
	[[ $rel != *-rt-* ]] || tests=test_preempt_rt_refused smp=1
	# shellcheck disable=SC2086
	VM_SMP=$smp VM_KERNEL=/boot/vmlinuz-$rel T_KO=$PWD/$ko VM_TIMEOUT=${VM_TIMEOUT:-3600} \
		scripts/vm-run.sh -o "$outdir" tests/vm/suite.sh $tests >"build/check-vm-$rel.log" 2>&1
	record_vm_run "vm-$rel/" "$outdir" $? "build/check-vm-$rel.log"
done

# Its own stage, so that what is left of a first run's kernel build is not
# counted as KUnit's time; the KUnit and debug VM stages then find it cached.
stage "debug kernel (built once, then cached in /var/cache/zram-cxx)"
wait "$debug_kernel_pid" || tail -20 build/check-debug-kernel.log
grep -E '^debug-kernel: (cached|built)' build/check-debug-kernel.log | sed 's/^/  /'

stage "KUnit on the debug kernel (KASAN, lockdep)"
scripts/kunit.sh >build/check-kunit.log 2>&1
status=$?
grep -E 'Testing complete|FAILED|vm-run: FAIL' build/check-kunit.log | sed 's/^\[[0-9:]*\] /  /'
[[ $status == 0 ]] || tail -20 build/check-kunit.log
record kunit/zram-suites $status

# Fault injection and the VM suite on the debug kernel (scripts/debug-vm.sh),
# with less data per test.  DEBUG_VM_TESTS picks the suite's tests (all of
# them by default); ZCX_CHECK_DEBUG_VM=0 skips both.
if [[ ${ZCX_CHECK_DEBUG_VM:-1} == 1 ]]; then
	stage "fault injection and the VM suite on the debug kernel (KASAN, lockdep, kmemleak)"
	# shellcheck disable=SC2086
	scripts/debug-vm.sh ${DEBUG_VM_TESTS:-} >build/check-debug-vm.log 2>&1
	status=$?
	for run in faults suite; do
		outdir=build/debug-vm/$run
		if [[ -f $outdir.status ]]; then
			record_vm_run "debug-$run/" "$outdir" "$(cat "$outdir.status")" build/check-debug-vm.log
		else
			tail -20 build/check-debug-vm.log
			record "debug-$run/ran" 1
		fi
	done
	[[ $status == 0 ]] || grep -E 'vm-run: FAIL' build/check-debug-vm.log || true
	for run in faults suite; do
		[[ ! -f build/debug-vm/$run.seconds ]] ||
			echo "  debug-$run: $(cat build/debug-vm/$run.seconds) s in the VM"
	done
fi
stage_end

echo
echo "seconds per stage:"
total=0
for i in "${!stage_names[@]}"; do
	printf '  %6d  %s\n' "${stage_secs[i]}" "${stage_names[i]}"
	total=$((total + stage_secs[i]))
done
printf '  %6d  total\n' "$total"

echo
if [[ $failed -gt 0 ]]; then
	printf 'failed: %s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed"
[[ $failed == 0 ]]
