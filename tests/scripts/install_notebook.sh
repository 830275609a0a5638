#!/usr/bin/env bash
# docs/tutorial.ipynb, executed end to end (jupyter nbconvert --execute: a failing cell fails the
# run) against lrid installed with `cmake --install` into a temporary prefix: lrid from the
# prefix's bin, lrid_read from its python directory, in a copy of the notebook in a temporary
# directory (so the notebook writes nothing into the checkout). Needs Debian's python3-nbconvert,
# python3-ipykernel and python3-pandas (tools/setup.sh).
set -uo pipefail
source "$(dirname "$0")/install_lib.inc"
/usr/bin/python3 -c 'import nbconvert, ipykernel, pandas' 2> /dev/null ||
  { bad "nbconvert, ipykernel or pandas missing (apt-get install python3-nbconvert python3-ipykernel python3-pandas)"; exit 1; }
P=$T/prefix
install_into "$P" || exit 1
mkdir -p "$T/nb" "$T/home"
cp "$P/share/lrid/docs/tutorial.ipynb" "$T/nb/"
start=$(date +%s)
# The kernel is ipykernel's python3 kernel: the interpreter that runs nbconvert.
(cd "$T/nb" && env -u LRID_HOME -u PYTHONPATH HOME="$T/home" JUPYTER_PLATFORM_DIRS=1 PYDEVD_DISABLE_FILE_VALIDATION=1 \
   PATH="$P/bin:/usr/bin:/bin" PYTHONPATH="$P/lib/python3/dist-packages" \
   /usr/bin/python3 -m nbconvert --to notebook --execute --ExecutePreprocessor.timeout=540 \
   --output executed.ipynb tutorial.ipynb) > "$T/nbconvert.log" 2>&1
rc=$?
secs=$(($(date +%s) - start))
if ((rc != 0)); then tail -40 "$T/nbconvert.log"; bad "jupyter nbconvert --execute docs/tutorial.ipynb (exit $rc, $secs s)"; exit 1; fi
ok "jupyter nbconvert --execute docs/tutorial.ipynb: every cell ran ($secs s)"
# What the executed notebook shows: the installed lrid and lrid_read, figures, a verdict.
/usr/bin/python3 - "$T/nb/executed.ipynb" "$P" <<'PY' || bad "the executed notebook's outputs (above)"
import json, sys
nb = json.load(open(sys.argv[1]))
prefix = sys.argv[2]
text, images, errors = "", 0, 0
for c in nb["cells"]:
    for o in c.get("outputs", []):
        errors += o.get("output_type") == "error"
        text += "".join(o.get("text", "")) + "".join(o.get("data", {}).get("text/plain", ""))
        images += "image/png" in o.get("data", {})
checks = {
    "no error outputs": errors == 0,
    "lrid --version names the prefix's data directory": f"data directory: {prefix}/share/lrid (installed" in text,
    "lrid_read imported from the prefix": f"lrid_read: {prefix}/lib/python3/dist-packages/lrid_read.py" in text,
    "three figures (trajectories, confusion matrix, class probabilities)": images >= 3,
    "lrid fit and lrid classify: the held-out networks' verdicts": "true rule predicted" in text and "-> act.ideal.h5" in text,
}
for k, v in checks.items():
    print(("ok   " if v else "FAIL ") + k)
sys.exit(0 if all(checks.values()) else 1)
PY
echo "$failures failure(s)"
