#!/usr/bin/python3
"""Plots of an lrid analysis (results.h5, format lrid-results-2, written by `lrid analyze`).

Draws PNGs with matplotlib (Debian's python3-h5py and python3-matplotlib) into OUT_DIR
(default: the directory of results.h5):
  main_accuracy.png                    accuracy per observable class and classifier
  confusion_<class>_<classifier>.png   confusion matrices of the main table (numbers in cells)
  observables.png                      the paper's Figure 1: observable trajectories per rule
  training.png                         training loss per rule and task
  alignment.png                        learning-rule diagnostics: W-B angle, update angle
  measurement_units.png                accuracy vs units recorded, experimental ranges marked
  measurement_noise.png                accuracy vs measurement noise
  trajectory.png                       accuracy vs trajectory points: window vs spread vs random
  holdout.png                          held-out architectures and tasks, transfer matrix
  importance.png                       top feature importances (statistic@point)
Exit codes: 0 done, 2 not a results file (one line), 1 anything else.
"""
import argparse
import json
import os
import sys

FORMAT = "lrid-results-2"
# Experimental ranges (paper, Discussion): electrophysiology records several hundred units,
# imaging hundreds to thousands of synapses.
EPHYS_UNITS = (100, 1000)
IMAGING_SYNAPSES = (100, 5000)
# Each rule's colour, from results.h5 (/classes' "colors" attribute, written from the rule's
# definition in lrid's registry, src/config/rules/); a rule without one gets matplotlib's next.
RULE_COLORS = {}


def rule_colors(f, classes):
    colors = s(f["classes"].attrs["colors"]) if "colors" in f["classes"].attrs else []
    cycle = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    out = {}
    for i, c in enumerate(classes):
        given = colors[i] if i < len(colors) else ""
        out[c] = given or cycle[i % len(cycle)]
    return out


def fail(msg):
    print(f"plot_results: {msg}", file=sys.stderr)
    sys.exit(2)


def s(x):
    return [v.decode() if isinstance(v, bytes) else str(v) for v in x]


def attr(f, name, default=None):
    v = f.attrs.get(name, default)
    return v.decode() if isinstance(v, bytes) else v


def annotate(ax, mat, fmt="{:.2f}"):
    for (i, j), v in np.ndenumerate(mat):
        if np.isfinite(v):
            ax.text(j, i, fmt.format(v), ha="center", va="center", fontsize=7,
                    color="white" if v > 0.6 * np.nanmax(mat) else "black")


def main_accuracy(f, out, settings, classes):
    g = f["main"]
    cls, clf = s(g["observable_class"][:]), s(g["classifier"][:])
    m, e = g["accuracy_mean"][:], g["accuracy_sem"][:]
    rows, cols = list(dict.fromkeys(cls)), list(dict.fromkeys(clf))
    fig, ax = plt.subplots(figsize=(1.6 + 1.4 * len(rows), 3.6))
    w = 0.8 / len(cols)
    for j, c in enumerate(cols):
        xs = [rows.index(r) + j * w for r, cc in zip(cls, clf) if cc == c]
        ys = [mm for mm, cc in zip(m, clf) if cc == c]
        es = [ee for ee, cc in zip(e, clf) if cc == c]
        ax.bar(xs, ys, w, yerr=es, label=c)
    ax.axhline(1 / len(classes), color="k", ls=":", lw=1, label="chance")
    ax.set_xticks([i + 0.4 - w / 2 for i in range(len(rows))], rows)
    ax.set_ylim(0, 1)
    ax.set_ylabel("test accuracy")
    ax.legend(fontsize=7)
    ax.set_title(f"Learning rule identification (mean ± s.e.m., {settings.get('splits')} splits)", fontsize=9)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "main_accuracy.png"), dpi=120)
    plt.close(fig)
    made = ["main_accuracy.png"]
    for r, c in zip(cls, clf):
        name = f"{r}_{c}"
        cm = f[f"main/{name}/confusion_mean"][:]
        fig, ax = plt.subplots(figsize=(3.4, 3.0))
        im = ax.imshow(cm, vmin=0, vmax=1, cmap="Blues")
        annotate(ax, cm)
        ax.set_xticks(range(len(classes)), classes)
        ax.set_yticks(range(len(classes)), classes)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true rule")
        ax.set_title(f"{r}, {c} ({settings.get('splits')} splits)", fontsize=9)
        fig.colorbar(im, fraction=0.046)
        fig.tight_layout()
        fig.savefig(os.path.join(out, f"confusion_{name}.png"), dpi=120)
        plt.close(fig)
        made.append(f"confusion_{name}.png")
    return made


