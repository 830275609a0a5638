#!/usr/bin/env bash
# lrid analyze on a small real campaign (see analyze_e2e.py).
set -euo pipefail
exec "${PYTHON:-/usr/bin/python3}" "$(dirname "$0")/analyze_e2e.py"
