"""lrid analyze end to end on a small real campaign: results identical for 1 and 2 ranks,
report and plots written, exported features, unfinished runs, bad statistic names.
Run by analyze_e2e.sh under ctest (LRID, LRID_SOURCE_DIR set)."""
import json
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
    # The file explains itself: version, settings, labelled axes, per-sample predictions.
    check(a.attrs["format"] == "lrid-results-2" and a.attrs["lrid_version"], "results.h5 carries its format and lrid's version")
    settings = json.loads(a.attrs["settings"])
    check(settings["splits"] == 3 and settings["random_forest"]["n_estimators"] == [10, 20], "results.h5 records the analysis settings")
    cm = a["main/all_random_forest/confusion_mean"]
    check([d.label for d in cm.dims] == ["rule", "rule"] and
          [x.decode() for x in cm.dims[0][0][:]] == ["sgdm", "adam", "fa", "ia"], "confusion matrix axes labelled by rule")
    pred = a["main/all_random_forest/predictions"]
    n = len(pred["run"])
    # 18 samples per rule (6 runs x 3 layers), 14 train / 4 test each, 3 splits
    check(n == 3 * 4 * 4 and pred["probability"].shape == (n, 4), f"per-sample test predictions and probabilities ({n})")
    check(np.allclose(pred["probability"][:].sum(axis=1), 1.0), "forest probabilities sum to 1")
    check(all(v in a for v in ("permutation", "sanity", "curves", "findings")), "results.h5 has the control, sanity, curves, findings")
    check(len(a["findings/verdict"]) == 6, "six findings judged")
    sanity_rules = [x.decode() for x in a["sanity/rule"][:]]
    check(sanity_rules[:2] == ["sgdm", "sgdm"] and int(a["sanity/done"][:].sum()) == 24, "sanity table: every run, rules in order")
report = open(os.path.join(out1, "report.md")).read()
check("## Main table" in report and "## Findings" in report, "report.md has the table and findings")
check("## Training sanity" in report and "kSeparableAll 0.900" in report, "report.md has the sanity table and the thresholds")
for png in ("observables.png", "training.png", "alignment.png", "measurement_units.png"):
    if os.path.exists(os.path.join(out1, "main_accuracy.png")):
        check(os.path.exists(os.path.join(out1, png)), f"{png} drawn")
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

# Unfinished runs: a campaign with only the first setting's four runs trained.
shard = os.path.join(TMP, "s0.h5")
for rid in range(4):
    run(["train", job, "--run", str(rid), "--out", shard, "-q"], np_=None)
p = run(["analyze", shard, "--out", os.path.join(TMP, "r3"), "-q", "--no-plots"], np_=1)
check("not done" in p.stderr and "4,5,6" in p.stderr, "unfinished runs are listed in a warning")
p = run(["analyze", shard, "--out", os.path.join(TMP, "r4"), "--require-complete"], np_=1, expect=2)
check("--require-complete" in p.stderr, "--require-complete refuses")
p = run(["analyze", camp, "--out", os.path.join(TMP, "r5"), "--statistics", "weightraw_mena"], expect=2)
check("did you mean 'weightraw_mean'" in p.stderr and p.stderr.count("\n") == 1, "unknown statistic: one line")

# The control: rule labels permuted across runs give chance accuracy back (within 0.05 of 0.25),
# while the true labels of the same campaign are identified well above it. 80 MLP runs of 100
# steps (at 40 steps the true labels sat at the bar: 0.498 on one machine, 0.755 at 100).
perm_job = os.path.join(TMP, "perm.yaml")
with open(perm_job, "w") as f:
    f.write("""name: permtest
grid:
  - learning_rules: [sgdm, adam, fa, ia]
    tasks: [fashion_mnist, fashion_mnist_coarse]
    architectures: [MLP]
    batch_sizes: [32]
    model_seeds: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
training:
  defaults: {steps: 100}
observables: {trajectory_points: 6, observation_batch: 16}
distributed: {threads_per_rank: 1}
analysis:
  splits: 10
  classifiers: [random_forest]
  random_forest: {n_estimators: [50], max_features: [sqrt]}
  sweeps: [observable_class, permutation]
  sweep_forest: {n_estimators: 50, max_features: sqrt}
""")
pc = os.path.join(TMP, "perm.h5")
run(["train", perm_job, "--out", pc, "-q"], np_=2)
run(["analyze", pc, "--out", os.path.join(TMP, "rp"), "-q", "--no-plots"], np_=2)
with h5py.File(os.path.join(TMP, "rp", "results.h5"), "r") as r:
    perm = r["permutation"].attrs["accuracy_mean"][0]
    true = r["main/accuracy_mean"][list(x.decode() for x in r["main/label"][:]).index("all/random_forest")]
check(abs(perm - 0.25) <= 0.05, f"permuted labels: accuracy {perm:.3f} within 0.05 of chance 0.25")
check(true >= 0.5, f"true labels of the same campaign: {true:.3f}, far above chance")

finish()
