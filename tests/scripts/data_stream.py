"""Streaming training data from HDF5, through the real binary:

1. A synthetic HDF5 data set trained in memory and streamed (distributed.data_memory_mb below its
   size), supervised with pad-and-crop + flip at a crop size and SimCLR at that size, with
   ranks_per_run 1 and 2: the campaigns are equal bit for bit (loss curves, observables).
2. A 2 GB data set trains one KNet4 run with a peak RSS far below its size (/usr/bin/time -v).
3. A data set whose labels are out of range fails the run with one line naming the file and the
   index; the campaign goes on.

Run by data_stream.sh under ctest with LRID and LRID_SOURCE_DIR set.
"""
import os
import re
import subprocess
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lridtest import LRID, MPIRUN, check, finish, run, tempdir  # noqa: E402

TMP = tempdir("lrid_stream_")


def make_h5(path, n_train, n_test, shape, classes, chunk=64, seed=0, bad_label_at=None, stats=False):
    """Random uint8 images [N,H,W,C] written in blocks (never the whole set in memory)."""
    rng = np.random.default_rng(seed)
    h, w, c = shape
    with h5py.File(path, "w") as f:
        for split, n in (("train", n_train), ("test", n_test)):
            img = f.create_dataset(f"{split}/images", (n, h, w, c), np.uint8, chunks=(min(chunk, n), h, w, c))
            lab = rng.integers(0, classes, n).astype(np.int32)
            if split == "train" and bad_label_at is not None:
                lab[bad_label_at] = classes + 3
            f[f"{split}/labels"] = lab
            block = 65536
            for i in range(0, n, block):
                k = min(block, n - i)
                # class-dependent brightness so that training has something to learn
                base = (lab[i:i + k] % classes * (200 // classes)).astype(np.uint8)[:, None, None, None]
                img[i:i + k] = base + rng.integers(0, 56, (k, h, w, c), dtype=np.uint8)
        f.attrs["num_classes"] = classes
        if stats:
            f["train/images"].attrs["mean"] = np.full(c, 0.5)
            f["train/images"].attrs["std"] = np.full(c, 0.25)


def job(name, data, steps, rpr, memory_mb, rules="[sgdm, ia]", tasks="[syn, syn_simclr]"):
    path = os.path.join(TMP, name + ".yaml")
    with open(path, "w") as f:
        f.write(f"""name: {name}
tasks:
  syn:
    objective: supervised
    dataset: {{format: hdf5, path: {data}}}
    augment: {{crop: pad, pad: 2, flip: 0.5, size: [14, 14]}}
  syn_simclr:
    objective: simclr
    dataset: {{format: hdf5, path: {data}}}
    augment: {{size: [14, 14]}}
grid:
  - learning_rules: {rules}
    tasks: {tasks}
    architectures: [KNet4]
    batch_sizes: [16]
training:
  defaults: {{steps: {steps}}}
observables:
  trajectory_points: 4
  observation_batch: 16
distributed:
  threads_per_rank: 1
  ranks_per_run: {rpr}
  data_memory_mb: {memory_mb}
""")
    return path


def contents(h5):
    with h5py.File(h5, "r") as f:
        return {k: f[k][:] for k in ("observables/values", "runs/loss", "runs/status", "runs/final_metric",
                                      "diagnostics/wb_angle")}


# 1. In memory vs streamed, ranks_per_run 1 and 2.
small = os.path.join(TMP, "small.h5")
make_h5(small, 3000, 600, (16, 16, 3), 4)  # 2.3 MB of training images
for rpr in (1, 2):
    out = {}
    for mode, mb in (("memory", 512), ("streamed", 0.5)):
        path = job(f"s{rpr}{mode}", small, 60, rpr, mb)
        h5 = os.path.join(TMP, f"s{rpr}{mode}.h5")
        p = run(["train", path, "--out", h5, "-q"], np_=2)
        check("HDF5-DIAG" not in p.stderr, f"ranks_per_run {rpr}, {mode}: no HDF5 error stack at exit "
              f"(a streamed reader closed after the library): {p.stderr[-300:]}")
        out[mode] = contents(h5)
        with open(h5 + ".log.jsonl") as f:
            notes = [l for l in f if '"note"' in l and "streamed from" in l]
        check(bool(notes) == (mode == "streamed"), f"ranks_per_run {rpr}, {mode}: the log says whether it streamed")
    a, b = out["memory"], out["streamed"]
    check((a["runs/status"] == 2).all() and (b["runs/status"] == 2).all(), f"ranks_per_run {rpr}: every run done both ways")
    same = [k for k in a if np.array_equal(a[k], b[k], equal_nan=True)]
    check(len(same) == len(a), f"ranks_per_run {rpr}: streamed equals in memory bit for bit ({sorted(set(a) - set(same))})")
    check(np.isfinite(a["runs/loss"]).all(), f"ranks_per_run {rpr}: finite loss curves")

# 2. A 2 GB data set: one KNet4 run, peak RSS far below the data's size.
big = os.path.join(TMP, "big.h5")
make_h5(big, 700000, 2000, (32, 32, 3), 10, chunk=256, stats=True)
size = os.path.getsize(big)
path = job("big", big, 40, 1, 512, rules="[sgdm]", tasks="[syn]")
p = subprocess.run(["/usr/bin/time", "-v", LRID, "train", path, "--run", "0", "--threads", "1"],
                   capture_output=True, text=True)
check(p.returncode == 0, f"2 GB data set: lrid train --run 0 exits 0 ({p.returncode}) {p.stderr[-300:]}")
m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr)
rss = int(m.group(1)) * 1024 if m else -1
check(size > 2e9, f"the data set is {size / 1e9:.2f} GB")
check(0 < rss < size / 4, f"peak RSS {rss / 1e6:.0f} MB, far below the data set's {size / 1e9:.2f} GB")
os.remove(big)

# 3. Bad data: a label out of range fails that run with one line naming the file and index.
bad = os.path.join(TMP, "bad.h5")
make_h5(bad, 500, 100, (16, 16, 3), 4, bad_label_at=123)
path = job("bad", bad, 10, 1, 0.1, rules="[sgdm]", tasks="[syn]")
h5 = os.path.join(TMP, "bad-campaign.h5")
p = run(["train", path, "--out", h5, "-q"], np_=1)
with h5py.File(h5, "r") as f:
    err = f["runs/error"][0]
    err = err.decode() if isinstance(err, bytes) else str(err)
    st = f["runs/status"][0]
check(st == 3 and "bad.h5" in err and "123" in err and "\n" not in err,
      f"a label out of range fails the run naming the file and index: {err!r}")
p = subprocess.run([LRID, "train", path, "--run", "0"], capture_output=True, text=True)
lines = p.stderr.strip().splitlines()
check(p.returncode == 2 and len(lines) == 1 and "bad.h5" in lines[0], f"lrid train --run: exit 2, one line ({lines})")

finish()
