#!/usr/bin/env bash
# Installs everything the project needs on Debian bookworm, idempotently:
# Debian's 6.1 kernel image and headers (the VM boots the first, we build
# against the second), QEMU, the tools the tests drive, and the host test
# toolchain.  Safe to run again; does nothing when all is there.
set -euo pipefail

packages=(
	linux-image-amd64 linux-headers-amd64   # stock 6.1 kernel + headers
	qemu-system-x86 busybox-static cpio kmod # the VM rig
	fio stress-ng e2fsprogs util-linux       # what the tests drive
	dmsetup                                  # slow backing devices (dm-delay)
	zram-tools systemd-zram-generator        # the clients, driven unchanged
	gcc-12 g++-12 make binutils              # module build (kernel's compiler)
	cmake googletest libgtest-dev liblzo2-dev # host tests
	dkms rsync git                           # install tests
	gnuplot-nox                              # benchmark plot
	libbenchmark-dev valgrind                # host microbenchmarks, callgrind profile
	libzstd-dev                              # density model (bench.sh recompress)
	clang-14 libclang-rt-14-dev              # fuzz targets (libFuzzer)
	linux-perf                               # perf in the guest (scripts/profile.sh)
	linux-source-6.1 xz-utils bc bison flex libelf-dev libssl-dev # debug kernel
)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing+=("$p")
done

if [[ ${#missing[@]} -gt 0 ]]; then
	[[ $(id -u) == 0 ]] || { echo "setup: run as root to install: ${missing[*]}" >&2; exit 1; }
	echo "setup: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# initramfs-tools is not needed: the VM builds its own initramfs.
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The image and the headers must be the same ABI, or the module won't load.
kimg=$(find /boot -maxdepth 1 -name 'vmlinuz-6.1.*-amd64' | sort -V | tail -n1)
kver=${kimg#/boot/vmlinuz-}
[[ -n $kver && -d /usr/src/linux-headers-$kver ]] || {
	echo "setup: kernel $kver has no matching headers in /usr/src" >&2
	exit 1
}
echo "setup: ready (kernel $kver, headers /usr/src/linux-headers-$kver)"
