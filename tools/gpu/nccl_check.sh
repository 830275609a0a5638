#!/usr/bin/env bash
# Check of the NCCL gradient backend (gradient_backend: nccl) on a machine with CUDA GPUs.
# It cannot run on a machine without a GPU; there, tests/unit/comm_nccl_torch_test.cpp only
# checks that selecting nccl fails with exit code 2 and a clear message.
#
#   tools/gpu/nccl_check.sh          # from the repository root (a correctness check, not a benchmark)
#
# Binaries: $LRID and $LRID_TESTS (lrid and tests/lrid_torch_tests), else the first build of
# build-dist/, build-nccl/, build/ whose lrid links libnccl; else it builds build-nccl/
# (cmake + ninja; needs what tools/setup.sh installs plus CUDA and NCCL under /usr/local/cuda).
#
# Checks (each PASS / FAIL / SKIP; exit status 1 if any failed):
#   1 GPU or more
#     b. `lrid train` of a small job with gradient_backend: nccl, ranks_per_run 1, -np 1: exit 0,
#        every run done. A group of one rank has nothing to average, so lrid creates no NCCL
#        communicator (whatever gradient_backend says): this checks the device binding and that
#        nccl is accepted on cuda, not NCCL itself.
#   2 GPUs or more (NCCL refuses two ranks of one communicator on one GPU)
#     c. mpirun -np 2 unit test CommNccl.TwoRanksCudaNcclNearCpuMpi: SGDM, Adam, FA and IA on
#        KNet4 and MLP, G=2 on CUDA with NCCL vs G=2 on the CPU with MPI, final parameters within
#        1e-3 of their scale.
#     d. mpirun -np 2 `lrid train` of the same job (ranks_per_run 2) with nccl on cuda and with
#        mpi on cpu: the campaign files' observables, losses and metrics agree within
#        tools/gpu/compare_campaigns.py's tolerance (float32 on two devices: 1e-3, see there).
#   exactly 1 GPU
#     c'. mpirun -np 2 with nccl and ranks_per_run 2: refused with exit code 2 and a message
#         saying a worker group needs one GPU per rank (lrid's own check, before NCCL starts);
#         (c, d) are SKIPPED: two ranks cannot share one GPU's NCCL communicator, so NCCL vs MPI
#         with two ranks is not measured there, and NCCL itself never runs on such a machine.
# Ranks bind to GPU (OMPI_COMM_WORLD_LOCAL_RANK or SLURM_LOCALID) % device count.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root" || exit 1
PYTHON="${PYTHON:-/usr/bin/python3}"
T="${NCCL_CHECK_TIMEOUT:-300}"   # seconds per command
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
export NCCL_DEBUG="${NCCL_DEBUG:-WARN}" GTEST_COLOR=no
MPIRUN=(mpirun)
[[ $EUID -eq 0 ]] && MPIRUN+=(--allow-run-as-root)
# more ranks than cores is fine here
MPIRUN+=(--oversubscribe)

fails=0
result() {  # $1 PASS|FAIL|SKIP, $2 name, $3 detail
  printf '%-4s  %s%s\n' "$1" "$2" "${3:+: $3}"
  [[ "$1" == FAIL ]] && fails=$((fails + 1))
  return 0
}

has_nccl() { [[ -x "$1" ]] && ldd "$1" 2>/dev/null | grep libnccl > /dev/null; }  # (grep -q would end ldd early: pipefail)
LRID="${LRID:-}"
LRID_TESTS="${LRID_TESTS:-}"
if [[ -z "$LRID" ]]; then
  for b in build-dist build-nccl build; do
    if has_nccl "$b/lrid"; then LRID="$root/$b/lrid"; [[ -z "$LRID_TESTS" ]] && LRID_TESTS="$root/$b/tests/lrid_torch_tests"; break; fi
  done
fi
if [[ -z "$LRID" ]]; then
  echo "no lrid built with NCCL found: building build-nccl/ (cmake + ninja)"
  # shellcheck disable=SC2015  # a failed configure or build ends in the block that exits
  cmake -S "$root" -B "$root/build-nccl" -G Ninja > /tmp/nccl_check_cmake.log 2>&1 &&
    ninja -C "$root/build-nccl" -j"$(env -u OMP_NUM_THREADS nproc)" lrid_cli lrid_torch_tests > /tmp/nccl_check_build.log 2>&1 ||
    { echo "build failed; see /tmp/nccl_check_cmake.log and /tmp/nccl_check_build.log"; tail -20 /tmp/nccl_check_build.log; exit 1; }
  LRID="$root/build-nccl/lrid"
  LRID_TESTS="$root/build-nccl/tests/lrid_torch_tests"
fi
echo "lrid: $LRID"
echo "tests: ${LRID_TESTS:-none}"
if ! has_nccl "$LRID"; then echo "FAIL  $LRID does not link libnccl (CMake did not find NCCL/CUDA)"; exit 1; fi
if ldd "$LRID" | grep "not found" > /dev/null; then echo "FAIL  missing libraries:"; ldd "$LRID" | grep "not found"; exit 1; fi
grep -m1 -h NCCL_VERSION_CODE /usr/local/cuda/include/nccl.h 2>/dev/null | sed 's/^/nccl.h: /' || true

gpus=0
if command -v nvidia-smi > /dev/null; then
  nvidia-smi -L || true
  gpus="$(nvidia-smi -L 2>/dev/null | grep -c '^GPU ' || true)"
fi
gpus="${NCCL_CHECK_GPUS:-$gpus}"  # override for testing this script's logic
echo "GPUs: $gpus; machine: $(env -u OMP_NUM_THREADS nproc) cores, $(uptime)"
if (( gpus < 1 )); then
  echo "SKIP  everything: no GPU (nvidia-smi lists none); this check needs a CUDA GPU"
  exit 0
