#!/usr/bin/env bash
# Benchmark: scheduling efficiency of the rank-0 work queue on a grid of short runs.
#
#   tools/bench/scheduling.sh                 # -np 2 and -np 3 --oversubscribe (+ -np 1 baseline)
#   LRID=build/lrid NPS="2 3" SERIAL=0 tools/bench/scheduling.sh
#
# Trains a grid of 48 small MLP runs (4 rules with 40..160 steps x 4 batch sizes x 3 seeds, so run
# times differ ~10x) with threads_per_rank 1, once per rank count, and reads the campaign's
# progress log (CAMPAIGN.h5.log.jsonl). Prints, per rank count:
#   efficiency = makespan / (sum of the runs' wall seconds / worker groups)     target <= 1.1
# where makespan is the log's `start` -> `finish`, and the per-run overheads of the queue
# (see tools/bench/scheduling.py). SERIAL=1 (default) also runs -np 1 as the baseline the
# speed-up is measured against. Not a test: timings depend on the machine's load (printed).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_setup sched
NPS="${NPS:-2 3}"
SERIAL="${SERIAL:-1}"

cat > "$work/job.yaml" <<'EOF'
name: bench-scheduling
description: 48 short MLP runs of different lengths (tools/bench/scheduling.sh)
grid:
  - learning_rules: [sgdm, adam, fa, ia]
    tasks: [fashion_mnist]
    architectures: [MLP]
    batch_sizes: [16, 32, 64, 128]
    model_seeds: [0, 1, 2]
    dataset_seeds: [0]
training:
  sgdm: {steps: 40}
  adam: {steps: 80}
  fa: {steps: 120}
  ia: {steps: 160}
observables:
  trajectory_points: 3
  observation_batch: 32
  conditions:
    unit_fractions: [1.0, 0.5]
    noise_levels: [0.0, 0.1]
distributed:
  threads_per_rank: 1
EOF

echo "== scheduling benchmark: 48 MLP runs (40-160 steps, batch 16-128), threads_per_rank 1, $LRID"
echo "machine: $(env -u OMP_NUM_THREADS nproc) cores; before: $(uptime)"
logs=()
nps=()
[[ "$SERIAL" == "1" ]] && nps+=(1)
for np in $NPS; do nps+=("$np"); done
for np in "${nps[@]}"; do
  extra=()
  (( np > $(env -u OMP_NUM_THREADS nproc) )) && extra+=(--oversubscribe)
  out="$work/np$np.h5"
  t0=$(date +%s.%N)
  mpirun --allow-run-as-root "${extra[@]}" -np "$np" "$LRID" train "$work/job.yaml" --out "$out" \
    > "$work/np$np.out" 2>&1 || { echo "mpirun -np $np failed:"; tail -20 "$work/np$np.out"; exit 1; }
  t1=$(date +%s.%N)
  printf 'ran: mpirun -np %s%s lrid train (%.1f s including MPI start-up)\n' "$np" \
    "${extra[*]:+ ${extra[*]}}" "$("$PYTHON" -c "print($t1 - $t0)")"
  logs+=("np$np=$out.log.jsonl")
done
echo "after: $(uptime)"
"$PYTHON" "$here/scheduling.py" "${logs[@]}"
