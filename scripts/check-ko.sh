#!/usr/bin/env bash
# Post-link check of the module: the C++ core must need no C++ runtime.
# Debian's kernel never runs .init_array/.ctors (no CONFIG_CONSTRUCTORS),
# and nothing provides __cxa_*, operator new/delete or unwinding.
#   check-ko.sh MODULE.ko [KDIR]
# On a sanitizer kernel (CONFIG_CONSTRUCTORS=y in KDIR/.config) KASAN puts
# its own global (un)registration in .init_array/.fini_array of every object,
# C or C++; those are allowed, a C++ dynamic initializer
# (_GLOBAL__sub_I_*) never is.
set -euo pipefail
ko=${1:?usage: check-ko.sh MODULE.ko [KDIR]}
kdir=${2:-}

forbidden='\.(ctors|dtors|eh_frame|gcc_except_table)\b'
if ! grep -qx 'CONFIG_CONSTRUCTORS=y' "$kdir/.config" 2>/dev/null; then
	forbidden='\.(init_array|fini_array|ctors|dtors|eh_frame|gcc_except_table)\b'
fi
bad_sections=$(readelf -SW "$ko" | grep -oE "$forbidden" | sort -u || true)
bad_symbols=$(nm -u "$ko" | awk '{print $2}' |
	grep -E '^(_Z|__cxa_|__dso_handle|__gxx_personality|_Unwind_)' || true)
static_init=$(nm "$ko" | awk '{print $3}' | grep -E '^_GLOBAL__sub_[ID]_' || true)

status=0
if [[ -n $bad_sections ]]; then
	echo "check-ko: $ko has forbidden sections: $bad_sections" >&2
	status=1
fi
if [[ -n $bad_symbols ]]; then
	echo "check-ko: $ko references C++ runtime symbols:" >&2
	echo "$bad_symbols" >&2
	status=1
fi
if [[ -n $static_init ]]; then
	echo "check-ko: $ko has C++ dynamic initialization: $static_init" >&2
	status=1
fi
[[ $status == 0 ]] && echo "check-ko: $ko has no C++ runtime dependencies"
exit "$status"
