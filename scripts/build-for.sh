#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Builds zram.ko and zram_codecs.ko for another installed kernel release
# (6.1 or 6.12) from a copy of this tree in build/kernels/RELEASE, so the
# top-level build (6.1's, which the VM suite and install use) stays as it
# is.  Prints the directory holding the modules.
#   scripts/build-for.sh 6.12.118+deb12-amd64
#   scripts/build-for.sh 6.12      the newest installed 6.12 release
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
release=${1:?usage: build-for.sh RELEASE}
if [[ ! -d /usr/src/linux-headers-$release ]]; then
	# A series: its newest installed release with headers, not the RT
	# flavour (which sorts after it), as check.sh's 6.12 is.
	release=$(find /boot -maxdepth 1 -name "vmlinuz-$release.*-amd64" ! -name '*-rt-amd64' |
		sort -V | tail -n1 | sed 's,.*/vmlinuz-,,')
	[[ -n $release && -d /usr/src/linux-headers-$release ]] ||
		{ echo "build-for: no installed kernel $1 with headers (scripts/setup.sh)" >&2; exit 1; }
fi
out=$root/build/kernels/$release
mkdir -p "$out"
# The sources as they are now, committed or not; no objects of another build.
(cd "$root" && tar -c --exclude=./build --exclude=./.git --exclude='*.o' \
	--exclude='*.ko' --exclude='.*.cmd' --exclude='*.mod' --exclude='*.mod.c' \
	--exclude=Module.symvers --exclude=modules.order .) | tar -x -C "$out"
make -C "$out" --no-print-directory KVER="$release" modules >&2
echo "$out"
