#!/usr/bin/env bash
# In-run checkpoints, the writer lock, stop signals, group failures and shard files under real
# mpirun (kill -9 + resume bit for bit, a second writer refused, a corrupt checkpoint set aside,
# SIGTERM -> exit 75 -> resume, faults on either rank of a group, shard file sizes). See
# checkpoint_mpi.py.
set -euo pipefail
exec "${PYTHON:-/usr/bin/python3}" "$(dirname "$0")/checkpoint_mpi.py"
