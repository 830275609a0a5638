"""Synthetic image data sets in lrid's HDF5 layout (docs/data.md) for the benchmarks: uniform
random uint8 pixels (what a benchmark of speed needs; nothing to learn), random labels, and the
normalisation stored as /train/images attributes mean 0.5, std 0.29 per channel (so lrid does not
scan the set to compute it). Chunks of 64 whole images, uncompressed (fast to stream).

    import synthetic_data
    synthetic_data.write("syn64.h5", train=20000, size=64)          # 64x64x3, 1024 test images
"""
import h5py
import numpy as np


def write(path, train, size, classes=10, test=1024, channels=3, seed=0):
    rng = np.random.default_rng(seed)
    with h5py.File(path, "w") as f:
        for split, m in (("train", train), ("test", test)):
            lab = rng.integers(0, classes, m).astype(np.int32)
            d = f.create_dataset(f"{split}/images", (m, size, size, channels), np.uint8,
                                 chunks=(min(64, m), size, size, channels))
            for i in range(0, m, 4096):
                k = min(4096, m - i)
                d[i:i + k] = rng.integers(0, 256, (k, size, size, channels), dtype=np.uint8)
            f[f"{split}/labels"] = lab
        f["train/images"].attrs["mean"] = np.full(channels, 0.5)
        f["train/images"].attrs["std"] = np.full(channels, 0.29)
    return path
