# shellcheck shell=bash
# The stock 6.1 interface, attribute by attribute, and the tools that
# drive it.  Sourced by tests/vm/suite.sh.

# Real data that compresses like real data: a slice of the Perl library.
make_real_data() { # FILE MIB
	[[ -s $1 ]] && return 0
	tar -C /usr/share -cf - perl 2>/dev/null | head -c "$(($2 << 20))" >"$1"
}

test_comp_algorithms() {
	load_ours num_devices=1
	local list want a
	list=$(zattr zram0 comp_algorithm)
	[[ $list == *"[lzo-rle]"* ]] || fail "default is not lzo-rle: $list"
	for want in lzo lzo-rle lz4 lz4hc zstd; do
		[[ " ${list//[\[\]]/} " == *" $want "* ]] || fail "$want not listed: $list"
	done
	note "comp_algorithm: $list"
	make_real_data /tmp/real 16
	for a in ${list//[\[\]]/}; do
		set_attr zram0 comp_algorithm "$a"
		[[ $(zattr zram0 comp_algorithm) == *"[$a]"* ]] || fail "$a not selected"
		init_disk zram0 32M
		expect_write_error /sys/block/zram0/comp_algorithm lzo "Device or resource busy"
		dd if=/tmp/real of=/dev/zram0 bs=1M oflag=direct status=none
		echo 3 >/proc/sys/vm/drop_caches
		cmp -n "$(stat -c %s /tmp/real)" /tmp/real /dev/zram0 || fail "$a: data differs"
		local orig compr
		orig=$(mm_field zram0 1)
		compr=$(mm_field zram0 2)
		((compr * 10 < orig * 6)) || fail "$a: $compr bytes for $orig is no compression"
		note "$a: $orig bytes stored in $compr ($((compr * 100 / orig))%)"
		reset_disk zram0
		[[ $(zattr zram0 comp_algorithm) == *"[$a]"* ]] || fail "reset forgot $a"
	done
	expect_write_error /sys/block/zram0/comp_algorithm nonsense "Invalid argument"
	expect_write_error /sys/block/zram0/comp_algorithm "" "Invalid argument"
	printf 'lz4\n' >/sys/block/zram0/comp_algorithm || fail "newline not stripped"
}

test_hot_add_remove() {
	load_ours num_devices=1
	local ctl=/sys/class/zram-control id
	[[ $(stat -c %a $ctl/hot_add) == 400 ]] || fail "hot_add mode $(stat -c %a $ctl/hot_add)"
	[[ $(stat -c %a $ctl/hot_remove) == 200 ]] || fail "hot_remove mode"
	id=$(cat $ctl/hot_add)
	[[ $id == 1 && -b /dev/zram1 ]] || fail "hot_add gave '$id'"
	id=$(cat $ctl/hot_add)
	[[ $id == 2 && -b /dev/zram2 ]] || fail "second hot_add gave '$id'"
	echo 1 >$ctl/hot_remove
	[[ ! -e /sys/block/zram1 ]] || fail "zram1 still there"
	[[ $(cat $ctl/hot_add) == 1 ]] || fail "freed id not reused"
	expect_write_error $ctl/hot_remove 99 "No such device"
	expect_write_error $ctl/hot_remove abc "Invalid argument"
	expect_write_error $ctl/hot_remove -1 "Invalid argument"
	init_disk zram2 16M
	exec 3</dev/zram2
	expect_write_error $ctl/hot_remove 2 "Device or resource busy"
	exec 3<&-
	echo 2 >$ctl/hot_remove
	# A well-known test suite sizes a disk at 100 GiB: 26 million slots.
	init_disk zram1 100G
	[[ $(zattr zram1 disksize) == $((100 << 30)) ]] || fail "100G disksize"
	dd if=/dev/urandom of=/dev/zram1 bs=1M count=4 seek=$((100 * 1024 - 4)) oflag=direct status=none
	note "100 GiB disk: mm_stat $(zattr zram1 mm_stat)"
	echo 1 >$ctl/hot_remove
	echo 0 >$ctl/hot_remove
	[[ -z $(ls /sys/block | grep zram) ]] || fail "devices left: $(ls /sys/block)"
	id=$(cat $ctl/hot_add)
	[[ $id == 0 ]] || fail "hot_add after removing all gave $id"
}

test_mem_limit() {
	load_ours num_devices=1
	init_disk zram0 64M
	head -c 4M /dev/urandom >/tmp/before
	dd if=/tmp/before of=/dev/zram0 bs=1M oflag=direct status=none
	local used limit
	used=$(mm_field zram0 3)
	limit=$((used + (2 << 20)))
	set_attr zram0 mem_limit "$limit"
	[[ $(mm_field zram0 4) == "$limit" ]] || fail "mm_stat mem_limit $(mm_field zram0 4)"
	head -c 16M /dev/urandom >/tmp/after
	if dd if=/tmp/after of=/dev/zram0 bs=1M seek=8 oflag=direct status=none 2>/tmp/dd.err; then
		fail "16 MiB fit under a 2 MiB headroom"
	fi
	note "past mem_limit: $(head -n1 /tmp/dd.err)"
	(($(mm_field zram0 3) <= limit)) || fail "mem_used $(mm_field zram0 3) over limit $limit"
	[[ $(io_field zram0 2) -gt 0 ]] || fail "failed_writes not counted"
	cmp -n $((4 << 20)) /tmp/before /dev/zram0 || fail "data before the limit damaged"
	set_attr zram0 mem_limit 0
	dd if=/tmp/after of=/dev/zram0 bs=1M seek=8 oflag=direct status=none ||
		fail "writes still fail after lifting the limit"
	cmp -n $((16 << 20)) /tmp/after <(dd if=/dev/zram0 bs=1M skip=8 iflag=direct status=none) ||
		fail "data after lifting the limit differs"
	expect_write_error /sys/block/zram0/mem_limit 1Q "Invalid argument"
	set_attr zram0 mem_limit 1G
	[[ $(mm_field zram0 4) == $((1 << 30)) ]] || fail "mem_limit 1G"
	note "mem_limit: writes fail past it, earlier data intact, lifting it works"
}

test_stat_files() {
	load_ours num_devices=1
	local z=/sys/block/zram0 f
	expect_write_error $z/compact 1 "Invalid argument"
	init_disk zram0 16M
	head -c 1M /dev/urandom >/tmp/r
	dd if=/tmp/r of=/dev/zram0 bs=4k oflag=direct status=none
	dd if=/dev/zram0 of=/dev/null bs=4k count=256 iflag=direct status=none
	dd if=/dev/zero of=/dev/zram0 bs=4k seek=1024 count=16 oflag=direct status=none
	[[ $(wc -w <$z/mm_stat) == 9 ]] || fail "mm_stat: $(cat $z/mm_stat)"
	[[ $(wc -w <$z/io_stat) == 4 ]] || fail "io_stat: $(cat $z/io_stat)"
	[[ $(wc -w <$z/bd_stat) == 3 ]] || fail "bd_stat: $(cat $z/bd_stat)"
	[[ $(head -n1 $z/debug_stat) == "version: 1" && $(wc -w <$z/debug_stat) == 4 ]] ||
		fail "debug_stat: $(cat $z/debug_stat)"
	for f in num_reads num_writes failed_reads failed_writes invalid_io \
		notify_free zero_pages orig_data_size compr_data_size mem_used_total; do
		[[ $(cat $z/$f) =~ ^[0-9]+$ ]] || fail "$f: '$(cat $z/$f)'"
		[[ $(stat -c %a $z/$f) == 444 ]] || fail "$f mode"
	done
	(($(cat $z/num_writes) >= 272)) || fail "num_writes $(cat $z/num_writes)"
	(($(cat $z/num_reads) >= 256)) || fail "num_reads $(cat $z/num_reads)"
	[[ $(cat $z/zero_pages) == 16 && $(mm_field zram0 6) == 16 ]] || fail "zero pages"
	[[ $(cat $z/orig_data_size) == $(mm_field zram0 1) ]] || fail "orig_data_size"
	[[ $(cat $z/mem_used_total) == $(mm_field zram0 3) ]] || fail "mem_used_total"
	[[ $(mm_field zram0 5) -ge $(mm_field zram0 3) ]] || fail "mem_used_max below mem_used"
	[[ $(cat $z/max_comp_streams) == "$(nproc)" ]] || fail "max_comp_streams"
	set_attr zram0 max_comp_streams 8
	[[ $(cat $z/max_comp_streams) == "$(nproc)" ]] || fail "max_comp_streams changed"
	blkdiscard /dev/zram0
	(($(mm_field zram0 5) > 0)) || fail "peak lost"
	set_attr zram0 mem_used_max 0
	[[ $(mm_field zram0 5) == "$(mm_field zram0 3)" ]] || fail "mem_used_max not reset"
	set_attr zram0 compact 1
	note "mm_stat $(cat $z/mm_stat); io_stat $(cat $z/io_stat)"
}

# util-linux zramctl, unchanged: find, size, algorithm, status, reset.
test_zramctl() {
	load_ours num_devices=1
	local dev
	dev=$(zramctl --find --size 64M --algorithm lz4)
	[[ $dev == /dev/zram0 ]] || fail "zramctl --find gave '$dev'"
	dev=$(zramctl --find --size 32M --algorithm zstd --streams 2)
	[[ $dev == /dev/zram1 ]] || fail "second zramctl --find gave '$dev' (hot_add)"
	make_real_data /tmp/real 16
	dd if=/tmp/real of=/dev/zram0 bs=1M oflag=direct status=none
	zramctl >/tmp/zramctl.out
	cat /tmp/zramctl.out
	grep -qE '^/dev/zram0 +lz4 +64M +16M +[0-9.]+[KM] +[0-9.]+[KM] +[0-9]+' /tmp/zramctl.out ||
		fail "zramctl status row for zram0"
	grep -qE '^/dev/zram1 +zstd +32M' /tmp/zramctl.out || fail "zramctl row for zram1"
	zramctl --output NAME,ALGORITHM,DISKSIZE,DATA,COMPR,TOTAL,ZERO-PAGES,MEM-LIMIT,MEM-USED,MIGRATED --bytes >/dev/null ||
		fail "zramctl columns"
	zramctl --reset /dev/zram1
	[[ ! -e /sys/block/zram1 ]] || fail "zramctl --reset left zram1 (hot_remove)"
	zramctl --reset /dev/zram0
	[[ $(zattr zram0 initstate) == 0 ]] || fail "zramctl --reset did not reset zram0"
}

# Debian's zram-tools: zramswap start/status/stop, as its unit runs them.
test_zramswap() {
	command -v zramswap >/dev/null || fail "zram-tools not installed"
	load_ours num_devices=1
	# zramswap's stop ends with `modprobe -r zram`; ours is what it unloads.
	ALGO=lz4 SIZE=64 PRIORITY=50 zramswap start
	grep -q '^/dev/zram0 ' /proc/swaps || fail "zramswap start: no swap on zram0"
	[[ $(zattr zram0 comp_algorithm) == *"[lz4]"* ]] || fail "zramswap algorithm"
	assert_ours
	zramswap status || true
	zramswap stop
	! grep -q zram /proc/swaps || fail "zramswap stop left swap on"
	note "zramswap start/status/stop worked on our module"
}

# systemd-zram-generator's device setup, as systemd-zram-setup@ runs it.
test_zram_generator() {
	local gen=/usr/lib/systemd/system-generators/zram-generator
	[[ -x $gen ]] || fail "systemd-zram-generator not installed"
	load_ours num_devices=1
	# /run/systemd is one of the generator's config directories.
	mkdir -p /run/systemd
	cat >/run/systemd/zram-generator.conf <<-EOF
		[zram0]
		zram-size = 48M
		compression-algorithm = zstd
	EOF
	$gen --setup-device zram0
	[[ $(zattr zram0 disksize) == $((48 << 20)) ]] || fail "generator disksize"
	[[ $(zattr zram0 comp_algorithm) == *"[zstd]"* ]] || fail "generator algorithm"
	blkid -p /dev/zram0 | grep -q 'TYPE="swap"' || mkswap /dev/zram0 >/dev/null
	swapon --discard /dev/zram0
	swapoff /dev/zram0
	$gen --reset-device zram0
	rm /run/systemd/zram-generator.conf
	[[ $(zattr zram0 initstate) == 0 ]] || fail "generator reset"
	note "zram-generator --setup-device / --reset-device worked"
}

interface_tests=(test_comp_algorithms test_hot_add_remove test_mem_limit
	test_stat_files test_zramctl test_zramswap test_zram_generator)
