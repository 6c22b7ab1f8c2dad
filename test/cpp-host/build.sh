#!/bin/sh
# make cpp-host: builds the C++ test host when the toolchain and the sources are there; otherwise writes
# why into build/cpp-host/SKIPPED (the differential tests show it in their name) and succeeds.
# Sources: ../shared/vendor (exact copies of the pinned commits) or, with AIGW_CPP_HOST_FETCH=1, the
# network (CMake FetchContent).
set -eu
out=build/cpp-host
mkdir -p "$out"
rm -f "$out/SKIPPED"
missing=""
for tool in cmake ninja g++; do command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"; done
[ -f /usr/include/openssl/sha.h ] || missing="$missing libssl-dev"
[ -d /usr/include/absl/cleanup ] || missing="$missing libabsl-dev"
vendor=../shared/vendor
if [ ! -d "$vendor/proxy-wasm-cpp-host" ] && [ "${AIGW_CPP_HOST_FETCH:-0}" != 1 ]; then
  missing="$missing sources ($vendor, or AIGW_CPP_HOST_FETCH=1 to fetch them)"
fi
if [ -n "$missing" ]; then
  echo "C++ test host not built, missing:$missing" | tee "$out/SKIPPED" >&2
  exit 0
fi
# Configure once; the build directory is a cache (WAMR twice, then only host.cc changes recompile).
[ -f "$out/build.ninja" ] || cmake -S test/cpp-host -B "$out" -G Ninja -DCMAKE_BUILD_TYPE=Release -DAIGW_VENDOR_DIR="$(cd "$vendor" 2>/dev/null && pwd || echo /nonexistent)"
nice cmake --build "$out" -j 2