fi

work="$(mktemp -d /tmp/lrid-nccl-check.XXXXXX)"
trap 'rm -rf "$work"' EXIT
job() {  # $1 backend, $2 ranks_per_run, $3 device
  cat <<EOF
name: nccl-check
grid:
  - learning_rules: [sgdm, adam, fa, ia]
    tasks: [fashion_mnist]
    architectures: [KNet4, MLP]
    batch_sizes: [32]
    model_seeds: [0]
    dataset_seeds: [0]
training:
  defaults: {steps: 30}
observables:
  trajectory_points: 4
  observation_batch: 32
  conditions: {unit_fractions: [1.0, 0.5], noise_levels: [0.0, 0.1]}
distributed:
  gradient_backend: $1
  device: $3
  ranks_per_run: $2
  threads_per_rank: 2
EOF
}
gtest() {  # $1 name, $2 filter, rest: launcher
  local name="$1" filter="$2"; shift 2
  if [[ ! -x "${LRID_TESTS:-}" ]]; then result SKIP "$name" "no test binary (set LRID_TESTS)"; return; fi
  timeout "$T" "$@" "$LRID_TESTS" --gtest_filter="$filter" > "$work/gtest.out" 2>&1
  local rc=$?
  if (( rc != 0 )); then result FAIL "$name" "exit $rc"; tail -30 "$work/gtest.out"
  elif grep -q '\[  SKIPPED \] [0-9]* test' "$work/gtest.out"; then
    result SKIP "$name" "$(grep -m1 -A1 'Skipped' "$work/gtest.out" | tail -1)"
  elif grep -q '\[  PASSED  \] [1-9]' "$work/gtest.out"; then result PASS "$name"
  else result FAIL "$name" "no test ran"; tail -30 "$work/gtest.out"; fi
}
compare() {  # $1 cuda.h5, $2 cpu.h5 -> one line, exit 1 when they disagree
  local out rc
  out=$("$PYTHON" "$root/tools/gpu/compare_campaigns.py" "$1" "$2" --device-a cuda --device-b cpu --show 3)
  rc=$?
  echo "$out" | sed 1d >&2
  echo "$out" | head -1
  return $rc
}

echo
echo "== 1 GPU checks"
job nccl 1 cuda > "$work/g1.yaml"
if timeout "$T" "${MPIRUN[@]}" -np 1 "$LRID" train "$work/g1.yaml" --out "$work/g1.h5" > "$work/g1.out" 2>&1 &&
   grep -q '"event":"finish"' "$work/g1.h5.log.jsonl" && ! grep -q '"event":"failed"' "$work/g1.h5.log.jsonl"; then
  result PASS "b. lrid train, gradient_backend nccl, ranks_per_run 1, -np 1" "runs done on cuda (a group of one rank: no NCCL communicator, nothing averaged)"
else
  result FAIL "b. lrid train, gradient_backend nccl, ranks_per_run 1, -np 1"; tail -20 "$work/g1.out"
fi

echo
if (( gpus >= 2 )); then
  echo "== 2 GPU checks (G=2: NCCL vs MPI)"
  gtest "c. G=2 parameters CUDA+NCCL vs CPU+MPI, 4 rules x KNet4/MLP (unit test, mpirun -np 2)" 'CommNccl.TwoRanks*' "${MPIRUN[@]}" -np 2
  job nccl 2 cuda > "$work/nccl.yaml"
  job mpi 2 cpu > "$work/mpi.yaml"
  ok=1
  for b in nccl mpi; do
    t0=$(date +%s.%N)
    if ! timeout "$T" "${MPIRUN[@]}" -np 2 "$LRID" train "$work/$b.yaml" --out "$work/$b.h5" > "$work/$b.out" 2>&1; then
      ok=0; echo "mpirun -np 2 ($b) failed:"; tail -20 "$work/$b.out"
    fi
    echo "  $b: $(tail -1 "$work/$b.out")  [$("$PYTHON" -c "print(round($(date +%s.%N) - $t0, 1))") s]"
  done
  if (( ok )) && msg="$(compare "$work/nccl.h5" "$work/mpi.h5")"; then
    result PASS "d. lrid train -np 2, ranks_per_run 2: nccl/cuda vs mpi/cpu campaign files" "$msg"
  else
    result FAIL "d. lrid train -np 2, ranks_per_run 2: nccl/cuda vs mpi/cpu campaign files" "${msg:-a run failed}"
  fi
else
  echo "== 1 GPU only: G=2 with NCCL needs one GPU per rank"
  job nccl 2 cuda > "$work/dup.yaml"
  timeout "$T" "${MPIRUN[@]}" -np 2 "$LRID" train "$work/dup.yaml" --out "$work/dup.h5" > "$work/dup.out" 2>&1
  rc=$?
  if (( rc == 2 )) && grep -q "one GPU per rank" "$work/dup.out" && [[ ! -e "$work/dup.h5" ]]; then
    result PASS "c'. two ranks on one GPU refused with exit 2" "$(grep -m1 'one GPU per rank' "$work/dup.out")"
  else
    result FAIL "c'. two ranks on one GPU refused with exit 2" "exit $rc"; tail -20 "$work/dup.out"
  fi
  why="not measured: one GPU, and two ranks cannot share one GPU's NCCL communicator (needs 2 GPUs); NCCL itself did not run here"
  result SKIP "c. G=2 parameters CUDA+NCCL vs CPU+MPI" "$why"
  result SKIP "d. G=2 campaign files nccl/cuda vs mpi/cpu" "$why"
fi
echo
(( fails == 0 )) && echo "nccl_check: no failures" || echo "nccl_check: $fails failure(s)"
exit $(( fails > 0 ))