def observables(f, out):
    c = f["curves"]
    if "statistic" not in c:
        return []
    rules = s(c["rule"][:])
    names = list(c["statistic"].keys())
    pts = c["point"][:]
    fig, axes = plt.subplots(1, len(names), figsize=(2.6 * len(names), 2.8), squeeze=False)
    for ax, name in zip(axes[0], names):
        g = c["statistic"][name]
        med, lo, hi = g["median"][:], g["q25"][:], g["q75"][:]
        for i, r in enumerate(rules):
            col = RULE_COLORS.get(r)
            ax.plot(pts, med[i], color=col, label=r)
            ax.fill_between(pts, lo[i], hi[i], color=col, alpha=0.15)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("trajectory point")
        ax.xaxis.get_major_locator().set_params(integer=True)
    axes[0][0].set_ylabel("value / value at point 0\n(median, IQR over layers x runs)")
    axes[0][0].legend(fontsize=7)
    fig.suptitle("Observable trajectories per learning rule (ideal measurement)", fontsize=10)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "observables.png"), dpi=120)
    plt.close(fig)
    return ["observables.png"]


def training(f, out):
    c = f["curves"]
    rules, tasks = s(c["rule"][:]), s(c["loss/task"][:])
    mean, sd = c["loss/mean"][:], c["loss/sd"][:]
    pts = c["point"][:]
    fig, axes = plt.subplots(1, len(tasks), figsize=(3.0 * len(tasks), 2.8), squeeze=False)
    for k, (ax, t) in enumerate(zip(axes[0], tasks)):
        for i, r in enumerate(rules):
            m, e = mean[i, k], np.nan_to_num(sd[i, k])
            ax.plot(pts, m, color=RULE_COLORS.get(r), label=r)
            ax.fill_between(pts, m - e, m + e, color=RULE_COLORS.get(r), alpha=0.15)
        ax.set_title(t, fontsize=9)
        ax.set_xlabel("trajectory point")
        ax.xaxis.get_major_locator().set_params(integer=True)
    axes[0][0].set_ylabel("training loss (mean ± sd over runs)")
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "training.png"), dpi=120)
    plt.close(fig)
    return ["training.png"]


def alignment(f, out):
    c = f["curves"]
    rules, pts = s(c["rule"][:]), c["point"][:]
    fig, axes = plt.subplots(1, 2, figsize=(7.0, 2.9))
    for ax, name, title in ((axes[0], "wb_angle", "angle(W, B)"),
                            (axes[1], "grad_angle", "angle(rule's dW, backprop's dW)")):
        m, e = c[f"{name}/mean"][:], np.nan_to_num(c[f"{name}/sd"][:])
        for i, r in enumerate(rules):
            ax.plot(pts, m[i], color=RULE_COLORS.get(r), label=r)
            ax.fill_between(pts, m[i] - e[i], m[i] + e[i], color=RULE_COLORS.get(r), alpha=0.15)
        ax.set_ylim(0, 120)
        ax.axhline(90, color="k", ls=":", lw=1)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("trajectory point")
        ax.set_ylabel("degrees (mean ± sd over layers x runs)")
        ax.xaxis.get_major_locator().set_params(integer=True)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "alignment.png"), dpi=120)
    plt.close(fig)
    return ["alignment.png"]


