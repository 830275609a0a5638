"""lrid submit / status / resume on a real local Slurm cluster (started by slurm_campaign.sh).

1. The smoke job in 3 shards through sbatch equals (bit-identical observables) one mpirun job.
2. One array task cancelled mid-run and one failing shard: status reports both, resume
   resubmits exactly those two indices (and refuses to resubmit them while they run), the
   campaign completes, and no run already done is trained again (the shards' logs).
3. Bad input with a live cluster: a campaign dir of another job, an unknown partition, no
   sbatch in PATH: exit code 2 and a clear message.
4. 'scontrol requeue' of a finished array task: the task reruns with --resume and trains nothing.
5. A step whose ranks never start, for which srun exits 0: the shard is FAILED with the script's
   error line and the reduction does not merge; then the reduction's analyze step cannot start:
   the reduction is FAILED; resume completes both.
6. A run ~3x longer than the shard's 1-minute time limit: Slurm's warning (--signal) makes the
   rank checkpoint and exit 75, the task requeues itself, and after several attempts the run is
   done and equals one uninterrupted mpirun run bit for bit.
"""
import json
import os
import shutil
import subprocess
import sys
import time

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lridtest  # noqa: E402
from lridtest import LRID, SRC, check, failures  # noqa: E402

WORK = os.environ["LRID_TEST_WORK"]
PROFILE = os.path.join(SRC, "cluster", "local.yaml")
SMOKE = os.path.join(SRC, "jobs", "smoke.yaml")
T0 = time.time()


def run(args, expect=0, env=None, quiet=False):
    return lridtest.run(args, expect=expect, cwd=WORK, env=env, show=not quiet)


def status(d):
    p = subprocess.run([LRID, "status", d, "--json"], capture_output=True, text=True, cwd=WORK)
    if p.returncode != 0:
        print(p.stdout, p.stderr)
        raise SystemExit("lrid status failed")
    return json.loads(p.stdout)


def wait_inactive(d, timeout):
    end = time.time() + timeout
    while time.time() < end:
        s = status(d)
        if not s["active"]:
            return s
        time.sleep(0.5)
    print(run(["status", d], quiet=True).stdout)
    raise SystemExit(f"{d}: Slurm jobs still active after {timeout} s")


def watch(d, timeout):
    """lrid status D --watch --json until nothing runs; returns the reports (one per line)."""
    p = subprocess.run([LRID, "status", d, "--watch", "--interval", "0.3", "--json"], capture_output=True,
                       text=True, cwd=WORK, timeout=timeout)
    check(p.returncode == 0, f"lrid status {os.path.basename(d)} --watch ends when nothing runs any more")
    return [json.loads(l) for l in p.stdout.splitlines() if l.strip()]


def record(d):
    with open(os.path.join(d, "campaign.json")) as f:
        return json.load(f)


def log_events(path):
    with open(path) as f:
        return [json.loads(l) for l in f if l.strip()]


def write(name, text):
    path = os.path.join(WORK, name)
    with open(path, "w") as f:
        f.write(text)
    return path


# ---------------------------------------------------------------------------------------------
print("--- 1. 3-shard submit == one mpirun campaign", flush=True)
ref = os.path.join(WORK, "ref.h5")
p = subprocess.run(["mpirun", "--allow-run-as-root", "--oversubscribe", "-np", "2", LRID, "train", SMOKE,
                    "--out", ref, "-q"], capture_output=True, text=True, cwd=WORK)
check(p.returncode == 0, "reference: mpirun -np 2 lrid train jobs/smoke.yaml")
grid = json.loads(run(["grid", SMOKE, "--json"], quiet=True).stdout)

c1 = os.path.join(WORK, "c1")
out = run(["submit", SMOKE, "--cluster", PROFILE, "--shards", "3", "--dir", "c1", "--no-analyze"]).stdout
rec = record(c1)
sub = rec["submissions"][0]
check(rec["job_hash"] == grid["job_hash"] and rec["shards"] == 3 and rec["runs"] == 4,
      "campaign.json records the job hash, 3 shards, 4 runs")
