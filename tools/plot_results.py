#!/usr/bin/python3
"""Plots of an lrid analysis: tools/plot_results.py results/results.h5 [OUT_DIR]

Reads results.h5 (written by `lrid analyze`) with h5py and draws PNGs with matplotlib (Debian's
python3-h5py and python3-matplotlib):
  confusion_<class>_<classifier>.png   confusion matrices of the main table
  main_accuracy.png                    accuracy per observable class and classifier
  measurement_units.png / _noise.png   accuracy vs unit fraction / noise per observable class
  trajectory.png                       accuracy vs trajectory points: window vs spread vs random
  holdout.png                          held-out architectures and tasks, transfer matrix
  importance.png                       top feature importances
"""
import os
import sys

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def s(x):
    return [v.decode() if isinstance(v, bytes) else str(v) for v in x]


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: plot_results.py results.h5 [OUT_DIR]")
    path = sys.argv[1]
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.dirname(path) or "."
    f = h5py.File(path, "r")
    classes = s(f.attrs["classes"])
    made = []

    if "main" in f:
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
        ax.set_title("Learning rule identification")
        fig.tight_layout()
        fig.savefig(os.path.join(out, "main_accuracy.png"), dpi=120)
        made.append("main_accuracy.png")
        plt.close(fig)
        for r, c in zip(cls, clf):
            name = f"{r}_{c}"
            if name not in g:
                continue
            cm = g[name]["confusion_mean"][:]
            fig, ax = plt.subplots(figsize=(3.6, 3.2))
            im = ax.imshow(cm, vmin=0, vmax=1, cmap="Blues")
            for i in range(cm.shape[0]):
                for k in range(cm.shape[1]):
                    ax.text(k, i, f"{cm[i, k]:.2f}", ha="center", va="center", fontsize=8,
                            color="white" if cm[i, k] > 0.5 else "black")
            ax.set_xticks(range(len(classes)), classes)
            ax.set_yticks(range(len(classes)), classes)
            ax.set_xlabel("predicted")
            ax.set_ylabel("true")
            ax.set_title(f"{r} / {c}", fontsize=9)
            fig.colorbar(im, ax=ax, fraction=0.046)
            fig.tight_layout()
            fig.savefig(os.path.join(out, f"confusion_{name}.png"), dpi=120)
            made.append(f"confusion_{name}.png")
            plt.close(fig)

    if "measurement" in f:
        g = f["measurement"]
        frac, noise = g["fraction"][:], g["noise"][:]
        m, e = g["accuracy_mean"][:], g["accuracy_sem"][:]
        obs = s(g["observable_class"][:])
        for what, x, fixed, fixed_val, fname in (
                ("unit fraction", frac, noise, 0.0, "measurement_units.png"),
                ("noise sigma", noise, frac, 1.0, "measurement_noise.png")):
            sel = np.where(np.isclose(fixed, fixed_val))[0]
            if len(sel) < 2:
                continue
            sel = sel[np.argsort(x[sel])]
            fig, ax = plt.subplots(figsize=(4.2, 3.2))
            for k, o in enumerate(obs):
                ax.errorbar(x[sel], m[sel, k], yerr=e[sel, k], marker="o", label=o)
            if what == "unit fraction":
                ax.set_xscale("log")
            ax.axhline(1 / len(classes), color="k", ls=":", lw=1)
            ax.set_xlabel(what)
            ax.set_ylabel("test accuracy")
            ax.set_ylim(0, 1)
            ax.legend(fontsize=7)
            fig.tight_layout()
            fig.savefig(os.path.join(out, fname), dpi=120)
            made.append(fname)
            plt.close(fig)

    if "trajectory" in f:
        g = f["trajectory"]
        fig, ax = plt.subplots(figsize=(4.6, 3.2))
        for kind in ("window", "spread", "random"):
            if kind not in g:
                continue
            k, m = g[kind]["k"][:], g[kind]["accuracy_mean"][:]
            ks = np.unique(k)
            mean = [m[k == v].mean() for v in ks]
            label = "dense window (mean over positions)" if kind == "window" else kind
            ax.plot(ks, mean, marker="o", ms=3, label=label)
        ax.axhline(1 / len(classes), color="k", ls=":", lw=1)
        ax.set_xlabel("trajectory points kept (k)")
        ax.set_ylabel("test accuracy")
        ax.set_ylim(0, 1)
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(os.path.join(out, "trajectory.png"), dpi=120)
        made.append("trajectory.png")
        plt.close(fig)

    if "holdout" in f:
        g = f["holdout"]
        panels = [k for k in ("architecture", "task", "transfer") if k in g]
        fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3.4), squeeze=False)
        for ax, p in zip(axes[0], panels):
            if p == "transfer":
                t, a = s(g[p]["tasks"][:]), g[p]["accuracy"][:]
                im = ax.imshow(a, vmin=0, vmax=1, cmap="viridis")
                ax.set_xticks(range(len(t)), t, rotation=30, ha="right", fontsize=7)
                ax.set_yticks(range(len(t)), t, fontsize=7)
                ax.set_xlabel("tested on")
                ax.set_ylabel("trained on")
                fig.colorbar(im, ax=ax, fraction=0.046)
            else:
                names, a = s(g[p]["held_out"][:]), g[p]["accuracy"][:]
                ax.bar(range(len(a)), a)
                ax.set_xticks(range(len(a)), names, rotation=30, ha="right", fontsize=7)
                ax.axhline(1 / len(classes), color="k", ls=":", lw=1)
                ax.set_ylim(0, 1)
                ax.set_ylabel("test accuracy")
            ax.set_title(f"held-out {p}" if p != "transfer" else "task transfer", fontsize=9)
        fig.tight_layout()
        fig.savefig(os.path.join(out, "holdout.png"), dpi=120)
        made.append("holdout.png")
        plt.close(fig)

    if "importance" in f:
        g = f["importance"]
        names, v = s(g["feature"][:]), g["importance"][:]
        fig, ax = plt.subplots(figsize=(5, 0.25 * len(v) + 1))
        ax.barh(range(len(v))[::-1], v)
        ax.set_yticks(range(len(v))[::-1], names, fontsize=7)
        ax.set_xlabel("mean decrease in impurity")
        fig.tight_layout()
        fig.savefig(os.path.join(out, "importance.png"), dpi=120)
        made.append("importance.png")
        plt.close(fig)

    print("plot_results: wrote " + ", ".join(made) + " to " + out)


if __name__ == "__main__":
    main()
