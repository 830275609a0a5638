"""Benchmark helper for tools/bench/train_throughput.sh and gpu_throughput.sh: training
throughput (images/s) of KNet4 and ResNet-18 on Fashion-MNIST (or synthetic images of another
size), per learning rule, lrid (LibTorch, C++) beside the same model and the same training step
written in Python PyTorch, on the CPU or on a CUDA GPU, measured in the same run.

  train_throughput.py bench LRID [--models KNet4,ResNet-18] [--rules sgdm,adam,fa,ia,ia:0.5]
                                 [--reps R] [--knet-steps S2] [--resnet-steps S2] [--malloc-tuned]
                                 [--device cpu|cuda] [--configs MODEL:PX:BATCH:S2,...]
                                 [--target 1.0] [--deadline UNIX_TIME] [--tf32 0|1]
  train_throughput.py ref --model KNet4 --rule ia --batch 64 --steps 200 [--ia-fraction RHO]
                                 [--device cpu|cuda] [--data SET.h5] [--profile]
                                 [--settings JSON] [--tf32 0|1]
                                 (one PyTorch run, JSON on stdout; --profile: op table on stderr)

--configs: each MODEL at PX x PX pixels (28: Fashion-MNIST; any other: a synthetic PX x PX x 3
set of random pixels, tools/bench/synthetic_data.py), batch BATCH, S2 steps. On cuda both sides
move the uint8 batch to the GPU and normalise it there, and the second figure is "steady" (below)
instead of "cpu". One verdict line per (model, size, rule) at the end:
  PASS|FAIL  throughput MODEL PX px batch B RULE: lrid/PyTorch Q (...; target >= T)

One training step, the same on both sides: the schedule's rate, zero_grad, fetch the next batch
(index_select of the uint8 images, to float, per-channel normalisation), forward, cross-entropy,
backward (IA: R's noise inputs drawn there, below), loss.item(), the task gradient clipped,
optimiser step. On cuda both sides run with TF32 in convolutions and matrix products (lrid's
distributed.allow_tf32 default; --tf32 0 turns it off on both). Both sides run 1 intra-op
thread (lrid --threads 1; torch.set_num_threads(1); OMP/OpenBLAS at 1 thread) and use the same
libtorch (Debian's 1.13 on the CPU; on a GPU machine lrid built against the PyTorch wheel's
LibTorch, tools/gpu/check.sh).
Per (model, rule) and repetition: lrid trains S1 = S2/4 steps, then S2 steps, then PyTorch S2
steps (interleaved, so all three see the same machine load). Two figures each:
  wall  S2 x batch / seconds of all S2 steps, the first included: lrid's "training steps" time
        of `lrid train --run` (recording, data loading, evaluation are outside it);
  cpu   (S2 - S1) x batch / CPU seconds of steps S1..S2-1: lrid = process CPU time of the S2 run
        minus that of the S1 run (fixed costs cancel), PyTorch = process CPU time of those steps.
        Not inflated when other processes take the core, so it is the figure to compare on a
        shared machine ("core share" = CPU / wall shows how much of a core a run got).
  steady (cuda) (S2 - S1) x batch / wall seconds of steps S1..S2-1: lrid = training-steps time of
        the S2 run minus that of the S1 run, PyTorch = the time between a device synchronisation
        after step S1 - 1 and one after the last step. The GPU works asynchronously, and a
        process's CPU time says nothing about it; the first steps' set-up (cuDNN, cuBLAS handles,
        lazy module loading) cancels.
The best repetition is reported. --malloc-tuned runs both sides with glibc's
MALLOC_MMAP_THRESHOLD_=32 MiB and MALLOC_TRIM_THRESHOLD_=4 GiB (see the report of the
benchmark: lrid pays page faults for freed activations that the Python process does not).

The PyTorch reference replicates lrid exactly (include/lrid/nn/models.hpp, src/nn/plastic.cpp,
src/train/trainer.cpp, src/config/job.cpp):
  - KNet4: conv5x5/32 p2 -> maxpool 3/2 ceil -> ReLU -> conv5x5/32 p2 -> ReLU -> avgpool 3/2
    ceil -> conv5x5/64 p2 -> ReLU -> avgpool 3/2 ceil -> adaptive avgpool min(h,4) -> fc.
  - ResNet-18 (v1, < 64 px stem: conv3x3/1 p1 -> BN -> ReLU, no maxpool), BasicBlocks
    [2,2,2,2], widths 64-512, convs without bias, a 1x1 projection + BN on the first block of
    every stage, global average pooling, fc. 22 plastic layers.
  - He-normal W (and B for FA/IA), zero biases.
  - The optimiser, its rates, the schedule and the clipping are each run's own resolved settings
    (`lrid grid --json`, passed to `ref --settings`; without it lrid's defaults, RULE_DEFAULTS):
    today sgdm, fa, ia SGD lr 0.01 momentum 0.9 (fa: B a fixed buffer; ia: B a parameter in its
    own group at feedback_learning_rate 1.0, no weight decay), adam Adam lr 1e-3 (0.9, 0.999,
    1e-8); cosine schedule over the run's steps; the task gradient (every parameter but B)
    clipped to norm 1 (torch.nn.utils.clip_grad_norm_; lrid: LibTorch's).
  - FA/IA layers are torch.autograd.Function's with lrid's backward, op for op:
    linear dx = dy B, dW = dy^T x, db = sum dy; conv: (dx, dW, db) from one
    aten::convolution_backward with B as the weight. IA adds dR/dB with the run's coefficients
    (defaults alpha 8e-3, beta 1e-3, gamma 1e-3, per_position and normalize_output on) on R's
    inputs x_R (ia.inputs): by default (noise, lrid's nn::local_noise) N x_R of the layer
    input's shape drawn from N(0, noise_std^2) on a fresh CPU generator per layer and step and
    copied to the device, f = W x_R (one more linear / conv2d without bias), D = N * P *
    noise_std^2 ||W||^2 / C_out; with ia.inputs layer, x_R = the batch's inputs, f = saved output
    - bias, D = N * P * mean(f^2). Linear dB = f^T (2 beta f B - alpha x_R)/D + 2 gamma B; conv
    r = input-gradient of conv(., B) at f (aten::_slow_conv2d_backward for a CPU input layer of
    <= 4 channels, as lrid), z = 2 beta r - alpha x_R, dB = weight-gradient of conv at input z
    and grad_output f, / D, + 2 gamma B. (The noise values differ from lrid's: other seeds, the
    same draws and copies.)
  - "ia:RHO" in --rules: IA with ia.batch_fraction RHO (R and dB on N = ceil(RHO n) inputs of a
    batch of n: that many noise rows, or the batch's first rows), both sides.
"""
import argparse
import atexit
import gzip
import json
import math
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np

