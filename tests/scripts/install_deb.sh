#!/usr/bin/env bash
# The Debian package: `cpack -G DEB` from the build makes lrid_<version>_amd64.deb whose Depends
# name the packages of every library lrid links plus the Python tools' modules; `dpkg -i` installs
# it on this machine (root), /usr/bin/lrid finds /usr/share/lrid, `dpkg -L lrid` lists what
# `cmake --install` installs, and `dpkg -r lrid` (also run when the test fails) leaves nothing.
set -uo pipefail
source "$(dirname "$0")/install_lib.inc"
[[ $(id -u) == 0 ]] || { bad "dpkg -i needs root; run this test as root"; exit 1; }
pkg_state() { dpkg-query -W -f='${Status}' lrid 2> /dev/null || true; }   # "" when dpkg knows no lrid
st=$(pkg_state)
if [[ -n $st && $st != *not-installed ]]; then
  bad "a package 'lrid' is already installed on this machine ($(dpkg-query -W lrid): $st); this test would replace it: remove it first (dpkg -r lrid)"
  exit 1
fi

start=$(date +%s)
if ! cpack -G DEB --config "$BUILD/CPackConfig.cmake" -B "$T/pkg" > "$T/cpack.log" 2>&1; then
  cat "$T/cpack.log"; bad "cpack -G DEB"; exit 1
fi
grep "lrid package:" "$T/cpack.log"
debs=("$T"/pkg/lrid_*_amd64.deb)
deb=${debs[0]}
name=$(basename "$deb")
# A CPU build is lrid_<version>_amd64.deb; a CUDA LibTorch build names it: <version>+torch...cu...
if [[ $name == "lrid_${VERSION}_amd64.deb" ]] || [[ $name == lrid_${VERSION}+torch*.cu*_amd64.deb ]]; then
  ok "cpack -G DEB: $name ($(du -h "$deb" | cut -f1), $(($(date +%s) - start)) s)"
else bad "cpack made '$name' (expected lrid_${VERSION}_amd64.deb)"; ls "$T/pkg"; exit 1; fi

# Depends: the owner of every library the binary links (where a package owns it), the tools' modules.
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
owners=()
while read -r lib path; do
  real=$(readlink -f "$path")
  owner=$( { dpkg-query -S "$real" || dpkg-query -S "${real/#\/usr\/lib\//\/lib\/}"; } 2> /dev/null | head -1 | cut -d: -f1)
  if [[ -n $owner ]]; then owners+=("$owner"); else echo "  (no package owns $path: named in the description)"; fi
done < <(objdump -p "$LRID" | awk '/NEEDED/{print $2}' | while read -r l; do
           ldd "$LRID" | awk -v l="$l" '$1 == l && $2 == "=>" {print l, $3}'; done)
sed 's/ *([^)]*)//g; s/, */\n/g' <<<"$depends" > "$T/depends"   # one package name a line
missing=()
for p in "${owners[@]}" openmpi-bin python3 python3-h5py python3-numpy python3-matplotlib; do
  grep -qxF "$p" "$T/depends" || missing+=("$p")
