#!/usr/bin/env bash
# The work queue's unit tests under real mpirun: 3 ranks (groups of one), 4 ranks (groups of two).
set -euo pipefail
BIN="$(dirname "$LRID")/tests/lrid_core_tests"
for np in 3 4; do
  mpirun --oversubscribe -np "$np" "$BIN" --gtest_filter='CommQueue.*' > /tmp/lrid_comm_queue_$$.txt 2>&1 ||
    { cat /tmp/lrid_comm_queue_$$.txt; rm -f /tmp/lrid_comm_queue_$$.txt; exit 1; }
  grep -c "PASSED" /tmp/lrid_comm_queue_$$.txt | grep -q "^$np$" ||
    { echo "not every one of $np ranks passed"; cat /tmp/lrid_comm_queue_$$.txt; rm -f /tmp/lrid_comm_queue_$$.txt; exit 1; }
  echo "ok   CommQueue.* on $np ranks"
done
rm -f /tmp/lrid_comm_queue_$$.txt
