#!/usr/bin/env bash
# The parts of tools/gpu/check.sh that need no GPU, tested on this Debian 12 machine (which has
# lrid's packages installed): in a private mount namespace that hides the system's copies of every
# package in DEBS_DIR (/dev/null bound over their files, an empty directory over their own
# directories), unpack DEBS_DIR into a prefix with tools/gpu/prefix.sh and check that
#   1. the prefix's OpenMPI and parallel HDF5 libraries resolve (ldd: nothing missing);
#   2. a C program using MPI and parallel HDF5, built with the prefix's mpicc, runs under the
#      prefix's mpirun -np 2 (OpenMPI and PMIx relocated: no help text or plug-in missing);
#   3. CMake configures lrid against the prefix alone, with Debian's CPU LibTorch in place of the
#      wheel's: MPI, HDF5, Boost, yaml-cpp, nlohmann-json, GoogleTest, liblinear and zlib found
#      in the prefix, and the "lrid:" summary lines;
#   4. with --build, and only when the load average is under 1.5: lrid built there (nice, -j1)
#      and its smoke campaign trained under the prefix's mpirun -np 2.
#
#   tools/gpu/check_here.sh [DEBS_DIR] [--build]     (as root; DEBS_DIR default gpu-debs/)
#
# Work directory: $CHECK_HERE_DIR (default /tmp/gpucheck-build). Exit status 1 if a check failed.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
debs="$root/gpu-debs"
build=0
for a in "$@"; do
  case "$a" in
    --build) build=1 ;;
    -*) echo "check_here.sh: unknown option $a" >&2; exit 2 ;;
    *) debs="$(cd "$a" && pwd)" ;;
  esac
done
work="${CHECK_HERE_DIR:-/tmp/gpucheck-build}"
arch=x86_64-linux-gnu

if [[ -z ${CHECK_HERE_HIDDEN:-} ]]; then
  [[ -f $debs/manifest.tsv ]] || { echo "check_here.sh: no $debs/manifest.tsv (tools/gpu/fetch_debs.sh)" >&2; exit 2; }
  [[ $EUID -eq 0 ]] || { echo "check_here.sh: needs root (a private mount namespace)" >&2; exit 2; }
  args=("$debs")
  ((build)) && args+=(--build)
  CHECK_HERE_HIDDEN=1 exec unshare -m --propagation private "$0" "${args[@]}"
fi

# --- hide the system's copies ---------------------------------------------------------------
mkdir -p "$work/empty"
hidden_dirs=(/usr/include/boost /usr/include/hdf5 "/usr/lib/$arch/hdf5" "/usr/lib/$arch/openmpi"
             "/usr/lib/$arch/pmix2" /usr/share/openmpi /usr/share/datasets/fashion-mnist)
for d in "${hidden_dirs[@]}"; do [[ -d $d ]] && mount --bind "$work/empty" "$d"; done
n=0
while read -r f; do
  case "$f" in /usr/share/doc/*|/usr/share/man/*) continue ;; esac
  for d in "${hidden_dirs[@]}"; do [[ $f == "$d"/* ]] && continue 2; done
  if [[ -f $f && ! -L $f ]]; then mount --bind /dev/null "$f" && n=$((n + 1)); fi
done < <(cut -f2 "$debs/manifest.tsv" | xargs dpkg -L 2>/dev/null | sort -u)
echo "check_here: hid ${#hidden_dirs[@]} directories and $n files of the system's copies of the packages in $debs"

fails=0
result() {  # $1 PASS|FAIL|SKIP, $2 name, $3 detail
  printf '%-4s  %s%s\n' "$1" "$2" "${3:+: $3}" | tee -a "$work/results.txt"
  [[ $1 == FAIL ]] && fails=$((fails + 1))
  return 0
}
: > "$work/results.txt"

prefix="$work/prefix"
rm -rf "$prefix"
"$root/tools/gpu/prefix.sh" "$debs" "$prefix" || { echo "check_here: prefix.sh failed"; exit 1; }
# shellcheck disable=SC1091  # written by prefix.sh
. "$prefix/env.sh"
lib="$prefix/usr/lib/$arch"

# 1. the libraries resolve
missing=$(for l in "$lib"/libmpi.so.40 "$lib"/libhdf5_openmpi.so.103 "$lib"/libhdf5_openmpi_hl.so.100 \
                   "$lib"/libyaml-cpp.so.0.7 "$lib"/libboost_program_options.so.1.74.0 "$lib"/liblinear.so.4 \
                   "$lib"/openmpi/lib/openmpi3/mca_pmix_ext3x.so "$prefix"/usr/bin/orterun; do
  ldd "$l" | sed -n "s|^\t*\(.*\) => not found|${l##*/}: \1|p"; done | paste -sd' ')
if [[ -z $missing ]]; then result PASS "1. prefix libraries resolve (ldd)"
else result FAIL "1. prefix libraries resolve (ldd)" "$missing"; fi

