#!/usr/bin/env bash
# lrid fit / lrid classify / lrid train --record-activations end to end (round trip through a
# virtual recording, subsampled recordings, bad input). See classify.py.
set -euo pipefail
exec "${PYTHON:-/usr/bin/python3}" "$(dirname "$0")/classify.py"
