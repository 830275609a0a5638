#!/usr/bin/env bash
# `cmake --install` into a temporary prefix, then the installed lrid with the build tree and the
# source checkout hidden (an empty tmpfs mounted over each, in a private mount namespace): the
# smoke job trains, is analyzed and plotted, `lrid submit --dry-run` renders the installed
# Slurm templates, and the Python tools run from the prefix. Needs root (unshare -m, mount).
set -uo pipefail
source "$(dirname "$0")/install_lib.inc"
P=$T/prefix
install_into "$P" || exit 1

# --version names the data directory, and where it came from.
v=$("$P/bin/lrid" --version)
if grep -qx "data directory: $P/share/lrid (installed beside the executable)" <<<"$v"; then ok "installed: $(tail -1 <<<"$v")"
else bad "installed lrid --version: $v"; fi
v=$("$LRID" --version)
if grep -qx "data directory: $SRC (the source tree of this build)" <<<"$v"; then ok "build tree: $(tail -1 <<<"$v")"
else bad "build-tree lrid --version: $v"; fi
v=$(LRID_HOME=/somewhere/else "$P/bin/lrid" --version)
if grep -qx "data directory: /somewhere/else (from LRID_HOME)" <<<"$v"; then ok "LRID_HOME overrides: $(tail -1 <<<"$v")"
else bad "LRID_HOME=/somewhere/else lrid --version: $v"; fi
if ldd "$P/bin/lrid" | grep -q "not found"; then bad "the installed lrid misses libraries:"; ldd "$P/bin/lrid" | grep "not found"
else ok "ldd: every library of the installed lrid resolves"; fi

# Everything below runs with the source checkout and the build tree out of sight.
cat > "$T/hidden.sh" <<'INNER'
set -uo pipefail
for d in "$SRC" "$BUILD"; do   # (a build tree inside the checkout is gone with it)
  [[ -d $d ]] && { mount -t tmpfs -o size=1m lrid-hidden "$d" || exit 3; }
done
[[ -e "$SRC/tools/plot_results.py" || -e "$SRC/slurm" || -e "$BUILD/lrid" ]] && exit 4
export PATH="$P/bin:/usr/bin:/bin"
unset LRID_HOME LRID_PLOT_SCRIPT LRID_SLURM_TEMPLATES PYTHONPATH LRID
cd "$T/work"
echo "== lrid: $(command -v lrid)"
echo "== run"
mpirun -q --oversubscribe -np 2 lrid run "$P/share/lrid/jobs/smoke.yaml" --dir smoke > run.log 2>&1
echo "run rc=$?"
echo "== submit"
lrid submit "$P/share/lrid/jobs/smoke.yaml" --cluster "$P/share/lrid/cluster/local.yaml" --shards 3 \
  --dir "$T/work/slurm-campaign" --dry-run > submit.out 2> submit.err
echo "submit rc=$?"
echo "== tools"
lrid_read smoke/results/results.h5 > lrid_read.out 2>&1; echo "lrid_read rc=$?"
lrid_plot_results smoke/results/results.h5 replot > plot.out 2>&1; echo "plot rc=$?"
PYTHONPATH="$P/lib/python3/dist-packages" /usr/bin/python3 -B -c 'import lrid_read; print(lrid_read.__file__)' > module.out 2>&1
echo "module rc=$?"
INNER
mkdir -p "$T/work"
[[ $T/ == "$SRC"/* || $T/ == "$BUILD"/* ]] && { bad "$T lies inside the tree it would hide"; exit 1; }
start=$(date +%s)
out=$(SRC=$SRC BUILD=$BUILD P=$P T=$T unshare -m --propagation private bash "$T/hidden.sh" 2>&1); rc=$?
echo "$out"
case $rc in
  0) ok "source checkout and build tree hidden ($SRC, $BUILD); $(($(date +%s) - start)) s" ;;
  3) bad "could not hide the source tree (mount -t tmpfs in unshare -m; this test needs root)"; exit 1 ;;
  4) bad "the source tree was still visible after the mount"; exit 1 ;;
  *) bad "the hidden-tree script exited $rc"; exit 1 ;;
esac
W=$T/work
grep -qx "== lrid: $P/bin/lrid" <<<"$out" || bad "PATH did not find the installed lrid"

# lrid run: trained, analyzed, plotted, from the installed files.
if grep -qx "run rc=0" <<<"$out"; then ok "mpirun -np 2 lrid run \$P/share/lrid/jobs/smoke.yaml"
else bad "lrid run failed:"; tail -20 "$W/run.log"; fi
grep -q "plots skipped\|plotting failed" "$W/run.log" && { bad "lrid run did not plot:"; grep "plot" "$W/run.log"; }
pngs=$(cd "$W/smoke/results" 2>/dev/null && ls *.png 2>/dev/null | wc -l)
for f in results.h5 report.md main_accuracy.png observables.png; do
  [[ -s "$W/smoke/results/$f" ]] || bad "smoke/results/$f missing"
done
((pngs >= 5)) && ok "lrid run's plots from the installed plot_results.py: $pngs PNGs" || bad "only $pngs PNGs in smoke/results"

# lrid submit --dry-run: the installed templates.
if grep -qx "submit rc=0" <<<"$out" && grep -q "^#SBATCH --array=0-2" "$W/submit.out" &&
   grep -q "\"\$LRID\" train \"\$DIR/job.yaml\" --shard" "$W/submit.out" &&
   grep -q "^LRID=$P/bin/lrid" "$W/submit.out"; then
  ok "lrid submit --dry-run rendered the installed slurm/ templates with the installed binary"
else bad "lrid submit --dry-run:"; cat "$W/submit.err"; head -30 "$W/submit.out"; fi

# The Python tools from the prefix.
if grep -qx "lrid_read rc=0" <<<"$out" && grep -q "random_forest" "$W/lrid_read.out"; then ok "lrid_read RESULTS.h5 (installed command)"
else bad "lrid_read:"; cat "$W/lrid_read.out"; fi
if grep -qx "plot rc=0" <<<"$out" && [[ -s "$W/replot/main_accuracy.png" ]]; then ok "lrid_plot_results RESULTS.h5 DIR (installed command)"
else bad "lrid_plot_results:"; cat "$W/plot.out"; fi
if grep -qx "module rc=0" <<<"$out" && grep -qx "$P/lib/python3/dist-packages/lrid_read.py" "$W/module.out"; then
  ok "import lrid_read from $P/lib/python3/dist-packages"
else bad "import lrid_read:"; cat "$W/module.out"; fi
echo "$failures failure(s)"
