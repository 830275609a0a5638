"""Benchmarks of the paper-scale campaign path (issue 13), each against its baseline measured in
the same run:

  checkpoint   write time and size of a run's checkpoint (KNet4 on Fashion-MNIST, ResNet-18 on
               64 px synthetic images; SGDM and IA), and the overhead at the default interval
               (distributed.checkpoint_seconds 600, plus one save per trajectory point) as a
               share of the run's training time without checkpoints. Target < 1 %.
  streaming    training throughput with the data streamed from HDF5 (prefetch thread) over the
               same data in memory, KNet4 and ResNet-18 at 64 px, interleaved rounds, median.
               Target >= 0.95x.
  shards       max/mean estimated shard cost of jobs/paper.yaml at 16, 64 and 256 shards
               (lrid submit --dry-run --json), with the bound set by the largest single run.
               Target <= 1.05 by lrid's own model.

Usage: campaign_scale.py [--parts checkpoint,streaming,shards] [--rounds 3]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

from synthetic_data import write as synthetic

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LRID = os.environ.get("LRID", os.path.join(SRC, "build", "lrid"))
MPIRUN = ["mpirun", "--allow-run-as-root", "--oversubscribe"]
TMP = tempfile.mkdtemp(prefix="lrid_bench_scale_")


def write(name, text):
    path = os.path.join(TMP, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def job(name, task_block, rule, arch, batch, steps, ckpt=0.0, memory_mb=1024.0):
    return write(name + ".yaml", f"""name: {name}
{task_block}
grid:
  - {{learning_rules: [{rule}], tasks: [t], architectures: [{arch}], batch_sizes: [{batch}]}}
training: {{defaults: {{steps: {steps}}}}}
observables: {{trajectory_points: 21, observation_batch: 32}}
distributed: {{threads_per_rank: 1, checkpoint_seconds: {ckpt}, data_memory_mb: {memory_mb}}}
""")


def campaign(path):
    out = path.replace(".yaml", ".h5")
    subprocess.run(MPIRUN + ["-np", "1", LRID, "train", path, "--out", out, "--force", "-q"], check=True)
    with open(out + ".log.jsonl") as f:
        return [json.loads(l) for l in f if '"event":"done"' in l.replace(" ", "")][-1]


def bench_checkpoint(data64):
    print("checkpoint: per save, size, and overhead at the default interval (600 s + 21 trajectory points)")
    fm = "tasks:\n  t: {objective: supervised, dataset: {format: idx, path: /usr/share/datasets/fashion-mnist}}"
    syn = "tasks:\n  t: {objective: supervised, dataset: {format: hdf5, path: %s}}" % data64
    for arch, block, batch, steps in (("KNet4", fm, 16, 400), ("ResNet-18", syn, 32, 30)):
        for rule in ("sgdm", "ia"):
            base = campaign(job(f"ck0-{arch}-{rule}", block, rule, arch, batch, steps, ckpt=0))
            withc = campaign(job(f"ck1-{arch}-{rule}", block, rule, arch, batch, steps, ckpt=1e-6))
            per = withc["checkpoint_seconds"] / max(1, withc["checkpoints"])
            # Default: 21 trajectory-point saves per run plus one per 600 s of training.
            train = base["train_seconds"]
            default_saves = 21 + train / 600.0
            print(f"  {arch:9s} {rule:4s}: {withc['checkpoint_bytes'] / 1e6:7.1f} MB, {per * 1e3:7.1f} ms per save "
                  f"({withc['checkpoints']} saves); this {steps}-step run trains {train:.1f} s without checkpoints; "
                  f"a run of any length at the default interval: 21 saves = {21 * per:.2f} s, plus "
                  f"{per / 600 * 100:.3f} % of its training time")
            print(f"             overhead for this run at the default: {default_saves * per / train * 100:.2f} % "
                  f"(short run; the 21 point saves are fixed per run)")


def bench_streaming(data64, rounds):
    print("streaming: training throughput streamed / in memory (same data, same batches), median of rounds")
    syn = "tasks:\n  t: {objective: supervised, dataset: {format: hdf5, path: %s}}" % data64
    for arch, batch, steps in (("KNet4", 32, 150), ("ResNet-18", 32, 25)):
        ratios, mem_t, str_t = [], [], []
        for r in range(rounds):
            m = campaign(job(f"sm-{arch}", syn, "sgdm", arch, batch, steps, memory_mb=4096))
            s = campaign(job(f"ss-{arch}", syn, "sgdm", arch, batch, steps, memory_mb=1))
            mem_t.append(m["train_seconds"])
            str_t.append(s["train_seconds"])
            ratios.append(m["train_seconds"] / s["train_seconds"])
        print(f"  {arch:9s} 64 px batch {batch}: in memory {statistics.median(mem_t):.2f} s, streamed "
              f"{statistics.median(str_t):.2f} s for {steps} steps; throughput ratio streamed/memory "
              f"{statistics.median(ratios):.3f} (min {min(ratios):.3f}, max {max(ratios):.3f}; target >= 0.95)")


def bench_shards():
    print("shards: jobs/paper.yaml, max/mean estimated shard cost (lrid's model)")
    for n in (16, 64, 256):
        p = subprocess.run([LRID, "submit", os.path.join(SRC, "jobs", "paper.yaml"), "--cluster",
                            os.path.join(SRC, "cluster", "local.yaml"), "--shards", str(n), "--dir",
                            os.path.join(TMP, "paper"), "--dry-run", "--json"], capture_output=True, text=True, check=True)
        j = json.loads(p.stdout)
        bound = max(j["cost_mean"], j["largest_run_cost"]) / j["cost_mean"]
        # The baseline: the former id % N assignment, costed by the same model.
        modulo = [0.0] * n
        for i, c in enumerate(j["run_cost"]):
            modulo[i % n] += c
        print(f"  {n:4d} shards: max/mean {j['max_over_mean']:.3f} (id % N: {max(modulo) / j['cost_mean']:.3f}; "
              f"the largest single run alone is {j['largest_run_cost'] / j['cost_mean']:.3f} of the mean, so no "
              f"assignment does better than {bound:.3f}); target <= 1.05")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parts", default="checkpoint,streaming,shards")
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    parts = a.parts.split(",")
    data64 = os.path.join(TMP, "syn64.h5")
    if "checkpoint" in parts or "streaming" in parts:
        synthetic(data64, 20000, 64)
    if "checkpoint" in parts:
        bench_checkpoint(data64)
    if "streaming" in parts:
        bench_streaming(data64, a.rounds)
    if "shards" in parts:
        bench_shards()


if __name__ == "__main__":
    sys.exit(main())
