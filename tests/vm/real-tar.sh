# shellcheck shell=bash
# Sourced by tests/vm/lib.sh (in the guest) and scripts/bench.sh (on the
# host, whose / the guest shares, so both build the same bytes).

# Real files into /tmp/real.tar, MB MiB of it: a third each of tars of
# /usr/lib/x86_64-linux-gnu, /usr/share/doc and /usr/include, each file
# list in a fixed order (the compaction issue's data).
make_real_tar() { # MB
	local part
	: >/tmp/real.tar
	for part in usr/lib/x86_64-linux-gnu usr/share/doc usr/include; do
		(cd / && find "$part" -xdev -type f 2>/dev/null | LC_ALL=C sort |
			tar --no-recursion -cf - -T - 2>/dev/null | head -c $((($1 << 20) / 3 + 1))) >>/tmp/real.tar || true
	done
	truncate -s "$1M" /tmp/real.tar
}
