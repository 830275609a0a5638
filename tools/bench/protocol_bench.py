"""Benchmark helper for tools/bench/protocol.sh: the paper's full evaluation protocol for the
random forest (10 balanced 75/25 splits x stratified 5-fold CV over the 15-point grid
max_features {sqrt, log2, all} x n_estimators {20, 50, 100, 500, 1000}, refit on the training
part, test accuracy) on the quickstart's features: `lrid analyze` under `mpirun -np RANKS` vs
scikit-learn's GridSearchCV with n_jobs=N_JOBS, measured in the same run.
Target (issue 6): lrid at least 4x faster.

Campaign. `lrid analyze` takes its grid from the job's `analysis` section stored in the campaign
file (it has no grid option), and the quickstart job has a reduced grid. Without --campaign this
script writes WORKDIR/job.yaml = jobs/quickstart.yaml with only the line
`analysis.random_forest` replaced by the paper's grid, and trains it into WORKDIR/campaign.h5
under `mpirun -np RANKS lrid train` (or `--resume` when that file exists; nothing to do when it is
complete). The analysis section is not part of a run's hash, so these are the quickstart's runs.
A given --campaign must store the full 15-point forest grid (checked) and have every run done.

lrid. One `lrid analyze CAMPAIGN --classifiers random_forest --sweeps observable_class
--statistics STATS --export-features ...` run: one evaluation per observable class present in
STATS (weight, act, gradavg) plus `all` when there are several (STATS=admissible: four
evaluations; STATS=admissible_act: one). Time = wall time of the whole `mpirun` command
(MPI start, reading the campaign, building the features, the protocol, writing results.h5), the
slowest of --lrid-rounds runs (one before scikit-learn, one after, by default), so a load spike
during one lrid run counts against lrid. lrid's own "fits in X s" figure is printed too.
Note: lrid scores every n_estimators of one max_features with one fit of the 1000-tree forest
per fold (the first m trees of a forest are the m-tree forest), so its CV costs 3 fits per fold.

scikit-learn. The same feature sets, built from the exported features (X, y, feature_names)
by column-name prefix exactly as lrid builds them: the statistics of a class are the columns
whose name starts with weight / act / gradavg, plus the three depth one-hot columns; `all` is
every column. For each set: 10 splits from StratifiedShuffleSplit(test_size=0.25,
random_state=SEED) (scikit-learn's own stratified splits, not lrid's: same sizes per class, other
rows), StandardScaler fitted on the training part, GridSearchCV(RandomForestClassifier(
random_state=split), the 15-point grid with max_features 'all' = None,
cv=StratifiedKFold(5, shuffle=True, random_state=split), n_jobs=N_JOBS, refit=True), test
accuracy of the refit model. Time = wall time of these loops over all sets (data already
loaded, imports done: nothing of Python's start-up is charged to scikit-learn).

Accuracies: mean ± s.e.m. over the 10 splits for both; they should agree within noise
(different splits and seeds), reported as the difference in units of the combined s.e.m.
"""
import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
import time

import h5py
import numpy as np

PAPER_N_ESTIMATORS = [20, 50, 100, 500, 1000]
PAPER_MAX_FEATURES = ["sqrt", "log2", "all"]
GRID_LINE = "  random_forest: {n_estimators: [20, 50, 100, 500, 1000], max_features: [sqrt, log2, all]}"
OBS_CLASSES = ["weight", "act", "gradavg"]
DEPTH_COLUMNS = ["depth_early", "depth_middle", "depth_deep"]


def log(msg):
    print(msg, flush=True)


def mpirun(ranks):
    cmd = ["mpirun", "-np", str(ranks), "--oversubscribe"]
    if os.geteuid() == 0:
        cmd.insert(1, "--allow-run-as-root")
    return cmd


def decode(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def write_job(root, path):
    text = open(os.path.join(root, "jobs", "quickstart.yaml")).read()
    new, n = re.subn(r"^  random_forest: \{.*\}$", GRID_LINE, text, flags=re.M)
    if n != 1:
        sys.exit("protocol_bench: jobs/quickstart.yaml has no single 'analysis.random_forest: {...}' line to replace")
    with open(path, "w") as f:
        f.write("# jobs/quickstart.yaml with the paper's full forest grid (tools/bench/protocol.sh)\n" + new)


def stored_forest_grid(campaign):
    """The forest grid `lrid analyze` will use: the job's analysis.random_forest, with lrid's
    defaults (the paper's grid) for what the job leaves out."""
    import yaml
    with h5py.File(campaign, "r") as f:
        job = yaml.safe_load(decode(f.attrs["job_yaml"]))
        status = f["runs"]["status"][...] if "status" in f["runs"] else None
    rf = ((job or {}).get("analysis") or {}).get("random_forest") or {}
    n_est = [int(x) for x in rf.get("n_estimators", PAPER_N_ESTIMATORS)]
    mf = [str(x) for x in rf.get("max_features", PAPER_MAX_FEATURES)]
    return n_est, mf, status


def run_lrid(lrid, campaign, ranks, stats, out_dir, features):
    if os.path.exists(out_dir):
        shutil.rmtree(out_dir)
    cmd = mpirun(ranks) + [lrid, "analyze", campaign, "--out", out_dir, "--classifiers", "random_forest",
                           "--sweeps", "observable_class", "--statistics", stats,
                           "--export-features", features, "--no-plots", "-q"]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"protocol_bench: {' '.join(cmd)} failed ({p.returncode}):\n{p.stdout}")
    m = re.search(r"(\d+) fits in ([0-9.]+) s", p.stdout)
    own = (int(m.group(1)), float(m.group(2))) if m else (None, None)
    return wall, own, " ".join(cmd), p.stdout


