#!/usr/bin/env bash
# The prepared GPU check of issue 14, for a machine with an NVIDIA GPU, CUDA, a Python PyTorch 2.x
# with CUDA and 16 cores, but without network access or any of lrid's Debian packages. From the
# repository root, in about 10 minutes, build included:
#   0. unpack the .debs that tools/gpu/fetch_debs.sh downloaded (DEBS_DIR, carried to the
#      machine) into build-gpu/prefix (tools/gpu/prefix.sh), configure lrid against the wheel's
#      LibTorch (torch.utils.cmake_prefix_path) and that prefix, print the configure summary's
#      "lrid:" lines, build lrid and its torch unit tests (ninja -j16);
#   a. the plastic-layer gradient tests on CUDA (against autograd, and against float64 finite
#      differences for IA's dR/dB): LRID_TEST_DEVICE=cuda lrid_torch_tests
#      --gtest_filter='NnPlastic.*'; they pass only if the tests say they ran on cuda (a line
#      "lrid tests: device cuda"), so a pass on the CPU is not taken for one on the GPU;
#   b. the smoke campaign (jobs/smoke.yaml) with distributed.device=cuda under mpirun -np 2 (both
#      ranks on GPU 0 when there is one: ranks_per_run 1), the same with distributed.device=cpu,
#      and the two files compared by tools/gpu/compare_campaigns.py: every observable, the loss
#      at every point and the final loss within 1e-3 relative + 1e-3 of the trajectory's scale,
#      the final accuracy within 3/1024 (float32 on two devices: other kernels and summation
#      orders, TF32 convolutions, drifting apart step by step; the reasoning is in that file);
#   c. NCCL (tools/gpu/nccl_check.sh): with 2 GPUs or more, a data-parallel run (ranks_per_run 2,
#      gradient_backend nccl) against the same on the CPU with MPI, and the G=2 unit test; with
#      one GPU, a group of 1 with nccl on it, and G=2 on one GPU refused with exit code 2;
#   d. tools/bench/gpu_throughput.sh: throughput of lrid vs PyTorch on the GPU (KNet4 32 px,
#      ResNet-18 64 and 224 px, every rule; target >= 0.95) and the recording overhead on the GPU
#      (target < 10%), started only while the time budget lasts (the rest reported SKIP);
# and prints one PASS/FAIL/SKIP table last. Exit status 1 if anything failed.
#
#   tools/gpu/check.sh DEBS_DIR [--parts configure,build,a,b,c,d] [--seconds 570]
#   e.g. the device tool: run(command="tools/gpu/check.sh gpu-debs", carry=["gpu-debs"], timeout_s=600)
#
# --seconds: the budget from the start (nothing new starts after it; default 570, under the
# device tool's 600 s per command). --parts without configure,build reuses an earlier build-gpu/;
# --parts configure alone tests the configure step (also on a machine without a GPU).
# Environment: LRID_GPU_BUILD (default build-gpu), PYTHON (default: the python3 on PATH, the one
# with PyTorch), JOBS (default: nproc). Logs: build-gpu/logs/, and $OUT/gpu-check-logs.tar.gz
# when OUT is set (the device tool brings that folder back).
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root" || exit 1
start=$(date +%s)
debs="" parts=configure,build,a,b,c,d seconds=570
while [[ $# -gt 0 ]]; do
  case "$1" in
    --parts) parts="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    -*) echo "check.sh: unknown option $1 (see the comment at its top)" >&2; exit 2 ;;
    *) debs="$1"; shift ;;
  esac
done
if [[ -z $debs || ! -f $debs/manifest.tsv ]]; then
  echo "usage: tools/gpu/check.sh DEBS_DIR (the output of tools/gpu/fetch_debs.sh, with manifest.tsv)" >&2
  exit 2
fi
deadline=$((start + seconds))
B="${LRID_GPU_BUILD:-$root/build-gpu}"
logs="$B/logs"
work="$B/work"
mkdir -p "$logs" "$work"
PYTHON="${PYTHON:-$(command -v python3)}"
JOBS="${JOBS:-$(nproc)}"
PLASTIC_FILTER='NnPlastic.*'
export PYTHON LRID_PROGRESS=plain GTEST_COLOR=no

