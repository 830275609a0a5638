#!/usr/bin/env bash
# Set up (install what is missing, build) and run the whole test suite through ctest.
# Extra arguments go to ctest (e.g. tools/test.sh -R Grid). LRID_BUILD_DIR (default: build in
# the repository) is relative to the directory you call it from.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(realpath -m "${LRID_BUILD_DIR:-$ROOT/build}")
(cd "$ROOT" && LRID_BUILD_DIR="$BUILD" tools/setup.sh)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
ctest --test-dir "$BUILD" --output-on-failure --timeout 900 "$@"
