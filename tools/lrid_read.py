#!/usr/bin/env python3
"""Read lrid's campaign files and results in Python (numpy + h5py; pandas when installed).

    import sys; sys.path.insert(0, "tools")        # or copy this one file next to your notebook
    import lrid_read

    t = lrid_read.campaign_table("lrid-quickstart/campaign.h5",
                                 statistics=["actraw_mean", "weightsq_mean"], conditions=["ideal"])
    # t: a tidy table, one row per (run, layer, condition, point, statistic): columns run, rule,
    # task, architecture, batch_size, model_seed, dataset_seed, layer, layer_name, depth,
    # condition, point, step, statistic, value; a pandas DataFrame when pandas is installed,
    # else a dict of equal-length numpy arrays (lrid_read.as_frame(t) converts later).

    r = lrid_read.results("lrid-quickstart/results/results.h5")
    r["main"]        # label, observable_class, classifier, accuracy_mean, accuracy_sem, ...
    r["networks"]    # the same with whole networks held out
    r["identifiability"]  # condition, split, observable_class, rule_a, rule_b, accuracy_mean, accuracy_sem
    r["findings"]    # number, title, verdict, evidence, criterion
    r["predictions"]["all/random_forest"]   # split, run, layer, true, predicted, probability
    r["attrs"]       # lrid_version, settings (the analysis settings, JSON), job_hash, ...

Command line:
    python3 tools/lrid_read.py CAMPAIGN.h5 [--statistics a,b] [--conditions ideal] [--csv OUT.csv]
    python3 tools/lrid_read.py RESULTS.h5            (the main table and the findings)

Only done runs are in the campaign table (done=False adds the others; their values are NaN).
Values are the float32 numbers the recorder stored, widened to float64. Layout of both files:
README "The campaign file" and "The analysis and its results".
"""
import argparse
import json
import os
import sys

import h5py
import numpy as np

DEPTHS = {0: "early", 1: "middle", 2: "deep", -1: ""}


def _strings(a):
    return np.array([x.decode() if isinstance(x, bytes) else str(x) for x in np.asarray(a).ravel()],
                    dtype=object).reshape(np.shape(a))


def _check(f, prefix, path):
    fmt = f.attrs.get("format", "")
    fmt = fmt.decode() if isinstance(fmt, bytes) else str(fmt)
    if not fmt.startswith(prefix):
        raise ValueError(f"{path}: not an lrid {prefix.split('-')[1]} file (format attribute {fmt!r})")
    return fmt


def as_frame(table):
    """A pandas DataFrame of a dict of columns (ImportError when pandas is missing)."""
    import pandas as pd
    return pd.DataFrame(table)


def _maybe_frame(table):
    try:
        return as_frame(table)
    except ImportError:
        return table


def campaign_table(path, statistics=None, conditions=None, points=None, done=True, frame=True):
    """The campaign's observables as a tidy table (see the module's docstring).

    statistics / conditions: names to keep (None: all recorded); points: indices (None: all).
    """
    with h5py.File(path, "r") as f:
        _check(f, "lrid-campaign", path)
        spec = f["runs/spec"][:]
        status = f["runs/status"][:]
        stat_names = list(_strings(f["observables/statistic"][:]))
        cond_names = list(_strings(f["observables/condition"][:]))
        n_layers = f["layers/count"][:]
        layer_names = _strings(f["layers/name"][:])
        depth = f["layers/depth"][:]
        steps = f["runs/steps"][:]
        T = steps.shape[1]
        if f["observables/values"].ndim != 5:
            raise ValueError(f"/observables/values has {f['observables/values'].ndim} dimensions, expected 5 (damaged file)")
        n_axis = f["observables/values"].shape[1]
        if len(n_layers) and (n_layers.min() < 0 or n_layers.max() > n_axis):
            raise ValueError(f"/layers/count holds {int(n_layers.max())}, expected 0..{n_axis} (damaged file)")
        if depth.size and (depth.min() < -1 or depth.max() > 2):
            raise ValueError("/layers/depth holds values outside -1..2 (damaged file)")
        s_idx = list(range(len(stat_names))) if statistics is None else [stat_names.index(s) for s in statistics]
        c_idx = list(range(len(cond_names))) if conditions is None else [cond_names.index(c) for c in conditions]
        t_idx = list(range(T)) if points is None else list(points)
        rows = [r for r in range(len(status)) if status[r] == 2 or not done]
        cols = {k: [] for k in ("run", "rule", "task", "architecture", "batch_size", "model_seed", "dataset_seed",
                                "layer", "layer_name", "depth", "condition", "point", "step", "statistic", "value")}
        values = f["observables/values"]
        S, C, P = len(s_idx), len(c_idx), len(t_idx)
        for r in rows:
            L = int(n_layers[r])
            block = values[r, :L][:, c_idx][:, :, t_idx][:, :, :, s_idx].astype(np.float64)  # [L, C, P, S]
            n = L * C * P * S
            sp = spec[r]
            for k, field in (("rule", "rule"), ("task", "task"), ("architecture", "architecture")):
                v = sp[field]
                cols[k].append(np.full(n, v.decode() if isinstance(v, bytes) else v, dtype=object))
            cols["run"].append(np.full(n, int(sp["id"])))
            cols["batch_size"].append(np.full(n, int(sp["batch_size"])))
            cols["model_seed"].append(np.full(n, int(sp["model_seed_value"]), dtype=np.uint64))
            cols["dataset_seed"].append(np.full(n, int(sp["dataset_seed_value"]), dtype=np.uint64))
            li, ci, pi, si = np.meshgrid(np.arange(L), np.arange(C), np.arange(P), np.arange(S), indexing="ij")
            li, ci, pi, si = li.ravel(), ci.ravel(), pi.ravel(), si.ravel()
            cols["layer"].append(li)
            cols["layer_name"].append(layer_names[r][li])
            cols["depth"].append(np.array([DEPTHS.get(int(d), "") for d in depth[r][li]], dtype=object))
            cols["condition"].append(np.array(cond_names, dtype=object)[np.array(c_idx)[ci]])
            cols["point"].append(np.array(t_idx)[pi])
            cols["step"].append(steps[r][np.array(t_idx)[pi]])
            cols["statistic"].append(np.array(stat_names, dtype=object)[np.array(s_idx)[si]])
            cols["value"].append(block.ravel())
        table = {k: (np.concatenate(v) if v else np.array([])) for k, v in cols.items()}
    return _maybe_frame(table) if frame else table


