#!/usr/bin/env bash
# Benchmark: CPU that waiting ranks burn (target < 2 % of one core).
#
#   tools/bench/rank0_cpu.sh            # LRID=path/to/lrid to choose the binary
#
# 1. Rank 0's scheduler thread (`lrid-scheduler`, found via /proc/PID/task/*/comm): its
#    utime+stime (/proc/PID/task/TID/stat) over the campaign's wall time, on a grid of 24
#    MLP runs under `mpirun -np 2` (rank 0's main thread trains group 0's runs meanwhile).
# 2. A rank that waits idle: `mpirun -np 2` with a single KNet4 run; the rank without work
#    waits for the whole run (rank 1: comm::quiet_barrier, MPI_Ibarrier + MPI_Test and sleeps;
#    rank 0: its scheduler thread's MPI_Iprobe + sleep loop, the main thread blocked in join);
#    its process CPU share over the run's duration. Which rank gets the run is a race, so the
#    same run is also trained under -np 3 --oversubscribe: at least one rank > 0 then waits.
# Baseline, measured in the same run: a blocking MPI_Barrier (OpenMPI busy-polls) and the same
# Ibarrier+Test+sleep loop, in a 20-line C program waiting 5 s for a sleeping peer.
# Sampling: tools/bench/rank0_cpu.py, every 0.1 s, in the background.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_setup rank0
IDLE_STEPS="${IDLE_STEPS:-400}"
GRID_STEPS="${GRID_STEPS:-1500}"
# Marks this benchmark's ranks: the sampler ignores other jobs' lrid processes.
export LRID_BENCH_TAG="rank0-cpu-$$-$RANDOM"

sampler=""
cleanup() { [[ -n "$sampler" ]] && kill "$sampler" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

cat > "$work/grid.yaml" <<EOF
name: bench-rank0-grid
grid:
  - learning_rules: [sgdm, adam, fa, ia]
    tasks: [fashion_mnist]
    architectures: [MLP]
    batch_sizes: [32, 64]
    model_seeds: [0, 1, 2]
    dataset_seeds: [0]
training:
  defaults: {steps: $GRID_STEPS}
observables:
  trajectory_points: 3
  observation_batch: 32
  conditions: {unit_fractions: [1.0, 0.5], noise_levels: [0.0, 0.1]}
distributed:
  threads_per_rank: 1
EOF
cat > "$work/idle.yaml" <<EOF
name: bench-rank0-idle
grid:
  - learning_rules: [sgdm]
    tasks: [fashion_mnist]
    architectures: [KNet4]
    batch_sizes: [64]
training:
  defaults: {steps: $IDLE_STEPS}
observables:
  trajectory_points: 2
  observation_batch: 16
  conditions: {unit_fractions: [1.0], noise_levels: [0.0]}
distributed:
  threads_per_rank: 1
EOF

# Runs mpirun with the sampler in the background; $1 = name, rest = mpirun arguments.
sampled() {
  local name="$1"; shift
  rm -f "$work/stop"
  "$PYTHON" "$here/rank0_cpu.py" sample "$work/$name.samples.json" "$work/stop" 0.1 &
  sampler=$!
  mpirun --allow-run-as-root -x LRID_BENCH_TAG "$@" > "$work/$name.out" 2>&1 || { echo "mpirun failed:"; tail -20 "$work/$name.out"; exit 1; }
  touch "$work/stop"
  wait "$sampler"
  sampler=""
}

echo "== rank-0 / waiting-rank CPU benchmark ($LRID)"
echo "machine: $(env -u OMP_NUM_THREADS nproc) cores; before: $(uptime)"

echo
echo "[baseline] C program, 2 ranks: rank 1 sleeps 5 s, rank 0 waits for it"
cat > "$work/wait.c" <<'EOF'
#include <mpi.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
static double cpu(void) { struct rusage r; getrusage(RUSAGE_SELF, &r);
  return r.ru_utime.tv_sec + 1e-6 * r.ru_utime.tv_usec + r.ru_stime.tv_sec + 1e-6 * r.ru_stime.tv_usec; }
int main(int argc, char** argv) {
  int rank; MPI_Init(&argc, &argv); MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  int quiet = argc > 1 && strcmp(argv[1], "quiet") == 0;
  MPI_Barrier(MPI_COMM_WORLD);
  double w0 = now(), c0 = cpu();
  if (rank == 1) sleep(5);
  if (quiet) {  /* what lrid's comm::wait does: MPI_Test, then sleeps growing to 2 ms */
    MPI_Request r; int done = 0, us = 20; MPI_Ibarrier(MPI_COMM_WORLD, &r);
    while (MPI_Test(&r, &done, MPI_STATUS_IGNORE), !done) { usleep(us); us = us * 2 > 2000 ? 2000 : us * 2; }
  } else {
    MPI_Barrier(MPI_COMM_WORLD);
  }
  if (rank == 0) printf("%.2f\n", 100.0 * (cpu() - c0) / (now() - w0));
  MPI_Finalize(); return 0;
}
EOF
mpicc -O2 -o "$work/wait" "$work/wait.c"
busy=$(mpirun --allow-run-as-root -np 2 "$work/wait" block)
quiet=$(mpirun --allow-run-as-root -np 2 "$work/wait" quiet)
echo "  blocking MPI_Barrier (OpenMPI default):     ${busy} % of one core"
echo "  MPI_Ibarrier + MPI_Test + sleep (as lrid):  ${quiet} % of one core"

echo
echo "[1] scheduler thread, mpirun -np 2, 24 MLP runs of $GRID_STEPS steps"
sampled grid -np 2 "$LRID" train "$work/grid.yaml" --out "$work/grid.h5"
"$PYTHON" "$here/rank0_cpu.py" scheduler "$work/grid.samples.json" "$work/grid.h5.log.jsonl"

echo
echo "[2] idle ranks, mpirun -np 2, one KNet4 run of $IDLE_STEPS steps"
sampled idle2 -np 2 "$LRID" train "$work/idle.yaml" --out "$work/idle2.h5"
"$PYTHON" "$here/rank0_cpu.py" idle "$work/idle2.samples.json" "$work/idle2.h5.log.jsonl"
# Which rank gets the run is a race (on this machine usually rank 1); with 3 ranks at least one
# rank > 0 surely waits in comm::quiet_barrier.
echo
echo "[3] idle ranks, mpirun -np 3 --oversubscribe, the same run"
sampled idle3 -np 3 --oversubscribe "$LRID" train "$work/idle.yaml" --out "$work/idle3.h5"
"$PYTHON" "$here/rank0_cpu.py" idle "$work/idle3.samples.json" "$work/idle3.h5.log.jsonl"
echo
echo "after: $(uptime)"
