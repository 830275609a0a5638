#!/usr/bin/env bash
# Benchmark: the paper's full forest protocol (10 balanced 75/25 splits x stratified 5-fold CV
# over the 15-point grid max_features {sqrt, log2, all} x n_estimators {20, 50, 100, 500, 1000},
# refit, test accuracy) on the quickstart's features: `lrid analyze` under mpirun -np 2 vs
# scikit-learn's GridSearchCV(n_jobs=2), measured in the same run; prints both wall times, the
# ratio and both mean accuracies per feature set. Target (issue 6): lrid at least 4x faster.
# usage: tools/bench/protocol.sh [--campaign F.h5] [--statistics admissible|admissible_act|...]
#                                [--workdir DIR] [--ranks 2] [--n-jobs 2] [--lrid-rounds 2]
#   Without --campaign: writes DIR/job.yaml (jobs/quickstart.yaml with the paper's forest grid in
#   its analysis section; `lrid analyze` reads the grid from the campaign's stored job) and
#   trains it into DIR/campaign.h5 (default DIR /tmp/lrid-protocol-bench; resumed/reused later).
#   --statistics admissible (default): lrid's weight, act, gradavg and all evaluations, and the
#   same four column sets of the exported features for scikit-learn; admissible_act: one set.
# env: LRID (default build/lrid), PYTHON (default /usr/bin/python3 with
#   numpy, h5py, PyYAML, scikit-learn). Details: tools/bench/protocol_bench.py.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
lrid="$(bench_binary lrid "${LRID:-}")"
command -v mpirun >/dev/null || { echo "protocol.sh: mpirun not found" >&2; exit 2; }
exec "$PYTHON" "$root/tools/bench/protocol_bench.py" --lrid "$lrid" --root "$root" "$@"
