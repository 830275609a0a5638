#!/usr/bin/env bash
# Shared set-up for tools/run.sh and tools/test.sh: install the Debian packages lrid needs
# (only those missing; idempotent), then configure and build in build/.
# Environment: LRID_BUILD_DIR (default build), LRID_JOBS (parallel compile jobs, default nproc),
# LRID_SKIP_APT=1 to skip the package check.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config
  libtorch-dev libopenblas0-pthread
  libopenmpi-dev openmpi-bin
  slurm-wlm munge      # the local Slurm cluster (cluster/local/) and tests/scripts/slurm_*
  libhdf5-openmpi-dev hdf5-tools
  libboost-program-options-dev libyaml-cpp-dev nlohmann-json3-dev zlib1g-dev
  liblinear-dev libgtest-dev googletest
  dataset-fashion-mnist
  python3-numpy python3-scipy python3-h5py python3-sklearn python3-matplotlib
  time                 # /usr/bin/time -v: peak memory in tests/scripts/data_stream.sh
  lmod                 # tests/scripts/install_module.sh: the modulefile under Lmod
  python3-nbconvert python3-ipykernel python3-pandas   # install_notebook.sh: docs/tutorial.ipynb
)

if [[ "${LRID_SKIP_APT:-0}" != 1 ]]; then
  missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    echo "lrid setup: installing ${missing[*]}"
    SUDO=""
    [[ $(id -u) == 0 ]] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
fi

# Torch's matmul must use OpenBLAS (reference BLAS is ~25x slower): make it the libblas.so.3.
blas=/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3
if [[ -e $blas ]] && command -v update-alternatives >/dev/null; then
  current=$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 || true)
  if [[ "$current" != "$(readlink -f $blas)" ]]; then
    echo "lrid setup: selecting OpenBLAS as the system BLAS"
    ${SUDO:-} update-alternatives --set libblas.so.3-x86_64-linux-gnu "$blas"
  fi
fi

BUILD_DIR=${LRID_BUILD_DIR:-build}
JOBS=${LRID_JOBS:-$(nproc)}
GEN=()
command -v ninja >/dev/null && GEN=(-G Ninja)
if [[ ! -f "$BUILD_DIR/CMakeCache.txt" ]]; then
  cmake -S . -B "$BUILD_DIR" "${GEN[@]}" -DCMAKE_BUILD_TYPE=Release
else
  cmake -S . -B "$BUILD_DIR" >/dev/null
fi
start=$(date +%s)
cmake --build "$BUILD_DIR" --parallel "$JOBS"
echo "lrid setup: build finished in $(( $(date +%s) - start )) s"
