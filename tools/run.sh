#!/usr/bin/env bash
# Set up (install what is missing, build) and run the main job: train + analyze the embedded
# quickstart (or JOB.yaml) on 2 MPI ranks, into lrid-<job name>/ (continues an interrupted one).
# Usage: tools/run.sh [JOB.yaml]
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
NP=${LRID_RANKS:-2}
start=$(date +%s)
mpirun --oversubscribe -np "$NP" build/lrid run "$@"
echo "tools/run.sh: main job finished in $(( $(date +%s) - start )) s"