def lpt(costs, n):  # longest first onto the least loaded shard (ties: lowest id, lowest shard)
    shards, load = [[] for _ in range(n)], [0.0] * n
    for i in sorted(range(len(costs)), key=lambda i: (-costs[i], i)):
        k = min(range(n), key=lambda k: (load[k], k))
        shards[k].append(i); load[k] += costs[i]
    return [sorted(s) for s in shards]
costs = [r["cost"] for r in grid["runs"]]
check([s["runs"] for s in rec["layout"]] == lpt(costs, 3), "campaign.json records the cost-balanced shard layout")
check(sub["array_job"].isdigit() and sub["reduce_job"].isdigit() and sub["dependency"] == [sub["array_job"]],
      "campaign.json records the array job and the chained reduction")
check(f"array job {sub['array_job']}" in out and f"afterany:{sub['array_job']}" in out,
      "submit prints what it submitted")
reports = watch(c1, 180)
s = reports[-1]
check(len(reports) >= 2 and reports[0]["active"] and not s["active"],
      f"status --watch: {len(reports)} reports, from running to finished")
check(s["complete"] and s["done"] == 4 and s["reduction"]["state"] == "COMPLETED" and s["reduction"]["done"],
      "status: complete, 4 done, reduction COMPLETED")
check([x["slurm_state"] for x in s["shard_status"]] == ["COMPLETED"] * 3, "status: every array task COMPLETED")
with h5py.File(ref, "r") as a, h5py.File(os.path.join(c1, "campaign.h5"), "r") as b:
    va, vb = a["observables/values"][:], b["observables/values"][:]
    check(va.shape == vb.shape and va.tobytes() == vb.tobytes(),
          "merged /observables/values bit-identical to the single mpirun campaign")
    check(np.all(b["runs/status"][:] == 2), "merged campaign: every run done")
    check(a["runs/loss"][:].tobytes() == b["runs/loss"][:].tobytes(), "merged loss curves bit-identical")
    check(b.attrs["job_hash"].decode() if isinstance(b.attrs["job_hash"], bytes) else b.attrs["job_hash"]
          == grid["job_hash"], "merged campaign carries the job hash")
text = run(["status", c1], quiet=True).stdout
check(text.count("COMPLETED") >= 4 and "complete" in text, "text status lists the shards and the reduction")
with open(os.path.join(c1, "reduce.sbatch")) as f:
    red = f.read()
check('analyze "$DIR/campaign.h5" --out "$DIR/results/"' in red and "# skipped" in red,
      "reduce.sbatch holds the analyze step (skipped with --no-analyze)")
print(f"    ({time.time() - T0:.0f} s)", flush=True)

# ---------------------------------------------------------------------------------------------
print("--- 2. cancelled task + failing shard -> status, resume exactly those, nothing retrained", flush=True)
job2 = write("resume.yaml", """name: slurmresume
grid:
  - learning_rules: [sgdm, adam, fa, ia]
    tasks: [fashion_mnist, fashion_mnist_coarse]
    architectures: [MLP]
    batch_sizes: [32, 64]
training:
  defaults: {steps: 400}
observables:
  trajectory_points: 5
  observation_batch: 32
  conditions: {unit_fractions: [1.0, 0.5], noise_levels: [0.0, 0.1]}
distributed:
  threads_per_rank: 1
""")
c2 = os.path.join(WORK, "c2")
blocker = os.path.join(c2, "shards", "shard-2.h5")
os.makedirs(blocker)  # a directory where shard 2's file must go: its array task fails
run(["submit", job2, "--cluster", PROFILE, "--shards", "3", "--dir", "c2", "--max-concurrent", "2", "--no-analyze"])
with open(os.path.join(c2, "shards.sbatch")) as f:
    check("#SBATCH --array=0-2%2" in f.read(), "shards.sbatch: --array=0-2%2 (--max-concurrent 2)")
