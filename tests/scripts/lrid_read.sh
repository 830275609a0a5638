#!/usr/bin/env bash
# tools/lrid_read.py (the Python reader) against h5py and `lrid stats`; plot_results.py's
# command line. See lrid_read.py.
set -euo pipefail
exec "${PYTHON:-/usr/bin/python3}" "$(dirname "$0")/lrid_read.py"
