#!/usr/bin/env bash
# The fuzz corpus of lrid's input handling (issue 26, tests/fuzz/): damaged job files, overrides,
# options, campaigns, results, models, recordings, a full or read-only file system and the Python
# tools, each run against the real binary. Every case must exit 0 (valid input) or 2 with one
# error line (bad input), within its time limit, without changing an input or leaving a .tmp file.
# `tests/fuzz/fuzz.py --list` lists the cases, `--only REGEX` runs some, `--all` adds the extended
# corpus (cases that guard refusals which already work).
set -euo pipefail
exec "${PYTHON:-/usr/bin/python3}" "$(dirname "$0")/../fuzz/fuzz.py" "$@"
