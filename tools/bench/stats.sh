#!/usr/bin/env bash
# Benchmark: lrid's 21-statistic kernel (observe/stats) vs numpy on the same float32 tensors,
# measured in the same run. Target: lrid time <= 1/5 of numpy's (ratio <= 0.2).
# usage: tools/bench/stats.sh [LRID binary]   (env: PYTHON, REPEAT)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
lrid="$(bench_binary lrid "${1:-${LRID:-}}")"
exec "$PYTHON" "$root/tools/bench/stats_bench.py" "$lrid"
