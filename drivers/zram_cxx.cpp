// SPDX-License-Identifier: GPL-2.0
// The module's only C++ translation unit.  Inline functions and templates
// emitted by two C++ objects leave COMDAT sections that the module link
// discards while __mcount_loc / .orc_unwind_ip still point into them, so
// the whole core is compiled here as one unit (see README, "C++ rules").
#include "core/backing.cpp"
#include "core/c_api.cpp"
#include "core/codec.cpp"
#include "core/device.cpp"
#include "core/group.cpp"
#include "core/kv.cpp"
#include "core/parse.cpp"
#include "core/policy.cpp"
#include "core/recompress.cpp"
#include "core/postprocess.cpp"
#include "core/table.cpp"
#include "xvmalloc/xvmalloc.cpp"
#ifdef ZCX_KUNIT
#include "core/test_hooks.cpp"
#endif

// A pure virtual call must trap, not jump to address 0.  The core has no
// virtual functions; this is the net under that rule.  Declared first for
// -Wmissing-declarations (in 6.12's flags): no header declares it here.
extern "C" void __cxa_pure_virtual(void);
extern "C" void __cxa_pure_virtual(void) { __builtin_trap(); }
