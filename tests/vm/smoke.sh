#!/bin/bash
# Guest-side smoke test for scripts/vm-run.sh: proves the VM rig works.
#   scripts/vm-run.sh tests/vm/smoke.sh
set -euo pipefail

step() { echo "smoke: $*"; }

step "kernel $(uname -r), nproc $(nproc), cwd $(pwd)"
step "T_ vars: $(env | grep '^T_' | tr '\n' ' ' || true)"
[[ -w /tmp && -w /run/vmout ]] || { echo "smoke: /tmp or \$VM_OUT not writable"; exit 1; }

modprobe ext4
modprobe brd rd_size=65536 rd_nr=1
mkfs.ext4 -q /dev/ram0
mount /dev/ram0 /mnt
echo "hello from $(uname -r)" > /mnt/hello
sync
umount /mnt
mount -o ro /dev/ram0 /mnt
grep -q "hello from" /mnt/hello
umount /mnt
step "ext4 on brd ok"

fio --name=t --filename=/dev/ram0 --rw=randrw --bs=4k --size=16M \
    --ioengine=psync --runtime=3 --time_based --output-format=terse >/dev/null
step "fio ok"
rmmod brd

# CPU hotplug (only with >1 vCPU)
if [[ -e /sys/devices/system/cpu/cpu1/online ]]; then
    echo 0 > /sys/devices/system/cpu/cpu1/online
    step "cpu1 offline: nproc=$(nproc) online=$(cat /sys/devices/system/cpu/online)"
    echo 1 > /sys/devices/system/cpu/cpu1/online
    step "cpu1 online:  nproc=$(nproc) online=$(cat /sys/devices/system/cpu/online)"
fi

echo "smoke ok" > "$VM_OUT/smoke.txt"
step "PASS"
