#!/usr/bin/env bash
# Every key the job-file parser accepts is documented in docs/job-file.md. See docs_keys.py.
set -euo pipefail
exec "${PYTHON:-/usr/bin/python3}" "$(dirname "$0")/docs_keys.py"
