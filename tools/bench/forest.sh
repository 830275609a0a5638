#!/usr/bin/env bash
# Benchmark: random-forest fit time of lrid vs scikit-learn (n_jobs 1 and 2) and R's ranger
# (num.threads 1 and 2) on the same data and split, same n_estimators and max_features, all
# measured in this run; prints the times, lrid / fastest baseline, and test accuracies.
# Target (issue 6): lrid <= 0.5 x the faster baseline, on one core and on two.
# usage: tools/bench/forest.sh [FEATURES.h5] [--configs 500:sqrt,100:all] [--rounds 3] [--repeat 2]
#   FEATURES.h5: X (n x d) and y (n), e.g. from `lrid analyze --export-features`; default: a
#   synthetic set shaped like the quickstart's features (400 x 507, 4 classes).
# env: LRID_FOREST_TOOL (default: build/lrid_forest_tool), PYTHON.
# Needs /usr/bin/python3 with numpy, h5py, scikit-learn; R with ranger (apt-get install
# r-cran-ranger) for the ranger columns.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
tool="$(bench_binary lrid_forest_tool "${LRID_FOREST_TOOL:-}")"
args=()
if [[ $# -gt 0 && "$1" != --* ]]; then args+=(--data "$1"); shift; fi
exec "$PYTHON" "$root/tools/bench/forest_bench.py" --tool "$tool" "${args[@]}" "$@"