def measurement(f, out, settings, classes):
    g = f["measurement"]
    conds, frac, noise = s(g["condition"][:]), g["fraction"][:], g["noise"][:]
    act_units, synapses = g["act_units"][:], g["weight_entries"][:]
    obs = s(g["observable_class"][:])
    m, e = g["accuracy_mean"][:], g["accuracy_sem"][:]
    title = f"forest {settings['sweep_forest']['n_estimators']} trees, {settings.get('sweep_splits')} splits"
    made = []
    # Accuracy vs the number of units recorded (weights: synapses), one line per noise level.
    fig, axes = plt.subplots(1, len(obs), figsize=(3.0 * len(obs), 2.9), squeeze=False)
    for k, (ax, o) in enumerate(zip(axes[0], obs)):
        units = synapses if o == "weight" else act_units
        for sig in sorted(set(noise)):
            idx = [i for i in range(len(conds)) if noise[i] == sig and np.isfinite(units[i])]
            idx.sort(key=lambda i: units[i])
            if idx:
                ax.errorbar([units[i] for i in idx], [m[i, k] for i in idx], yerr=[e[i, k] for i in idx],
                            marker="o", ms=3, label=f"noise {sig:g}")
        lo, hi = IMAGING_SYNAPSES if o == "weight" else EPHYS_UNITS
        ax.axvspan(lo, hi, color="grey", alpha=0.15,
                   label="imaging: 100s-1000s of synapses" if o == "weight" else "ephys: several 100 units")
        ax.set_xscale("log")
        ax.set_ylim(0, 1)
        ax.axhline(1 / len(classes), color="k", ls=":", lw=1)
        ax.set_xlabel("synapses recorded" if o == "weight" else "units recorded")
        ax.set_title(o, fontsize=9)
        ax.legend(fontsize=6)
    axes[0][0].set_ylabel("test accuracy")
    fig.suptitle("Unit subsampling (" + title + ")", fontsize=9)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "measurement_units.png"), dpi=120)
    plt.close(fig)
    made.append("measurement_units.png")
    fig, ax = plt.subplots(figsize=(3.8, 3.0))
    full = [i for i in range(len(conds)) if frac[i] == 1 and g["units"][i] == 0]
    full.sort(key=lambda i: noise[i])
    for k, o in enumerate(obs):
        ax.errorbar([noise[i] for i in full], [m[i, k] for i in full], yerr=[e[i, k] for i in full], marker="o",
                    ms=3, label=o)
    ax.set_ylim(0, 1)
    ax.axhline(1 / len(classes), color="k", ls=":", lw=1)
    ax.set_xlabel("noise standard deviation (all units)")
    ax.set_ylabel("test accuracy")
    ax.set_title("Measurement noise (" + title + ")", fontsize=8)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "measurement_noise.png"), dpi=120)
    plt.close(fig)
    made.append("measurement_noise.png")
    return made


def trajectory(f, out, settings, classes):
    g = f["trajectory"]
    fig, ax = plt.subplots(figsize=(4.4, 3.0))
    for kind, label in (("window", "dense window (mean over positions)"), ("spread", "spread across training"),
                        ("random", "random points (mean over draws)")):
        if kind not in g:
            continue
        k, acc = g[kind]["k"][:], g[kind]["accuracy_mean"][:]
        ks = sorted(set(k))
        ax.plot(ks, [acc[k == x].mean() for x in ks], marker="o", ms=3, label=label)
    ax.axhline(1 / len(classes), color="k", ls=":", lw=1)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_xlabel("trajectory points measured (k)")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1)
    ax.set_title(f"Trajectory undersampling (forest {settings['sweep_forest']['n_estimators']} trees, "
                 f"{settings.get('sweep_splits')} splits)", fontsize=8)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "trajectory.png"), dpi=120)
    plt.close(fig)
    return ["trajectory.png"]


def holdout(f, out, settings, classes):
    g = f["holdout"]
    kinds = [k for k in ("architecture", "task") if k in g]
    n = len(kinds) + ("transfer" in g)
    fig, axes = plt.subplots(1, n, figsize=(3.4 * n, 3.2), squeeze=False)
    for ax, kind in zip(axes[0], kinds):
        held, m, e = s(g[kind]["held_out"][:]), g[kind]["accuracy_mean"][:], g[kind]["accuracy_sem"][:]
        ax.bar(range(len(held)), m, yerr=e)
        ax.set_xticks(range(len(held)), held, rotation=30, ha="right", fontsize=7)
        ax.axhline(1 / len(classes), color="k", ls=":", lw=1)
        ax.set_ylim(0, 1)
        ax.set_title(f"held-out {kind}s (forest, {settings.get('sweep_splits')} seeds)", fontsize=8)
    if "transfer" in g:
        ax = axes[0][-1]
        tasks, acc = s(g["transfer/tasks"][:]), g["transfer/accuracy_mean"][:]
        ax.imshow(acc, vmin=0, vmax=1, cmap="Blues")
        annotate(ax, acc)
        ax.set_xticks(range(len(tasks)), tasks, rotation=30, ha="right", fontsize=7)
        ax.set_yticks(range(len(tasks)), tasks, fontsize=7)
        ax.set_xlabel("tested on")
        ax.set_ylabel("trained on")
        ax.set_title("task transfer", fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "holdout.png"), dpi=120)
    plt.close(fig)
    return ["holdout.png"]


