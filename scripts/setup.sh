#!/usr/bin/env bash
# Installs everything the project needs on Debian bookworm, idempotently:
# Debian's 6.1 kernel image and headers (the VM boots the first, we build
# against the second), Debian's 6.12 LTS image and headers beside them (the
# port's second target, `make KVER=6.12.N+deb12-amd64`), QEMU, the tools the
# tests drive, and the host test toolchain.  Safe to run again; does nothing
# when all is there.
set -euo pipefail

packages=(
	linux-image-amd64 linux-headers-amd64   # stock 6.1 kernel + headers
	qemu-system-x86 busybox-static cpio kmod # the VM rig
	fio stress-ng e2fsprogs util-linux       # what the tests drive
	dmsetup                                  # slow backing devices (dm-delay)
	bash-builtins                            # sleep without an exec (tests/vm/lib.sh)
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

installed() { # PACKAGE: true when dpkg has it fully installed
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

missing=()
for p in "${packages[@]}"; do
	installed "$p" || missing+=("$p")
done

# Debian 12 carries the 6.12 LTS kernel in its security archive, as
# linux-{headers,image}-6.12.N+deb12-amd64 (no metapackage).  Installed
# beside 6.1, it never becomes anyone's default: everything that looks for
# "the newest kernel" here (this script, the Makefile, vm-run.sh,
# stage-install.sh) looks for 6.1.* by name.  An installed 6.12 release
# whose headers and image (signed or -unsigned) are both there is kept;
# otherwise the newest release the archive has both of is installed.
release_612() { # the newest installed 6.12 release with headers and image
	local v
	while read -r v; do
		installed "linux-headers-$v" || continue
		installed "linux-image-$v" || installed "linux-image-$v-unsigned" || continue
		echo "$v"
		return
	done < <(find /boot -maxdepth 1 -name 'vmlinuz-6.12.*+deb12-amd64' |
		sed 's,.*/vmlinuz-,,' | sort -rV)
}
pick_612() { # prints "RELEASE IMAGE-PACKAGE" of the newest 6.12 in apt's lists
	local headers images v
	headers=$(apt-cache search --names-only '^linux-headers-6\.12\.[0-9]+\+deb12-amd64$' |
		awk '{print $1}' | sed 's/^linux-headers-//' | sort -rV)
	images=$(apt-cache search --names-only '^linux-image-6\.12\.[0-9]+\+deb12-amd64(-unsigned)?$' |
		awk '{print $1}')
	for v in $headers; do
		if grep -qx "linux-image-$v" <<<"$images"; then
			echo "$v linux-image-$v"
			return
		elif grep -qx "linux-image-$v-unsigned" <<<"$images"; then
			echo "$v linux-image-$v-unsigned"
			return
		fi
	done
}
kver612=$(release_612)
# Its PREEMPT_RT flavour, same release: the module must refuse to load
# there with a clear line (tests/vm/suite.sh, test_preempt_rt_refused).
rt_packages() { # RELEASE
	echo "linux-headers-${1%-amd64}-rt-amd64 linux-image-${1%-amd64}-rt-amd64"
}
if [[ -n $kver612 ]]; then
	for p in $(rt_packages "$kver612"); do
		installed "$p" || missing+=("$p")
	done
fi

if [[ ${#missing[@]} -gt 0 || -z $kver612 ]]; then
	[[ $(id -u) == 0 ]] || {
		want=("${missing[@]}")
		[[ -n $kver612 ]] || want+=("linux-{headers,image}-6.12.N+deb12-amd64")
		echo "setup: run as root to install: ${want[*]}" >&2
		exit 1
	}
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	if [[ -z $kver612 ]]; then
		read -r kver612 img612 < <(pick_612) || true
		[[ -n $kver612 ]] || {
			echo "setup: apt knows no linux-headers-6.12.N+deb12-amd64 with its image" \
				"(is bookworm-security in the apt sources?)" >&2
			exit 1
		}
		# shellcheck disable=SC2207
		missing+=("linux-headers-$kver612" "$img612" $(rt_packages "$kver612"))
	fi
	echo "setup: installing ${missing[*]}"
	# initramfs-tools is not needed: the VM builds its own initramfs.
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The image and the headers must be the same ABI, or the module won't load.
# 6.1 by name: the glob 6.1.* does not match 6.12.*.
kimg=$(find /boot -maxdepth 1 -name 'vmlinuz-6.1.*-amd64' | sort -V | tail -n1)
kver=${kimg#/boot/vmlinuz-}
[[ -n $kver && -d /usr/src/linux-headers-$kver ]] || {
	echo "setup: kernel $kver has no matching headers in /usr/src" >&2
	exit 1
}
[[ -d /usr/src/linux-headers-$kver612 && -f /boot/vmlinuz-$kver612 ]] || {
	echo "setup: kernel ${kver612:-6.12} has no matching image and headers" >&2
	exit 1
}
echo "setup: ready (kernel $kver, headers /usr/src/linux-headers-$kver)"
kver612rt=${kver612%-amd64}-rt-amd64
[[ -d /usr/src/linux-headers-$kver612rt && -f /boot/vmlinuz-$kver612rt ]] || {
	echo "setup: kernel $kver612rt has no matching image and headers" >&2
	exit 1
}
echo "setup: also 6.12 (kernel $kver612, headers /usr/src/linux-headers-$kver612; make KVER=$kver612)"
echo "setup: and 6.12 PREEMPT_RT ($kver612rt)"