FMNIST = "/usr/share/datasets/fashion-mnist"


def load_images(path):
    """The training split as uint8 [N,C,H,W] and int64 labels (torch), the number of classes and
    the per-channel normalisation (mean, std in [0, 1] pixel units, numpy) lrid uses: Fashion-MNIST's
    IDX files when path is None, else an HDF5 file in lrid's layout (docs/data.md)."""
    import torch
    if path is None:
        def idx(name):
            with gzip.open(os.path.join(FMNIST, name), "rb") as f:
                raw = f.read()
            magic = int.from_bytes(raw[0:4], "big")
            dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(magic & 0xFF)]
            return np.frombuffer(raw, np.uint8, offset=4 + 4 * len(dims)).reshape(dims)
        x = idx("train-images-idx3-ubyte.gz")[:, None]
        y = idx("train-labels-idx1-ubyte.gz").astype(np.int64)
        attrs = {}
    else:
        import h5py
        with h5py.File(path, "r") as f:
            x = f["train/images"][...]
            x = x[:, None] if x.ndim == 3 else x.transpose(0, 3, 1, 2)
            y = f["train/labels"][...].astype(np.int64)
            attrs = dict(f["train/images"].attrs)
            classes = int(f.attrs["num_classes"]) if "num_classes" in f.attrs else None
    if "mean" in attrs and "std" in attrs:
        mean, std = np.asarray(attrs["mean"], np.float64), np.asarray(attrs["std"], np.float64)
    else:
        mean = x.mean(axis=(0, 2, 3), dtype=np.float64) / 255.0
        std = x.std(axis=(0, 2, 3), dtype=np.float64) / 255.0
    if path is None or classes is None:
        classes = int(y.max()) + 1
    return torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(y), classes, mean, std