def importance(f, out, points):
    names, imp = s(f["importance/feature"][:]), f["importance/importance"][:]
    fig, ax = plt.subplots(figsize=(5.0, 0.25 * len(names) + 1.4))
    ax.barh(range(len(names))[::-1], imp)
    ax.set_yticks(range(len(names))[::-1], names, fontsize=7)
    ax.set_xlabel("mean decrease in impurity")
    ax.set_title("Top features (all statistics, forest)", fontsize=9)
    fig.text(0.01, 0.01, f"statistic@p: the statistic at trajectory point p (0 = initialisation, {points - 1} = end); "
             "depth_*: the layer's depth category", fontsize=6)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    fig.savefig(os.path.join(out, "importance.png"), dpi=120)
    plt.close(fig)
    return ["importance.png"]


def identifiability(f, out):
    """identifiability.png: the pairwise matrices (networks held out) of each observable class under
    the ideal and the worst condition; dendrogram.png: the rules grouped by how often they are confused."""
    g = f["identifiability"]
    rules, classes = list(s(g["rules"][:])), list(s(g["observable_class"][:]))
    conds, splits = list(s(g["condition"][:])), list(s(g["split"][:]))
    sp = splits.index("networks") if "networks" in splits else 0
    acc = g["accuracy_mean"][:]
    R = len(rules)
    # Panels grow with the number of rules so that every cell keeps room for its figure; with more
    # than five rules the cells print ".93" instead of "0.93".
    side = max(2.6, 0.42 * R + 0.4)
    fig, axes = plt.subplots(len(conds), len(classes), figsize=(side * len(classes) + 0.8, side * len(conds) + 0.4),
                             squeeze=False)
    for k, cond in enumerate(conds):
        for o, cls in enumerate(classes):
            ax = axes[k][o]
            m = np.array(acc[k, sp, o], dtype=float)
            im = ax.imshow(m, vmin=0.5, vmax=1.0, cmap="viridis")
            for i in range(R):
                for j in range(R):
                    if i != j and np.isfinite(m[i, j]):
                        label = f"{m[i, j]:.2f}"
                        ax.text(j, i, label[1:] if R > 5 and label.startswith("0") else label, ha="center",
                                va="center", fontsize=6,
                                color="w" if m[i, j] < 0.8 else "k")
            ax.set_xticks(range(R), rules, fontsize=7, rotation=90)
            ax.set_yticks(range(R), rules, fontsize=7)
            ax.set_title(f"{cls}, {cond}", fontsize=8)
    fig.colorbar(im, ax=axes, shrink=0.6, label="pairwise accuracy (chance 0.5)")
    fig.suptitle(f"Which rules can be told apart: the forest on each pair ({splits[sp]} splits)", fontsize=10)
    fig.savefig(os.path.join(out, "identifiability.png"), dpi=120, bbox_inches="tight")
    plt.close(fig)
    made = ["identifiability.png"]
    if "dendrogram/left" in g and len(g["dendrogram/left"]) == R - 1 and R > 1:
        left, right, height = g["dendrogram/left"][:], g["dendrogram/right"][:], g["dendrogram/height"][:]
        order = list(g["dendrogram/order"][:])
        x = {int(leaf): float(i) for i, leaf in enumerate(order)}
        y = {int(leaf): 0.0 for leaf in order}
        fig, ax = plt.subplots(figsize=(max(0.6 * R + 2.0, 6.0), 3.2))
        for m_, (a_, b_, h) in enumerate(zip(left, right, height)):
            a_, b_ = int(a_), int(b_)
            ax.plot([x[a_], x[a_], x[b_], x[b_]], [y[a_], h, h, y[b_]], color="k", lw=1)
            x[R + m_], y[R + m_] = 0.5 * (x[a_] + x[b_]), float(h)
        ax.set_xticks(range(R), [rules[int(i)] for i in order])
        for lab in ax.get_xticklabels():
            lab.set_color(RULE_COLORS.get(lab.get_text(), "k"))
        ax.set_ylabel("separability 2 acc - 1\n(0: no better than chance)")
        dist = g["dendrogram"].attrs.get("distance", b"")
        ax.set_title("Rules grouped by how often the forest confuses them", fontsize=9)
        import textwrap
        ax.text(0.0, -0.3, textwrap.fill("distance: " + (dist.decode() if isinstance(dist, bytes) else str(dist)), 110),
                transform=ax.transAxes, fontsize=6, va="top")
        ax.set_ylim(0, max(1.0, float(np.nanmax(height)) * 1.05 if len(height) else 1.0))
        fig.tight_layout()
        fig.savefig(os.path.join(out, "dendrogram.png"), dpi=120)
        plt.close(fig)
        made.append("dendrogram.png")
    return made