table=()
fails=0
result() {  # $1 PASS|FAIL|SKIP, $2 name, $3 detail
  local line
  line=$(printf '%-4s  %s%s' "$1" "$2" "${3:+: $3}")
  table+=("$line")
  echo "$line"
  [[ $1 == FAIL ]] && fails=$((fails + 1))
  return 0
}
part() { [[ ,$parts, == *,$1,* ]]; }
left() { echo $((deadline - $(date +%s))); }
finish() {
  [[ -n ${OUT:-} && -d ${OUT:-} ]] && tar czf "$OUT/gpu-check-logs.tar.gz" -C "$B" logs 2> /dev/null
  echo
  echo "== GPU check (issue 14): $(( $(date +%s) - start )) s; logs in $logs"
  printf '%s\n' "${table[@]}"
  echo "check.sh: $fails failure(s)"
  exit $((fails > 0))
}
# collect SCRIPT_LOG NAME: a sub-check's verdict lines ("PASS|FAIL|SKIP  what: detail") as ours
collect() {
  local line n=0
  while IFS= read -r line; do
    table+=("${line:0:6}$2${line:6}")
    [[ $line == FAIL* ]] && fails=$((fails + 1))
    n=$((n + 1))
  done < <(grep -E '^(PASS|FAIL|SKIP)  ' "$1")
  return $((n == 0))
}

# --- 0. the machine, the tools -----------------------------------------------------------------
echo "== GPU check: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, $(uptime | sed 's/.*load average/load average/')"
gpus=0
if command -v nvidia-smi > /dev/null; then
  nvidia-smi -L
  gpus=$(nvidia-smi -L 2> /dev/null | grep -c '^GPU ')
fi
"$PYTHON" -c 'import torch; print("python", __import__("sys").executable, "torch", torch.__version__, "CUDA", torch.version.cuda, "GPUs visible", torch.cuda.device_count())' ||
  { result FAIL "0. $PYTHON imports torch"; finish; }
torch_prefix=$("$PYTHON" -c 'import torch; print(torch.utils.cmake_prefix_path)')
nvcc=$(command -v nvcc || ls /usr/local/cuda/bin/nvcc 2> /dev/null || true)
if [[ -n $nvcc ]]; then
  export CUDACXX="$nvcc"
  PATH="$PATH:$(dirname "$nvcc")"
  echo "nvcc: $nvcc ($("$nvcc" --version | grep -o 'release [0-9.]*'))"
fi
# CMake and ninja: on PATH, else the ones pip installed beside the python
for t in cmake ninja; do
  if ! command -v "$t" > /dev/null && [[ -x "$(dirname "$PYTHON")/$t" ]]; then PATH="$PATH:$(dirname "$PYTHON")"; fi
  command -v "$t" > /dev/null || { result FAIL "0. $t on PATH" "not found (fetch_debs.sh does not carry it)"; finish; }
done
echo "cmake $(cmake --version | head -1 | grep -o '[0-9][0-9.]*'), ninja $(ninja --version), $(c++ --version | head -1)"

# --- 0. the prefix, configure, build ---------------------------------------------------------
"$root/tools/gpu/prefix.sh" "$debs" "$B/prefix" 2>&1 | tee "$logs/prefix.log"
[[ -f $B/prefix/env.sh ]] || { result FAIL "0. unpack the .debs (tools/gpu/prefix.sh)"; finish; }
# shellcheck disable=SC1091  # written by prefix.sh
. "$B/prefix/env.sh"
fm=/usr/share/datasets/fashion-mnist
if [[ ! -e $fm && -d $LRID_DEB_PREFIX$fm ]]; then  # lrid's fashion_mnist task reads this path
  mkdir -p "$(dirname "$fm")" && ln -s "$LRID_DEB_PREFIX$fm" "$fm" && echo "linked $fm -> $LRID_DEB_PREFIX$fm"
