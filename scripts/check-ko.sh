#!/usr/bin/env bash
# Post-link check of the module: the C++ core must need no C++ runtime.
# Debian's kernel never runs .init_array/.ctors (no CONFIG_CONSTRUCTORS),
# and nothing provides __cxa_*, operator new/delete or unwinding.
set -euo pipefail
ko=${1:?usage: check-ko.sh MODULE.ko}

bad_sections=$(readelf -SW "$ko" | grep -oE '\.(init_array|fini_array|ctors|dtors|eh_frame|gcc_except_table)\b' | sort -u || true)
bad_symbols=$(nm -u "$ko" | awk '{print $2}' |
	grep -E '^(_Z|__cxa_|__dso_handle|__gxx_personality|_Unwind_|__cxa_guard)' || true)

status=0
if [ -n "$bad_sections" ]; then
	echo "check-ko: $ko has forbidden sections: $bad_sections" >&2
	status=1
fi
if [ -n "$bad_symbols" ]; then
	echo "check-ko: $ko references C++ runtime symbols:" >&2
	echo "$bad_symbols" >&2
	status=1
fi
[ "$status" = 0 ] && echo "check-ko: $ko has no C++ runtime dependencies"
exit "$status"
