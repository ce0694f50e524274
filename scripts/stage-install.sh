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
kver=$(find /boot -maxdepth 1 -name 'vmlinuz-6.1.*-amd64' | sort -V | tail -n1 | sed 's,.*/vmlinuz-,,')
stage=$top/build/stage
rm -rf "$stage"
mkdir -p "$stage"

echo "stage-install: make install INSTALL_MOD_PATH=$stage/make"
make --no-print-directory install INSTALL_MOD_PATH="$stage/make" >"$stage/make.log" 2>&1 ||
	{ cat "$stage/make.log"; exit 1; }
test -f "$stage/make/lib/modules/$kver/updates/zram.ko"
test -f "$stage/make/lib/modules/$kver/updates/zram_codecs.ko"

# dkms reads its trees only from framework.conf.d: point them at build/
# for the length of this run.
conf=/etc/dkms/framework.conf.d/zram-cxx-stage.conf
mkdir -p /etc/dkms/framework.conf.d "$stage/dkms/src" "$stage/dkms/tree" \
	"$stage/dkms/lib/modules/$kver"
trap 'rm -f "$conf"' EXIT
cat >"$conf" <<CONF
source_tree="$stage/dkms/src"
dkms_tree="$stage/dkms/tree"
install_tree="$stage/dkms/lib/modules"
CONF
# A source copy without build products, as a release tarball would be.
git ls-files -z --cached --others --exclude-standard | rsync -a --from0 --files-from=- ./ "$stage/dkms/src/zram-cxx-0.1/"
echo "stage-install: dkms add/build/install zram-cxx/0.1 -k $kver"
{
	dkms add zram-cxx/0.1
	dkms build zram-cxx/0.1 -k "$kver"
	dkms install zram-cxx/0.1 -k "$kver" --no-depmod
} >"$stage/dkms.log" 2>&1 || { cat "$stage/dkms.log"; exit 1; }
for m in zram zram_codecs; do
	find "$stage/dkms/lib/modules/$kver" -name "$m.ko*" | grep -q . ||
		{ cat "$stage/dkms.log"; echo "stage-install: dkms installed no $m.ko" >&2; exit 1; }
done
echo "stage-install: ok"
