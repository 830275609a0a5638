#!/usr/bin/env bash
# Benchmark: data-parallel step time on KNet4 (batch 64, Fashion-MNIST, SGDM).
#
#   tools/bench/data_parallel.sh          # LRID=..., STEPS=80, REPS=3
#
# The same job trained three ways (threads_per_rank and ranks_per_run do not change the runs'
# hashes, so it is the same computation):
#   G=1            mpirun -np 1, ranks_per_run 1, threads_per_rank 1     (baseline)
#   G=2            mpirun -np 2, ranks_per_run 2, threads_per_rank 1     (each rank 32 examples,
#                  gradients averaged with MPI_Allreduce in buckets)
#   G=1, 2 threads mpirun -np 1, ranks_per_run 1, threads_per_rank 2     (for comparison)
#   G=2, yield     G=2 with `--mca mpi_yield_when_idle 1`: OpenMPI's blocking MPI_Allreduce
#                  busy-polls; on a shared machine a rank spinning for its peer takes CPU time
#                  from the peer and from other jobs (for comparison)
# and, to explain the figures:
#   half batch     mpirun -np 1, batch 32, threads_per_rank 1: one rank's share of G=2's work,
#                  the step time G=2 would have with free communication and no contention;
#   communication  MPI_Allreduce of KNet4's 87,978 gradient floats between 2 ranks (a small C
#                  program; blocking MPI_Allreduce, as comm::MpiAverager calls it).
# Step time = train_seconds / steps from the `done` events of CAMPAIGN.h5.log.jsonl
# (train_seconds: forward, backward, gradient averaging and optimiser steps; recording excluded).
# Each campaign trains 2 runs (model seeds 0, 1); the configurations are interleaved REPS times and
# the median over all runs of a configuration is reported. Timings depend on the machine's load
# (uptime is printed before and after).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_setup dp
STEPS="${STEPS:-80}"
REPS="${REPS:-3}"

job() {  # $1 ranks_per_run, $2 threads_per_rank, $3 batch size
  cat <<EOF
name: bench-data-parallel
grid:
  - learning_rules: [sgdm]
    tasks: [fashion_mnist]
    architectures: [KNet4]
    batch_sizes: [$3]
    model_seeds: [0, 1]
training:
  defaults: {steps: $STEPS}
observables:
  trajectory_points: 2
  observation_batch: 16
  conditions: {unit_fractions: [1.0], noise_levels: [0.0]}
distributed:
  ranks_per_run: $1
  threads_per_rank: $2
EOF
}
job 1 1 64 > "$work/g1.yaml"
job 2 1 64 > "$work/g2.yaml"
job 1 2 64 > "$work/g1t2.yaml"
job 1 1 32 > "$work/half.yaml"

cat > "$work/allreduce.c" <<'EOF'
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank, n = 87978, iters = 300;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  float* buf = calloc(n, sizeof(float));
  for (int i = 0; i < 20; ++i) MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
  MPI_Barrier(MPI_COMM_WORLD);
  double t0 = MPI_Wtime();
  for (int i = 0; i < iters; ++i) MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
  double t = (MPI_Wtime() - t0) / iters;
  if (rank == 0) printf("%.3f\n", 1e3 * t);
  MPI_Finalize();
  return 0;
}
EOF
mpicc -O2 -o "$work/allreduce" "$work/allreduce.c"

echo "== data-parallel step time: KNet4, batch 64, Fashion-MNIST, SGDM, $STEPS steps, 2 runs x $REPS ($LRID)"
echo "machine: $(env -u OMP_NUM_THREADS nproc) cores; before: $(uptime)"
logs=()
for rep in $(seq 1 "$REPS"); do
  for cfg in g1:1 g2:2 g1t2:1 half:1 g2y:2; do
    name="${cfg%%:*}"; np="${cfg##*:}"
    out="$work/$name-$rep.h5"
    mca=()
    [[ "$name" == g2y ]] && mca=(--mca mpi_yield_when_idle 1)
    mpirun --allow-run-as-root "${mca[@]}" -np "$np" "$LRID" train "$work/${name%y}.yaml" --out "$out" \
      > "$work/$name-$rep.out" 2>&1 || { echo "mpirun -np $np ($name) failed:"; tail -20 "$work/$name-$rep.out"; exit 1; }
    logs+=("$name=$out.log.jsonl")
  done
done
allreduce_ms="$(mpirun --allow-run-as-root -np 2 "$work/allreduce")"
echo "after: $(uptime)"
"$PYTHON" - "$STEPS" "$allreduce_ms" "${logs[@]}" <<'EOF'
import json, statistics, sys
steps, allreduce = int(sys.argv[1]), float(sys.argv[2])
per = {}
for a in sys.argv[3:]:
    name, path = a.split("=", 1)
    for line in open(path):
        e = json.loads(line)
        if e.get("event") == "done":
            if "train_seconds" not in e:
                raise SystemExit(f"{path}: done events have no train_seconds (rebuild lrid)")
            per.setdefault(name, []).append(1e3 * e["train_seconds"] / steps)
        elif e.get("event") == "failed":
            raise SystemExit(f"{path}: run failed: {e.get('error')}")
label = {"g1": "G=1, 1 rank x 1 thread (baseline)", "g2": "G=2, 2 ranks x 1 thread (MPI)",
         "g1t2": "G=1, 1 rank x 2 threads", "half": "G=1, batch 32 (one rank's share)",
         "g2y": "G=2, mpi_yield_when_idle 1"}
med = {k: statistics.median(v) for k, v in per.items()}
print()
for k in ("g1", "g2", "g1t2", "half", "g2y"):
    v = per[k]
    print(f"  {label[k]:36s} step {med[k]:7.2f} ms  (runs: {', '.join(f'{x:.2f}' for x in v)})"
          f"  speed-up vs G=1 {med['g1'] / med[k]:.2f}x")
print(f"  MPI_Allreduce of the gradients (2 ranks, C program): {allreduce:.3f} ms per step")
print(f"\n  G=2 vs G=1: {med['g1'] / med['g2']:.2f}x; G=2 vs 2 threads: {med['g1t2'] / med['g2']:.2f}x; "
      f"bound from the half batch + allreduce: {med['g1'] / (med['half'] + allreduce):.2f}x")
EOF
