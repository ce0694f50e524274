# shellcheck shell=bash
# Sourced by scripts/kunit.sh and scripts/debug-vm.sh: builds (or reuses)
# the debug kernel and builds zram.ko and zram_codecs.ko against it in
# WORK/src, a copy of the sources, so the checkout's modules stay the
# stock-headers build; tests/vm/lib.sh loads the companion from beside
# DEBUG_KO.
# Sets kbuild, kver and DEBUG_KO.
debug_kernel_module() { # WORK
	local work=$1
	kbuild=$(scripts/build-debug-kernel.sh | tail -n1)
	kver=$(cat "$kbuild/include/config/kernel.release")
	rm -rf "$work"
	mkdir -p "$work/src"
	git ls-files -z --cached --others --exclude-standard |
		rsync -a --from0 --files-from=- ./ "$work/src/"
	make --no-print-directory -C "$work/src" KDIR="$kbuild" modules >"$work/build.log" 2>&1 ||
		{ tail -40 "$work/build.log"; return 1; }
	DEBUG_KO=$work/src/zram.ko
}

# The debug kernel boots with 4-level paging.  Under `-cpu max` it chose
# 5-level (LA57), and once, on a loaded host, an interrupt taken during
# identify_cpu at 0.04 s made KASAN report a wild access in
# handle_edge_irq's spin_lock: kernel boot code, long before any module,
# but a report fails the run all the same.
export VM_APPEND="${VM_APPEND:+$VM_APPEND }no5lvl"
