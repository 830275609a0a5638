#!/usr/bin/env bash
# The prepared GPU check (issues 14, 25), for a machine with an NVIDIA GPU, CUDA (nvcc), a Python
# PyTorch 2.x with CUDA, CMake, ninja and 16 cores, but without network access or any of lrid's
# Debian packages; shaped for the device tool's budget (600 s a command, 15 min in all): named
# parts in the order of their value, each capped by the time left, its results written to $OUT
# as it goes. From the repository root:
#   probe       the machine: OS, glibc, compiler, what comes from the .debs and what from the
#               image (those first), then one line each for the compiler, nvcc, the CUDA
#               directory, nccl.h, cmake, ninja, the Python PyTorch (its CUDA) and the GPUs.
#               Always runs first (a few seconds; later parts use what it finds); a missing
#               compiler, cmake or ninja stops the parts that build.
#   configure   unpack DEBS_DIR (tools/gpu/fetch_debs.sh's .debs) into build-gpu/prefix
#               (tools/gpu/prefix.sh; kept, and reused while the manifest is the same) and
#               configure build-gpu/build against the wheel's LibTorch (torch.utils.cmake_prefix_path)
#               and that prefix; PASS only when the LibTorch found has CUDA (else one FAIL line
#               naming the LibTorch found).
#   build       ninja lrid_cli (only lrid: the tests are built by the part that runs them).
#   smoke       jobs/smoke.yaml with a SimCLR task beside the supervised one
#               ('grid.0.tasks=[fashion_mnist,fashion_mnist_simclr]': 8 runs, the four rules on
#               each) under mpirun -np 2 with distributed.device=cuda (both ranks on GPU 0,
#               ranks_per_run 1), the same with device=cpu, both with distributed.allow_tf32=false
#               (the GPU follows the CPU's float32 arithmetic as closely as it can), compared by
#               tools/gpu/compare_campaigns.py (every observable, the losses, the final metric).
#   throughput  tools/bench/gpu_throughput.sh --reduced: lrid vs PyTorch on the same GPU, in the
#               same run, KNet4 32 px and ResNet-18 64 px, sgdm and ia (IA's R on seeded noise
#               inputs on both sides); target lrid/PyTorch >= 0.95.
#   plastic     ninja lrid_torch_tests, then the plastic-layer gradient tests on CUDA
#               (LRID_TEST_DEVICE=cuda lrid_torch_tests --gtest_filter='NnPlastic.*'); they pass
#               only if the tests say they ran on cuda ("lrid tests: device cuda").
#   nccl        tools/gpu/nccl_check.sh. With one GPU it checks that nccl is accepted for a group
#               of one rank (which creates no communicator) and that two ranks on one GPU are
#               refused; NCCL vs MPI with two ranks needs two GPUs and is reported as not measured.
#   throughput-full  tools/bench/gpu_throughput.sh: every rule, ResNet-18 224 px too, and the
#               recording overhead, entries started only while they fit in the time left.
# Each part's timeout is the time left less 30 s (a part that would get less than its minimum
# is reported SKIP, not run), so the check ends by itself 30 s before --seconds. After every
# part, $OUT (when set) gets gpu-check-table.txt (the PASS/FAIL/SKIP rows so far and the part
# running), gpu-check.log (this output) and gpu-check-logs.tar.gz (build-gpu/logs), each
# replaced whole, so a check that is killed still leaves its evidence. Exit status 1 if a part
# failed.
#
#   tools/gpu/check.sh [DEBS_DIR] [--parts probe,configure,...] [--seconds 540]
#   e.g. the device tool: run(command="tools/gpu/check.sh gpu-debs", carry=["gpu-debs"], timeout_s=600)
#   then, on the same warm machine:  tools/gpu/check.sh --parts plastic,nccl,throughput-full
#
# DEBS_DIR is needed only where configure has no build-gpu/prefix yet (a later call reuses it);
# without either, configure looks for lrid's dependencies in the image itself (on a Debian
# machine with tools/setup.sh's packages, such as the project's CPU machine, it finds them).
# Parts after build reuse build-gpu/build as it is (only plastic runs ninja, for the tests): a
# second call started while the machine is warm continues where the first stopped, a cut-off
# build included (ninja keeps what it built); in a copy of the tree without .git, sources the
# copy gave a new time but not new content get the first build's time back (LRID_GPU_REWIND).
# --seconds: the budget from the start (default 540: done before 540 s, under the device tool's
# 600 s per command). Environment: LRID_GPU_BUILD (default build-gpu), PYTHON (default: the
# python3 on PATH, the one with PyTorch), CMAKE, NINJA (default: cmake, ninja on PATH, else
# beside PYTHON), JOBS (default: nproc), OUT. tests/scripts/gpu_check.sh tests the probe,
# configure, the budget and $OUT on a machine without a GPU.
# shellcheck disable=SC2317  # the parts are called by name (part_$p), on_signal by trap
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root" || exit 1
start=$(date +%s)
ALL_PARTS=probe,configure,build,smoke,throughput,plastic,nccl,throughput-full
debs="" parts=$ALL_PARTS seconds=540
while [[ $# -gt 0 ]]; do
  case "$1" in
    --parts) parts="${2:-}"; shift 2 ;;
    --seconds) seconds="${2:-}"; shift 2 ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; /^# shellcheck/d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "check.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) debs="$1"; shift ;;
  esac
