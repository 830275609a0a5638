#!/usr/bin/env bash
# The pairwise identifiability matrix of lrid analyze against scikit-learn's forest, pair by pair,
# on the features lrid exports; see identifiability_sklearn.py.
set -euo pipefail
exec "${PYTHON:-/usr/bin/python3}" "$(dirname "$0")/identifiability_sklearn.py" "$@"