fi
lrid="$B/build/lrid"
tests="$B/build/tests/lrid_torch_tests"
if part configure; then
  cmake_args=(-S "$root" -B "$B/build" -G Ninja -DCMAKE_BUILD_TYPE=Release
              "-DCMAKE_PREFIX_PATH=$torch_prefix;$LRID_DEB_PREFIX/usr"
              "-DMPI_C_COMPILER=$LRID_DEB_PREFIX/usr/bin/mpicc"
              # PyTorch < 2.8's installed cuda.cmake looks for nvtx3 in the caller's source tree
              # and else links CUDA::nvToolsExt, which CUDA >= 12.9 no longer has
              -DUSE_SYSTEM_NVTX=ON)
  [[ -n $nvcc ]] && cmake_args+=("-DCMAKE_CUDA_COMPILER=$nvcc" "-DCUDAToolkit_ROOT=$(dirname "$(dirname "$nvcc")")")
  t0=$(date +%s)
  if ! cmake "${cmake_args[@]}" > "$logs/configure.log" 2>&1; then
    tail -30 "$logs/configure.log"
    result FAIL "0. configure lrid against the wheel's LibTorch and the prefix" "see $logs/configure.log"
    finish
  fi
  grep -- '-- lrid:' "$logs/configure.log" | sed 's/^-- //'
  grep -E '^(MPI_mpi_LIBRARY|HDF5_hdf5_LIBRARY_RELEASE|Torch_DIR):' "$B/build/CMakeCache.txt" | sed 's/^/  /'
  if grep -q -- '-- lrid: LibTorch .*(CUDA: ON)' "$logs/configure.log"; then
    result PASS "0. configure" "$(grep -- '-- lrid: LibTorch' "$logs/configure.log" | sed 's/^-- lrid: //') [$(( $(date +%s) - t0 )) s]"
  else
    result FAIL "0. configure" "the LibTorch found has no CUDA: $(grep -- '-- lrid: LibTorch' "$logs/configure.log")"
  fi
fi
if part build; then
  t0=$(date +%s)
  if ! ninja -C "$B/build" -j"$JOBS" lrid_cli lrid_torch_tests > "$logs/build.log" 2>&1; then
    grep -m5 -B2 -A8 'error' "$logs/build.log" | head -60
    result FAIL "0. build (ninja -j$JOBS lrid_cli lrid_torch_tests)" "see $logs/build.log"
    finish
  fi
  result PASS "0. build (ninja -j$JOBS lrid_cli lrid_torch_tests)" "$(( $(date +%s) - t0 )) s"
fi
[[ ,$parts, == *,[abcd],* ]] || finish
if [[ ! -x $lrid ]]; then result FAIL "0. $lrid" "not built"; finish; fi
if ldd "$lrid" | grep 'not found' > /dev/null; then  # (not -q: pipefail)
  result FAIL "0. lrid's libraries" "$(ldd "$lrid" | grep 'not found' | paste -sd' ')"
  finish
fi
ldd "$lrid" | grep -E 'libtorch_cuda|libnccl|libcudart|libmpi\.|libhdf5' | sed 's/^\t*/  /'

# --- a. the plastic layers' gradients on CUDA -------------------------------------------------
if part a; then
  LRID_TEST_DEVICE=cuda timeout 240 "$tests" --gtest_filter="$PLASTIC_FILTER" > "$logs/a-plastic-cuda.log" 2>&1
  rc=$?
  n=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$logs/a-plastic-cuda.log" | head -1)
  n=${n:-0}
  name="a. plastic-layer gradient tests on CUDA ($PLASTIC_FILTER)"
  if ((rc == 0 && n > 0)) && grep -q '^lrid tests: device cuda' "$logs/a-plastic-cuda.log"; then
    result PASS "$name" "$n tests"
  elif ((rc == 0 && n > 0)); then
    result FAIL "$name" "$n passed, but not on CUDA: the tests do not read LRID_TEST_DEVICE (no 'lrid tests: device cuda' line)"
  else
    grep -E '^\[  FAILED  \]|Failure|error' "$logs/a-plastic-cuda.log" | head -20
    result FAIL "$name" "exit $rc; $(grep -c '^\[  FAILED  \] NnPlastic' "$logs/a-plastic-cuda.log") failed"
  fi
fi

