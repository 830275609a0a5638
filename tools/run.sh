#!/usr/bin/env bash
# Set up (install what is missing, build) and run the main job on the embedded default.
# Usage: tools/run.sh [JOB.yaml]   (default: jobs/quickstart.yaml)
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
JOB=${1:-jobs/quickstart.yaml}
build/lrid grid "$JOB"
