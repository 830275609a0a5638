"""lrid submit --dry-run and bad input of the Slurm commands; needs no running Slurm.

Run by slurm_cli.sh under ctest with LRID and LRID_SOURCE_DIR set.
"""
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lridtest  # noqa: E402
from lridtest import SRC, check, failures  # noqa: E402

TMP = lridtest.tempdir("lrid_slurm_cli_")
GPU = os.path.join(SRC, "cluster", "example-gpu.yaml")
LOCAL = os.path.join(SRC, "cluster", "local.yaml")
SMOKE = os.path.join(SRC, "jobs", "smoke.yaml")


def run(args, expect=0, env=None):
    return lridtest.run(args, expect=expect, cwd=TMP, env=env)


def write(name, text):
    path = os.path.join(TMP, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def bad(args, needle, what, env=None):
    e = run(args, expect=2, env=env).stderr
    check(needle in e and e.count("\n") == 1, f"{what}: one line naming the problem ({needle!r})")
    if needle not in e:
        print("   got:", e)


# --- 1. --dry-run: stable, the expected #SBATCH lines, nothing written -------------------------
camp = os.path.join(TMP, "camp")
args = ["submit", SMOKE, "--cluster", GPU, "--shards", "3", "--dir", camp, "--max-concurrent", "2", "--dry-run"]
a, b = run(args).stdout, run(args).stdout
check(a == b and len(a) > 1000, "--dry-run output is stable (two runs identical)")
check(not os.path.exists(camp), "--dry-run writes nothing")
for line in ["#SBATCH --job-name=lrid-smoke", "#SBATCH --array=0-2%2", "#SBATCH --partition=gpu",
             "#SBATCH --account=my_lab", "#SBATCH --qos=normal", "#SBATCH --nodes=1",
             "#SBATCH --ntasks-per-node=4", "#SBATCH --cpus-per-task=8", "#SBATCH --gpus-per-node=a100:4",
             "#SBATCH --mem=128G", "#SBATCH --time=08:00:00", f"#SBATCH --chdir={TMP}",
             f"#SBATCH --output={camp}/logs/shard-%a.out", "#SBATCH --open-mode=append", "#SBATCH --requeue",
             "#SBATCH --signal=B:USR1@600",
             "#SBATCH --constraint=a100", "#SBATCH --job-name=lrid-smoke-reduce", "#SBATCH --partition=cpu",
             "#SBATCH --ntasks-per-node=16", f"#SBATCH --output={camp}/logs/reduce-%j.out",
             "module load openmpi/4.1 cuda/12.1 hdf5/1.14-openmpi"]:
    check(re.search("^" + re.escape(line) + "$", a, re.M) is not None, f"dry-run has line: {line}")
check('train "$DIR/job.yaml" --shard "$SHARD/3" --resume --out "$OUT"' in a, "array task I: lrid train --shard I/3 --resume")
check("OUT=$DIR/shards/shard-$SHARD.h5" in a, "array task I writes shards/shard-I.h5")
check("--dependency=afterany:<array job id>" in a, "the reduction is chained with --dependency=afterany")
check('"$LRID" merge "$DIR"/shards/shard-{0..2}.h5 --out "$DIR/campaign.h5" --force' in a, "reduction merges the shards")
check('srun --mpi=pmix "$LRID" analyze "$DIR/campaign.h5" --out "$DIR/results/"' in a, "reduction runs lrid analyze")
check(all(k in a for k in ["SLURM_LOCALID", "OMPI_COMM_WORLD_LOCAL_RANK", "CUDA_VISIBLE_DEVICES"]),
      "GPU binding by SLURM_LOCALID / OMPI_COMM_WORLD_LOCAL_RANK via CUDA_VISIBLE_DEVICES")
red_part = a.split(f"# ===== {camp}/reduce.sbatch")[1]
check("--constraint=a100" not in red_part and "--array" not in red_part, "shard-only options stay out of the reduction")

# --dry-run --json: the shard layout, balanced by cost
lay = json.loads(run(["submit", SMOKE, "--cluster", GPU, "--shards", "3", "--dir", camp, "--dry-run", "--json"]).stdout)
ids = sorted(i for s in lay["layout"] for i in s["runs"])
check(len(lay["layout"]) == 3 and ids == list(range(lay["runs"])), "--dry-run --json lists every run once over 3 shards")
check(abs(sum(s["cost"] for s in lay["layout"]) - lay["cost_total"]) < 1e-6 * lay["cost_total"]
      and lay["max_over_mean"] >= 1.0, f"--dry-run --json: shard costs add up, max/mean {lay['max_over_mean']:.3f}")
check(not os.path.exists(camp), "--dry-run --json writes nothing")
bad(["submit", SMOKE, "--cluster", GPU, "--shards", "3", "--dir", camp, "--json"], "--json: only with --dry-run",
    "--json without --dry-run")

# the rendered scripts are valid bash
parts = re.split(r"^# ===== (.*)$", a, flags=re.M)
scripts = dict(zip(parts[1::2], parts[2::2]))
check(len(scripts) == 2, "dry-run prints two scripts")
for name, text in scripts.items():
    p = subprocess.run(["bash", "-n"], input=text, capture_output=True, text=True)
    check(p.returncode == 0, f"bash -n {os.path.basename(name)}" + (": " + p.stderr if p.returncode else ""))

# the GPU binding, executed: local rank r gets the r-th GPU Slurm gave the node
m = re.search(r"^BIND_GPU='.*?^exec \"\$@\"'$", a, re.M | re.S)
if check(m is not None, "the array script defines BIND_GPU"):
    for env_extra, want in [({"SLURM_LOCALID": "1", "CUDA_VISIBLE_DEVICES": "4,5,6,7"}, "5"),
                            ({"SLURM_LOCALID": "5", "CUDA_VISIBLE_DEVICES": "0,1,2,3"}, "1"),
                            ({"OMPI_COMM_WORLD_LOCAL_RANK": "2"}, "2"),
                            ({"SLURM_LOCALID": "3"}, "3"),
                            ({}, "0")]:
        env = {k: v for k, v in os.environ.items()
               if k not in ("SLURM_LOCALID", "OMPI_COMM_WORLD_LOCAL_RANK", "CUDA_VISIBLE_DEVICES")}
        env.update(env_extra)
        p = subprocess.run(["bash", "-c", m.group(0) + '\nbash -c "$BIND_GPU" bind-gpu printenv CUDA_VISIBLE_DEVICES'],
                           capture_output=True, text=True, env=env)
        check(p.stdout.strip() == want, f"BIND_GPU with {env_extra}: CUDA_VISIBLE_DEVICES={p.stdout.strip()} (want {want})")

loc = run(["submit", SMOKE, "--cluster", LOCAL, "--shards", "2", "--dir", camp, "--dry-run", "--no-analyze"]).stdout
check("CUDA_VISIBLE_DEVICES" not in loc and 'srun --mpi=pmix "$LRID" train' in loc, "CPU profile: no GPU binding")
check("#SBATCH --array=0,1\n" in loc and "--partition" not in loc, "local profile: --array=0,1, default partition")
check("# skipped" in loc, "--no-analyze: the analyze step is rendered as a comment")
for cmd in ["submit", "resume", "status"]:
    run([cmd, "--help"])

# The array script's signal handling, executed with its launch line replaced: Slurm's warning
# (--signal, which may come up to a minute early) while the ranks still start up kills them with
# SIGUSR1 (exit 138): the task goes on as interrupted (75) and requeues itself; the same exit
# without a warning is passed on as it is.
shard_text = re.split(r"^# ===== .*$", loc, flags=re.M)[1]
launch = re.search(r'^srun --mpi=pmix "\$LRID" train .* &$', shard_text, re.M)
if check(launch is not None, "the array script launches the shard in the background"):
    fakebin = os.path.join(TMP, "fakebin")
    os.makedirs(fakebin, exist_ok=True)
    write("fakebin/scontrol", "#!/bin/sh\necho \"$@\" >> \"$(dirname \"$0\")/scontrol.log\"\n")
    os.chmod(os.path.join(fakebin, "scontrol"), 0o755)
    env = dict(os.environ, PATH=fakebin + ":" + os.environ["PATH"], SLURM_ARRAY_TASK_ID="1",
               SLURM_ARRAY_JOB_ID="41", SLURM_JOB_ID="42")
    for name, line, warn, want_rc, want_text, requeued in [
            ("warning during start-up", "sleep 20 &", True, 0, "while the ranks were starting", True),
            ("killed by SIGUSR1 without a warning", "bash -c 'kill -USR1 $$' &", False, 138, None, False),
            ("the ranks checkpointed (exit 75)", "bash -c 'trap \"exit 75\" USR1; sleep 20 & wait' &", True, 0,
             "interrupted and checkpointed; requeueing 42", True)]:
        log = os.path.join(fakebin, "scontrol.log")
        if os.path.exists(log):
            os.remove(log)
        script = write("fake_shard.sh", shard_text[:launch.start()] + line + shard_text[launch.end():])
        p = subprocess.Popen(["bash", script], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if warn:
            time.sleep(1.0)
            p.send_signal(10)  # SIGUSR1, as Slurm's --signal=B:USR1 sends it to the batch shell
        out, _ = p.communicate(timeout=60)
        ok = p.returncode == want_rc and (want_text is None or want_text in out)
        ok = ok and os.path.exists(log) == requeued
        check(ok, f"array script, {name}: exit {p.returncode} (want {want_rc}), requeued {os.path.exists(log)}"
                  + ("" if ok else ": " + out[-400:]))

# --- 2. bad input: exit code 2, one clear line --------------------------------------------------
base = ["submit", SMOKE, "--shards", "2", "--dir", camp, "--dry-run", "--cluster"]
bad(base + [write("p1.yaml", "partiton: gpu\n")], "p1.yaml:1:1: partiton: unknown key 'partiton' (did you mean 'partition'?)",
    "unknown profile key")
bad(base + [write("p2.yaml", "shard:\n  tasks_per_node: 2\n  gpu_per_node: 2\n")], "p2.yaml:3:3: shard.gpu_per_node",
    "unknown nested profile key")
bad(base + [write("p3.yaml", "partition_required: true\nshard: {gpus_per_node: 1}\n")], "partition: missing",
    "a profile without the partition its site needs")
bad(base + [write("p4.yaml", "shard: {time: 8h}\n")], "shard.time: expected a Slurm time limit", "bad time limit")
bad(base + [write("p4b.yaml", "signal_grace: 70000\n")], "p4b.yaml:1:15: signal_grace: expected seconds in [0, 65535]",
    "signal_grace beyond Slurm's limit")
bad(base + [write("p5.yaml", "launcher: mpiexc -n 2\n")], "did you mean 'mpiexec'", "unknown launcher")
bad(base + [write("p6.yaml", "sbatch: [--output=x.out]\n")], "--output is set by lrid submit itself", "managed sbatch option")
bad(base + [write("p7.yaml", "templates: /nonexistent\n")], "no sbatch templates here", "missing templates")
bad(base + [os.path.join(TMP, "nope.yaml")], "cannot open the cluster profile", "missing profile file")
bad(["submit", SMOKE, "--cluster", LOCAL, "--shards", "0", "--dir", camp], "--shards 0: expected 1 <= N <= 4", "--shards 0")
bad(["submit", SMOKE, "--cluster", LOCAL, "--shards", "9", "--dir", camp], "--shards 9: expected 1 <= N <= 4", "--shards > runs")
bad(["submit", SMOKE, "--shards", "2", "--dir", camp], "missing --cluster", "no --cluster")
bad(["submit", SMOKE, "--cluster", LOCAL, "--shards", "2", "--dir", os.path.join(TMP, "a b")], "which #SBATCH lines cannot hold",
    "--dir with a space")
bad(["submit", write("badjob.yaml", "name: x\ngird: []\n"), "--cluster", LOCAL, "--shards", "2", "--dir", camp],
    "unknown key 'gird'", "bad job file")
nopath = dict(os.environ, PATH="/nonexistent")
bad(["submit", SMOKE, "--cluster", LOCAL, "--shards", "2", "--dir", camp], "sbatch: not found in PATH", "sbatch missing from PATH",
    env=nopath)
# No reachable Slurm: one line naming the environment to set, at once (Slurm's own client retries
# a missing SLURM_CONF for 60 s), and nothing written.
t0 = time.time()
noconf = dict(os.environ, SLURM_CONF=os.path.join(TMP, "no-slurm.conf"))
bad(["submit", SMOKE, "--cluster", LOCAL, "--shards", "2", "--dir", camp], "Slurm is not reachable: SLURM_CONF=",
    "SLURM_CONF naming a missing file", env=noconf)
check(time.time() - t0 < 10, f"... said within 10 s ({time.time() - t0:.1f} s)")
if not os.path.exists("/etc/slurm/slurm.conf"):
    unset = {k: v for k, v in os.environ.items() if k != "SLURM_CONF"}
    bad(["submit", SMOKE, "--cluster", LOCAL, "--shards", "2", "--dir", camp],
        "SLURM_CONF is not set and /etc/slurm/slurm.conf does not exist", "no SLURM_CONF, no slurm.conf", env=unset)
check(not os.path.exists(camp), "refused submits write nothing")
bad(["resume", TMP], "not a campaign directory (no campaign.json)", "resume of a plain directory")
bad(["status", TMP], "not an lrid directory (expected campaign.json from 'lrid submit'", "status of a plain directory")
bad(["status", SMOKE, "--require-complete"], "--require-complete applies to a campaign directory", "status --require-complete of a file")

if failures:
    print(f"{len(failures)} check(s) failed:\n  " + "\n  ".join(failures))
lridtest.finish()