def disk_full(out):
    try:
        st = os.statvfs(out)
        return st.f_bavail * st.f_frsize < (1 << 20)
    except OSError:
        return False


def draw(f, out):
    """Every plot the results file has the data for; returns the names of the files written."""
    settings = json.loads(attr(f, "settings", "{}"))
    if not isinstance(settings, dict):
        raise ValueError("attribute settings is not a JSON object")
    classes = s(f["classes"][:])
    RULE_COLORS.update(rule_colors(f, classes))
    made = []
    if "main" in f:
        made += main_accuracy(f, out, settings, classes)
    if "curves" in f:
        made += observables(f, out) + training(f, out) + alignment(f, out)
    if "measurement" in f:
        made += measurement(f, out, settings, classes)
    if "trajectory" in f:
        made += trajectory(f, out, settings, classes)
    if "holdout" in f:
        made += holdout(f, out, settings, classes)
    if "importance" in f:
        made += importance(f, out, int(f.attrs["points"]))
    if "identifiability" in f:
        made += identifiability(f, out)
    return made


def main():
    ap = argparse.ArgumentParser(description="Draw the plots of an lrid analysis from its results.h5.")
    ap.add_argument("results", help="results.h5 written by lrid analyze")
    ap.add_argument("out_dir", nargs="?", help="where to write the PNGs (default: next to results.h5)")
    a = ap.parse_args()
    if not os.path.exists(a.results):
        fail(f"{a.results}: no such file")
    try:
        f = h5py.File(a.results, "r")
    except OSError:
        fail(f"{a.results}: not an HDF5 file (expected results.h5 from lrid analyze)")
    fmt = attr(f, "format", "")
    if fmt != FORMAT:
        fail(f"{a.results}: not an lrid results file (format '{fmt}', expected '{FORMAT}'; "
             "a campaign file is plotted by analysing it first: lrid analyze CAMPAIGN.h5 --out DIR)")
    out = a.out_dir or os.path.dirname(a.results) or "."
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as e:
        fail(f"{out}: cannot create the output directory ({e.strerror})")
    # One line and exit 2 for what can go wrong with the user's files: a damaged results file
    # (a missing dataset or attribute, bad settings) or an output that cannot be written (a full
    # disk); no traceback.
    try:
        made = draw(f, out)
    except OSError as e:
        if e.errno is not None or disk_full(out):  # a system call failed: the output
            fail(f"{out}: cannot write the plots ({e.strerror or e})")
        fail(f"{a.results}: damaged or incomplete results file ({str(e).splitlines()[0] if str(e) else 'OSError'})")
    except (KeyError, ValueError, IndexError, TypeError, StopIteration, AttributeError) as e:
        if disk_full(out):  # Pillow fails on a full disk with other errors than OSError
            fail(f"{out}: cannot write the plots (no space left on the device)")
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        fail(f"{a.results}: damaged or incomplete results file ({msg})")
    print(f"plot_results: wrote {', '.join(made)} to {out}")


try:
    import h5py
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: E402
    import numpy as np  # noqa: E402
except ImportError as e:  # pragma: no cover
    fail(f"needs h5py, numpy and matplotlib ({e}); apt-get install python3-h5py python3-matplotlib")

if __name__ == "__main__":
    main()
