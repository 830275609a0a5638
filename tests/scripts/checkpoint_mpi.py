"""In-run checkpoints, the writer lock, stop signals, failures inside a data-parallel group, and
shard files, under real mpirun:

1. kill -9 of the whole job mid-run (ranks_per_run 1, all four rules), while a second writer is
   refused; one in-flight run's checkpoint is then truncated: --resume takes over the stale
   lock, resumes the other run from step S > 0, sets the corrupt checkpoint aside and restarts
   that run, and the campaign equals an uninterrupted one bit for bit.
2. The same kill -9 and resume with ranks_per_run 2.
3. SIGTERM to every rank: exit code 75, runs logged interrupted, --resume completes it bit for
   bit. The same to `lrid run`: exit 75 and no analysis; the same command completes, analyses,
   and equals the uninterrupted campaign bit for bit.
4. A fault injected on the non-leader rank, and on the leader while it records, of a 2-rank
   group: that run fails with the rank's message, the others complete, nothing hangs.
5. Shard 0 of 8 is about an eighth of the whole campaign file; the 8 merged equal the whole.

Run by checkpoint_mpi.sh under ctest with LRID (the binary) and LRID_SOURCE_DIR set.
"""
import glob
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

TMP = tempdir("lrid_ckpt_")
TIMEOUT = 240


def job(name, steps, rpr, tasks="[fashion_mnist]", batch="[32]", ckpt=0.2):
    path = os.path.join(TMP, name + ".yaml")
    with open(path, "w") as f:
        f.write(f"""name: {name}
grid:
  - learning_rules: [sgdm, adam, fa, ia]
    tasks: {tasks}
    architectures: [MLP]
    batch_sizes: {batch}
training:
  defaults: {{steps: {steps}}}
observables:
  trajectory_points: 5
  observation_batch: 32
  conditions: {{unit_fractions: [1.0, 0.5], noise_levels: [0.0, 0.5]}}
distributed:
  threads_per_rank: 1
  ranks_per_run: {rpr}
  checkpoint_seconds: {ckpt}
""")
    return path


def events(h5):
    try:
        with open(h5 + ".log.jsonl") as f:
            return [json.loads(l) for l in f if l.strip()]
    except (FileNotFoundError, json.JSONDecodeError):
        return []


def contents(h5):
    with h5py.File(h5, "r") as f:
        return {k: f[k][:] for k in ("observables/values", "runs/loss", "runs/status", "runs/final_loss",
                                      "runs/final_metric", "diagnostics/wb_angle", "diagnostics/grad_angle")}


def same(a, b, what):
    bad = [k for k in a if k != "runs/status" and not np.array_equal(a[k], b[k], equal_nan=True)]
    check(not bad and (a["runs/status"] == 2).all(), f"{what}: equal bit for bit to the uninterrupted campaign {bad}")


def ranks_of(job_path):
    p = subprocess.run(["pgrep", "-f", f"^{LRID} train {job_path}"], capture_output=True, text=True)
    return sorted(int(x) for x in p.stdout.split())


def wait_gone(job_path):
    for _ in range(300):
        if not ranks_of(job_path):
            return
        time.sleep(0.1)


