#!/usr/bin/env bash
# Benchmark (issue 14), on a CUDA GPU, each figure beside its baseline measured in the same run:
#  1. training throughput (images/s) of KNet4 at 32 px (batch 256) and ResNet-18 at 64 px and at
#     224 px (batch 128), 3-channel synthetic images (tools/bench/synthetic_data.py), each rule
#     (sgdm, adam, fa, ia): lrid on the GPU (`lrid train --run`, distributed.device cuda) beside
#     the same model and training step in Python PyTorch on the same GPU
#     (tools/bench/train_throughput.py --device cuda, figure "steady": the steps after the first
#     quarter, start-up and warm-up cancelled; IA's R on seeded noise inputs drawn on the host
#     per layer and step on both sides, as lrid does). Target: lrid/PyTorch >= 0.95.
#     --reduced: KNet4 32 px (200 steps) and ResNet-18 64 px (60 steps), sgdm and ia only, and
#     no recording part unless --parts names it (tools/gpu/check.sh's first throughput part).
#  2. the recording overhead on the GPU (tools/bench/recording_overhead.py --device cuda): runs
#     0, 35, 70 and 105 of jobs/quickstart.yaml (SGDM, IA, FA, Adam; MLP and KNet4; 1000 steps),
#     each with its recording (21 points, all conditions, all statistics) and with the least
#     recording lrid does (2 points, ideal condition, weight statistics): recording's share R/W
#     of the run's wall time and the wall time with / without. Target: < 10%.
# It ends with one verdict line per figure, "PASS|FAIL|SKIP  what: figure (target)".
#
#   tools/bench/gpu_throughput.sh [LRID] [--device cuda|cpu] [--tiny] [--reduced] [--reps R]
#                                 [--parts throughput,recording] [--deadline UNIX_TIME]
#
# --device cpu with --tiny: a few steps of small batches on the CPU (Debian's python3-torch), to
# test the script itself where there is no GPU. --deadline: start nothing new after that time (the
# rest is reported SKIP, and so is an entry that would end after it, estimated from lrid's short
# run; tools/gpu/check.sh passes its own). Environment: LRID; PYTHON (default:
# the python3 on PATH for cuda, the one with the CUDA PyTorch; /usr/bin/python3 for cpu).
set -euo pipefail
lrid="${LRID:-}"
if [[ $# -gt 0 && "$1" != --* ]]; then lrid="$1"; shift; fi
device=cuda tiny=0 reduced=0 reps=1 parts="" deadline=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --device) device="$2"; shift 2 ;;
    --tiny) tiny=1; shift ;;
    --reduced) reduced=1; shift ;;
    --reps) reps="$2"; shift 2 ;;
    --parts) parts="$2"; shift 2 ;;
    --deadline) deadline="$2"; shift 2 ;;
    *) echo "gpu_throughput.sh: unknown argument $1 (see the comment at its top)" >&2; exit 2 ;;
  esac
done
case "$device" in
  cuda) PYTHON="${PYTHON:-$(command -v python3)}" ;;
  cpu) PYTHON="${PYTHON:-/usr/bin/python3}" ;;
  *) echo "gpu_throughput.sh: --device cuda or cpu" >&2; exit 2 ;;
esac
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
lrid="$(bench_binary lrid "$lrid")"
bench="$root/tools/bench"

rules=sgdm,adam,fa,ia
if ((reduced)); then
  rules=sgdm,ia
  parts=${parts:-throughput}
fi
parts=${parts:-throughput,recording}
if ((tiny && reduced)); then
  configs=KNet4:32:16:8,ResNet-18:64:4:4
  sizes=(--synthetic-train 32 --synthetic-test 8)
  rec=(--job "$root/jobs/smoke.yaml" --stride 2)
  reserve=0
elif ((tiny)); then
  configs=KNet4:32:16:8,ResNet-18:64:4:4,ResNet-18:224:2:3
  sizes=(--synthetic-train 32 --synthetic-test 8)
  rec=(--job "$root/jobs/smoke.yaml" --stride 2)
  reserve=0
elif ((reduced)); then
  # a first look within a minute or two: the same sizes and batches, fewer steps
  configs=KNet4:32:256:200,ResNet-18:64:128:60
  sizes=(--synthetic-train 2048 --synthetic-test 256)
  rec=(--job "$root/jobs/quickstart.yaml" --stride 35)
  reserve=0
else
  # S2 - S1 = 3/4 S2 steps of at least ~0.5 s each, so that lrid's training-steps time (printed
  # to 0.01 s) resolves the steady window to ~2%
  configs=KNet4:32:256:800,ResNet-18:64:128:200,ResNet-18:224:128:80
  sizes=(--synthetic-train 2048 --synthetic-test 256)
  rec=(--job "$root/jobs/quickstart.yaml" --stride 35)
  reserve=90  # seconds of the deadline kept for the recording part
fi

echo "gpu_throughput: device $device, lrid $lrid, python $PYTHON, $(nproc) cores, $(uptime | sed 's/.*load average/load average/')"
if [[ $device == cuda ]]; then
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null | sed 's/^/  GPU: /' || true
  if ! "$PYTHON" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
    echo "SKIP  throughput and recording on cuda: $PYTHON's PyTorch sees no CUDA GPU"
    exit 0
  fi
  "$PYTHON" -c 'import torch; print("  PyTorch", torch.__version__, "CUDA", torch.version.cuda, "cuDNN", torch.backends.cudnn.version(), torch.cuda.get_device_name(0))'
fi
log=$(mktemp /tmp/gpu_throughput.XXXXXX)
trap 'rm -f "$log"' EXIT

if [[ ,$parts, == *,throughput,* ]]; then
  t_deadline=0
  [[ ,$parts, == *,recording,* ]] || reserve=0
  ((deadline > 0)) && t_deadline=$((deadline - reserve))
  if ! "$PYTHON" "$bench/train_throughput.py" bench "$lrid" --device "$device" --configs "$configs" \
       --rules "$rules" --reps "$reps" --target 0.95 --deadline "$t_deadline" "${sizes[@]}" | tee -a "$log"; then
    echo "FAIL  throughput on $device: train_throughput.py failed (its output above)" | tee -a "$log"
  fi
fi
if [[ ,$parts, == *,recording,* ]]; then
  echo
  if ((deadline > 0 && $(date +%s) > deadline)); then
    echo "SKIP  recording overhead on $device: not run, past the deadline" | tee -a "$log"
  else
    if ! "$PYTHON" "$bench/recording_overhead.py" "$lrid" "${rec[@]}" --device "$device" \
         --variants all,minimal | tee -a "$log"; then
      echo "FAIL  recording overhead on $device: recording_overhead.py failed (its output above)" | tee -a "$log"
    fi
  fi
fi
echo
echo "== gpu_throughput ($device$( ((reduced)) && echo ', reduced table')$( ((tiny)) && echo ', tiny sizes: a test of the script, not a measurement')): verdicts"
grep -E '^(PASS|FAIL|SKIP)  ' "$log" || echo "(none)"
echo "machine after: $(uptime | sed 's/.*load average/load average/')"
