#!/usr/bin/env bash
# Benchmark: random-forest fit time of lrid vs scikit-learn (n_jobs 1 and 2) and R's ranger
# (num.threads 1 and 2) on the same data and split, same n_estimators and max_features, all
# measured in this run; prints the times, lrid / fastest baseline, and test accuracies.
# Target (issue 6): lrid <= 0.5 x the faster baseline, on one core and on two.
# usage: tools/bench/forest.sh [FEATURES.h5] [--configs 500:sqrt,100:all] [--rounds 3] [--repeat 2]
#   FEATURES.h5: X (n x d) and y (n), e.g. from `lrid analyze --export-features`; default: a
#   synthetic set shaped like the quickstart's features (400 x 507, 4 classes).
# env: LRID_FOREST_TOOL (default: lrid_forest_tool next to build-an/, build/ lrid), PYTHON.
# Needs /usr/bin/python3 with numpy, h5py, scikit-learn; R with ranger (apt-get install
# r-cran-ranger) for the ranger columns.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
tool="${LRID_FOREST_TOOL:-}"
if [[ -z "$tool" ]]; then
  for cand in "$root/build-an/lrid_forest_tool" "$root/build/lrid_forest_tool"; do
    [[ -x "$cand" ]] && { tool="$cand"; break; }
  done
fi
[[ -x "$tool" ]] || { echo "forest.sh: no lrid_forest_tool (ninja -C build lrid_forest_tool, or set LRID_FOREST_TOOL)" >&2; exit 2; }
PYTHON="${PYTHON:-/usr/bin/python3}"
args=()
if [[ $# -gt 0 && "$1" != --* ]]; then args+=(--data "$1"); shift; fi
exec "$PYTHON" "$root/tools/bench/forest_bench.py" --tool "$tool" "${args[@]}" "$@"