done
((${#missing[@]} == 0)) && ok "Depends names the $(printf '%s\n' "${owners[@]}" | sort -u | wc -l) packages owning lrid's libraries, openmpi-bin and python3-h5py/numpy/matplotlib" ||
  bad "Depends lacks: ${missing[*]}"
for family in libopenmpi libhdf5-openmpi- libhdf5-openmpi-hl libboost-program-options libyaml-cpp liblinear; do
  grep -q "$family" <<<"$depends" || bad "Depends has no $family* package"
done
if ldd "$LRID" | grep -q "libtorch_cpu.so => /usr/lib\|libtorch_cpu.so.[0-9.]* => /usr/lib"; then
  grep -q "libtorch" <<<"$depends" && ok "Depends has Debian's LibTorch" || bad "Depends has no libtorch* package"
fi

# What the package holds, and what already existed before it is installed.
dpkg-deb -c "$deb" | awk '{print $NF}' | sed 's|^\./|/|; s|/$||' | grep -v '^$' | sort > "$T/contents"
while read -r f; do [[ -e $f || -L $f ]] && echo "$f"; done < "$T/contents" > "$T/existed"

remove_pkg() {
  st=$(pkg_state)
  if [[ -n $st && $st != *not-installed ]]; then
    echo "(removing the package: dpkg -r lrid)"; dpkg -r lrid > /dev/null 2>&1 || dpkg --purge --force-all lrid
  fi
}
EXIT_HOOKS+=(remove_pkg)
if dpkg -i "$deb" > "$T/dpkg-i.log" 2>&1; then ok "dpkg -i $name"
else cat "$T/dpkg-i.log"; bad "dpkg -i $name"; exit 1; fi

v=$(/usr/bin/lrid --version)
if [[ $(head -1 <<<"$v") == "lrid $VERSION" ]] && grep -qx "data directory: /usr/share/lrid (installed beside the executable)" <<<"$v"; then
  ok "/usr/bin/lrid --version: $(tr '\n' ' ' <<<"$v")"
else bad "/usr/bin/lrid --version: $v"; fi
# dpkg -L lists exactly what cmake --install puts under /usr.
DESTDIR=$T/stage cmake --install "$BUILD" --prefix /usr > /dev/null 2>&1 || bad "cmake --install DESTDIR=$T/stage"
(cd "$T/stage" && find . -type f | sed 's|^\.||' | sort) > "$T/installed"
dpkg -L lrid | while read -r f; do [[ -f $f ]] && echo "$f"; done | sort > "$T/listed"
if diff "$T/installed" "$T/listed" > "$T/diff"; then ok "dpkg -L lrid lists the $(wc -l < "$T/listed") files cmake --install installs"
else bad "dpkg -L lrid differs from cmake --install (< install, > dpkg -L):"; cat "$T/diff"; fi
lacking=$(expected_files | while read -r f; do grep -qxF "/usr/$f" "$T/listed" || echo "/usr/$f"; done)
[[ -z $lacking ]] && ok "... among them the $(expected_files | wc -l) files of (1)" || { bad "dpkg -L lrid lacks:"; echo "$lacking"; }
# Installed system-wide: the module is importable and the templates are found with no set-up.
if /usr/bin/python3 -c 'import lrid_read; assert lrid_read.__file__ == "/usr/lib/python3/dist-packages/lrid_read.py"' 2>&1; then
  ok "import lrid_read (no PYTHONPATH)"; else bad "import lrid_read from the package"; fi
if (cd "$T" && /usr/bin/lrid submit /usr/share/lrid/jobs/smoke.yaml --cluster /usr/share/lrid/cluster/local.yaml \
      --shards 3 --dir "$T/c" --dry-run > "$T/dry.out") && grep -q "^#SBATCH --array=0-2" "$T/dry.out"; then
  ok "lrid submit --dry-run with /usr/share/lrid's profile and templates"
else bad "lrid submit --dry-run from the package"; fi
/usr/bin/lrid_read --help > /dev/null 2>&1 && ok "lrid_read command" || bad "/usr/bin/lrid_read --help"
grep -q 'local prefix = "/usr"' "/usr/share/lrid/modulefiles/lrid/$VERSION.lua" && ok "the modulefile names the prefix /usr" ||
  bad "the packaged modulefile does not name /usr"

if dpkg -r lrid > "$T/dpkg-r.log" 2>&1; then ok "dpkg -r lrid"; else cat "$T/dpkg-r.log"; bad "dpkg -r lrid"; fi
left=$(while read -r f; do
  grep -qxF "$f" "$T/existed" && continue
  [[ -e $f || -L $f ]] && echo "$f"
done < "$T/contents")
for d in /usr/share/lrid /usr/lib/python3/dist-packages/__pycache__/lrid_read.*; do [[ -e $d ]] && left+=$'\n'"$d"; done
left=$(sed '/^$/d' <<<"$left")
[[ -z $left ]] && ok "dpkg -r left nothing behind" || { bad "dpkg -r left behind:"; echo "$left"; }
st=$(pkg_state)
[[ -z $st || $st == *not-installed ]] && ok "dpkg: lrid not installed (${st:-unknown to dpkg})" || bad "dpkg status after removal: $st"
info=$(ls /var/lib/dpkg/info/lrid.* 2> /dev/null)
[[ -z $info ]] && ok "dpkg's own records of lrid are gone" || { bad "dpkg -r left its records:"; echo "$info"; }
command -v lrid > /dev/null && [[ $(command -v lrid) == /usr/bin/lrid ]] && bad "/usr/bin/lrid still there"
echo "$failures failure(s)"
