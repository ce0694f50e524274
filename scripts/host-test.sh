#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Builds and runs the host (user-space) tests of the C++ core under
# ASan+UBSan.  Safe to re-run; exits non-zero if anything fails.
#   BUILD_DIR  build tree (default: build/host)
#   JOBS       parallel build and test jobs (default: 2)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-$root/build/host}
jobs=${JOBS:-2}

configure=(cmake -S "$root/tests/host" -B "$build" -DCMAKE_BUILD_TYPE=Debug)
# Pick the compiler on first configure only: changing it later makes
# CMake throw the cache away.
if [[ ! -f $build/CMakeCache.txt ]] && command -v g++-12 >/dev/null; then
	configure+=(-DCMAKE_CXX_COMPILER=g++-12)
fi
"${configure[@]}"
cmake --build "$build" -j "$jobs"
cd "$build"
ctest --output-on-failure -j "$jobs"
