#!/usr/bin/env bash
# vm-run.sh - run a script inside a throw-away QEMU (TCG) guest that boots the
# host's stock Debian 6.1 kernel with the host root filesystem shared read-only
# over virtio-9p.
#
# Usage: scripts/vm-run.sh [-o OUTDIR] GUEST_SCRIPT [ARGS...]
#
# The guest runs `bash GUEST_SCRIPT ARGS...` as root with cwd = repo top (same
# absolute path as on the host), PATH=/usr/sbin:/usr/bin:/sbin:/bin and stdin
# from /dev/null.  Writable in the guest: fresh tmpfs on /tmp /run /var/tmp
# /mnt /var/log /root /home /srv /media /var/cache, plus /dev/shm;
# OUTDIR is mounted read-write at /run/vmout (exported as $VM_OUT).
# Everything else (incl. the repo) is read-only.
#
# Outputs in OUTDIR: console.log (full serial console), guest.log (script
# stdout+stderr), rc (script exit status), dmesg.txt (guest dmesg at the end).
#
# Environment (host side):
#   VM_KERNEL   kernel image        (default: newest /boot/vmlinuz-6.1.*-amd64)
#   VM_KVER     its module version  (default: derived from VM_KERNEL's name)
#   VM_MODROOT  where its lib/modules lives (default /; a built-in 9p needs none)
#   VM_MEM      guest RAM in MiB    (default 1024)
#   VM_SMP      vCPUs               (default 2; 1 when VM_ICOUNT=1)
#   VM_ICOUNT=1 deterministic guest time: -icount shift=0,sleep=off,
#               single-threaded TCG, -smp 1 (unless VM_SMP is set)
#   VM_APPEND   extra kernel command line arguments (appended last, so e.g.
#               VM_APPEND=loglevel=7 overrides the default loglevel)
#   VM_TIMEOUT  overall wall-clock limit in seconds (default 1200)
#   T_*         every host variable named T_* is exported into the guest script
#
# Exit status: 0 success; 1 guest script failed (rc != 0); 2 kernel problem
# reports found (BUG/WARNING/Oops/...); 3 guest crashed, hung or timed out (no
# rc written); 4 usage/setup error.  If several apply, the highest wins.
set -euo pipefail

die() { echo "vm-run: error: $*" >&2; exit 4; }
log() { echo "vm-run: $*" >&2; }

usage() {
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
    exit 4
}

OUTDIR=
while getopts ":o:h" opt; do
    case $opt in
        o) OUTDIR=$OPTARG ;;
        h) usage ;;
        :) die "option -$OPTARG needs an argument" ;;
        *) die "unknown option -$OPTARG (see -h)" ;;
    esac