def pool_out(n, k=3, s=2):
    """torch's ceil-mode pooling output size without padding (lrid's nn::pool_out)."""
    out = -(-(n - k) // s) + 1
    return out - 1 if (out - 1) * s >= n else out


def knet_readout_size(height, width):
    """KNet4's read-out grid: three ceil-mode 3/2 pools, then an adaptive pool to at most 4x4."""
    h, w = height, width
    for _ in range(3):
        h, w = pool_out(h), pool_out(w)
    return min(h, 4), min(w, 4)


# ---------------------------------------------------------------------------------------------
# The PyTorch reference.

# lrid's resolved defaults per rule (`lrid grid --json`, "training"), for `ref` without --settings;
# the benchmark passes each run's own settings.
IA_DEFAULTS = {"alpha": 8e-3, "beta": 1e-3, "gamma": 1e-3, "per_position": True, "normalize_output": True,
               "batch_fraction": 1.0, "inputs": "noise", "noise_std": 1.0}
_SGD = {"optimizer": "sgd", "learning_rate": 0.01, "momentum": 0.9, "weight_decay": 0.0,
        "gradient_clip": 1.0, "schedule": "cosine", "warmup_steps": 0}
RULE_DEFAULTS = {
    "sgdm": dict(_SGD),
    "adam": {"optimizer": "adam", "learning_rate": 1e-3, "betas": [0.9, 0.999], "eps": 1e-8,
             "weight_decay": 0.0, "gradient_clip": 1.0, "schedule": "cosine", "warmup_steps": 0},
    "fa": dict(_SGD),
    "ia": dict(_SGD, feedback_learning_rate=1.0, ia=IA_DEFAULTS),
}


def noise_seed(step, layer):
    """A seed per (step, plastic layer) for R's noise inputs (lrid: hash of the run's step seed and
    0x1a00 + layer): other values than lrid's, the same work (a fresh CPU generator per layer)."""
    return (0x57e9000 + step * 0x9E3779B1 + 0x1a00 + layer) & 0x7FFFFFFFFFFFFFFF


def set_tf32(torch, on):
    """TF32 in cuDNN convolutions and cuBLAS matrix products, as lrid's distributed.allow_tf32 sets
    both (train::set_allow_tf32: the same LibTorch flags); returns what PyTorch reports."""
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            torch.backends.cuda.matmul.allow_tf32 = on
            torch.backends.cudnn.allow_tf32 = on
            return {"cudnn": torch.backends.cudnn.allow_tf32, "matmul": torch.backends.cuda.matmul.allow_tf32}
        except Exception as e:  # a PyTorch without the legacy flags
            return {"error": str(e).splitlines()[0]}


def reference(args):
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)

    device = torch.device(args.device)
    # lrid's resolved training settings of this run (`lrid grid --json`), else its defaults
    settings = dict(RULE_DEFAULTS[args.rule], **(json.loads(args.settings) if args.settings else {}))
    tf32 = set_tf32(torch, args.tf32) if device.type == "cuda" else None
    # --- data: uint8 images [N,C,H,W] on the host, labels; per-channel normalisation as lrid's
    # (the HDF5 set's stored mean/std, else the training set's own), applied on the device -----
    images, labels, classes, mean, std = load_images(args.data)
    channels, height, width = images.shape[1:]
    scale = torch.tensor(1.0 / (255.0 * std), dtype=torch.float32).view(1, -1, 1, 1).to(device)
    shift = torch.tensor(-mean / std, dtype=torch.float32).view(1, -1, 1, 1).to(device)
    n_train = images.size(0)

    class Stream:
        def __init__(self, batch, seed):
            self.batch, self.seed, self.step, self.epoch, self.perm = batch, seed, 0, -1, None

        def next(self):
            pos, need, parts = self.step * self.batch, self.batch, []
            while need > 0:
                e, off = divmod(pos, n_train)
                if e != self.epoch:
                    g = torch.Generator().manual_seed(self.seed * 1000003 + e)
                    self.perm, self.epoch = torch.randperm(n_train, generator=g), e
                take = min(need, n_train - off)
                parts.append(self.perm.narrow(0, off, take))
                pos, need = pos + take, need - take
            self.step += 1
            i = parts[0] if len(parts) == 1 else torch.cat(parts)
            # the batch travels as uint8 and is normalised where the model is
            x = images.index_select(0, i).to(device).to(torch.float32).mul_(scale).add_(shift)
            return x, labels.index_select(0, i).to(device)

    # --- plastic layers -----------------------------------------------------------------------
    # R's coefficients and inputs: lrid's resolved settings of this run (--settings, from `lrid
    # grid --json`), else lrid's IA defaults (src/config/rules/ia.cpp, config/rules.hpp)
    ia = dict(IA_DEFAULTS, **settings.get("ia", {}))
    ALPHA, BETA, GAMMA = float(ia["alpha"]), float(ia["beta"]), float(ia["gamma"])
    PER_POSITION, NORMALIZE = bool(ia["per_position"]), bool(ia["normalize_output"])
    NOISE, NOISE_STD = ia["inputs"] == "noise", float(ia["noise_std"])
    RHO = args.ia_fraction
    step_now = [0]  # the step being trained (R's noise seed)

    def ia_rows(n):  # lrid's nn::local_batch
        return n if RHO >= 1.0 else max(1, min(n, math.ceil(RHO * n)))

    def ia_divisor(f, w):  # lrid's local_divisor (nn/plastic.cpp), times N by the caller
        p = float(f.size(2) * f.size(3)) if (PER_POSITION and f.dim() == 4) else 1.0
        if not NORMALIZE:
            return torch.full((), p, dtype=f.dtype, device=f.device)
        if NOISE:  # E[f^2] of noise inputs: noise_std^2 ||W||^2 / C_out
            wf = w.detach().reshape(-1)
            return torch.dot(wf, wf).mul_(NOISE_STD * NOISE_STD / w.size(0)).clamp_min_(1e-30).mul_(p)
        flat = f.detach().reshape(-1)
        return torch.dot(flat, flat).div_(float(flat.numel())).clamp_min_(1e-30).mul_(p)

    def noise_inputs(x, n, seed):
        """R's inputs as lrid's local_noise: n rows of x's example shape, N(0, noise_std^2), drawn
        on a fresh CPU generator seeded per layer and step, then copied to x's device."""
        z = torch.randn((n,) + tuple(x.shape[1:]), generator=torch.Generator().manual_seed(seed))
        if NOISE_STD != 1.0:
            z.mul_(NOISE_STD)
        return z.to(x.device)

    def local_inputs(x, y, bias, w, seed, project):
        """(x_R, f, N D): noise inputs and f = W x_R, or the first rows of the batch and f = y - bias."""
        n = ia_rows(x.size(0))
        if NOISE:
            xr = noise_inputs(x, n, seed)
            f = project(xr)
        else:
            xr, f = x.narrow(0, 0, n), y.narrow(0, 0, n)
            f = f - bias if bias is not None else f
        return xr, f, ia_divisor(f, w).mul_(float(n))

    class LinearFB(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, w, bias, B, ia, seed):
            y = F.linear(x, w, bias)
            ctx.ia, ctx.seed = ia, seed
            ctx.has_bias = bias is not None
            ctx.save_for_backward(x, B, bias, y if ia else None, w if ia else None)
            return y

        @staticmethod
        def backward(ctx, dy):
            x, B, bias, y, w = ctx.saved_tensors
            dx = dw = db = dB = None
            if ctx.needs_input_grad[0]:
                dx = dy.mm(B)
            if ctx.needs_input_grad[1]:
                dw = dy.t().mm(x)
            if ctx.has_bias and ctx.needs_input_grad[2]:
                db = dy.sum(0)
            if ctx.ia and ctx.needs_input_grad[3]:
                xr, f, div = local_inputs(x, y, bias, w, ctx.seed, lambda z: z.mm(w.t()))
                z = f.mm(B).mul_(2.0 * BETA).sub_(xr, alpha=ALPHA) if BETA != 0.0 else xr * -ALPHA
                dB = f.t().mm(z).div_(div).add_(B, alpha=2.0 * GAMMA)
            return dx, dw, db, dB, None, None

    class Conv2dFB(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, w, bias, B, stride, padding, ia, seed):
            y = F.conv2d(x, w, bias, stride, padding)
            ctx.ia, ctx.seed, ctx.stride, ctx.padding = ia, seed, stride, padding
            ctx.has_bias = bias is not None
            ctx.save_for_backward(x, B, bias, y if ia else None, w if ia else None)
            return y

        @staticmethod
        def backward(ctx, dy):
            x, B, bias, y, w = ctx.saved_tensors
            s, p, d = [ctx.stride] * 2, [ctx.padding] * 2, [1, 1]
            need_dx = ctx.needs_input_grad[0]
            need_dw = ctx.needs_input_grad[1]
            need_db = ctx.has_bias and ctx.needs_input_grad[2]
            dx = dw = db = dB = None
            if need_dx or need_dw or need_db:
                dx, dw, db = torch.ops.aten.convolution_backward(
                    dy, x, B, [bias.size(0)] if ctx.has_bias else None, s, p, d, False, [0, 0], 1,
                    [need_dx, need_dw, need_db])
            if ctx.ia and ctx.needs_input_grad[3]:
                xr, f, div = local_inputs(x, y, bias.view(1, -1, 1, 1) if ctx.has_bias else None, w, ctx.seed,
                                          lambda z: F.conv2d(z, w, None, ctx.stride, ctx.padding))
                if BETA != 0.0:
                    if x.device.type == "cpu" and x.size(1) <= 4:
                        r = torch.ops.aten._slow_conv2d_backward(
                            f, xr, B, [B.size(2), B.size(3)], s, p, [True, False, False])[0]
                    else:
                        r = torch.ops.aten.convolution_backward(
                            f, xr, B, None, s, p, d, False, [0, 0], 1, [True, False, False])[0]
                    z = r.mul_(2.0 * BETA).sub_(xr, alpha=ALPHA)
                else:
                    z = xr * -ALPHA
                dB = torch.ops.aten.convolution_backward(
                    f, z, B, None, s, p, d, False, [0, 0], 1, [False, True, False])[1]
                dB.div_(div).add_(B, alpha=2.0 * GAMMA)
            return dx, dw, db, dB, None, None, None, None

    mode = {"sgdm": "bp", "adam": "bp", "fa": "fixed", "ia": "ia"}[args.rule]
    plastic = []  # (name, layer) in forward order

    class Plastic(nn.Module):
        def _tensors(self, shape, bias):
            self.weight = nn.Parameter(torch.empty(shape))
            self.bias = nn.Parameter(torch.zeros(shape[0])) if bias else None
            if mode == "fixed":
                self.register_buffer("feedback", torch.empty(shape))
            elif mode == "ia":
                self.feedback = nn.Parameter(torch.empty(shape))
            else:
                self.feedback = None

        def reset(self, gw, gb):
            std = math.sqrt(2.0 / (self.weight.numel() / self.weight.size(0)))
            with torch.no_grad():
                self.weight.normal_(0.0, std, generator=gw)
                if self.feedback is not None:
                    self.feedback.normal_(0.0, std, generator=gb)

    class PConv(Plastic):
        def __init__(self, name, cin, cout, k, stride, pad, bias):
            super().__init__()
            self._tensors((cout, cin, k, k), bias)
            self.stride, self.padding = stride, pad
            self.index = len(plastic)
            plastic.append((name, self))

        def forward(self, x):
            if mode == "bp" or not torch.is_grad_enabled():
                return F.conv2d(x, self.weight, self.bias, self.stride, self.padding)
            return Conv2dFB.apply(x, self.weight, self.bias, self.feedback, self.stride,
                                  self.padding, mode == "ia", noise_seed(step_now[0], self.index))

    class PLinear(Plastic):
        def __init__(self, name, fin, fout):
            super().__init__()
            self._tensors((fout, fin), True)
            self.index = len(plastic)
            plastic.append((name, self))

        def forward(self, x):
            if mode == "bp" or not torch.is_grad_enabled():
                return F.linear(x, self.weight, self.bias)
            return LinearFB.apply(x, self.weight, self.bias, self.feedback, mode == "ia",
                                  noise_seed(step_now[0], self.index))

    # --- architectures ------------------------------------------------------------------------
    class KNet4(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = PConv("conv1", channels, 32, 5, 1, 2, True)
            self.conv2 = PConv("conv2", 32, 32, 5, 1, 2, True)
            self.conv3 = PConv("conv3", 32, 64, 5, 1, 2, True)
            self.ph, self.pw = knet_readout_size(height, width)  # 28 px: 3x3, 32 px and more: 4x4
            self.fc = PLinear("fc", 64 * self.ph * self.pw, classes)

        def forward(self, x):
            h = F.relu(F.max_pool2d(self.conv1(x), 3, 2, ceil_mode=True))
            h = F.avg_pool2d(F.relu(self.conv2(h)), 3, 2, ceil_mode=True)
            h = F.avg_pool2d(F.relu(self.conv3(h)), 3, 2, ceil_mode=True)
            h = F.adaptive_avg_pool2d(h, (self.ph, self.pw))
            return self.fc(h.flatten(1))

    class Block(nn.Module):
        def __init__(self, prefix, cin, cout, stride, project):
            super().__init__()
            if project:  # registration order as lrid: projection first
                self.shortcut = PConv(prefix + "shortcut", cin, cout, 1, stride, 0, False)
                self.bn_s = nn.BatchNorm2d(cout)
            else:
                self.shortcut = None
            self.conv1 = PConv(prefix + "conv1", cin, cout, 3, stride, 1, False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = PConv(prefix + "conv2", cout, cout, 3, 1, 1, False)
            self.bn2 = nn.BatchNorm2d(cout)

        def forward(self, x):
            sc = self.bn_s(self.shortcut(x)) if self.shortcut is not None else x
            h = F.relu(self.bn1(self.conv1(x)))
            h = self.bn2(self.conv2(h))
            return F.relu(h + sc)

    class ResNet18(nn.Module):
        def __init__(self):
            super().__init__()
            # stem: conv3x3/1 below 64 px, else conv7x7/2 + maxpool 3/2 pad 1 (models.hpp)
            self.small = min(height, width) < 64
            self.conv1 = (PConv("conv1", channels, 64, 3, 1, 1, False) if self.small
                          else PConv("conv1", channels, 64, 7, 2, 3, False))
            self.bn1 = nn.BatchNorm2d(64)
            blocks, cin = [], 64
            for s, w in enumerate([64, 128, 256, 512]):
                for b in range(2):
                    blocks.append(Block("layer%d.%d." % (s + 1, b), cin, w,
                                        2 if (b == 0 and s > 0) else 1, b == 0))
                    cin = w
            self.blocks = nn.ModuleList(blocks)
            self.fc = PLinear("fc", 512, classes)

        def forward(self, x):
            h = F.relu(self.bn1(self.conv1(x)))
            if not self.small:
                h = F.max_pool2d(h, 3, 2, 1)
            for b in self.blocks:
                h = b(h)
            h = F.adaptive_avg_pool2d(h, (1, 1)).flatten(1)
            return self.fc(h)

    model = {"KNet4": KNet4, "ResNet-18": ResNet18}[args.model]()
    gw = torch.Generator().manual_seed(1)
    gb = torch.Generator().manual_seed(2)
    for _, l in plastic:
        l.reset(gw, gb)  # on the host's generators, then moved (as lrid)
    model.to(device)
    model.train()

    fb = [l.feedback for _, l in plastic if mode == "ia"]
    fb_ids = {id(t) for t in fb}
    fwd = [p for p in model.parameters() if id(p) not in fb_ids]
    # the optimiser, schedule and clipping of lrid's trainer (src/train/trainer.cpp) with this
    # run's settings: W, biases, BatchNorm at the rule's rate; a learned B at its own rate
    # (feedback_learning_rate), without weight decay; the task gradient clipped before the step
    lr, wd = float(settings["learning_rate"]), float(settings.get("weight_decay", 0.0))
    fb_lr = float(settings.get("feedback_learning_rate", 0.0)) or lr
    if settings["optimizer"] == "adam":
        betas = tuple(settings.get("betas", (0.9, 0.999)))
        groups = [{"params": fwd, "lr": lr, "weight_decay": wd}]
        if fb:
            groups.append({"params": fb, "lr": fb_lr, "weight_decay": 0.0})
        opt = torch.optim.Adam(groups, lr=lr, betas=betas, eps=float(settings.get("eps", 1e-8)))
    else:
        groups = [{"params": fwd, "lr": lr, "weight_decay": wd}]
        if fb:
            groups.append({"params": fb, "lr": fb_lr, "weight_decay": 0.0})
        opt = torch.optim.SGD(groups, lr=lr, momentum=float(settings.get("momentum", 0.9)))
    base_lr = [g["lr"] for g in opt.param_groups]
    clip = float(settings.get("gradient_clip", 0.0))
    warmup = int(settings.get("warmup_steps", 0))
    schedule = settings.get("schedule", "constant")
    if schedule not in ("cosine", "constant", "none"):
        raise SystemExit("reference: schedule %r is not replicated (cosine or constant)" % schedule)

    def schedule_factor(step):  # lrid's schedule_factor over this run's steps
        f = (step + 1) / warmup if warmup > 0 and step < warmup else 1.0
        return f * 0.5 * (1.0 + math.cos(math.pi * step / args.steps)) if schedule == "cosine" else f

    stream = Stream(args.batch, 0)
    times, cpu = [], []
    loss_v = float("nan")
    prof = None
    if args.profile:  # per-op self time of the steps after the first, on stderr
        from torch.profiler import profile
        prof = profile()
    for step in range(args.steps):
        if prof is not None and step == 1:
            prof.__enter__()
        t0, c0 = time.perf_counter(), time.process_time()
        factor = schedule_factor(step)
        for g, b in zip(opt.param_groups, base_lr):
            g["lr"] = b * factor
        opt.zero_grad()
        step_now[0] = step
        x, y = stream.next()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        loss_v = loss.item()
        if not math.isfinite(loss_v) or loss_v > 1e4:
            raise SystemExit("reference: loss diverged at step %d (%g)" % (step, loss_v))
        if clip > 0:
            torch.nn.utils.clip_grad_norm_(fwd, clip)
        opt.step()
        if device.type == "cuda" and step in (args.steady_from - 1, args.steps - 1):
            torch.cuda.synchronize()  # the timed windows end with the device's work done
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    if prof is not None:
        prof.__exit__(None, None, None)
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=25), file=sys.stderr)
    total = sum(times)
    out = {
        "model": args.model, "rule": args.rule, "batch": args.batch, "steps": args.steps,
        "seconds": total, "seconds_after_first": total - times[0],
        # steps [steady_from, steps): wall and process CPU seconds
        "steady_steps": args.steps - args.steady_from,
        "steady_wall": sum(times[args.steady_from:]), "steady_cpu": sum(cpu[args.steady_from:]),
        "images_per_s": args.steps * args.batch / total,
        "final_loss": loss_v,
        "parameters": sum(p.numel() for p in fwd),
        "feedback_parameters": sum(t.numel() for t in fb),
        "plastic_layers": [n for n, _ in plastic],
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "device": str(device), "input": [int(channels), int(height), int(width)], "classes": classes,
        "tf32": tf32,
        "cudnn_benchmark": torch.backends.cudnn.benchmark,
    }
    print(json.dumps(out))


