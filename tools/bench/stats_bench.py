"""Benchmark helper for tools/bench/stats.sh: lrid's statistics kernel vs numpy, same data.

For each case it writes a float32 tensor to an HDF5 file, asks `lrid stats --repeat R` for the
kernel time (the hidden --repeat option times the 21-statistic kernel alone, best of R, after a
warm-up; no file reading, no condition), and times numpy computing the same 21 statistics
(raw, sq, abs x norm, mean, median, thirdquartile, var, skew, kurtosis) in float64, written as
efficiently as numpy allows (one np.percentile call for both quantiles, dot for the norm), best
of R. Prints elements/s for both and the ratio lrid time / numpy time.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np


def numpy_stats21(x):
    y = x.astype(np.float64)
    out = []
    for v in (y, y * y, np.abs(y)):
        m = v.mean()
        med, q3 = np.percentile(v, [50, 75])
        d = v - m
        d2 = d * d
        var = d2.mean()
        out += [np.sqrt(np.dot(v, v)), m, med, q3, var, 3 * (m - med) / np.sqrt(var),
                np.mean(d2 * d2) / (var * var)]
    return out


def numpy_act21(a):
    rows = a.reshape(a.shape[0], -1)
    return np.mean([numpy_stats21(r) for r in rows], axis=0)


def best_of(fn, repeat):
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main():
    lrid = sys.argv[1]
    repeat = int(os.environ.get("REPEAT", "5"))
    rng = np.random.default_rng(0)
    cases = [
        ("weight 1e6 N(0,0.05)", "weight", (0.05 * rng.standard_normal(10**6)).astype(np.float32)),
        ("weight 1e7 N(0,0.05)", "weight", (0.05 * rng.standard_normal(10**7)).astype(np.float32)),
        ("act [256,4096] ReLU", "act",
         np.maximum(0, rng.standard_normal((256, 4096)) - 0.5).astype(np.float32)),
        ("act [64,64,16,16] ReLU", "act",
         np.maximum(0, rng.standard_normal((64, 64, 16, 16))).astype(np.float32)),
        ("act [1024,1024] N(0,1)", "act", rng.standard_normal((1024, 1024)).astype(np.float32)),
        ("act [4096,256] N(0,1)", "act", rng.standard_normal((4096, 256)).astype(np.float32)),
    ]
    print(f"lrid: {lrid}")
    print(f"numpy {np.__version__}, best of {repeat} runs each, same process/machine, "
          f"float32 data, statistics in float64")
    print(f"{'case':26s} {'elements':>10s} {'lrid s':>9s} {'numpy s':>9s} "
          f"{'lrid elem/s':>12s} {'numpy elem/s':>12s} {'lrid/numpy':>10s}")
    with tempfile.TemporaryDirectory() as tmp:
        h5 = os.path.join(tmp, "bench.h5")
        with h5py.File(h5, "w") as f:
            for i, (_, _, x) in enumerate(cases):
                f.create_dataset(f"/c{i}", data=x)
        for i, (label, measure, x) in enumerate(cases):
            p = subprocess.run([lrid, "stats", f"{h5}:/c{i}", "--measure", measure,
                                "--repeat", str(repeat)], capture_output=True, text=True,
                               check=True)
            j = json.loads(p.stdout)
            t_lrid = j["kernel"]["seconds_min"]
            fn = (lambda: numpy_stats21(x)) if measure == "weight" else (lambda: numpy_act21(x))
            fn()  # warm-up
            t_np = best_of(fn, repeat)
            # sanity: the two agree
            ref = fn()
            got = [j["statistics"][k] for k in j["statistics"]]
            got = [float(v) if not isinstance(v, str) else float("nan") for v in got]
            if not np.allclose(got, ref, rtol=1e-6, atol=1e-12, equal_nan=True):
                print(f"  WARNING {label}: lrid and numpy disagree")
            n = x.size
            print(f"{label:26s} {n:10d} {t_lrid:9.4f} {t_np:9.4f} {n / t_lrid:12.4g} "
                  f"{n / t_np:12.4g} {t_lrid / t_np:10.4f}")


if __name__ == "__main__":
    main()