def results(path, frame=True):
    """results.h5 as tables: main, findings, holdout_architecture, holdout_task, measurement,
    trajectory (per kind), permutation, predictions (per evaluation), importance, attrs."""
    out = {}
    with h5py.File(path, "r") as f:
        _check(f, "lrid-results", path)
        attrs = {}
        for k, v in f.attrs.items():
            v = v.decode() if isinstance(v, bytes) else v
            if isinstance(v, np.ndarray) and v.dtype == object:
                v = list(_strings(v))
            attrs[k] = v
        if isinstance(attrs.get("settings"), str):
            attrs["settings"] = json.loads(attrs["settings"])
        out["attrs"] = attrs
        out["classes"] = list(_strings(f["classes"][:]))

        def table(group, names):
            t = {}
            for n in names:
                if n in group and isinstance(group[n], h5py.Dataset) and group[n].ndim == 1:
                    a = group[n][:]
                    t[n] = _strings(a) if a.dtype == object or a.dtype.kind == "S" else a
            return _maybe_frame(t) if frame else t

        m = f["main"]
        out["main"] = table(m, ["label", "observable_class", "classifier", "accuracy_mean", "accuracy_sem",
                                "balanced_accuracy_mean", "balanced_accuracy_sem", "chosen_params"])
        out["predictions"] = {}
        for key in m:
            g = m[key]
            if isinstance(g, h5py.Group) and "predictions" in g:
                p = g["predictions"]
                t = {k: p[k][:] for k in ("split", "run", "layer", "true", "predicted")}
                t["true"] = np.array(out["classes"], dtype=object)[t["true"]]
                t["predicted"] = np.array(out["classes"], dtype=object)[t["predicted"]]
                for j, c in enumerate(out["classes"]):
                    t[f"p_{c}"] = p["probability"][:, j]
                cls, _, clf = key.partition("_")
                out["predictions"][f"{cls}/{clf}"] = _maybe_frame(t) if frame else t
        if "networks" in f:  # the main evaluations with whole networks held out
            out["networks"] = table(f["networks"], ["label", "observable_class", "classifier", "accuracy_mean",
                                                    "accuracy_sem", "balanced_accuracy_mean", "balanced_accuracy_sem",
                                                    "chosen_params"])
        if "identifiability" in f:  # one row per (condition, split, observable class, pair of rules)
            g = f["identifiability"]
            rules, classes = _strings(g["rules"][:]), _strings(g["observable_class"][:])
            conds, splits = _strings(g["condition"][:]), _strings(g["split"][:])
            m, e = g["accuracy_mean"][:], g["accuracy_sem"][:]
            t = {k: [] for k in ("condition", "split", "observable_class", "rule_a", "rule_b", "accuracy_mean",
                                 "accuracy_sem")}
            for k, cond in enumerate(conds):
                for s_, split in enumerate(splits):
                    for o, cls in enumerate(classes):
                        for i in range(len(rules)):
                            for j in range(i + 1, len(rules)):
                                for key, v in (("condition", cond), ("split", split), ("observable_class", cls),
                                               ("rule_a", rules[i]), ("rule_b", rules[j]),
                                               ("accuracy_mean", float(m[k, s_, o, i, j])),
                                               ("accuracy_sem", float(e[k, s_, o, i, j]))):
                                    t[key].append(v)
            out["identifiability"] = _maybe_frame(t) if frame else t
        if "findings" in f:
            out["findings"] = table(f["findings"], ["number", "title", "verdict", "evidence", "criterion"])
        for name in ("architecture", "task"):
            if f"holdout/{name}" in f:
                out[f"holdout_{name}"] = table(f[f"holdout/{name}"], ["held_out", "accuracy_mean", "accuracy_sem"])
        if "measurement" in f:
            g = f["measurement"]
            t = {k: (_strings(g[k][:]) if g[k].dtype == object else g[k][:])
                 for k in ("condition", "fraction", "noise", "units") if k in g}
            classes = list(_strings(g["observable_class"][:])) if "observable_class" in g else []
            for j, c in enumerate(classes):
                t[f"{c}_accuracy_mean"] = g["accuracy_mean"][:, j]
                if "accuracy_sem" in g:
                    t[f"{c}_accuracy_sem"] = g["accuracy_sem"][:, j]
            out["measurement"] = _maybe_frame(t) if frame else t
        if "trajectory" in f:
            out["trajectory"] = {k: table(f["trajectory"][k], ["k", "position", "accuracy_mean", "accuracy_sem"])
                                 for k in f["trajectory"]}
        if "importance" in f:
            out["importance"] = table(f["importance"], ["feature", "importance"])
        if "permutation/accuracy_per_split" in f:
            out["permutation"] = f["permutation/accuracy_per_split"][:]
    return out


