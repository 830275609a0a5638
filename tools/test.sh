#!/usr/bin/env bash
# Set up (install what is missing, build) and run the whole test suite through ctest.
# Extra arguments go to ctest (e.g. tools/test.sh -R Grid).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
ctest --test-dir "${LRID_BUILD_DIR:-build}" --output-on-failure --timeout 900 "$@"
