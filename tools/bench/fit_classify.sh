#!/usr/bin/env bash
# lrid fit time on a campaign with 1 and 2 ranks (the same model both ways), and lrid classify
# time for a recording of 500 units x 200 examples x 21 points beside numpy computing the same
# statistics. See fit_classify.py. Usage: tools/bench/fit_classify.sh [CAMPAIGN.h5] (default:
# lrid-quickstart/campaign.h5, made by tools/run.sh).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export LRID="$(bench_binary lrid "${LRID:-}")"
cd "$root"
exec "$PYTHON" tools/bench/fit_classify.py "$@"
