"""Campaigns across real MPI ranks: rank counts, resume, refusals, shards and merge, data-parallel
groups, and a kill -9 of a worker rank mid-campaign.

Run by campaign_mpi.sh under ctest with LRID (the binary) and LRID_SOURCE_DIR set.
"""
import json
import os
import signal
import subprocess
import sys
import time

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lridtest import LRID, MPIRUN, check, finish, run, tempdir  # noqa: E402

TMP = tempdir("lrid_campaign_")


def job_file(name, text):
    path = os.path.join(TMP, name)
    with open(path, "w") as f:
        f.write(text)
    return path


BASE = """name: mpitest
grid:
  - learning_rules: RULES
    tasks: TASKS
    architectures: [MLP]
    batch_sizes: [32]
training:
  defaults: {steps: STEPS}
observables:
  trajectory_points: 5
  observation_batch: 32
  conditions: {unit_fractions: [1.0, 0.5], noise_levels: [0.0, 0.1]}
distributed:
  threads_per_rank: 1
  ranks_per_run: RPR
"""


def make_job(name, steps=20, rpr=1, extra="", rules="[sgdm, adam, fa, ia]", tasks="[fashion_mnist, fashion_mnist_coarse]"):
    text = BASE.replace("STEPS", str(steps)).replace("RPR", str(rpr)).replace("RULES", rules).replace("TASKS", tasks)
    return job_file(name, text + extra)


# Every learning rule of the registry (lrid rules --json): the data-parallel check covers each.
ALL_RULES = "[" + ", ".join(r["name"] for r in json.loads(
    subprocess.run([LRID, "rules", "--json"], capture_output=True, text=True, check=True).stdout)["rules"]) + "]"


def values(path):
    with h5py.File(path, "r") as f:
        return f["observables/values"][:], f["runs/status"][:], f["runs/loss"][:]


def log_events(path):
    with open(path + ".log.jsonl") as f:
        return [json.loads(l) for l in f if l.strip()]


# 1. The same campaign with 1, 2 and 3 ranks: every run done exactly once, identical observables.
job = make_job("job.yaml")
outs = {}
for n in (1, 2, 3):
    out = os.path.join(TMP, f"np{n}.h5")
    run(["train", job, "--out", out, "-q"], np_=n)
    outs[n] = values(out)
    done = [e["run"] for e in log_events(out) if e["event"] == "done"]
    check(sorted(done) == list(range(8)), f"np {n}: every run done exactly once ({sorted(done)})")
    check((outs[n][1] == 2).all(), f"np {n}: every status is done")
    check(not np.isnan(outs[n][0]).all(axis=(1, 2, 3, 4)).any(), f"np {n}: every run has data")
for n in (2, 3):
    check(np.array_equal(outs[1][0], outs[n][0], equal_nan=True),
          f"np {n}: observables bit-identical to np 1")

# 2. Refusals: an existing file without --resume, a modified job with --resume. Nothing changes.
before = open(os.path.join(TMP, "np1.h5"), "rb").read()
p = run(["train", job, "--out", os.path.join(TMP, "np1.h5")], np_=2, expect=2)
check("--resume" in p.stderr and "--force" in p.stderr, "existing file: message names --resume/--force")
changed = make_job("changed.yaml", steps=21)
p = run(["train", changed, "--out", os.path.join(TMP, "np1.h5"), "--resume"], np_=2, expect=2)
check("runs that would change: 0,1,2,3,4,5,6,7" in p.stderr, "modified job: message lists the runs")
check(open(os.path.join(TMP, "np1.h5"), "rb").read() == before, "refused files are untouched")

# 3. Shards and merge equal the unsharded campaign.
s0, s1, merged = (os.path.join(TMP, x) for x in ("s0.h5", "s1.h5", "merged.h5"))
run(["train", job, "--out", s0, "--shard", "0/2", "-q"], np_=1)
run(["train", job, "--out", s1, "--shard", "1/2", "-q"], np_=2)
run(["merge", s0, s1, "--out", merged])
check(np.array_equal(values(merged)[0], outs[1][0], equal_nan=True), "merge of 2 shards == unsharded")
run(["merge", s0, s0, "--out", os.path.join(TMP, "bad.h5")], expect=2)
run(["merge", s0, os.path.join(TMP, "np1.h5"), "--out", os.path.join(TMP, "bad.h5")], expect=2)

