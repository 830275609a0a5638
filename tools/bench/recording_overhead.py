"""Benchmark helper for tools/bench/recording_overhead.sh: the share of a quickstart run's wall
time spent recording the observables.

  recording_overhead.py LRID [--job jobs/quickstart.yaml] [--stride 5] [--offset 0] [--threads 1]
                             [--device cpu|cuda] [--variants all,nonoise,ideal,minimal]

It trains a representative subset of the job's runs, one `lrid train JOB --run ID --threads 1`
process each, and reads the run's last line
  run N done: ..., W s (training steps T s, recording R s)
(W = the run's wall time inside lrid: data loading, model, training, recording, final
evaluation; T = forward/backward/optimiser steps; R = recording). Every run is trained three times,
back to back (so all see the same machine load):
  - "all conditions": the job as it is (quickstart: 21 trajectory points, 6 measurement
    conditions, all statistics);
  - "no noise": the same unit fractions, noise 0 (what the noise costs);
  - "ideal only": the same job with conditions {unit_fractions: [1.0], noise_levels: [0.0]}
    (21 points, the ideal condition only), so what the measurement conditions cost is visible;
  - "minimal" (only when --variants names it): ideal only, 2 points (start and end, the least
    lrid records) and the weight statistics alone: lrid without recording, so that
    (W(all conditions) - W(minimal)) / W(minimal) is the whole cost of recording, including
    what lrid's own timer R does not see (on a GPU: synchronisations, copies to the host).
--variants picks and orders them (all, nonoise, ideal, minimal; default all,nonoise,ideal);
--device sets distributed.device for every run (default: the job's).
Run subset: ids offset, offset + stride, ...; quickstart numbers the four rules of one setting
adjacently, so a stride of 4 would train only SGDM; the default stride 5 cycles through the
rules (and covers MLP and KNet4, the supervised and the SimCLR tasks).
Prints per architecture (and objective) and overall: sum R / sum W (the target: < 10%; lrid
prints W to 0.1 s only), sum R / sum P (P = the process's wall time measured here, start-up
included), and sum R / (sum T + R) (recording's share of training plus recording, i.e. without
data loading and the final evaluation: an upper bound for a campaign, whose ranks load the data
once for many runs).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

LINE = re.compile(r"run (\d+) done: final loss (\S+), .* ([0-9.]+) s \(training steps ([0-9.]+) s, "
                  r"recording ([0-9.]+) s\)")


def with_conditions(text, fractions=None):
    """The job text with its measurement conditions replaced by unit fractions `fractions`
    (None: the ideal condition only) without noise."""
    lines = text.splitlines()
    out, i, done = [], 0, False
    while i < len(lines):
        line = lines[i]
        m = re.match(r"^(\s*)conditions:\s*(.*)$", line)
        if m and not done:
            indent = len(m.group(1))
            seed = "0"
            j = i + 1
            if not m.group(2).strip():  # block form: skip the nested lines
                while j < len(lines) and (not lines[j].strip() or
                                          len(lines[j]) - len(lines[j].lstrip()) > indent):
                    s = re.match(r"^\s*seed:\s*(\S+)", lines[j])
                    if s:
                        seed = s.group(1)
                    j += 1
            fr = fractions or ["1.0"]
            out.append(" " * indent + "conditions: {unit_fractions: [%s], noise_levels: [0.0], "
                       "seed: %s}" % (", ".join(fr), seed))
            i, done = j, True
            continue
        out.append(line)
        i += 1
    if not done:
        raise SystemExit("recording_overhead: no observables.conditions in the job")
    return "\n".join(out) + "\n"


def unit_fractions(text):
    m = re.search(r"unit_fractions:\s*\[([^\]]*)\]", text)
    return [x.strip() for x in m.group(1).split(",")] if m else ["1.0"]


def runs_of(lrid, job):
    p = subprocess.run([lrid, "grid", job, "--json"], capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit("lrid grid %s failed:\n%s" % (job, p.stdout + p.stderr))
    doc = json.loads(p.stdout)
    return doc["runs"] if isinstance(doc, dict) else doc


def field(run, *names):
    for n in names:
        if n in run:
            return run[n]
    raise KeyError(names)


def train(lrid, job, run_id, threads, env, overrides=()):
    t0 = time.perf_counter()
    p = subprocess.run([lrid, "train", job, *overrides, "--run", str(run_id), "--threads", str(threads)],
                       capture_output=True, text=True, env=env)
    process_wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit("lrid train %s --run %d failed (%d):\n%s%s" %
                         (job, run_id, p.returncode, p.stdout[-2000:], p.stderr[-2000:]))
    m = None
    for line in p.stdout.splitlines():
        m = LINE.search(line) or m
    if not m:
        raise SystemExit("lrid train: no 'training steps' in its last line; rebuild lrid from "
                         "the current tree. Output:\n" + p.stdout[-1500:])
    return {"wall": float(m.group(3)), "train": float(m.group(4)), "record": float(m.group(5)),
            "process": process_wall}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("lrid")
    ap.add_argument("--job", required=True)
    ap.add_argument("--stride", type=int, default=5)
    ap.add_argument("--offset", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", help="distributed.device of every run (cpu, cuda; default: the job's)")
    ap.add_argument("--variants", default="all,nonoise,ideal",
                    help="which of all, nonoise, ideal, minimal, in this order")
    a = ap.parse_args()
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads), OPENBLAS_NUM_THREADS=str(a.threads))

    tmp = tempfile.mkdtemp(prefix="lrid-rec-")
    with open(a.job) as f:
        text = f.read()
    fr = unit_fractions(text)
    paths = {"all": os.path.abspath(a.job), "nonoise": os.path.join(tmp, "no_noise.yaml"),
             "ideal": os.path.join(tmp, "ideal_only.yaml")}
    with open(paths["nonoise"], "w") as f:
        f.write(with_conditions(text, fr))
    with open(paths["ideal"], "w") as f:
        f.write(with_conditions(text, None))
    device = ["distributed.device=" + a.device] if a.device else []
    minimal = ["observables.trajectory_points=2", "observables.statistics=[weight]"]
    known = {"all": ("all conditions", paths["all"], device), "nonoise": ("no noise", paths["nonoise"], device),
             "ideal": ("ideal only", paths["ideal"], device), "minimal": ("minimal", paths["ideal"], device + minimal)}
    jobs = {}  # label -> (job file, overrides)
    for v in a.variants.split(","):
        if v not in known:
            raise SystemExit("recording_overhead: unknown variant %r (all, nonoise, ideal, minimal)" % v)
        jobs[known[v][0]] = known[v][1:]
    if "all conditions" not in jobs:
        raise SystemExit("recording_overhead: --variants must include all")

    runs = runs_of(a.lrid, jobs["all conditions"][0])
    for v, (job, _) in jobs.items():
        if len(runs_of(a.lrid, job)) != len(runs):
            raise SystemExit("recording_overhead: the %s job has a different grid" % v)
    chosen = [r for r in runs if (int(field(r, "id")) - a.offset) % a.stride == 0
              and int(field(r, "id")) >= a.offset]
    print("recording_overhead: %s, %d of its %d runs (ids %d + k*%d), lrid train --run ID "
          "--threads %d%s; each run %d times in a row: %s (no noise: unit fractions [%s], noise 0)"
          % (a.job, len(chosen), len(runs), a.offset, a.stride, a.threads,
             ", device " + a.device if a.device else "", len(jobs), ", ".join(jobs), ", ".join(fr)), flush=True)
    print("  (W: lrid's wall time of the run, printed to 0.1 s; P: the process's wall time, "
          "start-up and exit included)", flush=True)

    sums = {}  # (variant, group) -> [wall, train, record, runs]
    for r in chosen:
        rid = int(field(r, "id"))
        arch = field(r, "architecture", "arch")
        task = field(r, "task")
        rule = field(r, "learning_rule", "rule")
        line = "  run %3d %-5s %-20s %-4s" % (rid, arch, task, rule)
        for variant, (job, overrides) in jobs.items():
            t = train(a.lrid, job, rid, a.threads, env, overrides)
            line += " | %s: W %4.1f P %5.2f T %5.2f R %5.2f s" % (
                variant, t["wall"], t["process"], t["train"], t["record"])
            objective = "SimCLR" if "simclr" in task else "supervised"
            for g in (arch, arch + " " + objective, "all"):
                s = sums.setdefault((variant, g), [0.0, 0.0, 0.0, 0, 0.0])
                s[0] += t["wall"]
                s[1] += t["train"]
                s[2] += t["record"]
                s[3] += 1
                s[4] += t["process"]
        print(line, flush=True)

    groups = []
    for (_, g) in sums:
        if g not in groups:
            groups.append(g)
    groups.sort(key=lambda g: (g == "all", g))
    print()
    print("| variant | runs | group | wall W s | process P s | training steps T s | recording R s | "
          "R / W (target < 10%) | R / P | R / (T + R) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for variant in jobs:
        for g in groups:
            w, tr, rec, n, pw = sums[(variant, g)]
            print("| %s | %d | %s | %.1f | %.1f | %.2f | %.2f | %.1f%% | %.1f%% | %.1f%% |"
                  % (variant, n, g, w, pw, tr, rec, 100 * rec / w, 100 * rec / pw,
                     100 * rec / (tr + rec)))
    wa, ta, ra, _, _ = sums[("all conditions", "all")]
    line = "overall recording share, all conditions: %.1f%% of wall time (target < 10%%: %s)" % (
        100 * ra / wa, "met" if ra / wa < 0.10 else "NOT met")
    if ("ideal only", "all") in sums:
        wi, _, ri, _, _ = sums[("ideal only", "all")]
        line += "; ideal only: %.1f%%; the measurement conditions add %.2f s of recording to %.2f s (x%.2f)" % (
            100 * ri / wi, ra - ri, ri, ra / ri if ri > 0 else float("nan"))
    if ("no noise", "all") in sums:
        wn, _, rn, _, _ = sums[("no noise", "all")]
        line += "; without noise (unit subsets only): %.1f%%, %.2f s" % (100 * rn / wn, rn)
    print(line)
    if ("minimal", "all") in sums:
        wm, tm, _, _, _ = sums[("minimal", "all")]
        over = (wa - wm) / wm
        print("with recording (all conditions) against without (minimal: 2 points, ideal, weight): wall "
              "%.2f s vs %.2f s, +%.1f%%; training steps %.2f s vs %.2f s (target < 10%%: %s)"
              % (wa, wm, 100 * over, ta, tm, "met" if over < 0.10 else "NOT met"))
    # the verdict lines (tools/gpu/check.sh collects them)
    print("%-4s  recording share of wall time, all conditions%s: %.1f%% (R/W; target < 10%%)"
          % ("PASS" if ra / wa < 0.10 else "FAIL", ", " + a.device if a.device else "", 100 * ra / wa))
    if ("minimal", "all") in sums:
        print("%-4s  recording overhead, all conditions vs minimal recording%s: +%.1f%% wall (target < 10%%)"
              % ("PASS" if over < 0.10 else "FAIL", ", " + a.device if a.device else "", 100 * over))


if __name__ == "__main__":
    main()
