#!/usr/bin/env bash
# `lrid stats` against numpy/scipy on h5py-written datasets (all 45 statistics, conditions,
# bad input). ctest provides LRID (the binary), LRID_SOURCE_DIR and PYTHON.
set -euo pipefail
: "${LRID:?LRID must name the lrid binary}"
: "${LRID_SOURCE_DIR:?LRID_SOURCE_DIR must name the source tree}"
PYTHON="${PYTHON:-/usr/bin/python3}"
exec "$PYTHON" "$LRID_SOURCE_DIR/tests/scripts/stats_reference.py" --lrid "$LRID"
