"""Parity of lrid's random forest with scikit-learn's RandomForestClassifier.

For a few synthetic feature sets (written to HDF5 with h5py) lrid_forest_tool fits lrid's forest
over ten balanced 75/25 splits and prints, per split, the train/test rows and the test accuracy;
scikit-learn then fits RandomForestClassifier with the same hyperparameters on exactly the same
rows (z-scored with the training statistics, as lrid does) and the mean test accuracies must
agree within 2 percentage points. Both forests are seeded, so the test is deterministic.

usage: forest_sklearn_parity.py --tool PATH [--trees 200] [--tolerance 0.02] [--quick]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np


def datasets(quick):
    from sklearn.datasets import make_classification

    rng = np.random.default_rng(7)
    out = []
    X, y = make_classification(n_samples=400, n_features=507, n_informative=20, n_redundant=20,
                               n_classes=4, n_clusters_per_class=1, class_sep=1.6,
                               random_state=1)
    out.append(("make_classification_400x507", X, y, "sqrt"))
    if not quick:
        X, y = make_classification(n_samples=600, n_features=480, n_informative=10, n_redundant=0,
                                   n_classes=4, n_clusters_per_class=1, class_sep=2.0,
                                   random_state=2)
        out.append(("make_classification_600x480", X, y, "log2"))
        X, y = make_classification(n_samples=300, n_features=60, n_informative=6, n_redundant=6,
                                   n_classes=4, n_clusters_per_class=1, class_sep=1.5,
                                   random_state=3)
        out.append(("make_classification_300x60", X, y, "all"))
    # XOR: the class is the sign pattern of two features (two opposite quadrants per class),
    # plus 4 noise features. Linear models are at chance.
    n = 480
    inf = rng.uniform(-1, 1, size=(n, 2))
    y = ((inf[:, 0] > 0) ^ (inf[:, 1] > 0)).astype(np.int64)
    X = np.concatenate([inf, rng.normal(size=(n, 4))], axis=1)
    X = X[:, rng.permutation(X.shape[1])]
    out.append(("xor_480x6", X, y, "sqrt"))
    return out


def sklearn_accuracy(X, y, splits, trees, max_features, seed):
    from sklearn.ensemble import RandomForestClassifier

    accs = []
    for k, s in enumerate(splits):
        tr, te = np.array(s["train"]), np.array(s["test"])
        mu = X[tr].mean(axis=0)
        sd = X[tr].std(axis=0)
        sd[sd == 0] = 1.0
        Xtr, Xte = (X[tr] - mu) / sd, (X[te] - mu) / sd
        mf = None if max_features == "all" else max_features
        clf = RandomForestClassifier(n_estimators=trees, max_features=mf, random_state=seed + k,
                                     n_jobs=2)
        clf.fit(Xtr, y[tr])
        accs.append(float((clf.predict(Xte) == y[te]).mean()))
    return accs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tool", required=True)
    ap.add_argument("--trees", type=int, default=300)
    ap.add_argument("--tolerance", type=float, default=0.02)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, X, y, max_features in datasets(args.quick):
            path = os.path.join(tmp, name + ".h5")
            with h5py.File(path, "w") as f:
                f["X"] = X.astype(np.float64)
                f["y"] = y.astype(np.int32)
            t0 = time.perf_counter()
            res = subprocess.run([args.tool, path, "--splits", "10", "--seed", "3",
                                  "--trees", str(args.trees), "--max-features", max_features],
                                 capture_output=True, text=True)
            t_lrid = time.perf_counter() - t0
            if res.returncode != 0:
                print(res.stdout, res.stderr)
                failures.append(f"{name}: lrid_forest_tool exited {res.returncode}")
                continue
            out = json.loads(res.stdout)
            splits = out["splits"]
            # The splits must be balanced 75/25 and disjoint.
            for s in splits:
                tr, te = set(s["train"]), set(s["test"])
                if tr & te or len(tr | te) != len(y):
                    failures.append(f"{name}: a split is not a disjoint partition")
                for c in np.unique(y):
                    nc = int((y == c).sum())
                    ntr = sum(1 for i in s["train"] if y[i] == c)
                    if ntr != int(np.floor(0.75 * nc + 0.5)):
                        failures.append(f"{name}: class {c} has {ntr} of {nc} in train")
            lrid_acc = [s["accuracy"] for s in splits]
            t0 = time.perf_counter()
            sk_acc = sklearn_accuracy(X, y, splits, args.trees, max_features, 11)
            t_sk = time.perf_counter() - t0
            a, b = float(np.mean(lrid_acc)), float(np.mean(sk_acc))
            ok = abs(a - b) <= args.tolerance
            print(f"{name:32s} max_features={max_features:5s} trees={args.trees}: "
                  f"lrid {a:.4f} sklearn {b:.4f} diff {a - b:+.4f} "
                  f"(lrid fit {out['fit_seconds_total']:.2f} s, run {t_lrid:.2f} s; "
                  f"sklearn {t_sk:.2f} s) {'ok' if ok else 'FAIL'}")
            if not ok:
                failures.append(f"{name}: mean accuracy lrid {a:.4f} vs sklearn {b:.4f}")
    if failures:
        print("FAILED:\n  " + "\n  ".join(failures))
        return 1
    print("parity ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
