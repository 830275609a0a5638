#pragma once
// The training objectives (torch header: include only from torch sources). Every tensor an
// objective makes is made with its input's options (device, dtype), so the same code runs on the
// CPU, on CUDA and on LibTorch's meta device (tests/unit/train_objectives_torch_test.cpp runs each
// objective on meta tensors, where a tensor made on the CPU by a factory raises the same
// "expected all tensors to be on the same device" error that CUDA would).
#include <torch/torch.h>

namespace lrid::train {

/// NT-Xent (SimCLR) over z = [z1; z2] (2B x D): each row's positive is its other view.
struct NtXent {
  torch::Tensor loss;      ///< 0-dim, differentiable
  torch::Tensor accuracy;  ///< 0-dim float64 on z's device: top-1 accuracy of finding the positive
};
NtXent nt_xent(const torch::Tensor& z, double temperature);

/// Cross-entropy of logits [N, C] against int64 labels [N] (on the logits' device).
torch::Tensor supervised_loss(const torch::Tensor& logits, const torch::Tensor& labels);

}  // namespace lrid::train
