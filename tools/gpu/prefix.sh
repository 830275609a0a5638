#!/usr/bin/env bash
# Unpacks the Debian packages that tools/gpu/fetch_debs.sh downloaded into a prefix (dpkg-deb -x;
# nothing is installed, / is not touched) and writes PREFIX/env.sh, which makes a shell build and
# run lrid against them: PATH, LD_LIBRARY_PATH, CMAKE_PREFIX_PATH, HDF5_ROOT, the relocated
# OpenMPI's OPAL_PREFIX and friends. Used by tools/gpu/check.sh; tools/gpu/check_here.sh tests it.
#
#   tools/gpu/prefix.sh DEBS_DIR PREFIX     then: . PREFIX/env.sh
#
# DEBS_DIR/manifest.tsv (from fetch_debs.sh) says each .deb's group: MAIN and DATA are always
# unpacked; a RUNTIME one only when some shared library in it is missing from this system's
# loader cache (ldconfig -p), so that a newer system copy is never shadowed by LD_LIBRARY_PATH.
# The links Debian's maintainer scripts would make (update-alternatives: mpirun, mpicc, ...) are
# made in the prefix. Prints one line per group (what was unpacked, what was already there).
set -euo pipefail
if [[ $# -ne 2 ]]; then echo "usage: tools/gpu/prefix.sh DEBS_DIR PREFIX" >&2; exit 2; fi
debs="$(cd "$1" && pwd)"
manifest="$debs/manifest.tsv"
if [[ ! -f $manifest ]]; then echo "prefix.sh: no $manifest (run tools/gpu/fetch_debs.sh first)" >&2; exit 2; fi
mkdir -p "$2"
prefix="$(cd "$2" && pwd)"
rm -f "$prefix/env.sh"  # written last: its presence says this run got through
arch=x86_64-linux-gnu
lib="$prefix/usr/lib/$arch"

# The system's shared libraries: soname -> path, only those whose file is there and not empty.
declare -A system_lib=()
while read -r soname path; do
  [[ -s $path ]] && system_lib[$soname]=$path
done < <(ldconfig -p | awk '/x86-64/ {print $1, $NF}')

# missing_libs DEB: the shared libraries of DEB (libNAME.so.MAJOR) that this system lacks.
missing_libs() {
  dpkg-deb -c "$1" | awk '{print $6}' | grep -E '/lib[^/]*\.so\.[0-9][0-9.]*$' |
    sed -E 's|.*/||; s/(\.so\.[0-9]+).*/\1/' | sort -u | while read -r so; do
    [[ -z ${system_lib[$so]:-} ]] && echo "$so"
  done
  return 0
}

declare -A unpacked=() present=()
while IFS=$'\t' read -r group pkg _version file _bytes; do
  deb="$debs/$file"
  if [[ ! -f $deb ]]; then echo "prefix.sh: $deb listed in the manifest is missing" >&2; exit 1; fi
  if [[ $group == RUNTIME && -z "$(missing_libs "$deb")" ]]; then
    present[$group]+=" $pkg"
    continue
  fi
  dpkg-deb -x "$deb" "$prefix"
  unpacked[$group]+=" $pkg"
done < "$manifest"
for g in MAIN RUNTIME DATA; do
  n=$(wc -w <<< "${unpacked[$g]:-}")
  m=$(wc -w <<< "${present[$g]:-}")
  (( n + m )) && echo "prefix.sh: $g: $n unpacked${present[$g]:+, $m already on this system:${present[$g]}}"
done

# update-alternatives' links (the .openmpi names are in the packages).
for t in mpirun mpiexec mpicc mpicxx mpic++; do
  [[ -e "$prefix/usr/bin/$t.openmpi" ]] && ln -sfn "$t.openmpi" "$prefix/usr/bin/$t"
done
# Absolute links (zlib1g-dev: libz.so -> /lib/x86_64-linux-gnu/libz.so.1.2.13) point into the
# prefix when their target is there, else to this system's library of the same soname.
while IFS= read -r -d '' link; do
  target=$(readlink "$link")
  if [[ $target == "$prefix"/* ]]; then continue  # done by an earlier run
  elif [[ -e $prefix$target ]]; then
    ln -sfn "$prefix$target" "$link"
  else
    so=$(basename "$target" | sed -E 's/(\.so\.[0-9]+).*/\1/')
    if [[ -n ${system_lib[$so]:-} ]]; then ln -sfn "${system_lib[$so]}" "$link"
    else echo "prefix.sh: warning: ${link#"$prefix"/} -> $target: not in the prefix nor on this system"; fi
  fi
done < <(find "$prefix" -type l -lname '/*' -not -path '*/share/doc/*' -print0)
# soname links that maintainer scripts or ldconfig would make (libpmix.so.2, ...)
libdirs=()
for d in "$lib" "$prefix/lib/$arch" "$lib/openmpi/lib" "$lib/pmix2/lib" "$lib/blas"; do
  [[ -d $d ]] && libdirs+=("$d")
done
ldconfig -n "${libdirs[@]}" 2>/dev/null || true

# The environment. OpenMPI 4.1 takes its relocated install directories from OPAL_PREFIX (and its
# configuration, Debian's /etc/openmpi, from OPAL_SYSCONFDIR); PMIx 4.2 its plug-ins and help
# texts from PMIX_PKGLIBDIR and PMIX_PKGDATADIR (its PMIX_PREFIX does not move them). HDF5_ROOT
# makes CMake's FindHDF5 search only the openmpi flavour's directory (libhdf5.so, include/ ->
# /usr/include/hdf5/openmpi) and read H5_HAVE_PARALLEL from its H5pubconf.h, without the h5pcc
# wrapper (a script with /usr written into it).
ldpath=$(IFS=:; echo "${libdirs[*]}")
cat > "$prefix/env.sh" <<EOF
# written by tools/gpu/prefix.sh: . this file to build and run lrid against $prefix
export LRID_DEB_PREFIX="$prefix"
export PATH="$prefix/usr/bin:\$PATH"
export LD_LIBRARY_PATH="$ldpath\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
export CMAKE_PREFIX_PATH="$prefix/usr\${CMAKE_PREFIX_PATH:+:\$CMAKE_PREFIX_PATH}"
export HDF5_ROOT="$lib/hdf5/openmpi"
export OPAL_PREFIX="$prefix/usr" OPAL_SYSCONFDIR="$prefix/etc/openmpi"
export PMIX_PKGLIBDIR="$lib/pmix2/lib/pmix" PMIX_PKGDATADIR="$lib/pmix2/share/pmix"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# one node: no ssh/rsh needed to launch (OpenMPI refuses to start when it finds no agent)
export OMPI_MCA_plm_rsh_agent=false
# shared memory between the ranks of one machine, no interconnect plugins, no CMA (ptrace)
export OMPI_MCA_pml=ob1 OMPI_MCA_btl=self,vader OMPI_MCA_btl_vader_single_copy_mechanism=none
EOF
echo "prefix.sh: $prefix/env.sh written"
