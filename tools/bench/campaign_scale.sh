#!/usr/bin/env bash
# Checkpoint cost, streamed vs in-memory training throughput, and shard balance of the paper's
# grid, each with its baseline from the same run. See campaign_scale.py (--parts, --rounds).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export LRID="$(bench_binary lrid "${LRID:-}")"
cd "$root"
exec "$PYTHON" tools/bench/campaign_scale.py "$@"