# ---------------------------------------------------------------------------------------------
# The benchmark: job files for lrid, lrid and the reference interleaved, the table.

def expected_parameters(model, channels=1, height=28, width=28, classes=10):
    """Forward parameter count of lrid's model, from the layer list in models.hpp."""
    if model == "KNet4":
        convs = [(channels, 32, 5), (32, 32, 5), (32, 64, 5)]
        ph, pw = knet_readout_size(height, width)
        return sum(ci * co * k * k + co for ci, co, k in convs) + 64 * ph * pw * classes + classes
    stem = 3 if min(height, width) < 64 else 7
    n = channels * 64 * stem * stem + 2 * 64  # stem conv + BN
    cin = 64
    for w in (64, 128, 256, 512):
        for b in range(2):
            n += cin * w * 9 + 2 * w + w * w * 9 + 2 * w
            if b == 0:
                n += cin * w + 2 * w
            cin = w
    return n + 512 * classes + classes


def job_text(model, batch, steps, ia_fraction=1.0, data=None, device="cpu", tf32=True):
    """The benchmark's job: Fashion-MNIST, or the HDF5 set `data` as task 'syn'."""
    task = ["tasks:", "  syn: {objective: supervised, dataset: {format: hdf5, path: %s}}" % data] if data else []
    return "\n".join([
        "name: bench_%s" % re.sub(r"[^A-Za-z0-9]", "", model)] + task + [
        "grid:",
        "  - learning_rules: [sgdm, adam, fa, ia]",
        "    tasks: [%s]" % ("syn" if data else "fashion_mnist"),
        "    architectures: [%s]" % model,
        "    batch_sizes: [%d]" % batch,
        "    model_seeds: [0]",
        "    dataset_seeds: [0]",
        "training:",
        "  defaults: {steps: %d}" % steps,
        "  ia: {ia: {batch_fraction: %r}}" % ia_fraction,
        "observables:",          # recording is outside the timed steps; keep it tiny anyway
        "  trajectory_points: 2",
        "  observation_batch: 8",
        "  statistics: [weight]",
        "  conditions: {unit_fractions: [1.0], noise_levels: [0.0], seed: 0}",
        "distributed: {ranks_per_run: 1, threads_per_rank: 1, device: %s, allow_tf32: %s}"
        % (device, "true" if tf32 else "false"),
        ""])


