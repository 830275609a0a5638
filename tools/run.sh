#!/usr/bin/env bash
# Set up (install what is missing, build) and run the main job: train + analyze the embedded
# quickstart (or JOB.yaml) on 2 MPI ranks, into lrid-<job name>/ (continues an interrupted one).
# Paths (JOB.yaml, --dir) are relative to the directory you call it from, as for lrid itself.
# Usage: tools/run.sh [JOB.yaml] [key.path=value ...] [--dir DIR] [--fresh]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(realpath -m "${LRID_BUILD_DIR:-$ROOT/build}")
(cd "$ROOT" && LRID_BUILD_DIR="$BUILD" tools/setup.sh)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
NP=${LRID_RANKS:-2}
# In a terminal, rank 0 shows a live progress line (under mpirun it cannot tell by itself).
[[ -t 1 && -z "${LRID_PROGRESS:-}" ]] && export LRID_PROGRESS=live
start=$(date +%s)
# -q: lrid prints a user error once and every rank exits 2; mpirun's own banner about a non-zero
# exit would only repeat it. A crash (any other code) is reported below instead.
rc=0
mpirun -q --oversubscribe -np "$NP" "$BUILD/lrid" run "$@" || rc=$?
if [[ $rc -ne 0 && $rc -ne 2 ]]; then
  echo "tools/run.sh: lrid exited with code $rc (a rank failed or was killed; run the same command again to continue)" >&2
fi
[[ $rc -eq 0 ]] && echo "tools/run.sh: main job finished in $(( $(date +%s) - start )) s"
exit $rc
