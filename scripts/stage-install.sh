#!/usr/bin/env bash
# Installs zram.ko and zram_codecs.ko the two ways a user would, `make install` and DKMS, into
# staging trees under build/stage instead of this machine's /lib/modules
# (the VM boots with this machine's root: a real install would make every
# later `modprobe zram` in the tests load ours).  tests/vm/interface.sh's
# test_modprobe_installed then lays each tree over /lib/modules in the
# guest and checks that plain `modprobe zram` loads our module.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
# The newest installed 6.1 (the VM suite's) and 6.12 (check.sh's 6.12
# stage), as a user with both installed gets after `make install` for
# each and DKMS, which builds for every kernel it is asked to.
kvers=$(for series in 6.1 6.12; do
	find /boot -maxdepth 1 -name "vmlinuz-$series.*-amd64" ! -name '*-rt-amd64' |
		sort -V | tail -n1 | sed 's,.*/vmlinuz-,,'
done)
stage=$top/build/stage
rm -rf "$stage"
mkdir -p "$stage"

# 6.12's modules_install compresses (zram.ko.xz), 6.1's does not.
installed() { # DIR MODULE
	find "$1" -name "$2.ko" -o -name "$2.ko.xz" | grep -q .
}

for kver in $kvers; do
	# 6.1 from this tree (its build is the top-level one); another from
	# its own copy (scripts/build-for.sh), so this tree keeps 6.1's objects.
	tree=$top
	[[ $kver == 6.1.* ]] || tree=$(scripts/build-for.sh "$kver" 2>>"$stage/make.log")
	echo "stage-install: make KVER=$kver install INSTALL_MOD_PATH=$stage/make"
	make -C "$tree" --no-print-directory KVER="$kver" install INSTALL_MOD_PATH="$stage/make" \
		>>"$stage/make.log" 2>&1 || { cat "$stage/make.log"; exit 1; }
	for m in zram zram_codecs; do
		installed "$stage/make/lib/modules/$kver/updates" $m ||
			{ cat "$stage/make.log"; echo "stage-install: make install put no $m.ko for $kver" >&2; exit 1; }
	done
done

# dkms reads its trees only from framework.conf.d: point them at build/
# for the length of this run.
conf=/etc/dkms/framework.conf.d/zram-cxx-stage.conf
mkdir -p /etc/dkms/framework.conf.d "$stage/dkms/src" "$stage/dkms/tree"
trap 'rm -f "$conf"' EXIT
cat >"$conf" <<CONF
source_tree="$stage/dkms/src"
dkms_tree="$stage/dkms/tree"
install_tree="$stage/dkms/lib/modules"
CONF
# A source copy without build products, as a release tarball would be.
git ls-files -z --cached --others --exclude-standard | rsync -a --from0 --files-from=- ./ "$stage/dkms/src/zram-cxx-0.1/"
dkms add zram-cxx/0.1 >"$stage/dkms.log" 2>&1 || { cat "$stage/dkms.log"; exit 1; }
for kver in $kvers; do
	mkdir -p "$stage/dkms/lib/modules/$kver"
	echo "stage-install: dkms build/install zram-cxx/0.1 -k $kver"
	{
		dkms build zram-cxx/0.1 -k "$kver"
		dkms install zram-cxx/0.1 -k "$kver" --no-depmod
	} >>"$stage/dkms.log" 2>&1 || { cat "$stage/dkms.log"; exit 1; }
	for m in zram zram_codecs; do
		installed "$stage/dkms/lib/modules/$kver" $m ||
			{ cat "$stage/dkms.log"; echo "stage-install: dkms installed no $m.ko for $kver" >&2; exit 1; }
	done
done
# What `depmod -a` gives once each tree lies over this kernel's own
# modules, for the guest's /lib/modules: run there, over 9p and under
# TCG, depmod took 100 s for 6.1 and 200 s for 6.12 (it unpacks every
# .ko.xz).  The same depmod, on a tree of links to the kernel's modules.
for tree in make dkms; do
	for kver in $kvers; do
		merged=$stage/depmod/$tree
		rm -rf "$merged"
		mkdir -p "$merged/lib/modules"
		cp -rs "/lib/modules/$kver" "$merged/lib/modules/"
		# Its outputs would be written through the links; its inputs stay.
		rm -f "$merged/lib/modules/$kver"/modules.*
		cp /lib/modules/"$kver"/modules.{builtin,builtin.modinfo,order} "$merged/lib/modules/$kver/"
		cp -a "$stage/$tree/lib/modules/$kver/updates" "$merged/lib/modules/$kver/"
		depmod -b "$merged" "$kver"
		mkdir -p "$stage/$tree/depmod/$kver"
		cp "$merged/lib/modules/$kver"/modules.* "$stage/$tree/depmod/$kver/"
		rm -rf "$merged"
	done
done
echo "stage-install: ok"