done
for p in ${parts//,/ }; do
  [[ ,$ALL_PARTS, == *,$p,* ]] || { echo "check.sh: unknown part '$p' (the parts: $ALL_PARTS)" >&2; exit 2; }
done
[[ $seconds =~ ^[0-9]+$ ]] || { echo "check.sh: --seconds takes a whole number of seconds" >&2; exit 2; }
if [[ -n $debs ]]; then
  [[ -f $debs/manifest.tsv ]] || { echo "check.sh: $debs has no manifest.tsv (tools/gpu/fetch_debs.sh writes it)" >&2; exit 2; }
  debs="$(cd "$debs" && pwd)"
fi
MARGIN=30
deadline=$((start + seconds))
B="${LRID_GPU_BUILD:-$root/build-gpu}"
mkdir -p "$B/logs" "$B/work" || exit 1
B="$(cd "$B" && pwd)"
logs="$B/logs"
work="$B/work"
lrid="$B/build/lrid"
tests="$B/build/tests/lrid_torch_tests"
PYTHON="${PYTHON:-$(command -v python3 || echo python3)}"
JOBS="${JOBS:-$(nproc)}"
PLASTIC_FILTER='NnPlastic.*'
SMOKE_TASKS='grid.0.tasks=[fashion_mnist,fashion_mnist_simclr]'
export PYTHON LRID_PROGRESS=plain GTEST_COLOR=no OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# everything printed also goes to logs/check.log (copied to $OUT after every part)
exec > >(tee -a "$logs/check.log") 2>&1

# --- the table, $OUT, the budget ------------------------------------------------------------
table=()
fails=0
cur=""      # the part running
child=""    # its command's timeout process
result() {  # $1 PASS|FAIL|SKIP, $2 name, $3 detail
  local line
  line=$(printf '%-4s  %s%s' "$1" "$2" "${3:+: $3}")
  table+=("$line")
  echo "$line"
  [[ $1 == FAIL ]] && fails=$((fails + 1))
  return 0
}
# collect LOG PREFIX: a sub-check's verdict lines ("PASS|FAIL|SKIP  what: detail") as ours
collect() {
  local line n=0
  while IFS= read -r line; do
    table+=("${line:0:6}$2${line:6}")
    [[ $line == FAIL* ]] && fails=$((fails + 1))
    n=$((n + 1))
  done < <(grep -E '^(PASS|FAIL|SKIP)  ' "$1")
  return $((n == 0))
}
# publish [RUNNING]: the table so far (and the part running), this output and the logs into
# $OUT, each file written beside its final name and renamed over it (never half written)
publish() {
  [[ -n ${OUT:-} ]] || return 0
  mkdir -p "$OUT" 2> /dev/null || return 0
  {
    echo "tools/gpu/check.sh, started $(date -u -d "@$start" +%Y-%m-%dT%H:%M:%SZ): $(( $(date +%s) - start )) s of --seconds $seconds; parts $parts"
    printf '%s\n' "${table[@]}"
    if [[ -n ${1:-} ]]; then echo "...   $1: running since $(( $(date +%s) - start )) s (the check ends here if this is the last copy)"
    else echo "$fails failure(s) so far"; fi
  } > "$OUT/tmp-table.txt" && mv -f "$OUT/tmp-table.txt" "$OUT/gpu-check-table.txt"
  tail -c 8000000 "$logs/check.log" > "$OUT/tmp-check.log" 2> /dev/null && mv -f "$OUT/tmp-check.log" "$OUT/gpu-check.log"
  tar czf "$OUT/tmp-logs.tar.gz" -C "$B" logs 2> /dev/null
  if (($(stat -c %s "$OUT/tmp-logs.tar.gz" 2> /dev/null || echo 0) > 15000000)); then  # the device tool's 16 MiB
    tar czf "$OUT/tmp-logs.tar.gz" -C "$B" --exclude='*.h5' --exclude=check.log logs 2> /dev/null
  fi
  [[ -s $OUT/tmp-logs.tar.gz ]] && mv -f "$OUT/tmp-logs.tar.gz" "$OUT/gpu-check-logs.tar.gz"
  return 0
}
finish() {
  cur=""
  echo
  echo "== GPU check: $(( $(date +%s) - start )) s of --seconds $seconds; logs in $logs${OUT:+, copied to $OUT}"
  printf '%s\n' "${table[@]}"
  echo "check.sh: $fails failure(s)"
  sleep 0.3  # (let tee write the lines above before check.log is copied)
  publish
  exit $((fails > 0))
}
on_signal() {
  trap - TERM INT
  [[ -n $child ]] && kill -TERM "$child" 2> /dev/null
  result FAIL "${cur:-check.sh}" "interrupted by a signal after $(( $(date +%s) - start )) s"
  finish
}
trap on_signal TERM INT
want() { [[ ,$parts, == *,$1,* ]]; }
# begin NAME MIN MAX: the part's time, MAX seconds but no more than the budget left less the
# margin; SKIP (and status 1) when that is under MIN
begin() {
  local left=$((deadline - MARGIN - $(date +%s))) cap
  cur=$1
  if ((left < $2)); then
    result SKIP "$1" "not run: the budget is spent ($((left > 0 ? left : 0)) s left of --seconds $seconds less the $MARGIN s margin; the part needs >= $2 s)"
    return 1
  fi
  cap=$(($3 < left ? $3 : left))
  part_t0=$(date +%s)
  part_end=$((part_t0 + cap))
  echo
  echo "== $1 (up to $cap s; $left s of the budget left) [$(( part_t0 - start )) s]"
  publish "$1"
  return 0
}
took() { echo "$(( $(date +%s) - part_t0 )) s"; }
# tmo CMD...: CMD under timeout until the part's end (exit 124 when cut off there); in the
# background, so that a signal to this script is handled at once
tmo() {
  local r=$((part_end - $(date +%s))) rc
  ((r < 1)) && r=1
  timeout -k 5 "$r" "$@" &
  child=$!
  wait "$child"
  rc=$?
  child=""
  return "$rc"
}
cut_off() { (($1 == 124 || $1 == 137)); }
# the prefix's environment (PATH, LD_LIBRARY_PATH, OpenMPI's) once it exists, and the
# Fashion-MNIST path lrid's tasks read
prefix_used=0
use_prefix() {
  ((prefix_used)) && return 0
  [[ -f $B/prefix/env.sh ]] || return 0
  # shellcheck disable=SC1091  # written by prefix.sh
  . "$B/prefix/env.sh"
  prefix_used=1
  local fm=/usr/share/datasets/fashion-mnist
  if [[ ! -e $fm && -d $LRID_DEB_PREFIX$fm ]]; then
    if mkdir -p "$(dirname "$fm")" 2> /dev/null && ln -s "$LRID_DEB_PREFIX$fm" "$fm" 2> /dev/null; then
      echo "linked $fm -> $LRID_DEB_PREFIX$fm"
    else
      echo "could not link $fm -> $LRID_DEB_PREFIX$fm (not root?): the smoke and nccl parts will not find Fashion-MNIST"
    fi
  fi
}
# lrid_ready PART: lrid built, its libraries found, a GPU visible; else a SKIP/FAIL row, status 1
lrid_ready() {
  use_prefix
  if [[ ! -x $lrid ]]; then result SKIP "$1" "no $lrid (build it first: --parts configure,build)"; return 1; fi
  local nf
  nf=$(ldd "$lrid" 2> /dev/null | grep 'not found' | sed 's/^[[:space:]]*//; s/ =>.*//' | paste -sd' ')
  if [[ -n $nf ]]; then result FAIL "$1" "lrid's libraries not found: $nf"; return 1; fi
  if ((gpus == 0)); then result SKIP "$1" "no CUDA GPU visible (nvidia-smi, torch.cuda)"; return 1; fi
  return 0
}
# the bench's figures from its log
bench_figures() {
  sed -n '/^| model | px/,/^$/p; /^| variant /,/^$/p; /IA\/SGDM time in lrid/p; /^lowest lrid/p; /TF32 in convolutions/p; /^with recording/p; /^overall recording/p' "$1"
}

# runtime_split: which RUNTIME packages of the manifest this image needs (prefix.sh's rule: one
# of its shared libraries is missing from the loader cache) and which it has
runtime_split() {
  command -v dpkg-deb > /dev/null || { echo "(unknown: no dpkg-deb to read them)"; return; }
  local cache need=() have=0 group pkg file so
  cache=$(ldconfig -p 2> /dev/null | awk '/x86-64/ {print $1}')
  while IFS=$'\t' read -r group pkg _ file _; do
    [[ $group == RUNTIME ]] || continue
    so=$(dpkg-deb -c "$debs/$file" 2> /dev/null | awk '{print $6}' | grep -E '/lib[^/]*\.so\.[0-9][0-9.]*$' |
         sed -E 's|.*/||; s/(\.so\.[0-9]+).*/\1/' | sort -u | grep -vxF -f <(echo "$cache") | head -1)
    if [[ -n $so ]]; then need+=("$pkg"); else have=$((have + 1)); fi
  done < "$debs/manifest.tsv"
  echo "${#need[@]} needed here${need[*]:+ (${need[*]})}, $have already in the image"
}

# --- the machine: the first lines ----------------------------------------------------------
echo "== GPU check (tools/gpu/check.sh): $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, $(uptime | sed 's/.*load average/load average/');" \
     "budget $seconds s (every part ends by $((seconds - MARGIN)) s); parts: $parts"
# shellcheck disable=SC1091
os=$( (. /etc/os-release 2> /dev/null && echo "${PRETTY_NAME:-$NAME}") || echo "unknown (no /etc/os-release)")
glibc=$(ldd --version 2> /dev/null | head -1 | grep -o '[0-9][0-9.]*$')
CXX_BIN="${CXX:-$(command -v c++ || command -v g++ || command -v clang++ || true)}"
echo "os:       $os ($(uname -srm))"
note=""
if [[ -n $glibc ]] && [[ $(printf '%s\n' "$glibc" 2.36 | sort -V | head -1) != 2.36 ]]; then
  note=" (older than Debian 12's 2.36, which the .debs were built for: their libraries may not load)"
fi
echo "glibc:    ${glibc:-unknown}$note"
echo "compiler: ${CXX_BIN:-none} ${CXX_BIN:+($("$CXX_BIN" --version 2> /dev/null | head -1))}"
if [[ -n $debs ]]; then
  counts=$(awk -F'\t' '{n[$1]++; s += $5} END {printf "%d MAIN, %d RUNTIME, %d DATA, %.1f MiB", n["MAIN"], n["RUNTIME"], n["DATA"], s / 1048576}' "$debs/manifest.tsv")
  echo "from the .debs ($debs: $counts): MAIN always (OpenMPI, parallel HDF5, yaml-cpp, Boost.Program_options,"
  echo "          nlohmann-json, liblinear, GoogleTest, zlib's headers), DATA (Fashion-MNIST), a RUNTIME package only where"
  echo "          the image's loader cache lacks one of its libraries: $(runtime_split)"
elif [[ -f $B/prefix/env.sh ]]; then
  echo "from the .debs: the prefix an earlier call unpacked ($B/prefix; no DEBS_DIR given)"
else
  echo "from the .debs: nothing (no DEBS_DIR, no $B/prefix): MPI, parallel HDF5, yaml-cpp, Boost, ... must be in the image"
fi
own=$(for l in libmpi.so.40 libhdf5_openmpi.so.103 libyaml-cpp.so.0.7 libboost_program_options.so.1.74.0 liblinear.so.4; do
  ldconfig -p 2> /dev/null | grep -q " $l " && echo "$l"; done | paste -sd' ')
echo "from the image: the compiler, CUDA (nvcc), cmake, ninja, python + PyTorch (its LibTorch, cuDNN, NCCL, CUDA runtime),"
echo "          the driver, glibc and libstdc++; the image's own copies of lrid's libraries: ${own:-none}"

# --- probe -----------------------------------------------------------------------------------
gpus=0 have_tools=0 missing_tools="" cuda_torch=0 torch_prefix="" nvcc="" torch_ver=""
part_probe() {
  begin probe 5 90 || return
  local missing=() line v cuda_dir="" nccl_h=""
  # compiler
  if [[ -n $CXX_BIN ]]; then echo "  compiler: $CXX_BIN: $("$CXX_BIN" --version | head -1)"
  else echo "  compiler: MISSING (no c++, g++ or clang++ on PATH)"; missing+=(compiler); fi
  # nvcc and the CUDA directory
  nvcc=$(command -v nvcc || true)
  for v in "${CUDA_HOME:-}" /usr/local/cuda; do [[ -z $nvcc && -n $v && -x $v/bin/nvcc ]] && nvcc=$v/bin/nvcc; done
  if [[ -n $nvcc ]]; then
    export CUDACXX="$nvcc"
    PATH="$PATH:$(dirname "$nvcc")"
    cuda_dir=$(cd "$(dirname "$nvcc")/.." && pwd)
    echo "  nvcc:     $nvcc ($("$nvcc" --version 2> /dev/null | grep -o 'release [0-9.]*' || echo 'no version'))"
  else
    echo "  nvcc:     MISSING (not on PATH, \$CUDA_HOME/bin or /usr/local/cuda/bin)"; missing+=(nvcc)
    [[ -d ${CUDA_HOME:-/usr/local/cuda} ]] && cuda_dir=${CUDA_HOME:-/usr/local/cuda}
  fi
  if [[ -n $cuda_dir ]]; then
    v=""
    [[ -f $cuda_dir/version.json ]] &&
      v=$(tr -d '\n' < "$cuda_dir/version.json" | grep -o '"cuda" *: *{[^}]*}' | grep -o '"version" *: *"[0-9.]*"' | grep -o '[0-9][0-9.]*')
    echo "  CUDA dir: $cuda_dir${v:+ (CUDA $v)}"
  else
    echo "  CUDA dir: MISSING (no nvcc, \$CUDA_HOME or /usr/local/cuda)"
  fi
  # cmake, ninja: on PATH, else beside the python (pip's)
  CMAKE="${CMAKE:-$(command -v cmake || true)}"
  NINJA="${NINJA:-$(command -v ninja || true)}"
  [[ -z $CMAKE && -x $(dirname "$PYTHON")/cmake ]] && CMAKE="$(dirname "$PYTHON")/cmake"
  [[ -z $NINJA && -x $(dirname "$PYTHON")/ninja ]] && NINJA="$(dirname "$PYTHON")/ninja"
  if [[ -n $CMAKE ]] && v=$("$CMAKE" --version 2> /dev/null | head -1 | grep -o '[0-9][0-9.]*'); then echo "  cmake:    $CMAKE ($v)"
  else echo "  cmake:    MISSING (not on PATH nor beside $PYTHON; fetch_debs.sh does not carry it)"; missing+=(cmake); fi
  if [[ -n $NINJA ]] && v=$("$NINJA" --version 2> /dev/null); then echo "  ninja:    $NINJA ($v)"
  else echo "  ninja:    MISSING (not on PATH nor beside $PYTHON; fetch_debs.sh does not carry it)"; missing+=(ninja); fi
  # the Python PyTorch
  local info
  info=$(timeout 90 "$PYTHON" - 2> /dev/null <<'PY'
import os, sys
print("python=%s %s" % (sys.executable, sys.version.split()[0]))
try:
    import torch
    print("torch=" + torch.__version__)
    print("torch_cuda=%s" % torch.version.cuda)
    print("torch_prefix=" + torch.utils.cmake_prefix_path)
    print("torch_site=" + os.path.dirname(os.path.dirname(torch.__file__)))
    print("cxx11abi=%s" % getattr(torch._C, "_GLIBCXX_USE_CXX11_ABI", "?"))
    n = torch.cuda.device_count() if torch.version.cuda else 0
    print("cuda_devices=%d" % n)
    if n:
        print("cudnn=%s" % torch.backends.cudnn.version())
        print("cuda_name=" + torch.cuda.get_device_name(0))
except Exception as e:
    print("torch_error=" + (str(e).splitlines() or ["?"])[0])
for m in ("numpy", "h5py"):
    try:
        __import__(m)
        print(m + "=yes")
    except Exception:
        print(m + "=no")
PY
)
  pyval() { sed -n "s/^$1=//p" <<< "$info" | head -1; }
  torch_ver=$(pyval torch)
  torch_prefix=$(pyval torch_prefix)
  if [[ -z $info ]]; then
    echo "  python:   MISSING: $PYTHON does not run"; missing+=(python)
  elif [[ -z $torch_ver ]]; then
    echo "  python:   $(pyval python): no torch ($(pyval torch_error)): no CUDA LibTorch to build against"; missing+=("CUDA PyTorch")
  elif [[ $(pyval torch_cuda) == None ]]; then
    echo "  python:   $(pyval python): torch $torch_ver without CUDA (CPU only): no CUDA LibTorch to build against"; missing+=("CUDA PyTorch")
  else
    cuda_torch=1
    echo "  python:   $(pyval python): torch $torch_ver, CUDA $(pyval torch_cuda), cuDNN $(pyval cudnn), C++11 ABI $(pyval cxx11abi)"
  fi
  [[ -n $info ]] && echo "  python:   numpy $(pyval numpy), h5py $(pyval h5py) (compare_campaigns.py needs both)"
  [[ $(pyval h5py) == yes && $(pyval numpy) == yes ]] || missing+=("h5py/numpy")
  # nccl.h: the wheel's (site-packages/nvidia/*), else the CUDA directory's (CMakeLists.txt's order)
  local site
  site=$(pyval torch_site)
  for v in ${site:+"$site"/nvidia/*/include/nccl.h} ${cuda_dir:+"$cuda_dir/include/nccl.h"}; do
    [[ -z $nccl_h && -f $v ]] && nccl_h=$v
  done
  if [[ -n $nccl_h ]]; then
    v=$(awk '/#define NCCL_(MAJOR|MINOR|PATCH) /{printf "%s%s", s, $3; s="."}' "$nccl_h")
    echo "  nccl.h:   $nccl_h${v:+ (NCCL $v)}"
  else
    echo "  nccl.h:   MISSING (not in the wheel's nvidia/*/include nor the CUDA directory): lrid builds without the NCCL backend"
    missing+=(nccl.h)
  fi
  # the GPUs
  if command -v nvidia-smi > /dev/null; then
    gpus=$(nvidia-smi -L 2> /dev/null | grep -c '^GPU ')
    nvidia-smi --query-gpu=index,name,memory.total,driver_version --format=csv,noheader 2> /dev/null | sed 's/^/  GPU:      /'
  fi
  ((gpus == 0)) && gpus=$(pyval cuda_devices) && gpus=${gpus:-0}
  ((gpus == 0)) && { echo "  GPUs:     none visible (nvidia-smi, torch.cuda)"; missing+=(GPU); }
  if [[ -n $debs && ! -f $B/prefix/env.sh ]] && ! command -v dpkg-deb > /dev/null; then
    echo "  dpkg-deb: MISSING: prefix.sh cannot unpack the .debs"; missing+=(dpkg-deb)
  fi
  have_tools=1
  for v in compiler cmake ninja; do
    [[ " ${missing[*]} " == *" $v "* ]] && { have_tools=0; missing_tools+="${missing_tools:+, }$v"; }
  done
  if ((${#missing[@]})); then
    local list
    list=$(IFS=,; echo "${missing[*]}")
    result FAIL probe "missing: ${list//,/, } [$(took)]"
  else
    result PASS probe "$(basename "$CXX_BIN"), nvcc, cmake, ninja, torch $torch_ver (CUDA $(pyval torch_cuda)), nccl.h, $gpus GPU(s): $(pyval cuda_name) [$(took)]"
  fi
}

# --- configure -------------------------------------------------------------------------------
configured=""  # ok | failed | "" (not run by this call)
part_configure() {
  begin configure 15 300 || { configured=failed; return; }
  configured=failed
  if ((!have_tools)); then result SKIP configure "the probe found no ${missing_tools:-compiler, cmake, ninja}"; return; fi
  local sum rc
  if [[ -n $debs ]]; then
    sum=$(md5sum < "$debs/manifest.tsv" | cut -d' ' -f1)
    if [[ -f $B/prefix/env.sh && $(cat "$B/prefix/manifest.md5" 2> /dev/null) == "$sum" ]]; then
      echo "prefix: $B/prefix, unpacked earlier from the same manifest"
    else
      rm -rf "$B/prefix"
      tmo "$root/tools/gpu/prefix.sh" "$debs" "$B/prefix" > "$logs/prefix.log" 2>&1
      rc=$?
      grep '^prefix.sh:' "$logs/prefix.log"
      if [[ ! -f $B/prefix/env.sh ]]; then
        result FAIL configure "unpacking the .debs (tools/gpu/prefix.sh) $(cut_off "$rc" && echo "was cut off at the budget's cap" || echo "failed: $(tail -1 "$logs/prefix.log")") [$(took)]"
        return
      fi
      echo "$sum" > "$B/prefix/manifest.md5"
    fi
  elif [[ -f $B/prefix/env.sh ]]; then
    echo "prefix: $B/prefix (from an earlier call; no DEBS_DIR given)"
  else
    echo "prefix: none (no DEBS_DIR given): lrid's dependencies must come from the image"
  fi
  use_prefix
  local prefix_path="${torch_prefix}" args
  [[ -n ${LRID_DEB_PREFIX:-} ]] && prefix_path+="${prefix_path:+;}$LRID_DEB_PREFIX/usr"
  args=(-S "$root" -B "$B/build" -G Ninja -DCMAKE_BUILD_TYPE=Release "-DCMAKE_MAKE_PROGRAM=$NINJA")
  [[ -n $prefix_path ]] && args+=("-DCMAKE_PREFIX_PATH=$prefix_path")
  [[ -n ${LRID_DEB_PREFIX:-} ]] && args+=("-DMPI_C_COMPILER=$LRID_DEB_PREFIX/usr/bin/mpicc")
  # PyTorch < 2.8's installed cuda.cmake looks for nvtx3 in the caller's source tree and else
  # links CUDA::nvToolsExt, which CUDA >= 12.9 no longer has
  [[ -n $nvcc ]] && args+=("-DCMAKE_CUDA_COMPILER=$nvcc" "-DCUDAToolkit_ROOT=$(dirname "$(dirname "$nvcc")")" -DUSE_SYSTEM_NVTX=ON)
  tmo "$CMAKE" "${args[@]}" > "$logs/configure.log" 2>&1
  rc=$?
  local torch_line why
  torch_line=$(grep -- '-- lrid: LibTorch' "$logs/configure.log" | sed 's/^-- lrid: //' | head -1)
  if [[ -z $torch_ver ]]; then why="$PYTHON has no torch"; else why="$PYTHON's torch $torch_ver"; ((cuda_torch)) || why+=" has no CUDA"; fi
  if cut_off "$rc"; then
    result FAIL configure "cmake was cut off at the budget's cap after $(took)"
    return
  elif ((rc != 0)); then
    tail -25 "$logs/configure.log"
    local err
    err=$(grep -m1 -E 'Could NOT find|Could not find a package configuration file provided by' "$logs/configure.log" |
          sed 's/^-- //; s/^ *//')
    [[ -z $err ]] && err=$(grep -m1 -A4 'CMake Error' "$logs/configure.log" | tr -s ' \n' '  ')
    err=$(cut -c1-240 <<< "$err")
    if grep -q 'provided by "Torch"' "$logs/configure.log"; then
      result FAIL configure "no CUDA LibTorch: $why, and cmake found no LibTorch [$(took)]"
    else
      result FAIL configure "cmake failed: ${err:-exit $rc} (logs/configure.log)$( ((cuda_torch)) || echo "; no CUDA LibTorch either: $why") [$(took)]"
    fi
    return
  fi
  grep -- '-- lrid:' "$logs/configure.log" | sed 's/^-- /  /'
  grep -E '^(MPI_mpi_LIBRARY|HDF5_hdf5_LIBRARY_RELEASE|Torch_DIR):' "$B/build/CMakeCache.txt" | sed 's/^/  /'
  if [[ $torch_line == *'(CUDA: ON)'* ]]; then
    configured=ok
    result PASS configure "$torch_line; $(grep -q -- '-- lrid: NCCL .*NCCL backend built' "$logs/configure.log" && echo 'NCCL backend built' || echo 'no NCCL backend') [$(took)]"
  else
    result FAIL configure "no CUDA LibTorch: found ${torch_line:-none}; $why [$(took)]"
  fi
}

# --- build -----------------------------------------------------------------------------------
# A second call on the device machine gets the working tree copied anew; should the copy give
# unchanged sources a new mtime, ninja would rebuild everything. So before each ninja, in a copy
# without git metadata (never in a checkout others build from: LRID_GPU_REWIND=0|1 overrides),
# sources whose content is the one the first build started from get that start's time back.
stamp="$B/sources.md5"
rewind_sources() {
  local rewind=${LRID_GPU_REWIND:-}
  [[ -z $rewind ]] && { [[ -e $root/.git ]] && rewind=0 || rewind=1; }
  if ((rewind)) && [[ -f $stamp ]]; then
    local n=0 sum file
    # shellcheck disable=SC2094  # (touch -r reads the stamp's time)
    while read -r sum file; do
      [[ $root/$file -nt $stamp ]] || continue
      [[ $(md5sum < "$root/$file" | cut -d' ' -f1) == "$sum" ]] || continue
      touch -m -r "$stamp" "$root/$file" && n=$((n + 1))
    done < "$stamp"
    ((n)) && echo "$n unchanged source file(s) newer than the build (a new copy of the tree): their time set back, not rebuilt"
  fi
  # what this build starts from; the stamp keeps the first build's time
  (cd "$root" && find CMakeLists.txt cmake src include tests -type f -print0 2> /dev/null | sort -z | xargs -0 md5sum) > "$stamp.new"
  [[ -f $stamp ]] && touch -m -r "$stamp" "$stamp.new"
  mv -f "$stamp.new" "$stamp"
}
part_build() {
  begin build 30 420 || return
  if ((!have_tools)); then result SKIP build "the probe found no ${missing_tools:-compiler, cmake, ninja}"; return; fi
  if [[ $configured == failed ]]; then result SKIP build "configure did not pass"; return; fi
  if [[ ! -f $B/build/build.ninja ]]; then result SKIP build "no configured $B/build (--parts configure)"; return; fi
  if [[ -z $configured ]] && ! grep -q -- '-- lrid: LibTorch .*(CUDA: ON)' "$logs/configure.log" 2> /dev/null; then
    result SKIP build "$B/build was not configured against a CUDA LibTorch (logs/configure.log; --parts configure)"; return
  fi
  use_prefix
  rewind_sources
  tmo "$NINJA" -C "$B/build" -j"$JOBS" lrid_cli > "$logs/build.log" 2>&1
  local rc=$? progress
  progress=$(grep -o '^\[[0-9]*/[0-9]*\]' "$logs/build.log" | tail -1)
  if cut_off "$rc"; then
    result FAIL build "ninja lrid_cli cut off at the budget's cap after $(took) at ${progress:-?}; a later call continues (ninja keeps what it built)"
  elif ((rc != 0)); then
    grep -m5 -B2 -A8 'error' "$logs/build.log" | head -60
    result FAIL build "ninja lrid_cli: exit $rc (logs/build.log) [$(took)]"
  else
    ldd "$lrid" | grep -E 'libtorch_cuda|libnccl|libcudart|libmpi\.|libhdf5' | sed 's/^[[:space:]]*/  /'
    result PASS build "ninja -j$JOBS lrid_cli ${progress:+$progress }[$(took)]"
  fi
}

# --- smoke: cuda vs cpu -----------------------------------------------------------------------
part_smoke() {
  begin smoke 40 240 || return
  lrid_ready smoke || return
  local dev ok=1 rc devices t0
  for dev in cuda cpu; do
    t0=$(date +%s)
    rm -rf "$work/smoke-$dev.h5" "$work/smoke-$dev.h5".*
    tmo mpirun -np 2 "$lrid" train "$root/jobs/smoke.yaml" "distributed.device=$dev" distributed.allow_tf32=false \
      "$SMOKE_TASKS" --out "$work/smoke-$dev.h5" --force -q > "$logs/smoke-$dev.log" 2>&1
    rc=$?
    devices=$("$PYTHON" -c 'import h5py, sys; f = h5py.File(sys.argv[1], "r"); print(",".join(sorted({d.decode() if isinstance(d, bytes) else str(d) for d in f["runs/device"][:]})))' "$work/smoke-$dev.h5" 2> /dev/null)
    cp "$work/smoke-$dev.h5" "$work/smoke-$dev.h5.log.jsonl" "$logs/" 2> /dev/null
    if ((rc == 0)) && grep -q '"event":"finish"' "$work/smoke-$dev.h5.log.jsonl" 2> /dev/null; then
      result PASS "smoke: $dev campaign (mpirun -np 2, allow_tf32 false, 4 rules x supervised + SimCLR)" "$(tail -1 "$logs/smoke-$dev.log"); runs on ${devices:-?} [$(( $(date +%s) - t0 )) s]"
    else
      ok=0
      tail -15 "$logs/smoke-$dev.log"
      result FAIL "smoke: $dev campaign (mpirun -np 2)" "$(cut_off "$rc" && echo "cut off at the budget's cap" || echo "exit $rc") [$(( $(date +%s) - t0 )) s]"
    fi
  done
  if ((!ok)); then result SKIP "smoke: cuda vs cpu" "a campaign failed"; return; fi
  tmo "$PYTHON" "$root/tools/gpu/compare_campaigns.py" "$work/smoke-cuda.h5" "$work/smoke-cpu.h5" \
    --device-a cuda --device-b cpu > "$logs/smoke-compare.log" 2>&1
  rc=$?
  cat "$logs/smoke-compare.log"
  local what="smoke: cuda vs cpu, every observable, loss and final metric (tools/gpu/compare_campaigns.py)"
  if ((rc == 0)); then result PASS "$what" "$(head -1 "$logs/smoke-compare.log" | sed 's/^compare: //')"
  else result FAIL "$what" "exit $rc: $(head -1 "$logs/smoke-compare.log" | sed 's/^compare: //')"; fi
}

# --- throughput: the reduced table, and the full one -----------------------------------------
# bench PART LOG ARGS...: tools/bench/gpu_throughput.sh until the part's end; its verdicts as ours
bench() {
  local name=$1 log=$2 rc
  shift 2
  if ((!cuda_torch)); then result SKIP "$name" "$PYTHON has no CUDA PyTorch (the reference side)"; return; fi
  tmo "$root/tools/bench/gpu_throughput.sh" "$lrid" --device cuda --deadline $((part_end - 15)) "$@" > "$logs/$log" 2>&1
  rc=$?
  bench_figures "$logs/$log"
  # its verdicts (or, stopped early or cut off, its verdict lines as they are) as ours:
  # "PASS  throughput KNet4 ..." -> "PASS  $name: KNet4 ..."
  if grep -q '^== gpu_throughput' "$logs/$log"; then sed -n '/^== gpu_throughput/,$p' "$logs/$log"
  else cat "$logs/$log"; fi | sed -E 's/^(PASS|FAIL|SKIP)  throughput (KNet4|ResNet)/\1  \2/' > "$logs/$log.verdicts"
  collect "$logs/$log.verdicts" "$name: " || { tail -20 "$logs/$log"; ((rc == 0)) && rc=1; }
  if cut_off "$rc"; then
    if [[ $name == throughput-full ]]; then result SKIP "$name" "the rest cut off at the budget's cap after $(took)"
    else result FAIL "$name" "cut off at the budget's cap after $(took)"; fi
  elif ((rc != 0)); then
    result FAIL "$name" "tools/bench/gpu_throughput.sh: exit $rc, logs/$log [$(took)]"
  fi
}
part_throughput() {
  begin throughput 60 240 || return
  lrid_ready throughput || return
  bench throughput throughput.log --reduced
}
part_throughput_full() {
  begin throughput-full 60 3600 || return
  lrid_ready throughput-full || return
  bench throughput-full throughput-full.log
}

# --- plastic: the gradient tests on CUDA ------------------------------------------------------
part_plastic() {
  begin plastic 45 420 || return
  lrid_ready plastic || return
  local rc n name="plastic: gradient tests on CUDA ($PLASTIC_FILTER)"
  if ((!have_tools)); then result SKIP "$name" "the probe found no ${missing_tools:-ninja} to build lrid_torch_tests"; return; fi
  rewind_sources
  tmo "$NINJA" -C "$B/build" -j"$JOBS" lrid_torch_tests > "$logs/build-tests.log" 2>&1
  rc=$?
  if ((rc != 0)); then
    grep -m5 -B2 -A8 'error' "$logs/build-tests.log" | head -40
    result FAIL "$name" "ninja lrid_torch_tests $(cut_off "$rc" && echo "cut off at the budget's cap after $(took); a later call continues" || echo "failed: exit $rc (logs/build-tests.log)")"
    return
  fi
  n=$(grep -o '^\[[0-9]*/[0-9]*\]' "$logs/build-tests.log" | tail -1)
  echo "lrid_torch_tests: ${n:-up to date} [$(took)]"
  LRID_TEST_DEVICE=cuda tmo "$tests" --gtest_filter="$PLASTIC_FILTER" > "$logs/plastic-cuda.log" 2>&1
  rc=$?
  n=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$logs/plastic-cuda.log" | head -1)
  n=${n:-0}
  if ((rc == 0 && n > 0)) && grep -q '^lrid tests: device cuda' "$logs/plastic-cuda.log"; then
    result PASS "$name" "$n tests [$(took)]"
  elif ((rc == 0 && n > 0)); then
    result FAIL "$name" "$n passed, but not on CUDA: no 'lrid tests: device cuda' line (the tests do not read LRID_TEST_DEVICE)"
  else
    grep -E '^\[  FAILED  \]|Failure|error' "$logs/plastic-cuda.log" | head -20
    result FAIL "$name" "$(cut_off "$rc" && echo "cut off at the budget's cap" || echo "exit $rc"); $(grep -c '^\[  FAILED  \] NnPlastic' "$logs/plastic-cuda.log") failed [$(took)]"
  fi
}

# --- nccl ------------------------------------------------------------------------------------
part_nccl() {
  begin nccl 45 240 || return
  lrid_ready nccl || return
  local rc t=$((part_end - $(date +%s) - 10))
  ((t > 150)) && t=150
  ((t < 10)) && t=10
  LRID="$lrid" LRID_TESTS="$([[ -x $tests ]] && echo "$tests")" NCCL_CHECK_TIMEOUT=$t \
    tmo "$root/tools/gpu/nccl_check.sh" > "$logs/nccl.log" 2>&1
  rc=$?
  tail -25 "$logs/nccl.log"
  collect "$logs/nccl.log" "nccl: " || result FAIL nccl "tools/gpu/nccl_check.sh: exit $rc and no result line"
  cut_off "$rc" && result FAIL nccl "cut off at the budget's cap after $(took)"
  return 0
}

part_probe
for p in configure build smoke throughput plastic nccl throughput-full; do
  want "$p" || continue
  "part_${p//-/_}"
  publish
done
finish