# --- b. the smoke campaign on cuda and on cpu, compared ---------------------------------------
if part b; then
  if (($(left) < 90)); then
    result SKIP "b. smoke campaign cuda vs cpu" "$(left) s left of the budget"
  else
    ok=1
    for dev in cuda cpu; do
      t0=$(date +%s)
      rm -rf "$work/smoke-$dev.h5"*
      (cd "$work" && timeout 300 mpirun -np 2 "$lrid" train "$root/jobs/smoke.yaml" "distributed.device=$dev" \
         --out "smoke-$dev.h5" --force -q) > "$logs/b-smoke-$dev.log" 2>&1
      rc=$?
      devices=$("$PYTHON" -c 'import h5py, sys; f = h5py.File(sys.argv[1], "r"); print(",".join(sorted({d.decode() if isinstance(d, bytes) else str(d) for d in f["runs/device"][:]})))' "$work/smoke-$dev.h5" 2> /dev/null)
      if ((rc == 0)) && grep -q '"event":"finish"' "$work/smoke-$dev.h5.log.jsonl" 2> /dev/null; then
        result PASS "b. smoke campaign, distributed.device=$dev, mpirun -np 2" "$(tail -1 "$logs/b-smoke-$dev.log"); runs on ${devices:-?} [$(( $(date +%s) - t0 )) s]"
      else
        ok=0
        tail -15 "$logs/b-smoke-$dev.log"
        result FAIL "b. smoke campaign, distributed.device=$dev, mpirun -np 2" "exit $rc"
      fi
    done
    cp "$work"/smoke-{cuda,cpu}.h5 "$logs/" 2> /dev/null
    if ((ok)); then
      "$PYTHON" "$root/tools/gpu/compare_campaigns.py" "$work/smoke-cuda.h5" "$work/smoke-cpu.h5" \
        --device-a cuda --device-b cpu > "$logs/b-compare.log" 2>&1
      rc=$?
      cat "$logs/b-compare.log"
      if ((rc == 0)); then result PASS "b. smoke campaign cuda vs cpu: observables within 1e-3" "$(head -1 "$logs/b-compare.log" | sed 's/^compare: //')"
      else result FAIL "b. smoke campaign cuda vs cpu: observables within 1e-3" "$(head -1 "$logs/b-compare.log" | sed 's/^compare: //')"; fi
    else
      result SKIP "b. smoke campaign cuda vs cpu: observables" "a campaign failed"
    fi
  fi
fi

# --- c. NCCL --------------------------------------------------------------------------------
if part c; then
  if (($(left) < 90)); then
    result SKIP "c. NCCL (tools/gpu/nccl_check.sh)" "$(left) s left of the budget"
  else
    echo "== c. tools/gpu/nccl_check.sh ($gpus GPU(s))"
    LRID="$lrid" LRID_TESTS="$tests" NCCL_CHECK_TIMEOUT=180 timeout 420 "$root/tools/gpu/nccl_check.sh" > "$logs/c-nccl.log" 2>&1
    rc=$?
    tail -25 "$logs/c-nccl.log"
    collect "$logs/c-nccl.log" "c: " || result FAIL "c. tools/gpu/nccl_check.sh" "exit $rc and no result line"
  fi
fi

# --- d. the benchmark -----------------------------------------------------------------------
if part d; then
  if (($(left) < 60)); then
    result SKIP "d. throughput and recording benchmark (tools/bench/gpu_throughput.sh)" "$(left) s left of the budget"
  else
    echo "== d. tools/bench/gpu_throughput.sh (until $(left) s from now)"
    timeout $(($(left) + 60)) "$root/tools/bench/gpu_throughput.sh" "$lrid" --device cuda --deadline "$deadline" \
      > "$logs/d-bench.log" 2>&1
    rc=$?
    # the figures (the two tables), then its verdicts as ours
    sed -n '/^| model | px/,/^$/p; /^| variant /,/^$/p; /^with recording/p; /^overall recording/p' "$logs/d-bench.log"
    if grep -q '^== gpu_throughput' "$logs/d-bench.log"; then
      sed -n '/^== gpu_throughput/,$p' "$logs/d-bench.log" > "$logs/d-verdicts.log"
    else  # it stopped early (no CUDA PyTorch): its lines as they are
      cp "$logs/d-bench.log" "$logs/d-verdicts.log"
    fi
    collect "$logs/d-verdicts.log" "d: " || { tail -20 "$logs/d-bench.log"; result FAIL "d. tools/bench/gpu_throughput.sh" "exit $rc and no verdict"; }
  fi
fi
finish
