#!/usr/bin/env bash
# Every example that `lrid <command> --help` prints under "Examples" runs as written, from a
# directory laid out like the repository root (jobs/, cluster/), with `lrid` in PATH and a real
# local Slurm cluster for submit / resume. The commands run in the order below, so that the
# examples of one command can use what the examples of an earlier one made (smoke.h5, ...).
# Fails when a command has no examples, when `lrid --help` lists a command the order misses, or
# when an example exits non-zero.
set -uo pipefail
source "$(dirname "$0")/local_slurm.inc"
start_local_slurm lrid_help_examples
ln -s "$SRC/jobs" "$WORK/jobs"
ln -s "$SRC/cluster" "$WORK/cluster"
mkdir "$WORK/bin" && ln -s "$LRID" "$WORK/bin/lrid"
export PATH="$WORK/bin:$PATH" OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

order=(grid rules train merge stats analyze fit classify run status completion submit resume)
bad=0
listed=$(lrid --help | awk '/^commands:/ {p = 1; next} p && NF == 0 {exit} p {print $1}')
for c in $listed; do
  [[ " ${order[*]} " == *" $c "* ]] || { echo "FAIL: 'lrid --help' lists '$c', which this test does not run"; bad=1; }
done
n=0
for c in "${order[@]}"; do
  mapfile -t examples < <(lrid "$c" --help | awk '/^Examples/ {p = 1; next} p && /^  / {sub(/^  /, ""); print; next} p {exit}')
  if ((${#examples[@]} == 0)); then echo "FAIL: 'lrid $c --help' shows no examples"; bad=1; continue; fi
  for e in "${examples[@]}"; do
    n=$((n + 1))
    start=$SECONDS
    if (cd "$WORK" && timeout 300 bash -euo pipefail -c "$e") >"$WORK/example.log" 2>&1; then
      echo "ok   ($((SECONDS - start)) s) $e"
    else
      echo "FAIL (exit $?): $e"; tail -n 20 "$WORK/example.log"; bad=1
    fi
  done
done
echo "$n examples run"
exit $bad
