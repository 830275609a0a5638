#!/usr/bin/env python3
"""Runs the HDF5 conversion recipes of docs/data.md on small synthetic inputs.

Usage: data_recipes.py DOCS_DATA_MD WORKDIR

Writes into WORKDIR:
  cifar10.h5, cifar_bin/{data_batch_1..5,test_batch}.bin   (same records, both formats)
  imagenet.h5      from a JPEG folder; class k's images are solid colour COLOURS[k]
  coch.h5          from random .npy cochleagrams; coch_test_x.f32 holds the raw test floats
  expect.txt       key value lines the C++ test checks
Used by tests/unit/data_recipes_torch_test.cpp.
"""
import os
import pickle
import re
import sys

import numpy as np

COLOURS = [(200, 30, 30), (30, 200, 30), (30, 30, 200)]


def recipes(md_path):
    text = open(md_path, encoding="utf-8").read()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    out = {}
    for b in blocks:
        m = re.match(r"# recipe: (\w+)\n", b)
        if m:
            out[m.group(1)] = b
    for name in ("cifar10", "imagenet", "cochleagram"):
        if name not in out:
            sys.exit(f"{md_path}: no python block starting '# recipe: {name}'")
    return out


def run(code, **assign):
    """Replaces the top-level `name = ...` lines for the given names, then executes the code."""
    for name, value in assign.items():
        code, n = re.subn(rf"^{name} = .*$", f"{name} = {value!r}", code, count=1, flags=re.M)
        if n != 1:
            sys.exit(f"recipe has no line '{name} = ...'")
    exec(compile(code, "<recipe>", "exec"), {"__name__": "__recipe__"})


def main():
    md, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    rng = np.random.default_rng(7)
    blocks = recipes(md)
    expect = []

    # --- CIFAR-10: python pickles, and the same records as binary batches -----------------
    src = os.path.join(work, "cifar-10-batches-py")
    binp = os.path.join(work, "cifar_bin")
    os.makedirs(src, exist_ok=True)
    os.makedirs(binp, exist_ok=True)
    sizes = {f"data_batch_{i}": 3 + i for i in range(1, 6)}
    sizes["test_batch"] = 6
    for name, n in sizes.items():
        data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n).tolist()
        with open(os.path.join(src, name), "wb") as f:
            pickle.dump({b"data": data, b"labels": labels, b"batch_label": name.encode()}, f)
        rec = np.concatenate([np.array(labels, np.uint8)[:, None], data], axis=1)
        rec.tofile(os.path.join(binp, name + ".bin"))
    run(blocks["cifar10"], src=src, out=os.path.join(work, "cifar10.h5"))
    expect.append(f"cifar_train_n {sum(v for k, v in sizes.items() if k != 'test_batch')}")

    # --- ImageNet-style JPEG folder -----------------------------------------------------------
    from PIL import Image

    src = os.path.join(work, "imagenet")
    dims = [(40, 30), (23, 50), (64, 64)]
    counts = {"train": [3, 2, 4], "val": [1, 2, 1]}
    for split in ("train", "val"):
        for k, wnid in enumerate(["n01", "n02", "n03"]):
            d = os.path.join(src, split, wnid)
            os.makedirs(d, exist_ok=True)
            for j in range(counts[split][k]):
                w, h = dims[(j + k) % len(dims)]
                Image.new("RGB", (w, h), COLOURS[k]).save(os.path.join(d, f"img{j}.JPEG"), quality=95)
    run(blocks["imagenet"], src=src, out=os.path.join(work, "imagenet.h5"), size=16)
    expect.append("imagenet_train_labels " + " ".join(str(k) for k in range(3) for _ in range(counts["train"][k])))
    expect.append("imagenet_test_labels " + " ".join(str(k) for k in range(3) for _ in range(counts["val"][k])))
    for k, c in enumerate(COLOURS):
        expect.append(f"imagenet_colour_{k} {c[0]} {c[1]} {c[2]}")

    # --- cochleagrams from .npy -----------------------------------------------------------------
    src = os.path.join(work, "coch")
    os.makedirs(src, exist_ok=True)
    for split, n in (("train", 40), ("test", 9)):
        x = rng.normal(size=(n, 12, 20)).astype(np.float32)
        y = rng.integers(0, 5, size=n)
        y[0] = 4  # make num_classes = 5 regardless of the draw
        np.save(os.path.join(src, f"{split}_x.npy"), x)
        np.save(os.path.join(src, f"{split}_y.npy"), y)
        expect.append(f"coch_{split}_labels " + " ".join(str(v) for v in y))
        if split == "test":
            x.tofile(os.path.join(work, "coch_test_x.f32"))
    run(blocks["cochleagram"], src=src, out=os.path.join(work, "coch.h5"))

    with open(os.path.join(work, "expect.txt"), "w") as f:
        f.write("\n".join(expect) + "\n")


if __name__ == "__main__":
    main()
