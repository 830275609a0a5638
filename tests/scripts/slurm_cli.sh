#!/usr/bin/env bash
# lrid submit --dry-run (stable scripts with the expected #SBATCH lines for a GPU profile, GPU
# binding by local rank) and bad input of submit / resume / status, without a Slurm cluster.
# See slurm_cli.py.
set -euo pipefail
exec "${PYTHON:-/usr/bin/python3}" "$(dirname "$0")/slurm_cli.py"
