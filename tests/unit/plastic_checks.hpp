#pragma once
// Checks of plastic layers shared by the torch unit tests (nn_plastic_torch_test.cpp and the rule
// tests rule_<name>_torch_test.cpp): the test device, random tensors, closeness, a layer's
// gradients, autograd references and the gradient check of a learned B. Header-only, tests only.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "lrid/nn/plastic.hpp"

namespace lrid_test {

using lrid::nn::Conv2dSpec;
using lrid::nn::Feedback;
using lrid::nn::PlasticConv2d;
using lrid::nn::PlasticLayer;
using lrid::nn::PlasticLinear;
using lrid::nn::Regulariser;
using torch::Tensor;

// The device the tests run on: LRID_TEST_DEVICE (cpu by default; tools/gpu/check.sh sets cuda).
inline torch::Device TestDevice() {
  static const torch::Device device = [] {
    const char* v = std::getenv("LRID_TEST_DEVICE");
    return torch::Device(v && *v ? v : "cpu");
  }();
  return device;
}

// Random tensors are drawn from the CPU generator (the same values on every device) and moved.
inline Tensor Randn(at::IntArrayRef sizes, torch::Dtype dtype = torch::kFloat) {
  return torch::randn(sizes, torch::TensorOptions().dtype(dtype)).to(TestDevice());
}
inline Tensor Rand(at::IntArrayRef sizes) { return torch::rand(sizes).to(TestDevice()); }
inline Tensor Randint(int64_t low, int64_t high, at::IntArrayRef sizes) {
  return torch::randint(low, high, sizes, torch::kLong).to(TestDevice());
}

// max |a - b| <= atol + rtol |b|, with a readable failure message.
inline ::testing::AssertionResult Close(const Tensor& a_any, const Tensor& b_any, double atol, double rtol = 0) {
  if (!a_any.defined() || !b_any.defined()) return ::testing::AssertionFailure() << "undefined tensor";
  const Tensor a = a_any.cpu(), b = b_any.cpu();
  if (a.sizes() != b.sizes())
    return ::testing::AssertionFailure() << "shape " << a.sizes() << " vs " << b.sizes();
  Tensor diff = (a - b).abs();
  Tensor tol = atol + rtol * b.abs();
  if ((diff <= tol).all().item<bool>()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "max |diff| " << diff.max().item<double>() << " (max |b| " << b.abs().max().item<double>()
         << ")";
}

inline Conv2dSpec Spec(int64_t in, int64_t out, int64_t k, int64_t stride, int64_t pad, bool bias,
                int64_t dilation = 1, int64_t groups = 1) {
  Conv2dSpec s;
  s.in_channels = in;
  s.out_channels = out;
  s.kernel = k;
  s.stride = stride;
  s.padding = pad;
  s.bias = bias;
  s.dilation = dilation;
  s.groups = groups;
  return s;
}

// Biases start at 0; tests use nonzero ones so that IA's f = y - bias is exercised.
inline void RandomizeBias(PlasticLayer& l) {
  torch::NoGradGuard g;
  if (l.bias().defined()) l.bias().normal_(0.0, 0.5);
}

inline void SetB(PlasticLayer& l, const Tensor& value) {
  torch::NoGradGuard g;
  l.feedback_kernel().copy_(value);
}

struct Grads {
  Tensor y, dx, dw, db, dB;
};

// Runs forward with an input requiring grad and loss = sum(y * g); returns the gradients.
inline Grads RunLayer(PlasticLayer& l, const Tensor& x0, const Tensor& g) {
  l.zero_grad();
  Tensor x = x0.clone().requires_grad_(true);
  Tensor y = l.forward(x);
  (y * g).sum().backward();
  Grads r;
  r.y = y.detach();
  r.dx = x.grad();
  r.dw = l.weight().grad().clone();
  if (l.bias().defined()) r.db = l.bias().grad().clone();
  if (l.feedback_spec().trainable() && l.feedback_kernel().grad().defined())
    r.dB = l.feedback_kernel().grad().clone();
  return r;
}

// Autograd reference with weight w (forward and backward both with w).
inline Grads Reference(bool conv, const Conv2dSpec& s, const Tensor& x0, const Tensor& w0,
                const Tensor& b0, const Tensor& g) {
  Tensor x = x0.clone().requires_grad_(true);
  Tensor w = w0.detach().clone().requires_grad_(true);
  Tensor b = b0.defined() ? b0.detach().clone().requires_grad_(true) : Tensor();
  Tensor y = conv ? torch::conv2d(x, w, b, s.stride, s.padding, s.dilation, s.groups)
                  : torch::linear(x, w, b);
  (y * g).sum().backward();
  Grads r;
  r.y = y.detach();
  r.dx = x.grad();
  r.dw = w.grad();
  if (b.defined()) r.db = b.grad();
  return r;
}

inline const Conv2dSpec kConvCases[] = {
    Spec(3, 5, 3, 1, 0, true),      // plain (input-layer path for IA's r)
    Spec(6, 4, 3, 1, 1, true),      // plain, oneDNN path
    Spec(3, 6, 3, 2, 1, true),      // stride 2, padding
    Spec(4, 6, 5, 2, 2, false),     // stride 2, padding 2, no bias
    Spec(4, 6, 3, 1, 2, true, 2),   // dilation 2
    Spec(4, 6, 3, 2, 1, true, 1, 2) // groups 2, stride 2
};

// Central finite differences of local_loss in B, in double precision.
inline Tensor FiniteDifference(PlasticLayer& l, const Tensor& x, const std::vector<int64_t>& idx) {
  torch::NoGradGuard guard;
  Tensor flat = l.feedback_kernel().view({-1});
  Tensor out = torch::zeros({static_cast<int64_t>(idx.size())}, torch::kDouble);
  const double eps = 1e-5;
  for (size_t k = 0; k < idx.size(); ++k) {
    const double v = flat[idx[k]].item<double>();
    flat[idx[k]] = v + eps;
    const double up = l.local_loss(x).item<double>();
    flat[idx[k]] = v - eps;
    const double down = l.local_loss(x).item<double>();
    flat[idx[k]] = v;
    out[k] = (up - down) / (2 * eps);
  }
  return out;
}

// A learned B's gradient from the layer's backward against autograd of its local loss R (every
// entry) and central finite differences (a spread of entries), for R's non-decay terms too.
inline void CheckIaGradient(PlasticLayer& l, const Tensor& x, const Tensor& g) {
  RandomizeBias(l);
  Grads got = RunLayer(l, x, g);
  ASSERT_TRUE(got.dB.defined());
  // Every entry against autograd of R, a spread of entries against finite differences.
  Tensor B = l.feedback_kernel();
  B.mutable_grad() = Tensor();
  l.local_loss(x).backward();
  Tensor auto_dB = B.grad().clone();
  EXPECT_TRUE(Close(got.dB, auto_dB, 1e-9, 1e-7));
  std::vector<int64_t> idx;
  const int64_t n = B.numel();
  for (int64_t i = 0; i < n; i += std::max<int64_t>(1, n / 40)) idx.push_back(i);
  idx.push_back(n - 1);
  Tensor fd = FiniteDifference(l, x, idx);
  Tensor sel = got.dB.view({-1}).index_select(0, torch::tensor(idx).to(TestDevice()));
  EXPECT_TRUE(Close(sel, fd, 1e-7, 1e-5)) << "fd " << fd.slice(0, 0, 5) << " got " << sel.slice(0, 0, 5);
  // The gradient is not dominated by the decay term (else the test could not see an error in
  // the amp/null terms).
  Tensor decay = 2 * l.regulariser().decay * B.detach();
  EXPECT_GT((got.dB - decay).abs().max().item<double>(), 0.1 * decay.abs().max().item<double>());
}

}  // namespace lrid_test
