"""Benchmarks of lrid fit and lrid classify (issue 16), each beside its baseline in the same run.

  fit       wall time of `lrid fit CAMPAIGN --condition f0.25_s0.5` (act, every point, the job's
            forest grid) under mpirun -np 1 and -np 2; the two model files must hold the same
            forest (the forest does not depend on the rank count).
  classify  wall time of `lrid classify` on a synthetic recording of 3 populations x 500 units x
            200 examples x 21 points (the model fitted above, all 21 points), median of 5, beside
            numpy computing the model's act statistics of the same arrays (median of 5).
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LRID = os.environ.get("LRID", os.path.join(SRC, "build", "lrid"))
MPIRUN = ["mpirun", "-q", "--allow-run-as-root", "--oversubscribe"]
TMP = tempfile.mkdtemp(prefix="lrid_bench_fit_")


def timed(cmd):
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    dt = time.perf_counter() - t
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({p.returncode}): {p.stderr.strip()[-500:]}")
    return dt, p.stdout


def act_stats_numpy(a, names):
    """The act statistics lrid computes (per example over the units, averaged over examples)."""
    out = {}
    for fn, x in (("raw", a), ("sq", a * a), ("abs", np.abs(a))):
        x = x.astype(np.float64)
        per = {"norm": np.sqrt((x * x).sum(1)), "mean": x.mean(1), "median": np.median(x, 1),
               "thirdquartile": np.percentile(x, 75, axis=1), "var": x.var(1)}
        for k, v in per.items():
            out[f"act{fn}_{k}"] = v.mean()
    return [out[n] for n in names if n in out]


def main():
    campaign = sys.argv[1] if len(sys.argv) > 1 else os.path.join(SRC, "lrid-quickstart", "campaign.h5")
    if not os.path.exists(campaign):
        sys.exit(f"{campaign}: no such campaign (run tools/run.sh first, or pass one)")
    print(f"fit: {campaign}, act statistics, condition f0.25_s0.5, all points, the job's forest grid")
    times, models = {}, {}
    for np_ in (1, 2):
        models[np_] = os.path.join(TMP, f"m{np_}.h5")
        times[np_], out = timed(MPIRUN + ["-np", str(np_), LRID, "fit", campaign, "--condition", "f0.25_s0.5",
                                          "--out", models[np_], "-q"])
        acc = [l for l in out.splitlines() if "cross-validated" in l][0].split("lrid fit: ")[1]
        print(f"  -np {np_}: {times[np_]:.1f} s  ({acc})")
    with h5py.File(models[1], "r") as a, h5py.File(models[2], "r") as b:
        same = np.array_equal(a["forest"][:], b["forest"][:])
        names = list(a["statistics"].asstr()[:])
        points = len(a["points"])
    print(f"  speed-up 2 ranks / 1 rank: {times[1] / times[2]:.2f}x; the same forest both ways: {same}")

    rng = np.random.default_rng(0)
    rec = os.path.join(TMP, "rec.h5")
    arrays = []
    with h5py.File(rec, "w") as f:
        f.attrs["format"] = "lrid-recording-1"
        for name, depth in (("V1", "early"), ("V4", "middle"), ("IT", "deep")):
            a = np.maximum(rng.normal(0.2, 1.0, (21, 200, 500)), 0).astype(np.float32)
            arrays.append(a)
            g = f.create_group(f"populations/{name}")
            g["activity"] = a
            g["positions"] = np.linspace(0, 1, 21)
            g["stimuli"] = np.arange(200)
            g.attrs["depth"] = depth
    lt = [timed([LRID, "classify", models[1], rec, "--json"])[0] for _ in range(5)]
    nt = []
    for _ in range(5):
        t = time.perf_counter()
        for a in arrays:
            for p in range(points):
                act_stats_numpy(a[p], names)
        nt.append(time.perf_counter() - t)
    print(f"classify: 3 populations x 500 units x 200 examples x 21 points, {len(names)} statistics at {points} points")
    print(f"  lrid classify (whole command: read, statistics, forest, report) {statistics.median(lt):.3f} s "
          f"(min {min(lt):.3f}); numpy, the statistics alone: {statistics.median(nt):.3f} s "
          f"-> lrid / numpy {statistics.median(lt) / statistics.median(nt):.2f}")


if __name__ == "__main__":
    main()
