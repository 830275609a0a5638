"""tools/lrid_read.py against independent computations (issue 15).

1. The tidy campaign table equals h5py's raw indexing of /observables/values at every row kept,
   and has one row per (done run, layer, condition, point, statistic).
2. Its act values equal `lrid stats` computed on the activations the recorder saw (`lrid train
   --run 0 --record-activations`, one trajectory point at a time): reader, recorder and kernels
   agree on which layer, condition, point and statistic a value is.
3. results(): the main table, findings, predictions and settings of a real analysis.
4. Command lines: lrid_read.py and plot_results.py on the wrong kind of file exit 2 with one line;
   plot_results.py --help exits 0.
"""
import json
import os
import subprocess
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lridtest import LRID, SRC, check, finish, run, tempdir  # noqa: E402

sys.path.insert(0, os.path.join(SRC, "tools"))
import lrid_read  # noqa: E402

TMP = tempdir("lrid_read_")
JOB = os.path.join(SRC, "jobs", "smoke.yaml")
camp = os.path.join(TMP, "c.h5")
run(["train", JOB, "--out", camp, "-q"], np_=2)

# 1. The table against raw h5py.
t = lrid_read.campaign_table(camp, frame=False)
with h5py.File(camp, "r") as f:
    v = f["observables/values"][:]
    stats = list(f["observables/statistic"].asstr()[:])
    conds = list(f["observables/condition"].asstr()[:])
    counts = f["layers/count"][:]
    status = f["runs/status"][:]
    steps = f["runs/steps"][:]
    R, L, C, T, S = v.shape
expected_rows = int(sum(counts[r] for r in range(R) if status[r] == 2)) * C * T * S
check(len(t["value"]) == expected_rows, f"one row per (run, layer, condition, point, statistic): {len(t['value'])} "
      f"vs {expected_rows}")
row_of = {int(i): r for r, i in enumerate(h5py.File(camp, "r")["runs/job_id"][:])}
ok = True
for i in range(0, len(t["value"]), 97):
    r, l = row_of[int(t["run"][i])], int(t["layer"][i])
    c, p, s = conds.index(t["condition"][i]), int(t["point"][i]), stats.index(t["statistic"][i])
    raw = float(v[r, l, c, p, s])
    same = (np.isnan(raw) and np.isnan(t["value"][i])) or raw == t["value"][i]
    ok = ok and same and int(t["step"][i]) == int(steps[r, p])
check(ok, "every sampled row equals h5py's /observables/values[run, layer, condition, point, statistic] and its step")
sub = lrid_read.campaign_table(camp, statistics=["actraw_mean"], conditions=["ideal"], points=[0, 4], frame=False)
check(len(sub["value"]) == int(sum(counts[r] for r in range(R) if status[r] == 2)) * 2 and
      set(sub["statistic"]) == {"actraw_mean"} and set(sub["point"]) == {0, 4}, "filters keep only what was asked")

# 2. Against lrid stats on the recorder's own activations.
rec = os.path.join(TMP, "run0.h5")
run(["train", JOB, "--run", "0", "--threads", "1", "--record-activations", rec, "-q"])
with h5py.File(rec, "r") as f:
    acts = {k: f["populations"][k]["activity"][:] for k in f["populations"]}
names = ["actraw_mean", "actraw_norm", "actsq_mean", "actabs_median", "actraw_thirdquartile"]
t0 = lrid_read.campaign_table(camp, statistics=names, conditions=["ideal"], frame=False)
worst = 0.0
n = 0
for layer, a in acts.items():
    for p in range(a.shape[0]):
        one = os.path.join(TMP, f"{layer}_{p}.h5")
        with h5py.File(one, "w") as g:
            g["a"] = a[p]
        out = subprocess.run([LRID, "stats", f"{one}:/a", "--measure", "act"], capture_output=True, text=True)
        if out.returncode != 0:
            check(False, f"lrid stats {layer} point {p}: {out.stderr.strip()}")
            continue
        js = json.loads(out.stdout)["statistics"]
        for s in names:
            m = (t0["run"] == 0) & (t0["layer_name"] == layer) & (t0["point"] == p) & (t0["statistic"] == s)
            got = t0["value"][m]
            if len(got) != 1:
                check(False, f"one table row for run 0, {layer}, point {p}, {s} (got {len(got)})")
                continue
            ref = np.float32(js[s])
            worst = max(worst, abs(float(got[0]) - float(ref)) / max(abs(float(ref)), 1e-30))
            n += 1
check(n == len(acts) * 5 * len(names) and worst == 0.0,
      f"{n} table values equal lrid stats of the recorder's activations (float32), worst relative difference {worst:g}")

# 3. results().
out_dir = os.path.join(TMP, "results")
p = run(["analyze", camp, "--out", out_dir, "--no-plots", "--json"], np_=2)
try:
    js = json.loads(p.stdout)
except ValueError:
    js = None
check(js is not None, f"analyze --json prints one JSON object ({p.stdout[:200]!r})")
r = lrid_read.results(os.path.join(out_dir, "results.h5"), frame=False)
if js:
    check([m["accuracy_mean"] for m in js["main"]] == list(r["main"]["accuracy_mean"]) and
          [f["verdict"] for f in js["findings"]] == list(r["findings"]["verdict"]),
          "analyze --json's main table and findings equal results.h5's (read by lrid_read)")
main = r["main"]
check(len(main["label"]) == 8 and "all/random_forest" in list(main["label"]), f"main table rows: {list(main['label'])}")
check(all(0 <= a <= 1 for a in main["accuracy_mean"]) and len(main["accuracy_sem"]) == 8, "accuracies and s.e.m.s")
check(r["attrs"]["settings"]["splits"] == 3 and isinstance(r["attrs"]["lrid_version"], str),
      "attrs carry the analysis settings (parsed) and lrid's version")
check(len(r["findings"]["number"]) == 6, "six findings")
pred = r["predictions"].get("all/random_forest")
check(pred is not None and set(pred["true"]) <= {"sgdm", "adam", "fa", "ia"} and
      np.allclose(sum(pred[f"p_{c}"] for c in r["classes"]), 1.0), "per-sample predictions with probabilities")

# 4. Command lines.
def cli(args, code):
    p = subprocess.run(["/usr/bin/python3"] + args, capture_output=True, text=True)
    lines = [l for l in p.stderr.strip().splitlines() if l]
    good = p.returncode == code and (code == 0 or len(lines) == 1)
    check(good, f"{' '.join(os.path.basename(a) for a in args)}: exit {code}"
          f"{', one line' if code else ''} (got {p.returncode}: {lines[-2:]})")
    return p


cli([os.path.join(SRC, "tools", "lrid_read.py"), camp], 0)
cli([os.path.join(SRC, "tools", "lrid_read.py"), rec], 2)
cli([os.path.join(SRC, "tools", "plot_results.py"), "--help"], 0)
cli([os.path.join(SRC, "tools", "plot_results.py"), camp], 2)
finish()
