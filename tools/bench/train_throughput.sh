#!/usr/bin/env bash
# Benchmark: training throughput (images/s) of KNet4 and ResNet-18 on Fashion-MNIST (28x28x1,
# batch 64 / 32, 1 intra-op thread) per learning rule (sgdm, adam, fa, ia, and ia:0.5 = IA with
# ia.batch_fraction 0.5): lrid (`lrid train --run ID --threads 1` on generated job files;
# images/s = steps x batch / its "training steps" seconds) beside the same model and training
# step written in Python PyTorch (Debian's python3-torch, the same libtorch 1.13; FA/IA as
# torch.autograd.Function's with lrid's backward), measured in the same run, interleaved, best
# of REPS. Details: train_throughput.py.
# Targets: lrid >= PyTorch; IA/SGDM time < 1.5.
# usage: tools/bench/train_throughput.sh [LRID binary] [extra options of train_throughput.py bench,
#        e.g. --models KNet4 --rules sgdm,ia --reps 3 --knet-steps 200 --resnet-steps 12]
#        (env: PYTHON, default /usr/bin/python3; LRID)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
lrid="${LRID:-}"
if [[ $# -gt 0 && "$1" != --* ]]; then lrid="$1"; shift; fi
lrid="$(bench_binary lrid "$lrid")"
if ! "$PYTHON" -c 'import torch' 2>/dev/null; then
  echo "train_throughput.sh: installing Debian's python3-torch" >&2
  if [[ $(id -u) -eq 0 ]]; then SUDO=; else SUDO=sudo; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y python3-torch >&2 ||
    { $SUDO apt-get update >&2 && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y python3-torch >&2; }
fi
echo "machine: $(nproc) cores, $(uptime | sed 's/.*load average/load average/'), lrid: $lrid"
"$PYTHON" "$root/tools/bench/train_throughput.py" bench "$lrid" "$@"
echo "machine after: $(uptime | sed 's/.*load average/load average/')"
