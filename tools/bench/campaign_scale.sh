#!/usr/bin/env bash
# Checkpoint cost, streamed vs in-memory training throughput, and shard balance of the paper's
# grid, each with its baseline from the same run. See campaign_scale.py (--parts, --rounds).
set -euo pipefail
cd "$(dirname "$0")/../.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
exec "${PYTHON:-/usr/bin/python3}" tools/bench/campaign_scale.py "$@"
