#!/usr/bin/env bash
# Streaming training data from HDF5 (in memory vs streamed bit for bit, a 2 GB data set under a
# small peak RSS, bad data failing one run). See data_stream.py.
set -euo pipefail
exec "${PYTHON:-/usr/bin/python3}" "$(dirname "$0")/data_stream.py"
