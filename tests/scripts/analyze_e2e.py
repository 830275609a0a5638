"""lrid analyze end to end on a small real campaign: results identical for 1 and 2 ranks,
report and plots written, exported features, unfinished runs, bad statistic names.
Run by analyze_e2e.sh under ctest (LRID, LRID_SOURCE_DIR set)."""
import os
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lridtest import check, finish, run, tempdir  # noqa: E402

TMP = tempdir("lrid_analyze_")


job = os.path.join(TMP, "job.yaml")
with open(job, "w") as f:
    f.write("""name: analyzetest
grid:
  - learning_rules: [sgdm, adam, fa, ia]
    tasks: [fashion_mnist, fashion_mnist_coarse]
    architectures: [MLP]
    batch_sizes: [32]
    model_seeds: [0, 1, 2]
training:
  defaults: {steps: 30}
observables:
  trajectory_points: 6
  observation_batch: 16
  conditions: {unit_fractions: [1.0, 0.5], noise_levels: [0.0, 0.5]}
distributed: {threads_per_rank: 1}
analysis:
  splits: 3
  cv_folds: 2
  classifiers: [random_forest, linear_svm]
  random_forest: {n_estimators: [10, 20], max_features: [sqrt]}
  linear_svm: {C: [1, 50]}
  sweep_splits: 2
  sweep_forest: {n_estimators: 10, max_features: sqrt}
  random_draws: 1
""")
camp = os.path.join(TMP, "c.h5")
run(["train", job, "--out", camp, "-q"], np_=2)

out1, out2 = os.path.join(TMP, "r1"), os.path.join(TMP, "r2")
feats = os.path.join(TMP, "features.h5")
p1 = run(["analyze", camp, "--out", out1, "-q", "--export-features", feats], np_=1)
p2 = run(["analyze", camp, "--out", out2, "-q"], np_=2)
check("Main table" in p1.stdout, "the main table is printed")
with h5py.File(os.path.join(out1, "results.h5"), "r") as a, h5py.File(os.path.join(out2, "results.h5"), "r") as b:
    names = []
    a.visit(lambda n: names.append(n) if isinstance(a[n], h5py.Dataset) else None)
    for g in ("main", "holdout", "trajectory", "measurement", "importance"):
        check(g in a, f"results.h5 has /{g}")
    def equal(x, y):
        x, y = np.asarray(x), np.asarray(y)
        if x.dtype.kind in "fc":
            return np.array_equal(x, y, equal_nan=True)
        return np.array_equal(x, y)
    same = all(equal(a[n][()], b[n][()]) for n in names)
    check(same and len(names) > 20, f"1 and 2 ranks give identical results ({len(names)} datasets)")
    acc = a["main/accuracy_mean"][:]
    check(np.all((acc >= 0) & (acc <= 1)), "accuracies in [0, 1]")
    check(a["measurement/accuracy_mean"].shape == (4, 3), "measurement: 4 conditions x 3 classes")
    k = a["trajectory/window/k"][:]
    check(len(k) == 6 * 7 // 2, "trajectory: every window of every length")
report = open(os.path.join(out1, "report.md")).read()
check("## Main table" in report and "## Findings" in report, "report.md has the table and findings")
try:
    import matplotlib  # noqa: F401
    check(os.path.exists(os.path.join(out1, "main_accuracy.png")), "plots drawn")
except ImportError:
    check("plots skipped" in p1.stdout, "missing matplotlib is reported")
with h5py.File(feats, "r") as f:
    X, y = f["X"][:], f["y"][:]
    check(X.shape == (24 * 3, 24 * 6 + 3), f"exported X shape {X.shape}: 24 runs x 3 layers, 24 statistics x 6 points + depth")
    check(sorted(set(y.tolist())) == [0, 1, 2, 3], "exported labels")
    check(np.isfinite(X).all(), "exported features are finite")

# Unfinished runs: a shard file has the other shard's runs pending.
shard = os.path.join(TMP, "s0.h5")
run(["train", job, "--out", shard, "--shard", "0/2", "-q"], np_=1)
p = run(["analyze", shard, "--out", os.path.join(TMP, "r3"), "-q", "--no-plots"], np_=1)
check("not done" in p.stderr and "1,3,5" in p.stderr, "unfinished runs are listed in a warning")
p = run(["analyze", shard, "--out", os.path.join(TMP, "r4"), "--require-complete"], np_=1, expect=2)
check("--require-complete" in p.stderr, "--require-complete refuses")
p = run(["analyze", camp, "--out", os.path.join(TMP, "r5"), "--statistics", "weightraw_mena"], expect=2)
check("did you mean 'weightraw_mean'" in p.stderr and p.stderr.count("\n") == 1, "unknown statistic: one line")

finish()
