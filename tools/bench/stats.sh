#!/usr/bin/env bash
# Benchmark: lrid's 21-statistic kernel (observe/stats) vs numpy on the same float32 tensors,
# measured in the same run. Target: lrid time <= 1/5 of numpy's (ratio <= 0.2).
# usage: tools/bench/stats.sh [LRID binary]   (env: PYTHON, REPEAT)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
lrid="${1:-${LRID:-}}"
if [[ -z "$lrid" ]]; then
  for cand in "$root/build-obs/lrid" "$root/build/lrid"; do
    [[ -x "$cand" ]] && { lrid="$cand"; break; }
  done
fi
[[ -x "$lrid" ]] || { echo "stats.sh: no lrid binary (pass it or set LRID)" >&2; exit 2; }
PYTHON="${PYTHON:-/usr/bin/python3}"
exec "$PYTHON" "$root/tools/bench/stats_bench.py" "$lrid"
