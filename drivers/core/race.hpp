// SPDX-License-Identifier: GPL-2.0
// ZCX_RACE(where): a race point (include/zcx/abi.h, zcx_race_point) in
// user-space test builds, nothing at all in the module.
#pragma once

#include "zcx/abi.h"

#ifdef ZCX_RACE_POINTS
#define ZCX_RACE(where) zcx_race_point(where)
#else
#define ZCX_RACE(where) \
	do {            \
	} while (0)
#endif