def start(job_path, out, np_=2, env=None):
    return subprocess.Popen(MPIRUN + ["-np", str(np_), LRID, "train", job_path, "--out", out, "-q"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=dict(os.environ, **(env or {})))


def wait_for_checkpoints(out, n, deadline=60, min_step=50):
    """Waits until n runs not yet done have a checkpoint past min_step; returns {run: step}."""
    end = time.time() + deadline
    while time.time() < end:
        done = {e["run"] for e in events(out) if e.get("event") == "done"}
        steps = {}
        for p in glob.glob(out + ".ckpt/run-*.json"):
            try:
                with open(p) as f:
                    j = json.load(f)
                if j["step"] >= min_step and j["run"] not in done:
                    steps[j["run"]] = j["step"]
            except (OSError, ValueError, KeyError):
                pass
        if len(steps) >= n:
            return steps
        time.sleep(0.02)
    return {}


def kill_and_resume(name, rpr, steps, corrupt):
    path = job(name, steps, rpr)
    ref = os.path.join(TMP, name + "-ref.h5")
    run(["train", path, "--out", ref, "-q"], np_=2)
    out = os.path.join(TMP, name + ".h5")
    proc = start(path, out)
    if rpr == 1:
        # A second writer on the same file is refused with one line naming the holder (asked
        # once the job is training, before the runs in flight are taken: its start-up takes
        # long enough for a run seen in flight to finish).
        check(bool(wait_for_checkpoints(out, 1)), f"{name}: the job is training")
        p = subprocess.run([LRID, "train", path, "--out", out, "--resume", "-q"], capture_output=True, text=True)
        lines = p.stderr.strip().splitlines()
        check(p.returncode == 2 and len(lines) == 1 and "lock" in lines[0] and "pid" in lines[0],
              f"{name}: a second writer is refused with one line, exit 2 ({p.returncode}: {lines})")
    inflight = wait_for_checkpoints(out, 2 if rpr == 1 else 1)
    check(bool(inflight), f"{name}: runs in flight with checkpoints past step 0 ({inflight})")
    for pid in ranks_of(path):
        os.kill(pid, signal.SIGKILL)
    proc.wait(timeout=60)
    wait_gone(path)
    check(os.path.exists(out + ".lock"), f"{name}: the killed job left its lock behind")
    aside = None
    if corrupt:
        victim = sorted(inflight)[0]
        for f in glob.glob(out + f".ckpt/run-{victim}.r*.pt"):
            with open(f, "r+b") as fh:
                fh.truncate(100)
        aside = victim
    p = subprocess.run(MPIRUN + ["-np", "2", LRID, "train", path, "--out", out, "--resume", "-q"],
                       capture_output=True, text=True, timeout=TIMEOUT)
    check(p.returncode == 0, f"{name}: --resume after kill -9 exits 0 ({p.returncode}) {p.stderr[-500:]}")
    ev = events(out)
    last = max(i for i, e in enumerate(ev) if e["event"] == "start")
    check("stale_lock" in ev[last], f"{name}: --resume took over the stale lock")
    resumed = {e["run"]: e.get("resumed_from", -1) for e in ev[last:] if e["event"] == "done"}
    continued = [r for r in inflight if r != aside]
    check(continued and all(resumed.get(r, -1) > 0 for r in continued),
          f"{name}: runs {continued} resumed from their checkpoints ({resumed})")
    if corrupt:
        notes = [e["text"] for e in ev[last:] if e["event"] == "note" and e["run"] == aside]
        check(any("checkpoint refused" in n and "set aside" in n for n in notes),
              f"{name}: the truncated checkpoint of run {aside} is refused: {notes}")
        check(resumed.get(aside) == -1, f"{name}: run {aside} started over")
        check(bool(glob.glob(out + f".ckpt/run-{aside}.r*.pt.bad-*")), f"{name}: the bad file is kept aside")
    check(not glob.glob(out + ".ckpt/run-*.pt"), f"{name}: no checkpoint left once every run is done")
    check(not os.path.exists(out + ".lock"), f"{name}: the lock is released at the end")
    same(contents(out), contents(ref), name)
    return path, ref


# 1 and 2: kill -9, resume; per rule, for ranks_per_run 1 and 2.
path1, ref1 = kill_and_resume("kill1", 1, 2500, corrupt=True)
kill_and_resume("kill2", 2, 2500, corrupt=False)

# 3. SIGTERM to every rank (what Slurm sends before a time limit or on preemption).
out = os.path.join(TMP, "term.h5")
proc = start(path1, out)
inflight = wait_for_checkpoints(out, 1)
for pid in ranks_of(path1):
    os.kill(pid, signal.SIGTERM)
text, _ = proc.communicate(timeout=120)
check(proc.returncode == 75, f"SIGTERM: exit code 75 ({proc.returncode})")
ev = events(out)
check(any(e["event"] == "interrupted" for e in ev), "SIGTERM: the log marks the runs interrupted")
check(ev and ev[-1]["event"] == "finish" and ev[-1].get("interrupted"), "SIGTERM: the log ends with an interrupted finish")
st = json.loads(run(["status", out, "--json"]).stdout)
check(st.get("running", 0) == 0, f"SIGTERM: status shows nothing running ({st.get('running')})")
check("--resume" in text, "SIGTERM: the job says how to resume")
run(["train", path1, "--out", out, "--resume", "-q"], np_=2)
same(contents(out), contents(ref1), "SIGTERM then --resume")

# 3b. The same signal to `lrid run`: exit 75 before the analysis (no results), and the same
# command continues the campaign and then analyses it.
rdir = os.path.join(TMP, "rundir")
rcmd = MPIRUN + ["-np", "2", LRID, "run", path1, "analysis.splits=3", "analysis.cv_folds=2",
                 "analysis.classifiers=[random_forest]", "analysis.random_forest.n_estimators=[10]",
                 "analysis.random_forest.max_features=[sqrt]", "analysis.sweep_splits=2",
                 "analysis.sweep_forest.n_estimators=10", "--dir", rdir, "-q", "--no-plots"]
proc = subprocess.Popen(rcmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
wait_for_checkpoints(os.path.join(rdir, "campaign.h5"), 1)
pids = subprocess.run(["pgrep", "-f", f"^{LRID} run {path1}"], capture_output=True, text=True).stdout.split()
for pid in pids:
    os.kill(int(pid), signal.SIGTERM)
text, _ = proc.communicate(timeout=120)
check(proc.returncode == 75 and "interrupted by SIGTERM" in text and "not analysed" in text,
      f"lrid run, SIGTERM: exit 75 and says so ({proc.returncode}: {text[-300:]!r})")
check(not os.path.exists(os.path.join(rdir, "results", "report.md")), "lrid run, SIGTERM: nothing analysed")
again = subprocess.run(rcmd, capture_output=True, text=True, timeout=TIMEOUT)
check(again.returncode == 0 and os.path.exists(os.path.join(rdir, "results", "report.md")),
      f"lrid run again: continues, completes and analyses ({again.returncode})")
same(contents(os.path.join(rdir, "campaign.h5")), contents(ref1), "lrid run: SIGTERM, then the same command")

# 4. Faults inside a 2-rank group: the non-leader in training, the leader while recording.
path = job("fault", 200, 2, ckpt=0)
for where, fault, rank in (("non-leader", "run=1,rank=1,step=57", 1), ("leader", "run=2,rank=0,step=100,where=record", 0)):
    out = os.path.join(TMP, f"fault-{rank}.h5")
    try:
        p = subprocess.run(MPIRUN + ["-np", "2", "-x", "LRID_FAULT", LRID, "train", path, "--out", out, "-q"],
                           capture_output=True, text=True, timeout=TIMEOUT, env=dict(os.environ, LRID_FAULT=fault))
        rc = p.returncode
    except subprocess.TimeoutExpired:
        rc = "timeout"
    check(rc == 0, f"fault on the {where}: the campaign completes ({rc})")
    with h5py.File(out, "r") as f:
        status = f["runs/status"][:]
        err = f["runs/error"][:]
    bad = 1 if rank == 1 else 2
    msg = err[bad].decode() if isinstance(err[bad], bytes) else str(err[bad])
    check(status[bad] == 3 and "injected fault" in msg, f"fault on the {where}: run {bad} failed with its message ({msg})")
    check(all(status[i] == 2 for i in range(len(status)) if i != bad), f"fault on the {where}: the other runs are done")

# 5. Shard files hold their own runs: shard 0/8 is about 1/8 of the whole; merged they equal it.
path = job("shards", 5, 1, tasks="[fashion_mnist, fashion_mnist_coarse]", batch="[16, 32, 64, 128]", ckpt=0)
whole = os.path.join(TMP, "whole.h5")
run(["train", path, "--out", whole, "-q"], np_=2)
shards = []
for i in range(8):
    s = os.path.join(TMP, f"shard-{i}.h5")
    run(["train", path, "--out", s, "--shard", f"{i}/8", "-q"])
    shards.append(s)
rows = []
for s in shards:
    with h5py.File(s, "r") as f:
        rows.append(len(f["runs/job_id"][:]))
ratio = os.path.getsize(shards[0]) / os.path.getsize(whole)
check(sum(rows) == 32 and min(rows) >= 1, f"the 8 shard files hold their own runs, 32 in all ({rows})")
check(ratio < rows[0] / 32 + 0.08, f"shard 0/8 file ({rows[0]} of 32 runs) is {ratio:.3f} of the whole campaign file")
merged = os.path.join(TMP, "merged.h5")
run(["merge"] + shards + ["--out", merged])
a, b = contents(merged), contents(whole)
check(all(np.array_equal(a[k], b[k], equal_nan=True) for k in a), "the 8 shards merged equal the whole campaign")

finish()
