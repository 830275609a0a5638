#!/usr/bin/env bash
# Benchmark: the share of a quickstart run's wall time spent recording the observables (all
# measurement conditions), per architecture and overall, beside the same runs recording the
# ideal condition only (21 trajectory points), measured in the same run, run by run.
# Trains a representative subset of jobs/quickstart.yaml (ids 0, 5, 10, ...: every rule, MLP and
# KNet4, supervised and SimCLR) with `lrid train --run ID --threads 1`, and sums the
# "recording" and wall seconds of each run's last line. Target: recording < 10% of wall time.
# usage: tools/bench/recording_overhead.sh [LRID binary] [--job JOB.yaml] [--stride N] [--offset K]
#        (env: PYTHON, default /usr/bin/python3; LRID)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
lrid="${LRID:-}"
if [[ $# -gt 0 && "$1" != --* ]]; then lrid="$1"; shift; fi
lrid="$(bench_binary lrid "$lrid")"
job="$root/jobs/quickstart.yaml"
args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --job) job="$2"; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
echo "machine: $(nproc) cores, $(uptime | sed 's/.*load average/load average/'), lrid: $lrid"
"$PYTHON" "$root/tools/bench/recording_overhead.py" "$lrid" --job "$job" "${args[@]}"
echo "machine after: $(uptime | sed 's/.*load average/load average/')"
