# SPDX-License-Identifier: GPL-2.0
# The C++ core's sources, as the module builds them (drivers/zram_cxx.cpp
# includes the same files), for every user-space build of it: tests/host,
# tests/fuzz, tests/microbench.  Include with ZCX_ROOT set.
set(ZCX_CORE_SOURCES
    ${ZCX_ROOT}/drivers/core/backing.cpp
    ${ZCX_ROOT}/drivers/core/c_api.cpp
    ${ZCX_ROOT}/drivers/core/codec.cpp
    ${ZCX_ROOT}/drivers/core/device.cpp
    ${ZCX_ROOT}/drivers/core/group.cpp
    ${ZCX_ROOT}/drivers/core/kv.cpp
    ${ZCX_ROOT}/drivers/core/parse.cpp
    ${ZCX_ROOT}/drivers/core/policy.cpp
    ${ZCX_ROOT}/drivers/core/recompress.cpp
    ${ZCX_ROOT}/drivers/core/postprocess.cpp
    ${ZCX_ROOT}/drivers/core/table.cpp
    ${ZCX_ROOT}/lib/xvmalloc/xvmalloc.cpp)
set(ZCX_CORE_INCLUDES ${ZCX_ROOT}/include ${ZCX_ROOT}/lib ${ZCX_ROOT}/drivers)
# Host tests and fuzzers force races at the core's race points
# (drivers/core/race.hpp); the module and the microbenchmarks have none.
set(ZCX_CORE_TEST_DEFINITIONS ZCX_RACE_POINTS)
