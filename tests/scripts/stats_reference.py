"""Checks `lrid stats` against numpy/scipy (float64) on datasets written here with h5py.

Run by tests/scripts/stats_vs_numpy.sh (ctest) as
    $PYTHON stats_reference.py --lrid $LRID
Exits non-zero with a list of the mismatches. Covers: several shapes, odd and even sizes, ties,
constant arrays, negative values, float32 and float64, one unit, the act/weight/gradavg layouts,
the radix path (>= 512 values per vector) and the small path, --fraction/--noise (units kept,
noise variance), and bad input (exit code 2, one line naming the file/path).

Reference definitions (paper.md "Observables", numpy semantics, computed in float64):
norm = np.linalg.norm, mean = np.mean, median/thirdquartile = np.percentile(.., [50, 75])
(default linear method), var = np.var, skew = 3 (mean - median) / np.std,
kurtosis = scipy.stats.kurtosis(fisher=False, bias=True) = E[(y - mean)^4] / var^2;
skew and kurtosis are NaN when the values are constant (lrid's documented choice).
Tolerance: |lrid - ref| <= 1e-6 |ref| + atol, atol = 1e-12 * (scale of the values), so that
statistics that are 0 up to rounding (skew of symmetric data) compare sensibly; NaN == NaN.
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np
import scipy.stats

FUNCS = ("raw", "sq", "abs")
STATS = ("norm", "mean", "median", "thirdquartile", "var", "skew", "kurtosis")


def vector_ref(y):
    """21 statistics of one float64 vector: {(function, statistic): value}."""
    out = {}
    for f in FUNCS:
        v = y if f == "raw" else (y * y if f == "sq" else np.abs(y))
        mean = np.mean(v)
        med, q3 = np.percentile(v, [50, 75])
        var = np.var(v)
        const = np.ptp(v) == 0
        if const:
            mean, var = v[0], 0.0
            skew = kurt = math.nan
        else:
            skew = 3 * (mean - med) / np.std(v)
            kurt = scipy.stats.kurtosis(v, fisher=False, bias=True)
        vals = dict(norm=np.linalg.norm(v), mean=mean, median=med, thirdquartile=q3, var=var,
                    skew=skew, kurtosis=kurt)
        scale = float(np.sqrt(np.mean(v * v))) if v.size else 1.0
        for s in STATS:
            unit = scale * scale if s == "var" else (1.0 if s in ("skew", "kurtosis") else scale)
            atol = 1e-12 * unit
            out[(f, s)] = (float(vals[s]), atol)
    return out


def reference(x, measure):
    y = np.asarray(x, dtype=np.float64)
    if measure == "weight":
        r = vector_ref(y.ravel())
        return {f"weight{f}_{s}": v for (f, s), v in r.items()}
    if measure == "act":
        rows = y.reshape(y.shape[0], -1)
        per = [vector_ref(row) for row in rows]
        out = {}
        for key in per[0]:
            vals = [p[key][0] for p in per]
            atol = max(p[key][1] for p in per)
            out[f"act{key[0]}_{key[1]}"] = (float(np.mean(vals)), atol)
        return out
    # gradavg
    v = y if y.ndim == 1 else y.sum(axis=1)
    scale = float(np.sqrt(np.mean(v * v)))
    return {
        "gradavgraw_id": (float(np.mean(v)), 1e-12 * scale),
        "gradavgsq_id": (float(np.mean(v * v)), 1e-12 * scale * scale),
        "gradavgabs_id": (float(np.mean(np.abs(v))), 1e-12 * scale),
    }


def as_float(v):
    if isinstance(v, str):
        return {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}[v]
    return float(v)


class Checker:
    def __init__(self, lrid):
        self.lrid = lrid
        self.failures = []
        self.checks = 0

    def fail(self, msg):
        self.failures.append(msg)

    def run(self, *args):
        return subprocess.run([self.lrid, "stats", *args], capture_output=True, text=True)

    def stats(self, target, *args):
        p = self.run(target, *args)
        if p.returncode != 0:
            self.fail(f"{target} {args}: exit {p.returncode}: {p.stderr.strip()}")
            return None
        return json.loads(p.stdout)

    def compare(self, h5, path, x, measure, extra=()):
        target = f"{h5}:{path}"
        j = self.stats(target, "--measure", measure, *extra)
        if j is None:
            return
        ref = reference(x, measure)
        got = j["statistics"]
        if set(got) != set(ref):
            self.fail(f"{target} ({measure}): names {sorted(got)} != {sorted(ref)}")
        if list(j["shape"]) != list(np.shape(x)):
            self.fail(f"{target}: shape {j['shape']} != {list(np.shape(x))}")
        for name, (r, atol) in ref.items():
            self.checks += 1
            if name not in got:
                self.fail(f"{target}: {name} missing from the output")
                continue
            g = as_float(got[name])
            if math.isnan(r) or math.isnan(g):
                if not (math.isnan(r) and math.isnan(g)):
                    self.fail(f"{target} {name}: lrid {g!r} numpy {r!r} (NaN mismatch)")
                continue
            if not abs(g - r) <= 1e-6 * abs(r) + atol:
                self.fail(f"{target} {name}: lrid {g!r} numpy {r!r} "
                          f"(rel {abs(g - r) / max(abs(r), 1e-300):.3g})")

    def bad(self, args, must_contain, label):
        p = self.run(*args)
        self.checks += 1
        lines = p.stderr.strip().splitlines()
        if p.returncode != 2:
            self.fail(f"bad input '{label}': exit {p.returncode} (expected 2), stderr {p.stderr!r}")
        elif len(lines) != 1:
            self.fail(f"bad input '{label}': {len(lines)} stderr lines (expected 1): {p.stderr!r}")
        elif any(s not in lines[0] for s in must_contain):
            self.fail(f"bad input '{label}': message {lines[0]!r} lacks {must_contain}")
        elif p.stdout.strip():
            self.fail(f"bad input '{label}': printed to stdout: {p.stdout!r}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lrid", default=os.environ.get("LRID", "lrid"))
    args = ap.parse_args()
    c = Checker(args.lrid)
    rng = np.random.default_rng(20201011)

    with tempfile.TemporaryDirectory() as tmp:
        h5 = os.path.join(tmp, "data.h5")
        data = {}  # path -> (array, measure)

        def put(path, arr, measure):
            data[path] = (arr, measure)

        n = rng.standard_normal
        # act: [examples, units...]
        put("/act/normal_f32", n((16, 3, 5, 7)).astype(np.float32), "act")         # 105 units, odd
        put("/act/even_f64", (n((8, 64)) * 3 - 1).astype(np.float64), "act")
        put("/act/relu_ties", np.maximum(0, n((32, 1000)) - 0.2).astype(np.float32), "act")
        put("/act/one_unit", n((10, 1)).astype(np.float32), "act")
        put("/act/two_units", n((10, 2)).astype(np.float64), "act")
        put("/act/const", np.full((5, 40), -1.25, np.float32), "act")
        put("/act/large_relu", np.maximum(0, n((3, 4, 64, 64))).astype(np.float32), "act")  # 16384
        put("/act/large_f64", n((2, 20001)) * 1e3 + 5, "act")
        put("/act/u30", n((4, 30)).astype(np.float32), "act")
        # weight: any rank >= 1
        put("/weight/negative", (-np.abs(n(1001)) - 2).astype(np.float32), "weight")
        put("/weight/conv", (0.05 * n((64, 32, 3, 3))).astype(np.float32), "weight")  # 18432
        put("/weight/big_f64", n(300000) * 0.01, "weight")
        put("/weight/ties", (np.round(n(10001) * 2) / 2).astype(np.float32), "weight")
        put("/weight/ties_big", (np.round(n(50000) * 2) / 2).astype(np.float32), "weight")
        put("/weight/const", np.full(100, 0.1, np.float32), "weight")
        put("/weight/const_big", np.full(20000, 0.1, np.float32), "weight")
        put("/weight/single", np.array([-3.5], np.float32), "weight")
        put("/weight/even", n((100, 100)).astype(np.float32), "weight")
        put("/weight/zeros", np.zeros(100000, np.float32), "weight")
        put("/weight/offset", (1e4 + n(5000)).astype(np.float64), "weight")  # cancellation test
        # gradavg
        put("/gradavg/values", n(50), "gradavg")
        put("/gradavg/units", n((20, 30)).astype(np.float32), "gradavg")

        with h5py.File(h5, "w") as f:
            for path, (arr, _) in data.items():
                f.create_dataset(path, data=arr)
            f.create_dataset("/bad/int", data=np.arange(10, dtype=np.int32))
            f.create_dataset("/bad/str", data=np.array([b"a", b"bc"]))
            f.create_dataset("/bad/empty", shape=(0,), dtype=np.float32)
            f.create_dataset("/bad/scalar", data=np.float32(1.5))
            f.create_group("/bad/group")
        notes = os.path.join(tmp, "notes.txt")
        with open(notes, "w") as f:
            f.write("not hdf5\n")

        # 1. every statistic against numpy
        for path, (arr, measure) in data.items():
            c.compare(h5, path, arr, measure)
        # float64 data as weight and act layouts of the same array
        c.compare(h5, "/act/even_f64", data["/act/even_f64"][0], "weight")
        c.compare(h5, "/act/normal_f32", data["/act/normal_f32"][0], "weight")

        # 2. conditions: units kept = ceil(f n), determinism, noise variance
        for path, measure, f, expect_kept in [
            ("/act/relu_ties", "act", 0.1, 100),
            ("/act/u30", "act", 0.1, 3),          # 0.1 * 30 = 3.0000000000000004 -> 3
            ("/act/normal_f32", "act", 0.5, 53),  # 52.5 -> 53
            ("/act/one_unit", "act", 0.01, 1),
            ("/weight/conv", "weight", 0.3, 5530),  # 5529.6 -> 5530
            ("/gradavg/units", "gradavg", 0.2, 6),
        ]:
            a = c.stats(f"{h5}:{path}", "--measure", measure, "--fraction", str(f), "--noise",
                        "0.5", "--seed", "3")
            b = c.stats(f"{h5}:{path}", "--measure", measure, "--fraction", str(f), "--noise",
                        "0.5", "--seed", "3")
            d = c.stats(f"{h5}:{path}", "--measure", measure, "--fraction", str(f), "--noise",
                        "0.5", "--seed", "4")
            if a is None or b is None or d is None:
                continue
            c.checks += 1
            if a["units_kept"] != expect_kept:
                c.fail(f"{path} --fraction {f}: units_kept {a['units_kept']} != {expect_kept}")
            if a["statistics"] != b["statistics"]:
                c.fail(f"{path}: same seed gave different statistics")
            if a["statistics"] == d["statistics"]:
                c.fail(f"{path}: seeds 3 and 4 gave identical statistics")
            if a["condition"]["name"] != f"f{f}_s0.5_seed3":
                c.fail(f"{path}: condition name {a['condition']['name']!r}")
        # noise only: zeros + N(0, 0.5^2) -> var ~ 0.25, mean ~ 0 (1e5 values)
        z = c.stats(f"{h5}:/weight/zeros", "--measure", "weight", "--noise", "0.5", "--seed", "1")
        if z is not None:
            c.checks += 1
            var = as_float(z["statistics"]["weightraw_var"])
            mean = as_float(z["statistics"]["weightraw_mean"])
            if not (abs(var - 0.25) < 0.01 and abs(mean) < 0.01):
                c.fail(f"noise 0.5 on zeros: var {var} mean {mean}")
        # subsample without noise: the kept values are a subset of the data
        s = c.stats(f"{h5}:/weight/ties", "--measure", "weight", "--fraction", "0.5")
        if s is not None:
            c.checks += 1
            if s["units_kept"] != 5001 or s["units"] != 10001:
                c.fail(f"/weight/ties --fraction 0.5: units {s['units']} kept {s['units_kept']}")
        # --statistics selection
        sel = c.stats(f"{h5}:/act/normal_f32", "--statistics", "admissible")
        if sel is not None and sorted(sel["statistics"]) != sorted(
                ["actabs_mean", "actabs_median", "actabs_norm", "actabs_thirdquartile",
                 "actraw_mean", "actraw_median", "actraw_norm", "actraw_thirdquartile"]):
            c.fail(f"--statistics admissible for act: {sorted(sel['statistics'])}")

        # 3. bad input: exit 2, one line naming the file / path
        missing = os.path.join(tmp, "missing.h5")
        for argv, must, label in [
            ([f"{missing}:/x"], [missing], "missing file"),
            ([f"{notes}:/x"], [notes, "not an HDF5"], "not HDF5"),
            ([f"{h5}:/nope/deeper"], [h5, "/nope"], "missing path"),
            ([f"{h5}:/bad/group"], [h5, "/bad/group", "group"], "group"),
            ([f"{h5}:/bad/int"], [h5, "/bad/int", "integer"], "int dataset"),
            ([f"{h5}:/bad/str"], [h5, "/bad/str", "string"], "string dataset"),
            ([f"{h5}:/bad/empty", "--measure", "weight"], [h5, "/bad/empty", "empty"], "empty"),
            ([f"{h5}:/bad/scalar", "--measure", "weight"], [h5, "/bad/scalar", "rank"], "scalar"),
            ([f"{h5}:/weight/even", "--measure", "gradavg"], [h5, "/weight/even"], "ok rank 2"),
            ([f"{h5}:/weight/negative"], [h5, "/weight/negative", "rank"], "act rank 1"),
            ([f"{h5}:/act/u30", "--fraction", "0"], [h5, "/act/u30", "fraction"], "fraction 0"),
            ([f"{h5}:/act/u30", "--fraction", "1.5"], [h5, "/act/u30", "fraction"], "fraction 1.5"),
            ([f"{h5}:/act/u30", "--noise", "-1"], [h5, "noise"], "negative noise"),
            ([f"{h5}:/act/u30", "--statistics", "actabs_meadian"], ["actabs_median"], "typo"),
            ([f"{h5}:/act/u30", "--statistics", "weightraw_mean"], ["weightraw_mean"], "measure"),
            ([f"{h5}:/gradavg/values", "--measure", "gradavg", "--fraction", "0.5"],
             [h5, "/gradavg/values"], "1-D gradavg fraction"),
            ([f"{h5}"], [h5], "no dataset path"),
            ([f"{h5}:/act/u30", "--measure", "activity"], ["activity"], "bad measure"),
        ]:
            if label == "ok rank 2":
                # [examples, units] is a valid gradavg layout: must succeed
                if c.stats(*argv) is None:
                    c.fail("gradavg on a rank-2 dataset failed")
                continue
            c.bad(argv, must, label)

        p = c.run("--help")
        if p.returncode != 0 or "[examples, units" not in p.stdout:
            c.fail(f"--help: exit {p.returncode}, layouts not explained")

    if c.failures:
        print(f"stats_vs_numpy: {len(c.failures)} failure(s) in {c.checks} checks:")
        for f in c.failures:
            print("  " + f)
        return 1
    print(f"stats_vs_numpy: all {c.checks} checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