A = record(c2)["submissions"][0]["array_job"]
log1 = os.path.join(c2, "shards", "shard-1.h5.log.jsonl")
end = time.time() + 120
while time.time() < end:
    if os.path.exists(log1) and any(e["event"] == "done" for e in log_events(log1)):
        break
    time.sleep(0.05)
subprocess.run(["scancel", f"{A}_1"], check=True)
done_at_cancel = sum(e["event"] == "done" for e in log_events(log1))
check(1 <= done_at_cancel < 6, f"scancel {A}_1 mid-run ({done_at_cancel} of its 6 runs done)")
s = wait_inactive(c2, 180)
sh = s["shard_status"]
check(sh[0]["complete"] and sh[0]["slurm_state"] == "COMPLETED", "status: shard 0 complete")
check(sh[1]["slurm_state"] == "CANCELLED" and not sh[1]["complete"] and sh[1]["done"] >= 1,
      f"status: shard 1 CANCELLED with {sh[1]['done']} runs done")
check(sh[2]["slurm_state"] == "FAILED" and sh[2]["file_state"] == "unreadable"
      and "shard-2.h5: not a regular file (expected a campaign file)" in sh[2]["output_error"],
      "status: shard 2 FAILED, with lrid's error line")
check(s["to_resubmit"] == [1, 2] and not s["complete"], "status: shards 1 and 2 to resubmit")
check(s["reduction"]["state"] == "FAILED" and not s["reduction"]["merged"],
      "the chained reduction ran, found the campaign incomplete and failed without merging")
text = run(["status", c2]).stdout
check("CANCELLED" in text and "FAILED" in text and "to resubmit: shards 1,2" in text,
      "text status reports the cancelled and the failed shard")
with h5py.File(os.path.join(c2, "shards", "shard-1.h5"), "r") as f:
    done_before = set(np.nonzero(f["runs/status"][:] == 2)[0].tolist())

dry = run(["resume", c2, "--dry-run"]).stdout
check("--array=1,2%2" in dry and len(record(c2)["submissions"]) == 1, "resume --dry-run: would resubmit 1,2; nothing submitted")
os.rmdir(blocker)  # the cause of shard 2's failure is fixed
out = run(["resume", c2]).stdout
subs = record(c2)["submissions"]
check(len(subs) == 2 and subs[1]["shards"] == [1, 2] and subs[1]["array"] == "1,2%2" and "--array=1,2%2" in out,
      "resume resubmits exactly shards 1 and 2 (--array=1,2%2)")
check(subs[1]["dependency"] == [subs[1]["array_job"]] and subs[1]["reduce_job"].isdigit(),
      "resume re-chains the reduction after the new array job")
again = run(["resume", c2]).stdout
check(len(record(c2)["submissions"]) == 2 and "nothing to resubmit" in again,
      "a second resume while they run submits nothing")
reports = watch(c2, 240)
s = reports[-1]
live = [r for r in reports if r["active_shards"] > 0 and r["runs_per_hour_now"] > 0 and r["eta_seconds"] > 0]
check(len(live) > 0, "status while shards run: throughput now and ETA"
      + (f" ({live[0]['runs_per_hour_now']:.0f} runs/h, ETA {live[0]['eta_seconds']:.1f} s)" if live else ""))
check(s["complete"] and s["done"] == 16 and s["reduction"]["state"] == "COMPLETED" and s["reduction"]["done"],
      "after resume: 16 runs done, reduction COMPLETED")
with h5py.File(os.path.join(c2, "campaign.h5"), "r") as f:
    check(np.all(f["runs/status"][:] == 2), "merged campaign: all 16 runs done")
with open(os.path.join(c2, "campaign.json")) as f:
    layout2 = [s["runs"] for s in json.load(f)["layout"]]