def lrid_results(out_dir):
    res = {}
    with h5py.File(os.path.join(out_dir, "results.h5"), "r") as f:
        g = f["main"]
        classes = [decode(x) for x in g["observable_class"][...]]
        clfs = [decode(x) for x in g["classifier"][...]]
        params = [json.loads(decode(x)) for x in g["chosen_params"][...]]
        for i, (cls, clf) in enumerate(zip(classes, clfs)):
            per_split = g[f"{cls}_{clf}"]["accuracy_per_split"][...]
            res[cls] = {"accuracy": per_split, "params": params[i]}
    return res


def feature_sets(features, wanted):
    with h5py.File(features, "r") as f:
        X = f["X"][...].astype(np.float64)
        y = f["y"][...].astype(np.int64)
        names = [decode(x) for x in f["feature_names"][...]]
    stat = [n.split("@")[0] if "@" in n else None for n in names]
    depth = [i for i, n in enumerate(names) if n in DEPTH_COLUMNS]

    def cls_of(s):
        for c in OBS_CLASSES:  # lrid's stat_class(): the first prefix that matches, in this order
            if s is not None and s.startswith(c):
                return c
        return None

    sets = {}
    for c in wanted:
        if c == "all":
            cols = list(range(len(names)))
        else:
            cols = [i for i, s in enumerate(stat) if cls_of(s) == c] + depth
        sets[c] = cols
    return X, y, names, sets


def sklearn_protocol(X, y, splits, folds, n_jobs, seed):
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.model_selection import GridSearchCV, StratifiedKFold, StratifiedShuffleSplit
    from sklearn.preprocessing import StandardScaler

    grid = {"max_features": ["sqrt", "log2", None], "n_estimators": PAPER_N_ESTIMATORS}
    sss = StratifiedShuffleSplit(n_splits=splits, test_size=0.25, random_state=seed)
    accs, chosen = [], []
    for s, (tr, te) in enumerate(sss.split(X, y)):
        scaler = StandardScaler().fit(X[tr])
        Xtr, Xte = scaler.transform(X[tr]), scaler.transform(X[te])
        gs = GridSearchCV(RandomForestClassifier(random_state=s), grid,
                          cv=StratifiedKFold(folds, shuffle=True, random_state=s),
                          n_jobs=n_jobs, refit=True)
        gs.fit(Xtr, y[tr])
        accs.append(float(gs.score(Xte, y[te])))
        chosen.append(gs.best_params_)
    return np.array(accs), chosen


def mean_sem(a):
    a = np.asarray(a, dtype=float)
    return float(a.mean()), (float(a.std(ddof=1) / math.sqrt(len(a))) if len(a) > 1 else 0.0)


