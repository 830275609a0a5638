#!/usr/bin/env bash
# In a terminal (script(1) gives one) lrid train shows a live line between the done lines: runs
# finished, each running run's step and rate, ETA; written in place (\r, erase line). Without a
# terminal: plain lines, no control characters.
set -uo pipefail
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0
args=(train "$LRID_SOURCE_DIR/jobs/smoke.yaml" "grid.0.architectures=[KNet4]" "grid.0.learning_rules=[sgdm,adam]"
      training.defaults.steps=250)
# Under mpirun a rank cannot tell whether mpirun's output is a terminal: LRID_PROGRESS=live
# (what tools/run.sh sets in a terminal); a single process finds out itself.
# The live line is rank 0's heartbeat (every 5 s): these runs train 1000 steps, several
# heartbeats long on any machine (250 steps took 4.5 s on one and no heartbeat came).
script -qec "LRID_PROGRESS=live mpirun -q --oversubscribe -np 2 $LRID ${args[*]} training.defaults.steps=1000 --out $T/tty.h5" "$T/tty.txt" >/dev/null
if grep -q $'\r\033\[K\[0/2\] running: run [01] [0-9]*/1000 ([0-9.]*/s)' "$T/tty.txt"; then
  echo "ok   a live line in a terminal: [done/total] running: run R step/steps (rate)"
else echo "FAIL: no live progress line in a terminal:"; cat -v "$T/tty.txt"; fail=1; fi
grep -q "ETA [0-9]* s" "$T/tty.txt" && echo "ok   the live line has an ETA" || { echo "FAIL: no ETA"; fail=1; }
mpirun -q --oversubscribe -np 2 "$LRID" "${args[@]}" --out "$T/plain.h5" >"$T/plain.txt" 2>&1
if grep -q $'\033' "$T/plain.txt" || grep -q "running:" "$T/plain.txt"; then
  echo "FAIL: control characters or live lines without a terminal:"; cat -v "$T/plain.txt"; fail=1
else echo "ok   plain lines without a terminal"; fi
grep -q "\[2/2\] run" "$T/plain.txt" && echo "ok   done lines as before" || { echo "FAIL: no done lines"; fail=1; }
script -qec "$LRID ${args[*]} --out $T/one.h5" "$T/one.txt" >/dev/null
grep -q $'\r\033\[K' "$T/one.txt" && echo "ok   one process in a terminal: live line without being asked" ||
  { echo "FAIL: one process in a terminal shows no live line"; cat -v "$T/one.txt"; fail=1; }
[[ $fail == 0 ]] && echo "all checks passed"
exit $fail
