#!/usr/bin/env bash
# Benchmark: our zram.ko against stock zram and brd, in one VM boot, under
# QEMU's icount mode (one vCPU, guest time = instructions executed, so the
# same module measures the same within about 1 % whatever the host does).
# Writes bench/results/report.md, bench.csv and ratios.png.
#   scripts/bench.sh [ROUNDS]        T_SIZE_MB, T_ALGO, T_JOBS tune it
set -euo pipefail
cd "$(dirname "$0")/.."
export T_ROUNDS=${1:-${T_ROUNDS:-3}}
scripts/setup.sh >/dev/null
make --no-print-directory modules >/dev/null
out=build/bench
rm -rf "$out"
VM_ICOUNT=1 VM_MEM=${VM_MEM:-1024} VM_TIMEOUT=${VM_TIMEOUT:-5400} \
	scripts/vm-run.sh -o "$out" tests/vm/bench.sh
python3 scripts/bench-report.py "$out/guest.log" bench/results
echo "bench: report in bench/results/report.md"