for i in range(3):
    ev = log_events(os.path.join(c2, "shards", f"shard-{i}.h5.log.jsonl"))
    done = [e["run"] for e in ev if e["event"] == "done"]
    check(sorted(done) == layout2[i], f"shard {i}: every run trained to done exactly once")
    # shard 0: one start (never resubmitted); shard 1: cancelled, then resumed; shard 2: its
    # first task failed before lrid wrote a log, then resumed
    starts = sum(e["event"] == "start" for e in ev)
    check(starts == [1, 2, 1][i], f"shard {i}: {starts} start(s) in its log (expected {[1, 2, 1][i]})")
ev1 = log_events(log1)
second = ev1[[k for k, e in enumerate(ev1) if e["event"] == "start"][1]:]
retrained = {e["run"] for e in second if e["event"] == "assign"} & done_before
check(not retrained, f"shard 1: runs done before the cancel ({sorted(done_before)}) not assigned again")
with open(os.path.join(c2, "logs", "shard-1.out")) as f:
    check(f.read().count("lrid shard 1/3:") == 2, "logs/shard-1.out holds both attempts")
print(f"    ({time.time() - T0:.0f} s)", flush=True)

# ---------------------------------------------------------------------------------------------
print("--- 3. bad input with a live cluster", flush=True)
other = write("other.yaml", open(SMOKE).read().replace("name: smoke", "name: other").replace("steps: 20", "steps: 21"))
e = run(["submit", other, "--cluster", PROFILE, "--shards", "3", "--dir", "c1"], expect=2).stderr
check("campaign directory of another job" in e and "smoke" in e, "submit into another job's dir: refused")
e = run(["submit", SMOKE, "--cluster", PROFILE, "--shards", "3", "--dir", "c1"], expect=2).stderr
check("already submitted" in e and "lrid resume" in e, "submit twice into one dir: refused, pointing to resume")
e = run(["resume", c1, "--job", other], expect=2).stderr
check("another job" in e, "resume --job of another job: refused")
c3 = os.path.join(WORK, "c3")
os.makedirs(c3)
shutil.copy(os.path.join(c1, "campaign.json"), c3)
shutil.copy(other, os.path.join(c3, "job.yaml"))
e = run(["resume", c3], expect=2).stderr
check("campaign directory of another job" in e, "resume of a dir whose job.yaml is another job: refused")
os.makedirs(os.path.join(WORK, "c4", "shards"))
shutil.copy(os.path.join(c1, "shards", "shard-0.h5"), os.path.join(WORK, "c4", "shards"))
e = run(["submit", other, "--cluster", PROFILE, "--shards", "3", "--dir", "c4"], expect=2).stderr
check("shard 0/3 of job 'smoke'" in e, "submit over a shard file of another job: refused")
bad = write("badpart.yaml", "partition: debgu\n")
e = run(["submit", SMOKE, "--cluster", bad, "--shards", "2", "--dir", "c5"], expect=2).stderr
check("partition 'debgu' does not exist" in e and "did you mean 'debug'" in e, "unknown partition: refused (sinfo)")
check(not os.path.exists(os.path.join(WORK, "c5")), "a refused submit leaves no directory behind")
env = dict(os.environ, PATH="/nonexistent")
e = run(["submit", SMOKE, "--cluster", PROFILE, "--shards", "2", "--dir", "c6"], expect=2, env=env).stderr
check("sbatch: not found in PATH" in e, "submit without sbatch in PATH: refused")
e = run(["resume", c2], expect=2, env=env).stderr
check("sbatch: not found in PATH" in e, "resume without sbatch in PATH: refused")
out = run(["resume", c1]).stdout
check("nothing to resubmit" in out and len(record(c1)["submissions"]) == 1, "resume of a finished campaign: nothing to do")
e = run(["status", WORK], expect=2).stderr
check("not an lrid directory (expected campaign.json" in e, "status of a directory without campaign.json: refused")

