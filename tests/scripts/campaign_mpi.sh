#!/usr/bin/env bash
# Campaigns across real MPI ranks (np 1/2/3, resume, refusals, shards + merge, data-parallel
# groups, kill -9 of a worker). See campaign_mpi.py.
set -euo pipefail
exec "${PYTHON:-/usr/bin/python3}" "$(dirname "$0")/campaign_mpi.py"