# 2. MPI + parallel HDF5 under the prefix's mpirun
cat > "$work/mpi_h5.c" <<'EOF'
#include <hdf5.h>
#include <mpi.h>
#include <stdio.h>
int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, size = 0, sum = 0, mine;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  mine = rank + 1;
  MPI_Allreduce(&mine, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  H5Pset_fapl_mpio(fapl, MPI_COMM_WORLD, MPI_INFO_NULL);
  hid_t f = H5Fcreate(argv[1], H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  printf("rank %d of %d: allreduce %d, parallel HDF5 file %s\n", rank, size, sum, f >= 0 ? "created" : "FAILED");
  if (f >= 0) H5Fclose(f);
  H5Pclose(fapl);
  MPI_Finalize();
  return f >= 0 && sum == size * (size + 1) / 2 ? 0 : 1;
}
EOF
if mpicc -I"$HDF5_ROOT/include" "$work/mpi_h5.c" -L"$HDF5_ROOT" -lhdf5 -o "$work/mpi_h5" > "$work/mpi_h5.log" 2>&1 &&
   timeout 60 mpirun -np 2 "$work/mpi_h5" "$work/mpi_h5.h5" >> "$work/mpi_h5.log" 2>&1 &&
   [[ $(grep -c "parallel HDF5 file created" "$work/mpi_h5.log") -eq 2 ]] &&
   ! grep -q "Sorry\|unable to open\|cannot open" "$work/mpi_h5.log"; then
  result PASS "2. MPI + parallel HDF5 program (prefix's mpicc, mpirun -np 2)" "$(grep -m1 '^rank' "$work/mpi_h5.log")"
else
  result FAIL "2. MPI + parallel HDF5 program (prefix's mpicc, mpirun -np 2)"; tail -15 "$work/mpi_h5.log"
fi

# 3. configure lrid against the prefix (Debian's CPU LibTorch in place of a wheel's)
torch_dir=$(dirname "$(dpkg -L libtorch-dev 2>/dev/null | grep -m1 '/TorchConfig.cmake$')")
bdir="$work/build"
rm -rf "$bdir"
if nice -n 19 cmake -S "$root" -B "$bdir" -G Ninja -DCMAKE_BUILD_TYPE=Release \
     -DCMAKE_PREFIX_PATH="$torch_dir;$prefix/usr" -DMPI_C_COMPILER="$prefix/usr/bin/mpicc" > "$work/configure.log" 2>&1; then
  grep -- '-- lrid:' "$work/configure.log" | sed 's/^-- /  /'
  outside=$(grep -E '^(MPI_C_COMPILER|MPI_mpi_LIBRARY|MPI_C_HEADER_DIR|MPIEXEC_EXECUTABLE|HDF5_C_INCLUDE_DIR|HDF5_hdf5_LIBRARY_RELEASE|HDF5_hdf5_hl_LIBRARY_RELEASE|Boost_DIR|Boost_INCLUDE_DIR|Boost_PROGRAM_OPTIONS_LIBRARY_RELEASE|yaml-cpp_DIR|nlohmann_json_DIR|GTest_DIR|LIBLINEAR_INCLUDE_DIR|LIBLINEAR_LIBRARY|ZLIB_INCLUDE_DIR|ZLIB_LIBRARY_RELEASE):' \
            "$bdir/CMakeCache.txt" | grep -v "=$prefix/" | paste -sd' ')
  found=$(grep -cE '^(MPI_mpi_LIBRARY|HDF5_hdf5_LIBRARY_RELEASE|Boost_DIR|yaml-cpp_DIR|nlohmann_json_DIR|GTest_DIR|LIBLINEAR_LIBRARY|ZLIB_LIBRARY_RELEASE):[A-Z]*=' "$bdir/CMakeCache.txt")
  if [[ -z $outside && $found -eq 8 ]] && grep -q '^HDF5_IS_PARALLEL:BOOL=TRUE' "$bdir/CMakeCache.txt"; then
    result PASS "3. cmake configure of lrid against the prefix" "MPI, parallel HDF5, Boost, yaml-cpp, nlohmann-json, GTest, liblinear, zlib all from $prefix"
  else
    result FAIL "3. cmake configure of lrid against the prefix" "found outside the prefix: ${outside:-none}; $found of 8 found"
  fi
else
  result FAIL "3. cmake configure of lrid against the prefix"; tail -20 "$work/configure.log"
fi

# 4. build and a smoke campaign, only on an idle machine
load=$(cut -d' ' -f1 /proc/loadavg)
if ((build == 0)); then
  result SKIP "4. build lrid against the prefix + smoke campaign" "not asked for (--build)"
elif awk -v l="$load" 'BEGIN {exit !(l >= 1.5)}'; then
  result SKIP "4. build lrid against the prefix + smoke campaign" "load average $load >= 1.5"
elif ! nice -n 19 ninja -C "$bdir" -j1 lrid_cli > "$work/build.log" 2>&1; then
  result FAIL "4. build lrid against the prefix"; tail -20 "$work/build.log"
else
  smoke="$work/smoke"
  rm -rf "$smoke" && mkdir -p "$smoke"
  ln -sfn "$prefix/usr/share/datasets/fashion-mnist" /usr/share/datasets/fashion-mnist 2>/dev/null ||
    mount --bind "$prefix/usr/share/datasets/fashion-mnist" /usr/share/datasets/fashion-mnist
  if (cd "$smoke" && timeout 300 nice -n 19 mpirun -np 2 --oversubscribe "$bdir/lrid" train "$root/jobs/smoke.yaml" \
        distributed.device=cpu --out cpu.h5 -q > cpu.out 2>&1) && grep -q '"event":"finish"' "$smoke/cpu.h5.log.jsonl"; then
    result PASS "4. lrid built against the prefix; smoke campaign under its mpirun -np 2" "$(tail -1 "$smoke/cpu.out")"
  else
    result FAIL "4. smoke campaign under the prefix's mpirun -np 2"; tail -20 "$smoke/cpu.out"
  fi
fi

echo
echo "== check_here: the CPU-side parts of tools/gpu/check.sh"
cat "$work/results.txt"
exit $((fails > 0))