# ---------------------------------------------------------------------------------------------
print("--- 4. scontrol requeue of a finished task: it reruns and resumes its shard (trains nothing)", flush=True)
A1 = record(c1)["submissions"][0]["array_job"]
subprocess.run(["scontrol", "requeue", f"{A1}_0"], check=True)
s = status(c1)
check(s["shard_status"][0]["slurm_state"] in ("PENDING", "REQUEUED", "RUNNING", "COMPLETING")
      and s["shard_status"][0]["active"], f"status: requeued task {A1}_0 is {s['shard_status'][0]['slurm_state']}")
out = run(["resume", c1]).stdout
check(len(record(c1)["submissions"]) == 1, "resume does not resubmit a requeued (pending) shard")
s = wait_inactive(c1, 120)
ev = log_events(os.path.join(c1, "shards", "shard-0.h5.log.jsonl"))
starts = [e for e in ev if e["event"] == "start"]
check(len(starts) == 2 and starts[1]["resume"] and starts[1]["todo"] == 0
      and sum(e["event"] == "done" for e in ev) == len(record(c1)["layout"][0]["runs"]),
      "the requeued task resumed its complete shard and trained nothing")
check(s["complete"] and s["shard_status"][0]["slurm_state"] == "COMPLETED", "status: complete again")

# ---------------------------------------------------------------------------------------------
print("--- 5. a step whose ranks never start (srun exits 0): the shard is FAILED, resume completes it", flush=True)
# Slurm 22.05's srun exits 0 when slurmstepd fails before forking the ranks. One real way to make
# that happen: the step's PMIx directory (TmpFS/spmix_appdir_UID_JOB.STEP) already exists, as one
# left behind by a killed cluster did under /tmp before the local cluster had its own TmpFS.
cfg = subprocess.run(["scontrol", "show", "config"], capture_output=True, text=True, check=True).stdout
tmpfs = next(l.split("=", 1)[1].strip() for l in cfg.splitlines() if l.startswith("TmpFS"))
check(tmpfs == os.path.join(WORK, "slurm", "tmp"),
      f"the local cluster keeps its steps' PMIx directories in its own TmpFS ({tmpfs})")
# the next job id: one more than the highest Slurm knows (finished jobs stay listed for an hour)
last_id = max(int(j) for j in subprocess.run(["squeue", "-h", "-t", "all", "-o", "%A"], capture_output=True,
                                            text=True, check=True).stdout.split())
stale = [os.path.join(tmpfs, f"spmix_appdir_{os.getuid()}_{last_id + 1}.0")]
for d in stale:
    os.makedirs(os.path.join(d, "0"), mode=0o700)
c7 = os.path.join(WORK, "c7")
run(["submit", SMOKE, "--cluster", PROFILE, "--shards", "1", "--dir", "c7"], quiet=True)
check(int(record(c7)["submissions"][0]["array_job"]) == last_id + 1, "the shard's array job got the expected id")
s = wait_inactive(c7, 120)
sh = s["shard_status"][0]
with open(os.path.join(c7, "logs", "shard-0.out")) as f:
    out7 = f.read()
check("launch failed" in out7, "the step's launch failed (srun: task 0 launch failed)")
check(sh["slurm_state"] == "FAILED" and "the launcher exited 0 but lrid train never finished" in sh["output_error"],
      f"status: the shard is FAILED ({sh['slurm_state']}), with the script's error line")
check(s["to_resubmit"] == [0] and s["reduction"]["state"] == "FAILED" and not s["reduction"]["merged"],
      "status: shard 0 to resubmit; the reduction found it incomplete")
for d in stale:
    shutil.rmtree(d)
# resume: a new array job (last_id + 3) and reduction (last_id + 4), whose analyze step cannot start
stale = os.path.join(tmpfs, f"spmix_appdir_{os.getuid()}_{last_id + 4}.0")
os.makedirs(os.path.join(stale, "0"), mode=0o700)
run(["resume", c7], quiet=True)
s = wait_inactive(c7, 120)
red = record(c7)["submissions"][-1]["reduce_job"]
check(red == str(last_id + 4), f"the resumed reduction got the expected id ({red})")
with open(os.path.join(c7, "logs", f"reduce-{red}.out")) as f:
    out7 = f.read()
