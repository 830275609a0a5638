#!/usr/bin/env bash
# Downloads (apt-get download, nothing installed) the Debian 12 .deb files that lrid needs to build
# and run on a machine that has none of them, for tools/gpu/check.sh to unpack into a prefix there
# (a GPU machine with CUDA, a C++ compiler, CMake, ninja and a Python PyTorch, but without
# network access or lrid's Debian packages).
#
#   tools/gpu/fetch_debs.sh [DIR] [--no-data]   # DIR default: gpu-debs/ in the repository root
#   tools/gpu/fetch_debs.sh --check             # recompute RUNTIME from apt's metadata; exit 1 if
#                                               # the list below misses or has too much
#
# Run it on Debian 12 (bookworm, amd64) with apt's lists up to date (apt-get update). It writes
# DIR/*.deb and DIR/manifest.tsv (group, package, version, file, bytes) and prints the total size:
# the device tool carries at most 64 MiB (working tree + carried paths), so keep it well under.
#
# The lists, in three groups (check.sh treats them differently):
#   MAIN     what lrid's configure, build and run use directly: OpenMPI (bin, libs, headers,
#            wrappers), parallel HDF5 (C + HL libraries, headers), yaml-cpp, Boost.Program_options
#            (with the Boost headers it includes), nlohmann-json, liblinear, GoogleTest, zlib's
#            headers (CMakeLists.txt: find_package(ZLIB)). Always unpacked.
#   RUNTIME  the shared libraries MAIN's libraries and programs depend on (Depends/Pre-Depends,
#            first alternative, recursively; the -dev packages' own Depends are not followed:
#            check.sh finds HDF5 and MPI without their compiler wrappers, so the link line names
#            only libhdf5/libhdf5_hl/libmpi, and headers such as hwloc's or curl's are not
#            needed), without what a minimal Debian or Ubuntu already has (the Essential packages,
#            apt, and their dependencies: libc6, libstdc++6, libgcc-s1, zlib1g, libzstd1,
#            libgnutls30, ...) and without EXCLUDED. check.sh unpacks one only if some library in
#            it is missing from the target's ld.so cache, so it never shadows a newer system copy.
#   DATA     Fashion-MNIST (/usr/share/datasets/fashion-mnist; the smoke job and
#            tools/gpu/nccl_check.sh train on it). --no-data leaves it out (31 MB).
# Not included: a compiler, CMake and ninja (the GPU image has them: /work/.library/device/KINDS.md
# lists nvcc, CMake and ninja; check.sh stops with one line if one is missing).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

MAIN=(
  openmpi-bin openmpi-common libopenmpi3 libopenmpi-dev
  libhdf5-openmpi-103-1 libhdf5-openmpi-hl-100 libhdf5-openmpi-dev
  libyaml-cpp0.7 libyaml-cpp-dev
  libboost-program-options1.74.0 libboost-program-options1.74-dev libboost1.74-dev
  nlohmann-json3-dev
  liblinear4 liblinear-dev
  libgtest-dev
  zlib1g-dev
)
RUNTIME=(
  libaec0 libatomic1 libblas3 libbrotli1 libcom-err2 libcurl4 libevent-core-2.1-7
  libevent-pthreads-2.1-7 libfabric1 libgssapi-krb5-2 libhwloc15 ibverbs-providers libibverbs1
  libk5crypto3 libkeyutils1 libkrb5-3 libkrb5support0 libldap-2.5-0 libmunge2 libnghttp2-14
  libnl-3-200 libnl-route-3-200 libnuma1 libpmix2 libpsl5 libpsm-infinipath1 libpsm2-2
  librdmacm1 librtmp1 libsasl2-2 libsasl2-modules-db libssh2-1 libssl3 libsz2 libucx0
)
# shellcheck disable=SC2034  # (each group is read through declare -n below)
DATA=(dataset-fashion-mnist)
# Hard dependencies left out on purpose:
#   openssh-client   mpirun's rsh launcher wants an agent, but a one-node run never calls it
#                    (check.sh sets OMPI_MCA_plm_rsh_agent=false); it would bring ~3 MB more
#   libhwloc-plugins optional hwloc topology plugins (X11, NVML, OpenCL, libxml2 + libicu72:
#                    ~12 MB); hwloc works without them
EXCLUDED=(openssh-client libhwloc-plugins)

# first_alternatives PKG: the packages PKG depends on (Depends, Pre-Depends), the first of each
# group of alternatives, a virtual package replaced by its first provider.
first_alternatives() {
  apt-cache depends --no-recommends --no-suggests --no-conflicts --no-breaks --no-replaces \
    --no-enhances "$1" 2>/dev/null | awk '
    /^ [ |](Pre)?Depends: / {
      name = $2; sub(/:.*/, "", name)
      chosen = !cont; cont = (substr($0, 2, 1) == "|"); want = 0
      if (chosen) { if (name ~ /^</) want = 1; else print name }
      next
    }
    /^    [^ ]/ { if (want) { print $1; want = 0 } }'
}

