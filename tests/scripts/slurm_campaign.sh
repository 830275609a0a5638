#!/usr/bin/env bash
# lrid submit / status / resume on a real single-node Slurm cluster that this script starts
# (cluster/local/start.sh, through local_slurm.inc) in a temporary directory and always stops
# again, by PID. The checks are in slurm_campaign.py.
set -euo pipefail
source "$(dirname "$0")/local_slurm.inc"
start_local_slurm lrid_slurm_test
export LRID_TEST_WORK=$WORK
"$PY" "$(dirname "$0")/slurm_campaign.py"