def short(p):
    mf = p.get("max_features")
    mf = "all" if mf is None else mf
    return f"{mf}/{p.get('n_estimators')}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lrid", required=True)
    ap.add_argument("--root", required=True, help="the repository (for jobs/quickstart.yaml)")
    ap.add_argument("--campaign", help="a campaign with the full forest grid (default: train one in WORKDIR)")
    ap.add_argument("--workdir", default="/tmp/lrid-protocol-bench")
    ap.add_argument("--statistics", default="admissible",
                    help="lrid --statistics (admissible: weight/act/gradavg/all; admissible_act: one set)")
    ap.add_argument("--ranks", type=int, default=2)
    ap.add_argument("--n-jobs", type=int, default=2)
    ap.add_argument("--lrid-rounds", type=int, default=2, help="lrid runs (first before, the rest after scikit-learn)")
    ap.add_argument("--seed", type=int, default=0, help="scikit-learn's splits")
    a = ap.parse_args()

    os.makedirs(a.workdir, exist_ok=True)
    campaign = a.campaign
    if campaign and not os.path.isfile(campaign):
        print(f"protocol_bench: --campaign {campaign}: no such file", file=sys.stderr)
        sys.exit(2)
    if not campaign:
        campaign = os.path.join(a.workdir, "campaign.h5")
        job = os.path.join(a.workdir, "job.yaml")
        write_job(a.root, job)
        cmd = mpirun(a.ranks) + [a.lrid, "train", job, "--out", campaign]
        if os.path.exists(campaign):
            cmd.append("--resume")
        log(f"campaign: {' '.join(cmd)}")
        t0 = time.perf_counter()
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if p.returncode != 0:
            sys.exit(f"protocol_bench: training failed ({p.returncode}):\n{p.stdout[-4000:]}")
        log(f"campaign: ready in {time.perf_counter() - t0:.0f} s -> {campaign}")
    n_est, mf, status = stored_forest_grid(campaign)
    if sorted(n_est) != sorted(PAPER_N_ESTIMATORS) or sorted(mf) != sorted(PAPER_MAX_FEATURES):
        sys.exit(f"protocol_bench: {campaign} stores the forest grid n_estimators={n_est} max_features={mf}, "
                 f"not the paper's 15-point grid; run without --campaign to train one that does")
    if status is not None:
        done = int(np.sum(status == 2))  # store::kDone
        log(f"campaign: {campaign}: {done} of {len(status)} runs done")
        if done != len(status):
            sys.exit(f"protocol_bench: {campaign} has runs not done; finish it (lrid train ... --resume) first")
    log(f"forest grid (stored in the campaign): max_features {mf} x n_estimators {n_est} = {len(mf) * len(n_est)} points")

    features = os.path.join(a.workdir, "features.h5")
    out_dir = os.path.join(a.workdir, "lrid-results")
    lrid_walls, lrid_own = [], []

    def lrid_round(k):
        wall, own, cmd, stdout = run_lrid(a.lrid, campaign, a.ranks, a.statistics, out_dir, features)
        if k == 0:
            log(f"lrid: {cmd}")
            for line in stdout.splitlines():
                if "warning" in line:
                    log(f"lrid: {line}")
        lrid_walls.append(wall)
        lrid_own.append(own)
        log(f"lrid round {k + 1}: wall {wall:.1f} s (lrid's own figure: {own[0]} fits in {own[1]} s)")

    lrid_round(0)
    lres = lrid_results(out_dir)
    wanted = list(lres.keys())
    X, y, names, sets = feature_sets(features, wanted)
    log(f"features: {X.shape[0]} samples x {X.shape[1]} columns, {len(np.unique(y))} classes; sets "
        + ", ".join(f"{c} {len(cols)}" for c, cols in sets.items()))

    import sklearn
    sk = {}
    t0 = time.perf_counter()
    for c in wanted:
        t1 = time.perf_counter()
        sk[c] = sklearn_protocol(X[:, sets[c]], y, 10, 5, a.n_jobs, a.seed)
        log(f"scikit-learn {sklearn.__version__} {c}: {time.perf_counter() - t1:.1f} s")
    sk_wall = time.perf_counter() - t0
    for k in range(1, a.lrid_rounds):
        lrid_round(k)

    lrid_wall = max(lrid_walls)
    print()
    print(f"Full protocol ({len(wanted)} evaluation(s): {', '.join(wanted)}; 10 splits x 5-fold CV x 15-point forest grid)")
    print(f"{'set':8} {'lrid accuracy':>16} {'sklearn accuracy':>17} {'diff/sem':>9}   chosen (lrid | sklearn, split 0)")
    for c in wanted:
        lm, ls = mean_sem(lres[c]["accuracy"])
        sm, ss = mean_sem(sk[c][0])
        z = (lm - sm) / math.sqrt(ls ** 2 + ss ** 2) if ls + ss > 0 else 0.0
        print(f"{c:8} {lm:9.3f} ± {ls:.3f} {sm:10.3f} ± {ss:.3f} {z:+9.2f}   "
              f"{short(lres[c]['params'][0])} | {short(sk[c][1][0])}")
    all_l = np.concatenate([lres[c]["accuracy"] for c in wanted])
    all_s = np.concatenate([sk[c][0] for c in wanted])
    print(f"{'mean':8} {all_l.mean():9.3f} {'':7} {all_s.mean():10.3f}")
    print()
    print(f"lrid analyze, mpirun -np {a.ranks}: wall {', '.join(f'{w:.1f}' for w in lrid_walls)} s "
          f"-> {lrid_wall:.1f} s counted (the slowest); lrid's own: "
          + ", ".join(f"{o[1]} s" for o in lrid_own))
    print(f"scikit-learn GridSearchCV n_jobs={a.n_jobs}: {sk_wall:.1f} s")
    ratio = sk_wall / lrid_wall
    print(f"speed-up scikit-learn / lrid: {ratio:.2f}x (target >= 4x: {'met' if ratio >= 4 else 'NOT met'})")


if __name__ == "__main__":
    main()