check(s["shard_status"][0]["complete"] and s["reduction"]["state"] == "FAILED" and not s["reduction"]["done"]
      and "the launcher exited 0 but lrid analyze wrote no new" in out7,
      "after resume: shard 0 complete; the reduction, whose analyze step never started, FAILED")
shutil.rmtree(stale)
run(["resume", c7], quiet=True)
s = wait_inactive(c7, 120)
check(len(record(c7)["submissions"]) == 3 and s["complete"] and s["reduction"]["state"] == "COMPLETED"
      and os.path.exists(os.path.join(c7, "results", "report.md")),
      "a second resume reruns only the reduction: the campaign and its analysis completed")
print(f"    ({time.time() - T0:.0f} s)", flush=True)

# ---------------------------------------------------------------------------------------------
print("--- 6. a run ~3x longer than the shard's time limit: Slurm's warning signal, checkpoint, "
      "exit 75, requeue, until it is done; equal to one uninterrupted mpirun run", flush=True)
job5 = write("long.yaml", """name: long
grid:
  - learning_rules: [sgdm]
    tasks: [fashion_mnist]
    architectures: [KNet4]
    batch_sizes: [16]
training:
  defaults: {steps: 16000}
observables: {trajectory_points: 5, observation_batch: 16}
distributed: {threads_per_rank: 1}
""")
prof5 = write("short.yaml", """name: short
shard: {nodes: 1, tasks_per_node: 1, cpus_per_task: 1, time: "1"}
launcher: srun --mpi=pmix
reduce: {tasks_per_node: 1, cpus_per_task: 1, time: "10"}
signal_grace: 45
""")
c5 = os.path.join(WORK, "long")
ref5 = os.path.join(WORK, "long-ref.h5")
t5 = time.time()
reference = subprocess.Popen(["mpirun", "--allow-run-as-root", "-np", "1", LRID, "train", job5, "--out", ref5, "-q"],
                             cwd=WORK, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
run(["submit", job5, "--cluster", prof5, "--shards", "1", "--dir", c5, "--no-analyze"], quiet=True)
reference.wait(timeout=900)
ref_seconds = time.time() - t5
s = wait_inactive(c5, 1200)
out5 = open(os.path.join(c5, "logs", "shard-0.out")).read()
attempts = out5.count("lrid shard 0/1: Slurm job")
check(out5.count("SIGUSR1 from Slurm") >= 2 and out5.count("requeueing") >= 2,
      f"Slurm's warning signal checkpointed and requeued the task ({attempts} attempts; the run alone "
      f"took {ref_seconds:.0f} s against a 60 s limit)")
check(s["complete"] and os.path.exists(os.path.join(c5, "reduce.done")), "the campaign completed across the attempts")
ev = log_events(os.path.join(c5, "shards", "shard-0.h5.log.jsonl"))
resumed = [e.get("resumed_from", -1) for e in ev if e["event"] == "done"]
check(len(resumed) == 1 and resumed[0] > 0, f"the last attempt resumed the run from step {resumed}")
with h5py.File(os.path.join(c5, "campaign.h5"), "r") as a, h5py.File(ref5, "r") as b:
    same = all(np.array_equal(a[k][:], b[k][:], equal_nan=True)
               for k in ("observables/values", "runs/loss", "runs/final_metric", "diagnostics/wb_angle"))
    check(same and (a["runs/status"][:] == 2).all(), "observables equal the uninterrupted mpirun run bit for bit")
print(f"    ({time.time() - T0:.0f} s)", flush=True)

print(f"slurm campaign tests: {time.time() - T0:.0f} s", flush=True)
if failures:
    print(f"{len(failures)} check(s) failed:\n  " + "\n  ".join(failures))
    sys.exit(1)
print("all slurm campaign checks passed")
