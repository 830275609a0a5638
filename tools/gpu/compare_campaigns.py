#!/usr/bin/env python3
"""Compare two campaign files of the same job trained on different devices or backends (a GPU
campaign with the same campaign on the CPU; NCCL with MPI averaging): every observable, the loss
at every trajectory point, the final loss and the final metric.

  compare_campaigns.py A.h5 B.h5 [--device-a cuda] [--device-b cpu] [--rtol 1e-3] [--atol 1e-3]
                                 [--metric-atol 0.003]

Exit 0 when every value agrees, 1 when one does not (the worst ones are printed), 2 when the
files cannot be compared (another job, runs not done, a run trained on an unexpected device).

Tolerance (tools/gpu/check.sh and nccl_check.sh use these defaults): a value a of A and b of B
agree when
    |a - b| <= rtol * max(|a|, |b|) + atol * scale
where scale is the largest finite |value| of the same trajectory (run, layer, condition,
statistic; all points, both files), so that a statistic crossing zero along training (a skew,
a mean of signed values) is not held to a relative tolerance at its zero crossing; NaN must
meet NaN (a constant vector's skew and kurtosis). The losses follow the same rule (scale: the
largest loss). The final metric (a test accuracy over at most 1024 images, or a top-1 rate)
agrees within metric_atol absolute: 0.003 = 3 of 1024 predictions flipping at the boundary.
Why rtol = atol = 1e-3: both sides compute in float32 (rounding 6e-8), but CUDA's kernels
(cuBLAS, cuDNN: other algorithms, other summation orders; TF32 unless distributed.allow_tf32 is
false, as check.sh sets it for its smoke campaigns) round differently from the CPU's, and every
training step feeds that rounding into the next, so the two trajectories drift apart by far
more than 6e-8 (on the CPU alone, 1 against 2 intra-op threads on the smoke job: median 0, 99th
percentile 1.3e-6 relative, worst 6.6e-3 of this tolerance; GPU against CPU has not been
measured yet). A real error (a kernel computing
something else, unnormalised or stale data on the device, gradients averaged wrongly) moves the
observables by far more than 1e-3.
"""
import argparse
import os
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
import lrid_read  # noqa: E402  (tools/lrid_read.py)


def strings(a):
    return [x.decode() if isinstance(x, bytes) else str(x) for x in np.asarray(a).ravel()]


def runs(path):
    with h5py.File(path, "r") as f:
        return {"job_hash": f.attrs.get("job_hash"), "status": f["runs/status"][:],
                "device": strings(f["runs/device"][:]) if "runs/device" in f else None,
                "loss": f["runs/loss"][:].astype(np.float64),
                "final_loss": f["runs/final_loss"][:].astype(np.float64),
                "final_metric": f["runs/final_metric"][:].astype(np.float64)}


def tolerance_ratio(a, b, rtol, atol, scale):
    """|a - b| / (rtol max(|a|, |b|) + atol scale): <= 1 agrees; NaN in both: 0; in one: inf."""
    both = np.isnan(a) & np.isnan(b)
    one = np.isnan(a) ^ np.isnan(b)
    tol = rtol * np.maximum(np.abs(a), np.abs(b)) + atol * scale
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.abs(a - b) / np.where(tol > 0, tol, np.inf)
    r = np.where(np.abs(a - b) == 0, 0.0, r)
    r[both] = 0.0
    r[one] = np.inf
    return r


def finite_scale(*xs):
    v = np.concatenate([np.abs(x[np.isfinite(x)]) for x in xs])
    return float(v.max()) if v.size else 0.0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--device-a", help="every run of A must have trained on a device starting with this")
    ap.add_argument("--device-b", help="the same for B")
    ap.add_argument("--rtol", type=float, default=1e-3)
    ap.add_argument("--atol", type=float, default=1e-3, help="times the trajectory's largest |value|")
    ap.add_argument("--metric-atol", type=float, default=0.003)
    ap.add_argument("--show", type=int, default=5, help="how many of the worst values to print")
    a = ap.parse_args()

    ra, rb = runs(a.a), runs(a.b)
    for path, r, want in ((a.a, ra, a.device_a), (a.b, rb, a.device_b)):
        if not (r["status"] == 2).all():
            print("compare: %s: %d of %d runs not done" % (path, int((r["status"] != 2).sum()), len(r["status"])))
            return 2
        if want and (r["device"] is None or not all(d.startswith(want) for d in r["device"])):
            print("compare: %s: runs trained on %s, expected %s" % (path, sorted(set(r["device"] or ["?"])), want))
            return 2
    if ra["job_hash"] != rb["job_hash"]:
        print("compare: the files hold different jobs (job_hash %s vs %s)" % (ra["job_hash"], rb["job_hash"]))
        return 2
    ta = lrid_read.campaign_table(a.a, frame=False)
    tb = lrid_read.campaign_table(a.b, frame=False)
    keys = ("run", "layer", "condition", "point", "statistic")
    if len(ta["value"]) != len(tb["value"]) or any((ta[k] != tb[k]).any() for k in keys):
        print("compare: the two files' observables are not laid out alike")
        return 2

    worst = []  # (ratio, description)
    va, vb = ta["value"], tb["value"]
    # one group per trajectory: (run, layer, condition, statistic), over its points
    group = np.unique(np.stack([ta["run"], ta["layer"], np.unique(ta["condition"], return_inverse=True)[1],
                                np.unique(ta["statistic"], return_inverse=True)[1]]), axis=1,
                      return_inverse=True)[1].ravel()
    scale = np.zeros(group.max() + 1 if group.size else 0)
    for v in (va, vb):
        np.maximum.at(scale, group, np.where(np.isfinite(v), np.abs(v), 0.0))
    ratio = tolerance_ratio(va, vb, a.rtol, a.atol, scale[group])
    for i in np.argsort(-ratio)[:a.show]:
        worst.append((ratio[i], "%s/%s %s %s point %d %s: %.7g vs %.7g" % (
            ta["rule"][i], ta["architecture"][i], ta["layer_name"][i], ta["condition"][i], ta["point"][i],
            ta["statistic"][i], va[i], vb[i])))
    loss = tolerance_ratio(ra["loss"], rb["loss"], a.rtol, a.atol, finite_scale(ra["loss"], rb["loss"]))  # [R, T]
    final = tolerance_ratio(ra["final_loss"], rb["final_loss"], a.rtol, a.atol,
                            finite_scale(ra["final_loss"], rb["final_loss"]))
    metric = np.abs(ra["final_metric"] - rb["final_metric"])
    rel = np.abs(va - vb) / np.maximum(np.maximum(np.abs(va), np.abs(vb)), 1e-30)
    finite = np.isfinite(rel)
    print("compare: %d observables of %d runs; max |a-b|/tolerance %.3g (observables), %.3g (loss at the "
          "points), %.3g (final loss); max |metric a - metric b| %.4f (tolerance %.4f); median relative "
          "difference of the observables %.2g, 99th percentile %.2g" % (
              len(va), len(ra["status"]), ratio.max() if ratio.size else 0.0, loss.max(), final.max(),
              metric.max(), a.metric_atol, np.median(rel[finite]) if finite.any() else 0.0,
              np.percentile(rel[finite], 99) if finite.any() else 0.0))
    ok = ratio.max() <= 1 and loss.max() <= 1 and final.max() <= 1 and metric.max() <= a.metric_atol
    for r, d in worst:
        if r > 0:
            print("  %s %s (|a-b|/tolerance %.3g)" % ("FAIL" if r > 1 else "    ", d, r))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
