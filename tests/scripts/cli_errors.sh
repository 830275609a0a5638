#!/usr/bin/env bash
# Every command answers --help with exit 0; user mistakes give exit code 2 and one line that
# names the file or option; nothing is written.
set -uo pipefail
fail=0
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
expect() {  # expect CODE PATTERN -- command...
  local code=$1 pattern=$2; shift 3
  local out rc
  out=$("$@" 2>&1 >/dev/null); rc=$?
  if [[ $rc != "$code" ]]; then echo "FAIL ($rc != $code): $*"; echo "$out"; fail=1; return; fi
  if [[ -n "$pattern" ]] && ! grep -q -- "$pattern" <<<"$out"; then
    echo "FAIL (no '$pattern'): $*"; echo "$out"; fail=1; return
  fi
  if [[ $code == 2 && $(wc -l <<<"$out") != 1 ]]; then echo "FAIL (not one line): $*"; echo "$out"; fail=1; return; fi
  echo "ok   $*"
}
for c in run grid train analyze status merge submit resume stats fit classify; do
  expect 0 "" -- "$LRID" "$c" --help
done
expect 0 "" -- "$LRID" --help
expect 2 "unknown command 'trian' (did you mean 'train'?)" -- "$LRID" trian
expect 2 "unrecognised option '--jsn' (did you mean '--json'?)" -- "$LRID" grid "$LRID_SOURCE_DIR/jobs/smoke.yaml" --jsn
expect 2 "unrecognised option '--outt' (did you mean '--out'?)" -- "$LRID" train "$LRID_SOURCE_DIR/jobs/smoke.yaml" --outt x.h5
printf 'name: t\ngrid: [\n' > "$T/bad.yaml"
expect 2 "bad.yaml:3:1: malformed YAML" -- "$LRID" grid "$T/bad.yaml"
expect 2 "missing.yaml: cannot open" -- "$LRID" grid "$T/missing.yaml"
# A task whose data file is missing: exit 2 naming the file, no campaign written.
cat > "$T/nodata.yaml" <<'YAML'
name: nodata
tasks:
  lost: {objective: supervised, dataset: {format: idx, path: /nonexistent/fashion}}
grid:
  - {learning_rules: [sgdm], tasks: [lost], architectures: [MLP], batch_sizes: [8]}
training: {defaults: {steps: 2}}
YAML
expect 2 "/nonexistent/fashion" -- "$LRID" train "$T/nodata.yaml" --run 0
expect 2 "out of range" -- "$LRID" train "$LRID_SOURCE_DIR/jobs/smoke.yaml" --run 99
# distributed.device: cuda on a LibTorch without CUDA (this machine's): exit 2, one line, nothing
# written, for --run as for a campaign.
if ! ldd "$LRID" | grep -q libtorch_cuda; then
  expect 2 "LibTorch without CUDA" -- "$LRID" train "$LRID_SOURCE_DIR/jobs/smoke.yaml" distributed.device=cuda --run 0 --out "$T/cu.h5"
  [[ -e "$T/cu.h5" ]] && { echo "FAIL: a refused --run on cuda wrote $T/cu.h5"; fail=1; }
fi
expect 2 "--shard" -- "$LRID" train "$LRID_SOURCE_DIR/jobs/smoke.yaml" --out "$T/x.h5" --shard 3/2
[[ -e "$T/x.h5" ]] && { echo "FAIL: a refused train wrote $T/x.h5"; fail=1; }
expect 2 "not an HDF5 file\|no such campaign" -- "$LRID" status "$T/bad.yaml"
expect 2 "no such campaign" -- "$LRID" analyze "$T/none.h5" --out "$T/r"
# Overrides: a bad one names itself and the key; a good one shows in the effective job.
expect 2 "override 1 (training.defaults.steps=-1): training.defaults.steps" -- \
  "$LRID" grid "$LRID_SOURCE_DIR/jobs/smoke.yaml" training.defaults.steps=-1
expect 2 "override 1 (training.defaults.stepz=4)" -- "$LRID" grid "$LRID_SOURCE_DIR/jobs/smoke.yaml" training.defaults.stepz=4
expect 2 "unexpected argument.*an override is key.path=value" -- "$LRID" grid "$LRID_SOURCE_DIR/jobs/smoke.yaml" "$LRID_SOURCE_DIR/jobs/smoke.yaml"
if "$LRID" grid "$LRID_SOURCE_DIR/jobs/smoke.yaml" training.defaults.steps=3 --print-job | grep -q "steps: 3"; then
  echo "ok   grid --print-job shows the override"
else echo "FAIL: grid --print-job does not show training.defaults.steps=3"; fail=1; fi
expect 2 "analysis" -- "$LRID" analyze "$T/none.h5" --out "$T/r" training.defaults.steps=3
# Under mpirun a user error is printed once (by rank 0) and every rank exits 2.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
out=$(mpirun -q --oversubscribe -np 3 "$LRID" train "$T/bad.yaml" --out "$T/y.h5" 2>&1); rc=$?
n=$(grep -c "malformed YAML" <<<"$out")
if [[ $rc == 2 && $n == 1 && $(grep -c . <<<"$out") == 1 ]]; then echo "ok   one message under mpirun -np 3, exit 2"
else echo "FAIL: under mpirun -np 3: rc $rc, $n messages:"; echo "$out"; fail=1; fi
# lrid status of a 'lrid run' directory (its campaign.h5), and of a directory that is neither.
mkdir -p "$T/rundir" "$T/empty"
OMP_NUM_THREADS=1 "$LRID" train "$LRID_SOURCE_DIR/jobs/smoke.yaml" training.defaults.steps=2 --run 0 --out "$T/rundir/campaign.h5" -q >/dev/null 2>&1
if "$LRID" status "$T/rundir" | grep -q "not yet analyzed"; then echo "ok   status of a run directory"
else echo "FAIL: lrid status of a lrid run directory"; "$LRID" status "$T/rundir"; fail=1; fi
expect 2 "not an lrid directory" -- "$LRID" status "$T/empty"
[[ $fail == 0 ]] && echo "all checks passed"
exit $fail
