# shellcheck shell=bash
# Sourced by tests/vm/lib.sh (in the guest), scripts/bench.sh and
# scripts/vm-run.sh (on the host, whose / the guest shares, so both see
# the same files).

REAL_TAR_PARTS=(usr/lib/x86_64-linux-gnu usr/share/doc usr/include)
# The parts' tars, built once on the host (real_tar_cache, from
# scripts/vm-run.sh) into build/real-tar/0..2, each cut at this size: a
# guest then reads three files over 9p instead of walking thousands
# (32 MiB took about 100 s on the debug kernel, and every test with real
# files walked them again).
REAL_TAR_CACHE=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/real-tar
REAL_TAR_CACHE_MIB=176

real_tar_part() { # PART: the tar of one part, its files in a fixed order
	(cd / && find "$1" -xdev -type f 2>/dev/null | LC_ALL=C sort |
		tar --no-recursion -cf - -T - 2>/dev/null) || true
}

# Host side: (re)builds the cache when missing or older than the
# packages (dpkg's status), so a guest never walks a stale list.
real_tar_cache() {
	local i tmp
	if [[ -f $REAL_TAR_CACHE/complete && $REAL_TAR_CACHE/complete -nt /var/lib/dpkg/status ]]; then
		return 0
	fi
	mkdir -p "$REAL_TAR_CACHE"
	rm -f "$REAL_TAR_CACHE/complete"
	for i in "${!REAL_TAR_PARTS[@]}"; do
		tmp=$REAL_TAR_CACHE/$i.tmp
		real_tar_part "${REAL_TAR_PARTS[$i]}" | head -c $((REAL_TAR_CACHE_MIB << 20)) >"$tmp" || true
		mv "$tmp" "$REAL_TAR_CACHE/$i"
	done
	touch "$REAL_TAR_CACHE/complete"
}

# Real files into /tmp/real.tar, MB MiB of it: a third each of tars of
# /usr/lib/x86_64-linux-gnu, /usr/share/doc and /usr/include, each file
# list in a fixed order (the compaction issue's data).  From the cache
# when it holds enough (a part shorter than the cut is that part whole),
# else by walking the files.
make_real_tar() { # MB
	local i n size
	n=$((($1 << 20) / 3 + 1))
	: >/tmp/real.tar
	for i in "${!REAL_TAR_PARTS[@]}"; do
		size=-1
		[[ ! -f $REAL_TAR_CACHE/complete ]] || size=$(stat -c %s "$REAL_TAR_CACHE/$i" 2>/dev/null || echo -1)
		if ((size >= 0 && (size < REAL_TAR_CACHE_MIB << 20 || size >= n))); then
			head -c "$n" "$REAL_TAR_CACHE/$i" >>/tmp/real.tar
		else
			real_tar_part "${REAL_TAR_PARTS[$i]}" | head -c "$n" >>/tmp/real.tar || true
		fi
	done
	truncate -s "$1M" /tmp/real.tar
}

# The fio bench's sample (tests/vm/bench.sh's memory comparison, 256 MiB):
# tars of headers, Python and Perl sources, programs and libraries, each
# cut at its MiB, into /tmp/real.tar.  Walked every time (no cache).
BENCH_TAR_PARTS=(usr/include:64 usr/lib/python3.11:48 usr/share/perl:16 usr/bin:64
	usr/lib/x86_64-linux-gnu:64)
make_bench_tar() {
	local part
	: >/tmp/real.tar
	for part in "${BENCH_TAR_PARTS[@]}"; do
		real_tar_part "${part%%:*}" | head -c $((${part##*:} << 20)) >>/tmp/real.tar || true
	done
}
