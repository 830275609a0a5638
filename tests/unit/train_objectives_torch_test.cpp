// The training path on LibTorch's meta device: the CPU's stand-in for CUDA in device-mismatch
// checks. A meta tensor has shapes and dtypes but no data; an op that mixes it with a tensor a
// factory call made on the CPU (torch::eye(n) without options, say) raises the same "expected all
// tensors to be on the same device" error a CUDA run would raise at its first step. So the
// objectives, the custom backward of the plastic layers and the seeded draws run here on meta
// tensors.
//
// What LibTorch 1.13's C++ library cannot run on meta (Python's torch registers more meta kernels
// at import; C++ has only the native ones), and how it is covered instead:
//  - convolutions (aten::convolution_overrideable, forward and backward) and
//    aten::_slow_conv2d_backward: no conv layer can run here;
//  - aten::dot (IA's normalize_output divisor; so IA runs here with normalize_output off),
//    aten::abs.out (sign symmetry's mean |W|), aten::flip (the augmentations' mirror);
//  - aten::where.self (masked_fill, and clamp_min's backward: the backward of normalize, so
//    nt_xent runs its forward only; it masks its diagonal in place, not with masked_fill);
//  - Module::to(kMeta) is refused ("variable and tensor have incompatible tensor type": C++'s
//    set_data, unlike Python's Module._apply, cannot swap a CPU parameter for a meta one), so whole
//    models cannot move to meta.
// Those paths are covered by tests/scripts/device_factories.sh, which fails on any tensor factory
// call on the training path (src/nn, src/train, src/data) that takes no device from a tensor and
// is not marked as host memory on purpose; and what must be read on the host (loss.item(), the
// recorder's statistics, the checkpoint's scalars) by the CPU tests of the trainer.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <string>
#include <vector>

#include "lrid/nn/plastic.hpp"
#include "lrid/train/objectives.hpp"

namespace {

using lrid::nn::Feedback;
using torch::Tensor;

const torch::TensorOptions kMeta = torch::TensorOptions().device(torch::kMeta);

Tensor MetaInput(at::IntArrayRef sizes) { return torch::empty(sizes, kMeta).requires_grad_(true); }

TEST(TrainObjectives, NtXentRunsOnTheInputsDevice) {
  // Forward only: normalize's backward (clamp_min's, through aten::where) has no C++ meta kernel.
  const Tensor z = MetaInput({8, 4});
  const auto r = lrid::train::nt_xent(z, 0.5);
  EXPECT_TRUE(r.loss.is_meta());
  EXPECT_EQ(r.loss.dim(), 0);
  EXPECT_TRUE(r.accuracy.is_meta());
}

TEST(TrainObjectives, NtXentOnTheCpuMatchesItsDefinition) {
  // Independent computation: for each row i of z = [z1; z2], -log softmax over j != i of
  // cos(z_i, z_j) / t at its positive (i + B mod 2B); accuracy: argmax over j != i is the positive.
  torch::manual_seed(3);
  const Tensor z = torch::randn({6, 3}, torch::kDouble);
  const double t = 0.5;
  const int64_t n = 6, b = 3;
  double loss = 0, correct = 0;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t pos = (i + b) % n;
    std::vector<double> s;
    double best = -1e300;
    int64_t arg = -1;
    for (int64_t j = 0; j < n; ++j) {
      if (j == i) continue;
      const double c = (z[i].dot(z[j]) / (z[i].norm() * z[j].norm())).item<double>() / t;
      s.push_back(c);
      if (c > best) best = c, arg = j;
    }
    double lse = 0;
    for (double c : s) lse += std::exp(c);
    const double ci = (z[i].dot(z[pos]) / (z[i].norm() * z[pos].norm())).item<double>() / t;
    loss += std::log(lse) - ci;
    correct += arg == pos ? 1 : 0;
  }
  const auto r = lrid::train::nt_xent(z, t);
  EXPECT_NEAR(r.loss.item<double>(), loss / n, 1e-9);
  EXPECT_DOUBLE_EQ(r.accuracy.item<double>(), correct / n);
}

TEST(TrainObjectives, SupervisedLossRunsOnTheInputsDevice) {
  const Tensor logits = MetaInput({5, 10});
  const Tensor labels = torch::empty({5}, kMeta.dtype(torch::kLong));
  const Tensor loss = lrid::train::supervised_loss(logits, labels);
  EXPECT_TRUE(loss.is_meta());
  loss.backward();
  EXPECT_TRUE(logits.grad().is_meta());
}

// The fully connected layers' custom forward and backward (a fixed B; a learned B's dR/dB on noise
// and on layer inputs) with every tensor on meta. (A tied B's gradient is W's, set outside the
// backward; a B computed from W needs abs, which has no meta kernel.)
TEST(TrainObjectives, FeedbackLinearRunsOnMetaTensors) {
  lrid::nn::Regulariser noise = lrid::nn::feedback_for_rule("ia").regulariser;
  noise.normalize_output = false;  // its divisor's at::dot has no C++ meta kernel
  noise.self = 0.1;                // every term of dR/dB
  lrid::nn::Regulariser layer = noise;
  layer.inputs = lrid::nn::LocalInputs::Layer;
  layer.batch_fraction = 0.5;
  for (const auto& [ia_on, ia] : std::vector<std::pair<bool, lrid::nn::Regulariser>>{{false, noise}, {true, noise}, {true, layer}}) {
    SCOPED_TRACE(std::string(ia_on ? "learned B, " : "fixed B, ") + lrid::config::local_inputs_name(ia.inputs) + " inputs");
    const Tensor x = MetaInput({8, 6}), w = MetaInput({4, 6}), b = MetaInput({4});
    const Tensor B = torch::empty({4, 6}, kMeta).requires_grad_(ia_on);
    lrid::nn::feedback_linear(x, w, b, B, ia_on, ia, 11).sum().backward();
    EXPECT_TRUE(x.grad().is_meta());
    EXPECT_TRUE(w.grad().is_meta());
    EXPECT_TRUE(b.grad().is_meta());
    if (ia_on) EXPECT_TRUE(B.grad().is_meta());
  }
}

// The seeded draws on the training path (IA's noise inputs, dropout's mask) are made on the CPU
// and returned on the requested device.
TEST(TrainObjectives, SeededDrawsArriveOnTheRequestedDevice) {
  lrid::nn::Regulariser c;
  EXPECT_TRUE(lrid::nn::local_noise(c, torch::empty({4, 3, 5, 5}, kMeta), 2, 7).is_meta());
  EXPECT_TRUE(lrid::nn::seeded_uniform({3, 4}, 7, kMeta).is_meta());
  EXPECT_TRUE(lrid::nn::seeded_normal({3, 4}, 7, kMeta).is_meta());
}

}  // namespace
