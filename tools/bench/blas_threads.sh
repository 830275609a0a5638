#!/usr/bin/env bash
# Benchmark: one run trained with several intra-op threads, OpenBLAS at 1 thread (the default,
# distributed.blas_threads: 1) beside OpenBLAS at as many threads as LibTorch's pool
# (distributed.blas_threads: 0, how lrid ran before), in the same invocation, alternating
# A B A B. Prints each run's training-step seconds and the median ratio per run.
# Both settings must give the same test accuracy where the BLAS does not split sums by thread
# (KNet4); an MLP's GEMMs may round differently with 2 BLAS threads.
# usage: tools/bench/blas_threads.sh [LRID binary] [--threads N] [--rounds R] [--steps S]
#        [--runs ID,ID,...]  (defaults: 2 threads (all cores), 3 rounds, 300 steps, quickstart
#        runs 12 (MLP SGDM), 100 (KNet4 SGDM), 103 (KNet4 IA))
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
if [[ $# -gt 0 && "$1" != --* ]]; then LRID="$1"; shift; fi
cores=$(nproc)  # before bench_setup: its OMP_NUM_THREADS=1 makes nproc say 1
threads=$cores rounds=3 steps=300 runs=12,100,103
bench_setup blas
while [[ $# -gt 0 ]]; do
  case "$1" in
    --threads) threads=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    *) echo "blas_threads.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
echo "machine: $cores cores, $(uptime | sed 's/.*load average/load average/'), lrid: $LRID"
echo "intra-op threads $threads, $steps steps, $rounds rounds (A: blas_threads 1, B: blas_threads 0 = $threads)"
# train ID BLAS: prints "seconds accuracy" of the run's last line
train() {
  rm -f "$work/c.h5"
  "$LRID" train "$root/jobs/quickstart.yaml" --run "$1" --threads "$threads" \
    "training.defaults.steps=$steps" "distributed.blas_threads=$2" --out "$work/c.h5" 2>&1 |
    sed -n 's/.*test accuracy \([0-9.]*\),.*training steps \([0-9.]*\) s.*/\2 \1/p' | tail -1
}
printf '%-6s %-28s %-28s %s\n' run "A steps s (accuracy)" "B steps s (accuracy)" "median B/A"
IFS=, read -ra ids <<<"$runs"
for id in "${ids[@]}"; do
  a_all=() b_all=() ratios=()
  for ((r = 0; r < rounds; r++)); do
    read -r a acc_a < <(train "$id" 1) || { echo "blas_threads.sh: run $id (blas_threads 1) printed no result" >&2; exit 1; }
    read -r b acc_b < <(train "$id" 0) || { echo "blas_threads.sh: run $id (blas_threads 0) printed no result" >&2; exit 1; }
    a_all+=("$a") b_all+=("$b")
    ratios+=("$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", b / a }')")
  done
  med=$(printf '%s\n' "${ratios[@]}" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
  printf '%-6s %-28s %-28s %s\n' "$id" "${a_all[*]} ($acc_a)" "${b_all[*]} ($acc_b)" "$med"
done
echo "machine after: $(uptime | sed 's/.*load average/load average/')"