LINE = re.compile(r"run (\d+) done: final loss (\S+), .* ([0-9.]+) s \(training steps ([0-9.]+) s, "
                  r"recording ([0-9.]+) s\)")


def run_lrid(lrid, job, run_id, env):
    """One `lrid train --run`: its training-steps seconds, and the process's CPU seconds."""
    t0 = time.perf_counter()
    p = subprocess.Popen([lrid, "train", job, "--run", str(run_id), "--threads", "1"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    out, err = p.communicate()
    wall = time.perf_counter() - t0
    # communicate() reaped the child; its rusage is in the children's totals of this process
    if p.returncode != 0:
        raise SystemExit("lrid train %s --run %d failed (%d):\n%s%s" %
                         (job, run_id, p.returncode, out[-2000:], err[-2000:]))
    m = None
    for line in out.splitlines():
        m = LINE.search(line) or m
    if not m:
        raise SystemExit("lrid train: no 'training steps' in its last line; rebuild lrid from "
                         "the current tree. Output:\n" + out[-1500:])
    return {"seconds": float(m.group(4)), "wall": float(m.group(3)), "final_loss": float(m.group(2)),
            "process_wall": wall}


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_lrid_cpu(lrid, job, run_id, env):
    c0 = children_cpu()
    r = run_lrid(lrid, job, run_id, env)
    r["process_cpu"] = children_cpu() - c0
    return r


def split_rule(rule):
    """'ia:0.5' -> ('ia', 0.5); 'sgdm' -> ('sgdm', 1.0)."""
    name, _, frac = rule.partition(":")
    if name not in ("sgdm", "adam", "fa", "ia") or (frac and name != "ia"):
        raise SystemExit("train_throughput: unknown rule %r (sgdm, adam, fa, ia or ia:RHO)" % rule)
    rho = float(frac) if frac else 1.0
    if not 0.0 < rho <= 1.0:
        raise SystemExit("train_throughput: %r: RHO must be in (0, 1]" % rule)
    return name, rho


def run_ref(model, rule, batch, steps, steady_from, env, device="cpu", data=None, settings=None, tf32=True):
    name, rho = split_rule(rule)
    p = subprocess.run([sys.executable, os.path.abspath(__file__), "ref", "--model", model,
                        "--rule", name, "--batch", str(batch), "--steps", str(steps),
                        "--steady-from", str(steady_from), "--ia-fraction", repr(rho),
                        "--device", device, "--tf32", str(int(tf32))] + (["--data", data] if data else []) +
                       (["--settings", json.dumps(settings)] if settings else []),
                       capture_output=True, text=True, env=env)
    if p.returncode != 0:
        raise SystemExit("reference %s %s failed:\n%s" % (model, rule, p.stderr[-3000:]))
    return json.loads(p.stdout.strip().splitlines()[-1])


def rule_ids(lrid, job, env):
    """{rule: (run id, the run's resolved training settings)} of the job (`lrid grid --json`)."""
    p = subprocess.run([lrid, "grid", job, "--json"], capture_output=True, text=True, env=env)
    if p.returncode != 0:
        raise SystemExit("lrid grid %s failed:\n%s" % (job, p.stdout + p.stderr))
    doc = json.loads(p.stdout)
    return {r.get("rule", r.get("learning_rule")): (int(r["id"]), r.get("training")) for r in doc["runs"]}


def configs(args):
    """[(model, px, batch, S2)]: --configs MODEL:PX:BATCH:S2,... (PX 28: Fashion-MNIST, else a
    synthetic PX x PX x 3 set), or the Fashion-MNIST defaults of --models."""
    if args.configs:
        out = []
        for c in args.configs.split(","):
            m, px, batch, s2 = c.split(":")
            if m not in ("KNet4", "ResNet-18"):
                raise SystemExit("train_throughput: --configs: unknown model %r (KNet4, ResNet-18)" % m)
            out.append((m, int(px), int(batch), int(s2)))
        return out
    steps = {"KNet4": args.knet_steps, "ResNet-18": args.resnet_steps}
    batches = {"KNet4": 64, "ResNet-18": 32}
    return [(m, 28, batches[m], steps[m]) for m in args.models.split(",")]


def bench(args):
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    if args.malloc_tuned:
        # glibc: keep freed activations in the heap instead of returning them to the kernel and
        # faulting them in again at the next step (what mallopt(M_MMAP_THRESHOLD, 32 MiB) and
        # mallopt(M_TRIM_THRESHOLD, 4 GiB) do), for both sides
        env.update(MALLOC_MMAP_THRESHOLD_="33554432", MALLOC_TRIM_THRESHOLD_="4294967296")
        print("train_throughput: both sides with MALLOC_MMAP_THRESHOLD_=33554432 "
              "MALLOC_TRIM_THRESHOLD_=4294967296")
    cuda = args.device == "cuda"
    second = "steady" if cuda else "cpu"  # the figure compared (besides wall)
    rules = args.rules.split(",")
    fractions = sorted({split_rule(r)[1] for r in rules})
    layers = {"KNet4": 4, "ResNet-18": 22}
    tmp = tempfile.mkdtemp(prefix="lrid-bench-")  # job files, synthetic sets: removed at exit
    atexit.register(shutil.rmtree, tmp, True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # (a timeout's TERM: atexit still runs)
    results, skipped = {}, []
    print("train_throughput: on %s, 1 intra-op thread, %d interleaved repetitions (per repetition: "
          "lrid S1 steps, lrid S2 steps, PyTorch S2 steps)" % (args.device, args.reps), flush=True)
    print("  wall: S2 x batch / training-steps seconds of all S2 steps (the first included), "
          "both sides, best repetition")
    if cuda:
        print("  steady: (S2 - S1) x batch / seconds of steps S1..S2-1: lrid = training-steps seconds "
              "of the S2 run - those of the S1 run (start-up, cuDNN/cuBLAS set-up and warm-up cancel), "
              "PyTorch = wall time of those steps between two device synchronisations; best "
              "repetition", flush=True)
    else:
        print("  cpu:  (S2 - S1) x batch / CPU seconds of steps S1..S2-1: lrid = process CPU(S2 run) "
              "- process CPU(S1 run), PyTorch = process CPU of those steps; best repetition. Not "
              "inflated by other processes taking the core (a shared machine)", flush=True)
    for model, px, batch, s2 in configs(args):
        s1 = max(2, s2 // 4)
        if s2 <= s1:
            raise SystemExit("train_throughput: %s at %d px: S2 = %d steps must exceed S1 = max(2, S2/4)" % (model, px, s2))
        data = None
        if px != 28:
            data = os.path.join(tmp, "syn%d.h5" % px)
            if not os.path.exists(data):
                import synthetic_data
                synthetic_data.write(data, train=args.synthetic_train, size=px, test=args.synthetic_test)
        jobs = {}
        for rho in fractions:
            for steps in (s1, s2):
                jobs[rho, steps] = os.path.join(tmp, "%s-%d-%d-%g.yaml" % (model, px, steps, rho))
                with open(jobs[rho, steps], "w") as f:
                    f.write(job_text(model, batch, steps, rho, data, args.device, args.tf32))
        ids = rule_ids(args.lrid, jobs[fractions[0], s2], env)
        for rule in rules:
            if args.deadline and time.time() > args.deadline:
                skipped.append((model, px, batch, rule, "not run, past the deadline"))
                continue
            name, rho = split_rule(rule)
            run_id, settings = ids[name]
            reps = []
            info = None
            for rep in range(args.reps):
                short = run_lrid_cpu(args.lrid, jobs[rho, s1], run_id, env)
                if args.deadline:
                    # the rest of this entry, from the S1 run: lrid's S2 run and PyTorch's, each its
                    # start-up plus S2/S1 times the S1 run's steps (start-ups differ: a rough guess)
                    rest = 2 * (short["process_wall"] - short["seconds"] + short["seconds"] * s2 / s1)
                    if time.time() + rest > args.deadline:
                        break
                long = run_lrid_cpu(args.lrid, jobs[rho, s2], run_id, env)
                info = run_ref(model, rule, batch, s2, s1, env, args.device, data, settings, args.tf32)
                r = {
                    "lrid_wall": s2 * batch / long["seconds"],
                    "ref_wall": s2 * batch / info["seconds"],
                    "lrid_share": long["process_cpu"] / long["process_wall"],
                    "ref_share": info["steady_cpu"] / info["steady_wall"],
                }
                if cuda:
                    r["lrid_steady"] = (s2 - s1) * batch / max(1e-9, long["seconds"] - short["seconds"])
                    r["ref_steady"] = (s2 - s1) * batch / info["steady_wall"]
                else:
                    r["lrid_cpu"] = (s2 - s1) * batch / max(1e-9, long["process_cpu"] - short["process_cpu"])
                    r["ref_cpu"] = (s2 - s1) * batch / info["steady_cpu"]
                reps.append(r)
                print("  %-9s %3d px %-4s rep %d: lrid wall %7.1f %s %7.1f img/s (core share %.2f) | "
                      "PyTorch wall %7.1f %s %7.1f img/s (core share %.2f)"
                      % (model, px, rule, rep, r["lrid_wall"], second, r["lrid_" + second], r["lrid_share"],
                         r["ref_wall"], second, r["ref_" + second], r["ref_share"]), flush=True)
            if not reps:
                skipped.append((model, px, batch, rule, "not run: would end after the deadline (~%.0f s more after "
                                "lrid's %d-step run, %.0f s left)" % (rest, s1, max(0.0, args.deadline - time.time()))))
                continue
            c, h, w = info["input"]
            exp = expected_parameters(model, c, h, w, info["classes"])
            if info["parameters"] != exp or len(info["plastic_layers"]) != layers[model]:
                raise SystemExit("reference %s: %d parameters / %d plastic layers, lrid's model "
                                 "has %d / %d" % (model, info["parameters"],
                                                  len(info["plastic_layers"]), exp, layers[model]))
            best = {k: max(r[k] for r in reps) for k in reps[0]}
            best.update(batch=batch, s1=s1, s2=s2, params=info["parameters"],
                        layers=len(info["plastic_layers"]), tf32=info.get("tf32"))
            results[(model, px, rule)] = best
    if cuda and results:
        print("  TF32 in convolutions and matrix products: lrid distributed.allow_tf32 %s; PyTorch reports %s"
              % ("true" if args.tf32 else "false", next(iter(results.values()))["tf32"]))

    print()
    print("| model | px | rule | batch, S1/S2 steps | params (plastic layers) | lrid img/s wall / {0} | "
          "PyTorch img/s wall / {0} | lrid/PyTorch wall / {0} (>= {1:g}) | rule/SGDM time lrid wall / {0} "
          "| rule/SGDM time PyTorch wall / {0} |".format(second, args.target))
    print("|---|---|---|---|---|---|---|---|---|---|")
    for (model, px, rule), r in results.items():
        base = results.get((model, px, "sgdm"))
        def rel(k):
            return "%.2f" % (base[k] / r[k]) if base else "-"
        print("| %s | %d | %s | %d, %d/%d | %d (%d) | %.1f / %.1f | %.1f / %.1f | %.2f / %.2f | %s / %s | %s / %s |"
              % (model, px, rule, r["batch"], r["s1"], r["s2"], r["params"], r["layers"],
                 r["lrid_wall"], r["lrid_" + second], r["ref_wall"], r["ref_" + second],
                 r["lrid_wall"] / r["ref_wall"], r["lrid_" + second] / r["ref_" + second],
                 rel("lrid_wall"), rel("lrid_" + second), rel("ref_wall"), rel("ref_" + second)))
    print()
    for (model, px, rule), ia in results.items():
        sg = results.get((model, px, "sgdm"))
        if split_rule(rule)[0] != "ia" or sg is None:
            continue
        w, c = sg["lrid_wall"] / ia["lrid_wall"], sg["lrid_" + second] / ia["lrid_" + second]
        print("%s %d px: %s/SGDM time in lrid %.2f (wall) / %.2f (%s); target < 1.5: %s"
              % (model, px, rule.upper(), w, c, second, "met" if max(w, c) < 1.5 else
                 ("NOT met" if min(w, c) >= 1.5 else "mixed")))
    for k in ("wall", second):
        if not results:
            break
        worst = min((r["lrid_" + k] / r["ref_" + k], m, px, ru) for (m, px, ru), r in results.items())
        print("lowest lrid/PyTorch throughput ratio (%s): %.3f (%s %d px %s); target >= %g: %s"
              % (k, worst[0], worst[1], worst[2], worst[3], args.target,
                 "met" if worst[0] >= args.target else "NOT met"))
    # one verdict line per (model, size, rule): the figure that is not inflated by start-up
    # (cpu: process CPU time; cuda: the steady window)
    for (model, px, rule), r in results.items():
        q = r["lrid_" + second] / r["ref_" + second]
        print("%-4s  throughput %s %d px batch %d %s: lrid/PyTorch %.3f (%s: %.1f vs %.1f img/s; target >= %g)"
              % ("PASS" if q >= args.target else "FAIL", model, px, r["batch"], rule, q, second,
                 r["lrid_" + second], r["ref_" + second], args.target))
    for model, px, batch, rule, why in skipped:
        print("SKIP  throughput %s %d px batch %d %s: %s" % (model, px, batch, rule, why))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("ref")
    r.add_argument("--model", required=True, choices=["KNet4", "ResNet-18"])
    r.add_argument("--rule", required=True, choices=["sgdm", "adam", "fa", "ia"])
    r.add_argument("--batch", type=int, required=True)
    r.add_argument("--steps", type=int, required=True)
    r.add_argument("--threads", type=int, default=1)
    r.add_argument("--steady-from", type=int, default=1,
                   help="also report wall and CPU time of the steps from this one on")
    r.add_argument("--ia-fraction", type=float, default=1.0,
                   help="ia only: ia.batch_fraction (R on the first ceil(RHO N) examples)")
    r.add_argument("--profile", action="store_true", help="print torch.profiler's op table to stderr")
    r.add_argument("--device", default="cpu", help="cpu or cuda (model, batches and step there)")
    r.add_argument("--data", help="an HDF5 set in lrid's layout (default: Fashion-MNIST's IDX files)")
    r.add_argument("--settings", help="lrid's resolved training settings of the run, JSON (`lrid grid --json`, "
                   "a run's \"training\"); default: lrid's defaults of the rule")
    r.add_argument("--tf32", type=int, default=1, choices=[0, 1],
                   help="cuda: TF32 in convolutions and matrix products (lrid's distributed.allow_tf32; default 1)")
    b = sub.add_parser("bench")
    b.add_argument("lrid")
    b.add_argument("--models", default="KNet4,ResNet-18")
    b.add_argument("--rules", default="sgdm,adam,fa,ia,ia:0.5",
                   help="ia:RHO = IA with ia.batch_fraction RHO")
    b.add_argument("--reps", type=int, default=3)
    b.add_argument("--malloc-tuned", action="store_true",
                   help="run both sides with glibc's mmap threshold at 32 MiB and trim threshold at 4 GiB")
    b.add_argument("--knet-steps", type=int, default=200, help="S2 for KNet4 (S1 = S2/4)")
    b.add_argument("--resnet-steps", type=int, default=16, help="S2 for ResNet-18 (S1 = S2/4)")
    b.add_argument("--configs", help="MODEL:PX:BATCH:S2,... instead of --models/--knet-steps/--resnet-steps "
                   "(PX 28: Fashion-MNIST; else a synthetic PX x PX x 3 set; S1 = max(2, S2/4))")
    b.add_argument("--device", default="cpu", choices=["cpu", "cuda"],
                   help="both sides train there (lrid: distributed.device)")
    b.add_argument("--synthetic-train", type=int, default=2048, help="training images of a synthetic set")
    b.add_argument("--synthetic-test", type=int, default=256, help="test images of a synthetic set")
    b.add_argument("--target", type=float, default=1.0, help="lrid/PyTorch throughput target")
    b.add_argument("--deadline", type=float, default=0.0,
                   help="Unix time after which no further (model, rule) is started, nor one that would "
                   "end after it, estimated from lrid's S1 run (reported SKIP)")
    b.add_argument("--tf32", type=int, default=1, choices=[0, 1],
                   help="cuda: TF32 on both sides (lrid's distributed.allow_tf32, default true)")
    a = ap.parse_args()
    reference(a) if a.cmd == "ref" else bench(a)


if __name__ == "__main__":
    main()