done
shift $((OPTIND - 1))
[[ $# -ge 1 ]] || usage

GUEST_SCRIPT_IN=$1
shift
[[ -f $GUEST_SCRIPT_IN ]] || die "guest script not found: $GUEST_SCRIPT_IN"
GUEST_SCRIPT=$(realpath -e -- "$GUEST_SCRIPT_IN")

REPO=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
[[ $REPO != *$'\n'* ]] || die "repo path contains a newline"

for tool in qemu-system-x86_64 busybox modprobe cpio timeout sha256sum realpath; do
    command -v "$tool" >/dev/null || die "missing host tool: $tool"
done
BUSYBOX=$(command -v busybox)
# the initramfs needs a statically linked busybox (package busybox-static)
if command -v file >/dev/null &&
    LC_ALL=C file -b "$BUSYBOX" 2>/dev/null | grep -q 'dynamically linked'; then
    die "$BUSYBOX is dynamically linked; install busybox-static"
fi

# ---------------------------------------------------------------- kernel ---
if [[ -n ${VM_KERNEL:-} ]]; then
    KERNEL=$VM_KERNEL
else
    KERNEL=$(find /boot -maxdepth 1 -name 'vmlinuz-6.1.*-amd64' -print | sort -V | tail -n1)
    [[ -n $KERNEL ]] || die "no /boot/vmlinuz-6.1.*-amd64 found (set VM_KERNEL)"
fi
[[ -r $KERNEL ]] || die "kernel image not readable: $KERNEL"
KVER=${VM_KVER:-$(basename -- "$KERNEL")}
KVER=${KVER#vmlinuz-}
# A kernel of our own (the debug kernel) keeps its modules elsewhere.
MODROOT=${VM_MODROOT:-}
[[ -d $MODROOT/lib/modules/$KVER ]] || die "$MODROOT/lib/modules/$KVER missing (set VM_KVER or VM_MODROOT)"

# Tests with real files read their parts' tars from build/real-tar,
# built here once (tests/vm/real-tar.sh).
# shellcheck source=tests/vm/real-tar.sh
source "$REPO/tests/vm/real-tar.sh"
real_tar_cache || die "could not build $REAL_TAR_CACHE"

# ---------------------------------------------------------------- outdir ---
BUILD=$REPO/build/vm
mkdir -p "$BUILD"
if [[ -z $OUTDIR ]]; then
    OUTDIR=$(mktemp -d "$BUILD/out-XXXXXX")
else
    mkdir -p -- "$OUTDIR"
fi
OUTDIR=$(cd -- "$OUTDIR" && pwd -P)
rm -f -- "$OUTDIR"/{rc,dmesg.txt,guest.log,console.log,qemu.stderr,guest-env.sh,guest-repo,guest-modroot,guest-script.sh}

# Writable tmpfs mounts in the guest (paths relative to the new root).
TMPFS_DIRS="tmp run var/tmp mnt var/log root home srv media var/cache"

# A script hidden under one of the guest tmpfs dirs (e.g. /tmp/x.sh on the
# host) is copied into OUTDIR; scripts in the repo or elsewhere run in place.
GUEST_SCRIPT_PATH=$GUEST_SCRIPT
if [[ $GUEST_SCRIPT != "$REPO"/* ]]; then
    for d in $TMPFS_DIRS; do
        if [[ $GUEST_SCRIPT == /"$d"/* ]]; then
            cp -- "$GUEST_SCRIPT" "$OUTDIR/guest-script.sh"
            GUEST_SCRIPT_PATH=/run/vmout/guest-script.sh
            log "note: $GUEST_SCRIPT is under /$d (tmpfs in the guest); running a copy"
            break
        fi
    done
fi

# ------------------------------------------------------------- initramfs ---
# Guest /init (busybox sh).  @TMPFS_DIRS@ is substituted below.
read -r -d '' INIT_SCRIPT <<'EOF_INIT' || true
#!/bin/busybox sh
export PATH=/bin
fail() {
    echo "vm-init: FATAL: $*"
    echo o > /proc/sysrq-trigger
    sleep 60
    exit 1
}
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
while read -r m; do
    insmod "/modules/$m" || fail "insmod $m failed"
done < /modules/order  # empty when the kernel has 9p built in
# hostroot: host / (read-only); vmout: OUTDIR (read-write); repo: the repo top
n=0
until mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,cache=loose,ro hostroot /newroot; do
    n=$((n + 1)); [ $n -lt 20 ] || fail "cannot mount hostroot"; sleep 0.2
done
mkdir -p /hostroot
mount --bind /newroot /hostroot || fail "bind /hostroot"
for d in @TMPFS_DIRS@; do
    mount -t tmpfs -o mode=0755 tmpfs "/newroot/$d" || fail "tmpfs on /$d"
done
chmod 1777 /newroot/tmp /newroot/var/tmp
mkdir -p /newroot/run/vmout /newroot/run/lock
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,rw vmout /newroot/run/vmout \
    || fail "cannot mount vmout"
REPO=$(cat /newroot/run/vmout/guest-repo) || fail "no guest-repo"
mkdir -p "/newroot$REPO" 2>/dev/null
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,cache=loose,ro repo "/newroot$REPO" \
    || fail "cannot mount repo at $REPO"
# A kernel of our own: its modules replace the host's in the guest.
if [ -s /newroot/run/vmout/guest-modroot ]; then
    MODROOT=$(cat /newroot/run/vmout/guest-modroot)
    # /newroot's /var/cache and friends are tmpfs by now: look through
    # /hostroot, a view of the host root from before they were mounted.
    mount -t tmpfs -o mode=0755 tmpfs /newroot/lib/modules || fail "tmpfs on /lib/modules"
    mkdir -p "/newroot/lib/modules/$(uname -r)"
    mount --bind "/hostroot$MODROOT/lib/modules/$(uname -r)" "/newroot/lib/modules/$(uname -r)" \
        || fail "cannot bind $MODROOT modules"
fi
mount --move /proc /newroot/proc || fail "move /proc"
mount --move /sys /newroot/sys || fail "move /sys"
mount --move /dev /newroot/dev || fail "move /dev"
mkdir -p /newroot/dev/pts /newroot/dev/shm
# What udev would add: bash's process substitution needs /dev/fd.
ln -sf /proc/self/fd /newroot/dev/fd
ln -sf /proc/self/fd/0 /newroot/dev/stdin
ln -sf /proc/self/fd/1 /newroot/dev/stdout
ln -sf /proc/self/fd/2 /newroot/dev/stderr
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /newroot/dev/pts
mount -t tmpfs -o mode=1777 tmpfs /newroot/dev/shm
mount -t debugfs debugfs /newroot/sys/kernel/debug 2>/dev/null
mount -t tracefs tracefs /newroot/sys/kernel/tracing 2>/dev/null
mount -t cgroup2 cgroup2 /newroot/sys/fs/cgroup 2>/dev/null
cp /vm-wrapper.sh /newroot/run/vm-wrapper.sh || fail "copy wrapper"
exec switch_root /newroot /bin/bash /run/vm-wrapper.sh
fail "switch_root failed"
EOF_INIT
INIT_SCRIPT=${INIT_SCRIPT//@TMPFS_DIRS@/$TMPFS_DIRS}

# Guest-side wrapper (bash from the host root, runs as PID 1 after switch_root).
read -r -d '' WRAPPER_SCRIPT <<'EOF_WRAPPER' || true
#!/bin/bash
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 TMPDIR=/tmp TERM=dumb
export VM_OUT=/run/vmout
shutdown_vm() {
    sync
    echo o > /proc/sysrq-trigger
    while :; do sleep 1; done
}
# shellcheck disable=SC1091
if ! source "$VM_OUT/guest-env.sh"; then
    echo "vm-wrapper: cannot read $VM_OUT/guest-env.sh"
    shutdown_vm
fi
cd "$VM_REPO" || shutdown_vm
echo "vm-wrapper: $(uname -r), $(nproc) CPU(s); running: bash $VM_SCRIPT ${VM_ARGS[*]}"
bash "$VM_SCRIPT" "${VM_ARGS[@]}" </dev/null 2>&1 | tee "$VM_OUT/guest.log"
rc=${PIPESTATUS[0]}
echo "vm-wrapper: guest script exit status $rc"
dmesg > "$VM_OUT/dmesg.txt" 2>&1
echo "$rc" > "$VM_OUT/rc"
shutdown_vm
EOF_WRAPPER

mapfile -t MODULES < <(
    for m in 9p 9pnet_virtio virtio_pci; do
        modprobe ${MODROOT:+-d "$MODROOT"} --show-depends -S "$KVER" "$m" ||
            die "modprobe --show-depends $m failed"
    done | awk '$1 == "insmod" && !seen[$2]++ { print $2 }
                $1 == "builtin" { builtin++ }
                END { if (!NR) exit 1 }'
) || die "could not resolve 9p/virtio modules for $KVER"

KEY=$( {
    echo "v1 $KVER"
    printf '%s\n' "$INIT_SCRIPT" "$WRAPPER_SCRIPT"
    for f in "${MODULES[@]}" "$BUSYBOX"; do
        stat -L -c '%n %s %Y' -- "$f"
    done
} | sha256sum | cut -c1-16)
INITRD=$BUILD/initramfs-$KVER-$KEY.cpio

if [[ ! -s $INITRD ]]; then
    log "building $INITRD"
    tree=$(mktemp -d "$BUILD/initramfs-tmp-XXXXXX")
    # shellcheck disable=SC2064
    trap "rm -rf -- '$tree'" EXIT
    mkdir -p "$tree"/{bin,dev,proc,sys,newroot,modules}
    : > "$tree/modules/order"
    cp -- "$BUSYBOX" "$tree/bin/busybox"
    for applet in $("$BUSYBOX" --list); do
        [[ $applet == busybox ]] || ln -s busybox "$tree/bin/$applet"
    done
    mknod -m 600 "$tree/dev/console" c 5 1
    mknod -m 666 "$tree/dev/null" c 1 3
    i=0
    for f in "${MODULES[@]}"; do
        name=$(printf '%02d-%s' "$i" "$(basename -- "$f")")
        case $f in
            *.ko.xz)  name=${name%.xz};  xz -dc -- "$f" > "$tree/modules/$name" ;;
            *.ko.zst) name=${name%.zst}; zstd -qdc -- "$f" > "$tree/modules/$name" ;;
            *.ko.gz)  name=${name%.gz};  gzip -dc -- "$f" > "$tree/modules/$name" ;;
            *)        cp -- "$f" "$tree/modules/$name" ;;
        esac
        echo "$name" >> "$tree/modules/order"
        i=$((i + 1))
    done
    printf '%s\n' "$INIT_SCRIPT" > "$tree/init"
    printf '%s\n' "$WRAPPER_SCRIPT" > "$tree/vm-wrapper.sh"
    chmod 755 "$tree/init" "$tree/vm-wrapper.sh"
    (cd "$tree" && find . -mindepth 1 -print0 | LC_ALL=C sort -z |
        cpio --null -o -H newc --quiet -R 0:0) > "$tree.cpio"
    mv -f -- "$tree.cpio" "$INITRD"   # atomic: safe with concurrent runs
    # drop stale images of older init/wrapper versions
    find "$BUILD" -maxdepth 1 -name 'initramfs-*.cpio' ! -path "$INITRD" -mmin +60 -delete
    rm -rf -- "$tree"
    trap - EXIT
fi

# ------------------------------------------------------- guest config -----
{
    printf 'VM_REPO=%q\n' "$REPO"
    printf 'VM_SCRIPT=%q\n' "$GUEST_SCRIPT_PATH"
    printf 'VM_ARGS=('
    for a in "$@"; do printf '%q ' "$a"; done
    printf ')\n'
    while IFS= read -r v; do
        [[ $v == T_* ]] && printf 'export %s=%q\n' "$v" "${!v}"
    done < <(compgen -e)
    printf 'export VM_REPO\n'
} > "$OUTDIR/guest-env.sh"
printf '%s\n' "$REPO" > "$OUTDIR/guest-repo"
printf '%s' "$MODROOT" > "$OUTDIR/guest-modroot"

# ------------------------------------------------------------------ qemu ---
MEM=${VM_MEM:-1024}
TIMEOUT=${VM_TIMEOUT:-1200}
if [[ ${VM_ICOUNT:-0} == 1 ]]; then
    SMP=${VM_SMP:-1}
    # shellcheck disable=SC2054
    ACCEL=(-accel tcg,thread=single -icount shift=0,sleep=off)
else
    SMP=${VM_SMP:-2}
    # shellcheck disable=SC2054
    ACCEL=(-accel tcg,thread=multi)
fi
APPEND="console=ttyS0 zswap.enabled=0 panic=-1 loglevel=5 rdinit=/init ${VM_APPEND:-}"

# shellcheck disable=SC2054
QEMU=(qemu-system-x86_64
    -machine q35 -cpu max "${ACCEL[@]}" -m "$MEM" -smp "$SMP"
    -nodefaults -no-reboot -display none -monitor none
    -chardev stdio,id=con0,signal=off -serial chardev:con0
    -kernel "$KERNEL" -initrd "$INITRD" -append "$APPEND"
    -fsdev "local,id=fs0,path=/,security_model=none,readonly=on,multidevs=remap"
    -device virtio-9p-pci,fsdev=fs0,mount_tag=hostroot
    -fsdev "local,id=fs1,path=$OUTDIR,security_model=none,multidevs=remap"
    -device virtio-9p-pci,fsdev=fs1,mount_tag=vmout
    -fsdev "local,id=fs2,path=$REPO,security_model=none,readonly=on,multidevs=remap"
    -device virtio-9p-pci,fsdev=fs2,mount_tag=repo
)

log "kernel $KERNEL ($KVER), smp=$SMP mem=${MEM}M icount=${VM_ICOUNT:-0} timeout=${TIMEOUT}s"
log "guest: bash $GUEST_SCRIPT_PATH $*"
log "outdir: $OUTDIR"
start=$SECONDS
set +e
timeout -k 10 "$TIMEOUT" "${QEMU[@]}" </dev/null 2>"$OUTDIR/qemu.stderr" |
    stdbuf -oL tr -d '\r' | tee "$OUTDIR/console.log"  # line by line: live
qemu_rc=${PIPESTATUS[0]}
set -e
elapsed=$((SECONDS - start))
[[ -s $OUTDIR/qemu.stderr ]] && sed 's/^/qemu: /' "$OUTDIR/qemu.stderr" >&2

# ---------------------------------------------------------------- verdict --
status=0
fail() { # fail CODE MESSAGE
    log "FAIL: $2"
    [[ $1 -gt $status ]] && status=$1
    return 0
}

# Kernel problem reports.  Matched on dmesg.txt and on the console lines that
# carry a printk timestamp (the console also has the script's own output,
# which may legitimately print e.g. "WARNING:").
PROBLEM_RE='BUG:|WARNING:|cut here ]|Oops|general protection fault|Kernel panic|kernel BUG at|'
PROBLEM_RE+='sleeping function called from invalid context|KASAN|UBSAN|KFENCE|'
# lockdep and kmemleak announce themselves at boot on the debug kernel:
# match their reports, not their names.
PROBLEM_RE+='possible circular locking|possible recursive locking|inconsistent lock state|'
PROBLEM_RE+='lock held when returning|bad unlock balance|INFO: task .* blocked|'
PROBLEM_RE+='suspected memory leaks?|'
PROBLEM_RE+='Call Trace:|BUG [^ ]+ \(.*\): |Bad page (state|map)|list_(add|del) corruption|'
PROBLEM_RE+='refcount_t: |detected stalls? on CPU|soft lockup|hard LOCKUP|stack-protector|'
PROBLEM_RE+='Unable to handle kernel|invalid opcode:|double fault'
TS_RE='\[ *[0-9]+\.[0-9]{6}\]'

problems=$( {
    [[ -f $OUTDIR/dmesg.txt ]] && grep -E -- "$PROBLEM_RE" "$OUTDIR/dmesg.txt" | sed 's/^/dmesg: /'
    grep -E -- "$TS_RE.*($PROBLEM_RE)" "$OUTDIR/console.log" | sed 's/^/console: /'
} | awk '!seen[$0]++' | head -n 60 || true)

if [[ $qemu_rc -eq 124 || $qemu_rc -eq 137 ]]; then
    fail 3 "timed out after ${TIMEOUT}s (QEMU killed)"
elif [[ $qemu_rc -ne 0 ]]; then
    fail 3 "QEMU exited with status $qemu_rc"
fi
if [[ ! -s $OUTDIR/rc ]]; then
    fail 3 "guest did not write rc (crashed, hung, or failed to boot)"
else
    guest_rc=$(tr -dc '0-9' < "$OUTDIR/rc")
    [[ $guest_rc == 0 ]] || fail 1 "guest script exited with status ${guest_rc:-?}"
fi
[[ -f $OUTDIR/dmesg.txt ]] || log "warning: no dmesg.txt (scanned console only)"
if [[ -n $problems ]]; then
    fail 2 "kernel problem reports found:"
    printf '%s\n' "$problems" >&2
fi

if [[ $status -eq 0 ]]; then
    log "PASS (${elapsed}s) outdir: $OUTDIR"
else
    log "FAILED with status $status (${elapsed}s) outdir: $OUTDIR"
fi
exit "$status"
