#!/usr/bin/env bash
# Every tensor factory call on the training path takes its device from a tensor, or says why it
# makes host memory on purpose. See device_factories.py.
set -euo pipefail
exec "${PYTHON:-/usr/bin/python3}" "$(dirname "$0")/device_factories.py" "$@"