# closure SKIP_REGEX PKG...: PKG and everything it depends on, recursively, except packages
# matching SKIP_REGEX (not followed either); -dev packages' dependencies are not followed.
closure() {
  local skip="$1" p d
  shift
  local -A seen=()
  local queue=("$@")
  while ((${#queue[@]})); do
    p=${queue[0]}
    queue=("${queue[@]:1}")
    [[ -n ${seen[$p]:-} ]] && continue
    seen[$p]=1
    [[ $p =~ $skip ]] && continue
    echo "$p"
    [[ $p == *-dev ]] && continue
    for d in $(first_alternatives "$p"); do [[ -z ${seen[$d]:-} ]] && queue+=("$d"); done
  done
}

check_lists() {
  local essential base skip want have missing extra
  essential=$(apt-cache dumpavail | awk '/^Package:/ {p = $2} /^Essential: yes/ {print p}' | sort -u)
  # shellcheck disable=SC2086  # lists of package names
  base=$(closure '^$' $essential apt | sort -u)
  # shellcheck disable=SC2086
  skip="^($(printf '%s\n' $base "${EXCLUDED[@]}" | sed 's/[+.]/\\&/g' | paste -sd'|'))\$"
  want=$(closure "$skip" "${MAIN[@]}" | sort -u | grep -vxF -f <(printf '%s\n' "${MAIN[@]}") || true)
  have=$(printf '%s\n' "${RUNTIME[@]}" | sort -u)
  missing=$(comm -23 <(echo "$want") <(echo "$have") | paste -sd' ')
  extra=$(comm -13 <(echo "$want") <(echo "$have") | paste -sd' ')
  echo "RUNTIME from apt's metadata: $(echo "$want" | wc -l) packages beyond MAIN and a minimal system ($(echo "$base" | wc -l) packages)"
  [[ -n $missing ]] && echo "  missing from RUNTIME: $missing"
  [[ -n $extra ]] && echo "  in RUNTIME but not needed: $extra"
  [[ -z $missing && -z $extra ]] && echo "  RUNTIME is up to date"
  [[ -z $missing && -z $extra ]]
}

dir="$root/gpu-debs"
data=1
for a in "$@"; do
  case "$a" in
    --check) check_lists; exit $? ;;
    --no-data) data=0 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "fetch_debs.sh: unknown option $a (see --help)" >&2; exit 2 ;;
    *) dir="$a" ;;
  esac
done
groups=(MAIN RUNTIME)
((data)) && groups+=(DATA)

mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
rm -f "$dir"/*.deb "$dir/manifest.tsv"
total=0
for g in "${groups[@]}"; do
  declare -n list="$g"
  (cd "$dir" && apt-get download -q "${list[@]}") 2>&1 | grep -v '^Get:\|unsandboxed' || true
  for p in "${list[@]}"; do
    found=("$dir/${p}"_*.deb)
    if [[ ! -f ${found[0]} ]]; then echo "fetch_debs.sh: apt-get download $p gave no file (apt-get update?)" >&2; exit 1; fi
    f=$(basename "${found[0]}")
    bytes=$(stat -c %s "$dir/$f")
    total=$((total + bytes))
    printf '%s\t%s\t%s\t%s\t%s\n' "$g" "$p" "$(dpkg-deb -f "$dir/$f" Version)" "$f" "$bytes" >> "$dir/manifest.tsv"
  done
  unset -n list
done
limit=$((64 * 1024 * 1024))
for g in "${groups[@]}"; do
  awk -F'\t' -v g="$g" '$1 == g {n++; s += $5} END {printf "%-8s %3d packages %6.1f MiB\n", g, n, s / 1048576}' "$dir/manifest.tsv"
done
# what else travels with a device call: the working tree (tracked, and untracked but not ignored)
tree=$(cd "$root" && git ls-files -z --cached --others --exclude-standard 2>/dev/null |
  xargs -0 stat -c %s 2>/dev/null | awk '{s += $1} END {print s + 0}')
mib() { awk -v b="$1" 'BEGIN {printf "%.1f", b / 1048576}'; }
echo "total    $(wc -l < "$dir/manifest.tsv") packages $(mib "$total") MiB in $dir; with the working tree" \
  "($(mib "$tree") MiB) $(mib $((total + tree))) MiB of the 64 MiB a device call carries"
if ((total + tree > limit)); then echo "fetch_debs.sh: over 64 MiB: try --no-data" >&2; exit 1; fi
