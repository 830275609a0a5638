"""The identifiability matrix (lrid analyze's pairwise forest, include/lrid/analyze/plan.hpp)
against an independent computation: scikit-learn's RandomForestClassifier on lrid's
--export-features of the same campaign, pair of rules by pair of rules, with splits of samples
(stratified 75/25) and splits that hold out whole networks (a rule's runs 75/25, every layer of a
run on one side), all statistics, ideal condition. Each pairwise accuracy must agree within 0.05.

The campaign: four rules on the MLP, three Fashion-MNIST tasks, two batch sizes, two model and
two dataset seeds (96 runs of 60 steps, 72 samples per rule). lrid averages 30 splits of a
50-tree forest; scikit-learn 60 splits of the same forest, so that the two means' own spread
(~0.015 each) stays well inside the tolerance.
"""
import os
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lridtest import check, finish, run, tempdir  # noqa: E402

TMP = tempdir("lrid_ident_")
TOL = 0.05
JOB = os.path.join(TMP, "job.yaml")
with open(JOB, "w") as f:
    f.write("""name: ident
grid:
  - learning_rules: [sgdm, adam, fa, ia]
    tasks: [fashion_mnist, fashion_mnist_coarse, fashion_mnist_simclr]
    architectures: [MLP]
    batch_sizes: [16, 32]
    model_seeds: [0, 1]
    dataset_seeds: [0, 1]
training:
  defaults: {steps: 60, learning_rate: 0.05, gradient_clip: 0.5}
  adam: {learning_rate: 0.001}
observables:
  trajectory_points: 5
  observation_batch: 16
  conditions: {unit_fractions: [1.0, 0.25], noise_levels: [0.0, 0.5]}
distributed: {threads_per_rank: 1}
analysis:
  sweep_splits: 30
  sweep_forest: {n_estimators: 50, max_features: sqrt}
""")
camp = os.path.join(TMP, "c.h5")
run(["train", JOB, "--out", camp, "-q"], np_=2)
out = os.path.join(TMP, "res")
feats = os.path.join(TMP, "X.h5")
run(["analyze", camp, "--sweeps", "identifiability", "--no-plots", "-q", "--out", out, "--export-features", feats], np_=2)

with h5py.File(os.path.join(out, "results.h5"), "r") as f:
    g = f["identifiability"]
    rules = [x.decode() for x in g["rules"][:]]
    classes = [x.decode() for x in g["observable_class"][:]]
    conds = [x.decode() for x in g["condition"][:]]
    splits = [x.decode() for x in g["split"][:]]
    lrid_acc = g["accuracy_mean"][:]
check(rules == ["sgdm", "adam", "fa", "ia"], f"the matrix covers the four rules ({rules})")
check(conds[0] == "ideal" and conds[1] == "f0.25_s0.5", f"ideal and the worst condition ({conds})")
check(classes == ["weight", "act", "gradavg", "all"], f"every observable class and all ({classes})")
check(splits == ["samples", "networks"], f"both kinds of splits ({splits})")
with h5py.File(feats, "r") as f:
    X, y, run_id = f["X"][:], f["y"][:], f["run"][:]
    classes_f = [x.decode() if isinstance(x, bytes) else str(x) for x in f["classes"][:]]
check(classes_f == rules, "exported classes in the matrix's order")

from sklearn.ensemble import RandomForestClassifier  # noqa: E402

rng = np.random.default_rng(11)


def sample_split(rows, labels):
    train, test = [], []
    for c in np.unique(labels):
        r = rows[labels == c].copy()
        rng.shuffle(r)
        k = int(np.floor(0.75 * len(r) + 0.5))
        train += list(r[:k])
        test += list(r[k:])
    return np.array(train), np.array(test)


def network_split(rows, labels):
    train, test = [], []
    for c in np.unique(labels):
        nets = np.unique(run_id[rows[labels == c]])
        rng.shuffle(nets)
        k = int(np.floor(0.75 * len(nets) + 0.5))
        keep = set(nets[:k].tolist())
        for r in rows[labels == c]:
            (train if run_id[r] in keep else test).append(r)
    return np.array(train), np.array(test)


o = classes.index("all")
worst = 0.0
for i in range(len(rules)):
    for j in range(i + 1, len(rules)):
        rows = np.where((y == i) | (y == j))[0]
        for s, splitter in enumerate((sample_split, network_split)):
            acc = []
            for k in range(60):
                tr, te = splitter(rows, y[rows])
                clf = RandomForestClassifier(n_estimators=50, max_features="sqrt", random_state=k, n_jobs=2)
                clf.fit(X[tr], y[tr])
                acc.append(float(np.mean(clf.predict(X[te]) == y[te])))
            ours, theirs = float(lrid_acc[0, s, o, i, j]), float(np.mean(acc))
            worst = max(worst, abs(ours - theirs))
            check(abs(ours - theirs) <= TOL,
                  f"{rules[i]}<->{rules[j]} ({splits[s]}): lrid {ours:.3f}, scikit-learn {theirs:.3f} (within {TOL})")
            check(abs(lrid_acc[0, s, o, i, j] - lrid_acc[0, s, o, j, i]) == 0, "the matrix is symmetric")
print(f"largest difference {worst:.3f}")
finish()