# 4. Data-parallel groups: G=2 equals G=1 with the whole batch (weights within 1e-5 relative),
# for every registered rule (B's gradients are averaged like W's).
g1, g2 = os.path.join(TMP, "g1.h5"), os.path.join(TMP, "g2.h5")
run(["train", make_job("g1.yaml", rpr=1, rules=ALL_RULES, tasks="[fashion_mnist]"), "--out", g1, "-q"], np_=1)
run(["train", make_job("g2.yaml", rpr=2, rules=ALL_RULES, tasks="[fashion_mnist]"), "--out", g2, "-q"], np_=2)
with h5py.File(g1, "r") as a, h5py.File(g2, "r") as b:
    names = [n.decode() for n in a["observables/statistic"][:]]
    va, vb = a["observables/values"][:], b["observables/values"][:]
    for stat in ("weightraw_norm", "weightsq_mean", "weightraw_var", "weightabs_mean"):
        i = names.index(stat)
        x, y = va[:, :, 0, :, i], vb[:, :, 0, :, i]
        rel = np.nanmax(np.abs(x - y) / np.abs(x))
        check(rel < 1e-5, f"G=2 vs G=1: {stat} within 1e-5 relative ({rel:.2e})")
    check(np.nanmax(np.abs(a["runs/loss"][:] - b["runs/loss"][:])) < 1e-4, "G=2 vs G=1: losses agree")

# 5. kill -9 of a worker rank mid-campaign, then --resume.
slow = make_job("slow.yaml", steps=150).replace("slow.yaml", "slow.yaml")
with open(slow) as f:
    text = f.read().replace("architectures: [MLP]", "architectures: [KNet4]")
with open(slow, "w") as f:
    f.write(text)
ref = os.path.join(TMP, "ref.h5")
run(["train", slow, "--out", ref, "-q"], np_=2)
crash = os.path.join(TMP, "crash.h5")
proc = subprocess.Popen(MPIRUN + ["-np", "3", LRID, "train", slow, "--out", crash, "-q"],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
deadline = time.time() + 120
while time.time() < deadline:
    try:
        if any(e["event"] == "done" for e in log_events(crash)):
            break
    except (FileNotFoundError, json.JSONDecodeError):
        pass
    time.sleep(0.05)
workers = subprocess.run(["pgrep", "-f", f"^{LRID} train {slow}"], capture_output=True, text=True)
pids = sorted(int(x) for x in workers.stdout.split())
check(len(pids) == 3, f"3 ranks running ({pids})")
if pids:
    os.kill(pids[-1], signal.SIGKILL)  # the last-started rank: a worker, not rank 0
proc.wait(timeout=60)
check(proc.returncode != 0, "mpirun reports the killed rank")
for _ in range(300):  # the other ranks end too (mpirun terminates them)
    if not subprocess.run(["pgrep", "-f", f"^{LRID} train {slow}"], capture_output=True).stdout.strip():
        break
    time.sleep(0.1)
with h5py.File(crash, "r") as f:  # readable after the crash
    st_crash, v_crash = f["runs/status"][:], f["observables/values"][:]
done_before = [i for i, s in enumerate(st_crash) if s == 2]
check(len(done_before) >= 1, f"runs done before the kill: {done_before}")
vref = values(ref)[0]
for i in done_before:
    check(np.array_equal(v_crash[i], vref[i], equal_nan=True), f"run {i} done before the kill is complete")
status = json.loads(run(["status", crash, "--json"]).stdout)
check(status["done"] == len(done_before), "status after the crash counts the done runs")
run(["train", slow, "--out", crash, "--resume", "-q"], np_=2)
vres, st_res, _ = values(crash)
check((st_res == 2).all(), "after --resume every run is done")
check(np.array_equal(vres, vref, equal_nan=True), "resumed campaign equals an uninterrupted one")
for i in done_before:
    check(np.array_equal(vres[i], v_crash[i], equal_nan=True), f"run {i} unchanged by the resume")
ev = log_events(crash)
last_start = max(i for i, e in enumerate(ev) if e["event"] == "start")
check(ev[last_start].get("threads_per_rank") == 1 and ev[last_start].get("blas_threads") in (0, 1),
      f"the start event names the intra-op and BLAS threads ({ev[last_start]})")
retrained = sorted(e["run"] for e in ev[last_start:] if e["event"] == "done")
check(retrained == sorted(set(range(8)) - set(done_before)), f"resume trained only the rest ({retrained})")
status = json.loads(run(["status", crash, "--json"]).stdout)
check(status["done"] == 8 and status["last_event"] == "finish", "status consistent with the log")

finish()
