# SPDX-License-Identifier: GPL-2.0
# Checks that each core header compiles on its own.
#
# MODE=kernel: alone, in the kernel's dialect (-nostdinc, no exceptions).
#   The kernel build includes the headers in one fixed order
#   (drivers/zram_cxx.cpp), which hides a missing #include until someone
#   includes a header first.  abi.h must also be plain C for the C layer.
# MODE=libc: first in a host TU, followed by <cstring>, as tests and other
#   user-space code include them.
#
# Usage: cmake -DCXX=<compiler> -DROOT=<repo> -DOUT=<dir> -DMODE=<mode>
#              -P check_headers.cmake
file(GLOB_RECURSE headers
    "${ROOT}/include/zcx/*.hpp" "${ROOT}/lib/xvmalloc/*.hpp"
    "${ROOT}/drivers/core/*.hpp")
list(SORT headers)
set(out "${OUT}/${MODE}")
file(MAKE_DIRECTORY "${out}")
set(includes -I${ROOT}/include -I${ROOT}/lib -I${ROOT}/drivers)
if(MODE STREQUAL "kernel")
    set(flags -std=gnu++20 -fno-exceptions -fno-rtti -ffreestanding -nostdinc)
    set(trailer "")
elseif(MODE STREQUAL "libc")
    set(flags -std=gnu++20)
    set(trailer "#include <cstring>\n")
else()
    message(FATAL_ERROR "MODE must be kernel or libc")
endif()
set(failed "")

function(check_tu tu lang)
    execute_process(
        COMMAND ${CXX} -x ${lang} ${ARGN} -fsyntax-only -Wall -Wextra -Werror
                ${includes} ${tu}
        RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_QUIET)
    if(NOT rc EQUAL 0)
        message("---- ${tu}\n${err}")
        set(failed "${failed};${tu}" PARENT_SCOPE)
    endif()
endfunction()

foreach(h IN LISTS headers)
    string(MAKE_C_IDENTIFIER "${h}" id)
    set(tu "${out}/${id}.cpp")
    file(WRITE "${tu}" "#include \"${h}\"\n${trailer}")
    check_tu("${tu}" c++ ${flags})
endforeach()

if(MODE STREQUAL "kernel")
    set(tu "${out}/abi_h.c")
    file(WRITE "${tu}" "#include \"zcx/abi.h\"\n")
    check_tu("${tu}" c -std=gnu11 -ffreestanding -nostdinc)
endif()

if(failed)
    message(FATAL_ERROR "headers that do not compile (${MODE}):${failed}")
endif()
list(LENGTH headers n)
message("all ${n} headers compile on their own (${MODE})")