def _print_table(t):
    keys = list(t.keys())
    n = len(t[keys[0]]) if keys else 0
    print("\t".join(keys))
    for i in range(n):
        print("\t".join(f"{t[k][i]:.4f}" if isinstance(t[k][i], float) else str(t[k][i]) for k in keys))


class CsvError(Exception):
    """The --csv file cannot be written (message names it)."""


def write_csv(path, source, table):
    """Writes the table to path through path.tmp (renamed into place), so a failed write (a full
    disk) leaves no partial file. Refuses the input itself and any existing file that is not a
    CSV (an HDF5 file, a directory): --csv replaces only an earlier table."""
    import csv
    if os.path.isdir(path):
        raise CsvError(f"{path}: --csv names a directory, expected a file")
    if os.path.exists(path):
        if os.path.exists(source) and os.path.samefile(path, source):
            raise CsvError(f"{path}: --csv names the input file; write the table to another file")
        if h5py.is_hdf5(path):
            raise CsvError(f"{path}: --csv would replace an HDF5 file; write the table to another file")
    special = os.path.exists(path) and not os.path.isfile(path)  # a device or a FIFO: written as it is
    tmp = path if special else path + ".tmp"
    try:
        with open(tmp, "w", newline="") as out:
            w = csv.writer(out)
            w.writerow(list(table))
            w.writerows(zip(*table.values()))
        if not special:
            os.replace(tmp, path)
    except OSError as e:
        if not special:
            try:
                os.remove(tmp)
            except OSError:
                pass
        raise CsvError(f"{path}: cannot write the CSV file ({e.strerror or e})")


def main(argv=None):
    ap = argparse.ArgumentParser(description="Read an lrid campaign file (a tidy table) or results.h5 (tables).")
    ap.add_argument("file", help="campaign.h5 or results.h5")
    ap.add_argument("--statistics", help="comma-separated statistics to keep (campaign)")
    ap.add_argument("--conditions", help="comma-separated conditions to keep (campaign)")
    ap.add_argument("--csv", help="write the campaign table to this CSV file instead of printing its size")
    a = ap.parse_args(argv)
    try:
        with h5py.File(a.file, "r") as f:
            fmt = f.attrs.get("format", b"")
            fmt = fmt.decode() if isinstance(fmt, bytes) else str(fmt)
    except OSError as e:
        print(f"lrid_read: {a.file}: cannot open as HDF5 ({e})", file=sys.stderr)
        return 2
    try:
        if fmt.startswith("lrid-campaign"):
            t = campaign_table(a.file, a.statistics.split(",") if a.statistics else None,
                               a.conditions.split(",") if a.conditions else None, frame=False)
            if a.csv:
                write_csv(a.csv, a.file, t)
                print(f"lrid_read: {len(t['value'])} rows -> {a.csv}")
            else:
                print(f"lrid_read: {len(t['value'])} rows ({len(set(t['run']))} runs); columns: {', '.join(t)}")
        elif fmt.startswith("lrid-results"):
            r = results(a.file, frame=False)
            _print_table({k: r["main"][k] for k in ("label", "accuracy_mean", "accuracy_sem")})
            print()
            if "findings" in r:
                _print_table({k: r["findings"][k] for k in ("number", "verdict", "title")})
        else:
            print(f"lrid_read: {a.file}: not an lrid campaign or results file (format {fmt!r})", file=sys.stderr)
            return 2
    except CsvError as e:
        print(f"lrid_read: {e}", file=sys.stderr)
        return 2
    except (KeyError, ValueError, IndexError, TypeError, OSError) as e:
        print(f"lrid_read: {a.file}: {str(e).splitlines()[0] if str(e) else type(e).__name__}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
