// Plastic layers: backward kernels, Information Alignment's local gradient, capture.
#include <gtest/gtest.h>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <torch/torch.h>

#include "lrid/error.hpp"
#include "lrid/nn/models.hpp"
#include "lrid/nn/plastic.hpp"
#include "plastic_checks.hpp"

namespace {

using namespace lrid_test;

using lrid::nn::Conv2dSpec;
using lrid::nn::Feedback;
using lrid::nn::Regulariser;

// Information alignment's default regulariser (its rule file, src/config/rules/ia.cpp).
Regulariser Ia() { return lrid::nn::feedback_for_rule("ia").regulariser; }
using lrid::nn::PlasticConv2d;
using lrid::nn::PlasticLayer;
using lrid::nn::PlasticLinear;
using torch::Tensor;

class NnPlastic : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // check.sh counts the CUDA tests as run on CUDA only when this line says so.
    std::printf("lrid tests: device %s\n", TestDevice().str().c_str());
  }
  void SetUp() override {
    torch::set_num_threads(1);
    torch::manual_seed(1234);
    if (TestDevice().is_cuda()) {
      ASSERT_TRUE(torch::cuda::is_available()) << "LRID_TEST_DEVICE=cuda, but no GPU is visible";
      // float32 results comparable with autograd at 1e-5 and repeatable bit for bit (FA vs IA)
      at::globalContext().setAllowTF32CuBLAS(false);
      at::globalContext().setAllowTF32CuDNN(false);
      at::globalContext().setDeterministicCuDNN(true);
      at::globalContext().setBenchmarkCuDNN(false);
    }
  }
};

TEST_F(NnPlastic, BackwardWithBEqualToWMatchesAutograd) {
  for (Feedback fb : {Feedback::Fixed, Feedback::Learned}) {
    SCOPED_TRACE(lrid::nn::feedback_name(fb));
    for (bool bias : {true, false}) {
      PlasticLinear lin(7, 5, bias, fb, Ia());
      lin.to(TestDevice());
      RandomizeBias(lin);
      SetB(lin, lin.weight());
      Tensor x = Randn({4, 7}), g = Randn({4, 5});
      Grads got = RunLayer(lin, x, g);
      Grads ref = Reference(false, {}, x, lin.weight(), lin.bias(), g);
      EXPECT_TRUE(Close(got.y, ref.y, 1e-5));
      EXPECT_TRUE(Close(got.dx, ref.dx, 1e-5));
      EXPECT_TRUE(Close(got.dw, ref.dw, 1e-5));
      if (bias) EXPECT_TRUE(Close(got.db, ref.db, 1e-5));
    }
    for (const auto& s : kConvCases) {
      SCOPED_TRACE("conv stride " + std::to_string(s.stride) + " pad " +
                   std::to_string(s.padding) + " groups " + std::to_string(s.groups));
      PlasticConv2d conv(s, fb, Ia());
      conv.to(TestDevice());
      RandomizeBias(conv);
      SetB(conv, conv.weight());
      Tensor x = Randn({3, s.in_channels, 9, 10});
      Tensor y0 = conv.apply_forward(x);
      Tensor g = Randn(y0.sizes());
      Grads got = RunLayer(conv, x, g);
      Grads ref = Reference(true, s, x, conv.weight(), conv.bias(), g);
      EXPECT_TRUE(Close(got.y, ref.y, 1e-5));
      EXPECT_TRUE(Close(got.dx, ref.dx, 1e-5));
      EXPECT_TRUE(Close(got.dw, ref.dw, 1e-5));
      if (s.bias) EXPECT_TRUE(Close(got.db, ref.db, 1e-5));
    }
  }
}

TEST_F(NnPlastic, InputGradientUsesTheBackwardKernel) {
  for (Feedback fb : {Feedback::Fixed, Feedback::Learned, Feedback::FromWeight, Feedback::Tied}) {
    SCOPED_TRACE(lrid::nn::feedback_name(fb));
    PlasticLinear lin(7, 5, true, fb, Ia());
    lin.to(TestDevice());
    const Tensor B = lin.feedback_kernel().detach().clone();
    if (fb == Feedback::FromWeight) {  // sign(W) times mean |W|, computed here
      const Tensor W = lin.weight().detach();
      EXPECT_TRUE(Close(B, W.sign() * W.abs().mean(), 1e-7));
    }
    ASSERT_FALSE(torch::equal(B, lin.weight().detach()));  // drawn independently
    Tensor x = Randn({4, 7}), g = Randn({4, 5});
    Grads got = RunLayer(lin, x, g);
    EXPECT_TRUE(Close(got.dx, g.mm(B), 1e-5));
    Grads ref = Reference(false, {}, x, lin.weight(), lin.bias(), g);
    EXPECT_TRUE(Close(got.dw, ref.dw, 1e-5));  // W's gradient is the usual one
    EXPECT_TRUE(Close(got.db, ref.db, 1e-5));
    EXPECT_FALSE(Close(got.dx, ref.dx, 1e-3));  // and the input's is not

    for (const auto& s : kConvCases) {
      PlasticConv2d conv(s, fb, Ia());
      conv.to(TestDevice());
      const Tensor Bc = conv.feedback_kernel().detach().clone();
      Tensor xc = Randn({3, s.in_channels, 9, 10});
      Tensor gc = Randn(conv.apply_forward(xc).sizes());
      Grads gotc = RunLayer(conv, xc, gc);
      // conv_transpose2d of dy with B, output padding restoring the input size.
      std::vector<int64_t> op(2);
      for (int i = 0; i < 2; ++i)
        op[i] = xc.size(2 + i) - ((gc.size(2 + i) - 1) * s.stride - 2 * s.padding +
                                  s.dilation * (s.kernel - 1) + 1);
      Tensor hand = torch::conv_transpose2d(gc, Bc, {}, s.stride, s.padding, op, s.groups,
                                            s.dilation);
      EXPECT_TRUE(Close(gotc.dx, hand, 1e-5));
      Grads refc = Reference(true, s, xc, conv.weight(), conv.bias(), gc);
      EXPECT_TRUE(Close(gotc.dw, refc.dw, 1e-5));
      if (s.bias) EXPECT_TRUE(Close(gotc.db, refc.db, 1e-5));
    }
  }
}

TEST_F(NnPlastic, SignFeedbackFollowsW) {
  // A B computed from W: recomputed from the current W at every forward, no tensor of its own,
  // never learned; sign_scale none is sign(W) itself.
  PlasticLinear lin(6, 4, true, lrid::nn::FeedbackSpec{Feedback::FromWeight});
  lin.to(TestDevice());
  EXPECT_FALSE(lin.named_parameters().contains("feedback"));
  EXPECT_FALSE(lin.named_buffers().contains("feedback"));
  {
    torch::NoGradGuard g;
    lin.weight().mul_(-3.0);
  }
  const Tensor W = lin.weight().detach();
  EXPECT_TRUE(Close(lin.feedback_kernel(), W.sign() * W.abs().mean(), 1e-7));
  const Tensor x = Randn({5, 6}), g = Randn({5, 4});
  EXPECT_TRUE(Close(RunLayer(lin, x, g).dx, g.mm(W.sign() * W.abs().mean()), 1e-5));
  lrid::nn::FeedbackSpec none{Feedback::FromWeight};
  none.sign_scale = lrid::config::SignScale::None;
  PlasticLinear raw(6, 4, true, none);
  raw.to(TestDevice());
  EXPECT_TRUE(torch::equal(raw.feedback_kernel(), raw.weight().detach().sign()));
}

TEST_F(NnPlastic, TiedBTakesWsGradientAndBothDecay) {
  // Kolen-Pollack: the backward gives B nothing; tie_gradients() then sets B.grad = W.grad +
  // 2 decay B and adds 2 decay W to W.grad.
  Regulariser r;
  r.decay = 0.05;
  for (int conv = 0; conv < 2; ++conv) {
    SCOPED_TRACE(conv ? "conv" : "linear");
    std::unique_ptr<PlasticLayer> l;
    if (conv) l = std::make_unique<PlasticConv2d>(Spec(3, 4, 3, 1, 1, true), Feedback::Tied, r);
    else l = std::make_unique<PlasticLinear>(6, 4, true, Feedback::Tied, r);
    l->to(TestDevice());
    EXPECT_TRUE(l->named_parameters().contains("feedback"));
    const Tensor x = conv ? Randn({2, 3, 5, 5}) : Randn({5, 6});
    const Tensor g = Randn(l->apply_forward(x).sizes());
    const Grads got = RunLayer(*l, x, g);
    EXPECT_FALSE(got.dB.defined());  // nothing from the backward
    const Tensor W = l->weight().detach().clone(), B = l->feedback_kernel().detach().clone();
    l->tie_gradients();
    EXPECT_TRUE(Close(l->feedback_kernel().grad(), got.dw + 2 * 0.05 * B, 1e-6));
    EXPECT_TRUE(Close(l->weight().grad(), got.dw + 2 * 0.05 * W, 1e-6));
  }
}

TEST_F(NnPlastic, SelfTermGradientIsDerivativeOfLocalLoss) {
  // P_self = -sum(W * B) (symmetric alignment): dR/dB = -self W, with and without the input
  // terms, against autograd of R and finite differences.
  Regulariser only;
  only.decay = 0.05;
  only.self = 0.3;
  Regulariser mixed = only;
  mixed.amp = 0.7;
  mixed.inputs = lrid::nn::LocalInputs::Layer;
  for (const Regulariser& r : {only, mixed}) {
    PlasticLinear lin(6, 4, true, Feedback::Learned, r);
    lin.to(TestDevice(), torch::kDouble);
    CheckIaGradient(lin, Randn({8, 6}, torch::kDouble), Randn({8, 4}, torch::kDouble));
    PlasticConv2d conv(Spec(3, 4, 3, 1, 1, true), Feedback::Learned, r);
    conv.to(TestDevice(), torch::kDouble);
    const Tensor xc = Randn({3, 3, 6, 6}, torch::kDouble);
    CheckIaGradient(conv, xc, Randn(conv.apply_forward(xc).sizes(), torch::kDouble));
  }
}

TEST_F(NnPlastic, InfoAlignGradientIsDerivativeOfLocalLoss) {
  for (int mode = 0; mode < 3; ++mode) {
    SCOPED_TRACE("normalisation mode " + std::to_string(mode));
    Regulariser ia = Ia();
    ia.amp = 0.7;
    ia.null = 0.3;
    ia.decay = 0.05;
    ia.per_position = mode >= 1;
    ia.normalize_output = mode == 2;
    {
      PlasticLinear lin(6, 4, true, Feedback::Learned, ia);
      lin.to(TestDevice());
      lin.to(TestDevice(), torch::kDouble);
      Tensor x = Randn({5, 6}, torch::kDouble), g = Randn({5, 4}, torch::kDouble);
      CheckIaGradient(lin, x, g);
    }
    for (const auto& s : kConvCases) {
      SCOPED_TRACE("conv stride " + std::to_string(s.stride) + " groups " +
                   std::to_string(s.groups));
      PlasticConv2d conv(s, Feedback::Learned, ia);
      conv.to(TestDevice());
      conv.to(TestDevice(), torch::kDouble);
      Tensor x = Randn({3, s.in_channels, 9, 10}, torch::kDouble);
      Tensor g = Randn(conv.apply_forward(x).sizes(), torch::kDouble);
      CheckIaGradient(conv, x, g);
    }
  }
}

TEST_F(NnPlastic, InfoAlignBatchFractionUsesTheFirstExamples) {
  // rho < 1: B.grad is the exact rule's on the first ceil(rho N) examples alone (checked against
  // a rho = 1 layer fed only those), also the derivative of local_loss, while W's, the
  // bias's and the input's gradients still use the whole batch.
  Regulariser full = Ia();
  full.amp = 0.7;
  full.null = 0.3;
  full.decay = 0.05;
  Regulariser part = full;
  part.batch_fraction = 0.5;
  EXPECT_EQ(lrid::nn::local_batch(part, 7), 4);
  EXPECT_EQ(lrid::nn::local_batch(part, 1), 1);
  EXPECT_EQ(lrid::nn::local_batch(full, 7), 7);
  auto check = [&](PlasticLayer& a, PlasticLayer& b, PlasticLayer& fa, const Tensor& x,
                   const Tensor& g) {
    {
      torch::NoGradGuard guard;
      for (PlasticLayer* l : {&b, &fa}) {
        l->weight().copy_(a.weight());
        l->feedback_kernel().copy_(a.feedback_kernel());
        if (l->bias().defined()) l->bias().copy_(a.bias());
      }
    }
    const int64_t k = lrid::nn::local_batch(part, x.size(0));
    ASSERT_LT(k, x.size(0));
    Grads got = RunLayer(a, x, g);
    Grads sub = RunLayer(b, x.narrow(0, 0, k), g.narrow(0, 0, k));
    Grads ref = RunLayer(fa, x, g);
    EXPECT_TRUE(Close(got.dB, sub.dB, 1e-12, 1e-10));
    EXPECT_TRUE(torch::equal(got.dx, ref.dx));
    EXPECT_TRUE(torch::equal(got.dw, ref.dw));
    // Not the whole batch's: the test could not tell otherwise.
    Grads whole = RunLayer(b, x, g);
    EXPECT_FALSE(Close(got.dB, whole.dB, 1e-6, 1e-4));
    CheckIaGradient(a, x, g);
  };
  {
    PlasticLinear a(6, 4, true, Feedback::Learned, part), b(6, 4, true, Feedback::Learned, full),
        fa(6, 4, true, Feedback::Fixed, full);
    a.to(TestDevice()); b.to(TestDevice()); fa.to(TestDevice());
    for (PlasticLayer* l : {&a, &b, &fa}) l->to(TestDevice(), torch::kDouble);
    RandomizeBias(a);
    Tensor x = Randn({7, 6}, torch::kDouble), g = Randn({7, 4}, torch::kDouble);
    check(a, b, fa, x, g);
  }
  for (const auto& s : kConvCases) {
    SCOPED_TRACE("conv stride " + std::to_string(s.stride) + " groups " + std::to_string(s.groups));
    PlasticConv2d a(s, Feedback::Learned, part), b(s, Feedback::Learned, full),
        fa(s, Feedback::Fixed, full);
    a.to(TestDevice()); b.to(TestDevice()); fa.to(TestDevice());
    for (PlasticLayer* l : {&a, &b, &fa}) l->to(TestDevice(), torch::kDouble);
    RandomizeBias(a);
    Tensor x = Randn({5, s.in_channels, 9, 10}, torch::kDouble);
    Tensor g = Randn(a.apply_forward(x).sizes(), torch::kDouble);
    check(a, b, fa, x, g);
  }
}

TEST_F(NnPlastic, LocalLossMatchesTheDefinition) {
  // fc, written out: f = x W^T, b = x B^T, r = f B (R on the layer's inputs).
  Regulariser ia = Ia();
  ia.inputs = lrid::nn::LocalInputs::Layer;
  ia.amp = 0.5;
  ia.null = 0.25;
  ia.decay = 0.125;
  ia.normalize_output = false;
  PlasticLinear lin(6, 4, true, Feedback::Learned, ia);
  lin.to(TestDevice());
  lin.to(TestDevice(), torch::kDouble);
  Tensor x = Randn({5, 6}, torch::kDouble);
  Tensor W = lin.weight().detach(), B = lin.feedback_kernel().detach();
  Tensor f = x.mm(W.t()), b = x.mm(B.t()), r = f.mm(B);
  const double amp = -(b * f).sum(1).mean().item<double>();
  const double null = r.pow(2).sum(1).mean().item<double>();
  const double decay = (W.pow(2).sum() + B.pow(2).sum()).item<double>();
  EXPECT_NEAR(lin.local_loss(x).item<double>(), 0.5 * amp + 0.25 * null + 0.125 * decay, 1e-10);
  // conv, per-position: amp and null divided by the output positions.
  PlasticConv2d conv(Spec(2, 3, 3, 2, 1, false), Feedback::Learned, ia);
  conv.to(TestDevice());
  conv.to(TestDevice(), torch::kDouble);
  Tensor xc = Randn({2, 2, 7, 7}, torch::kDouble);
  Tensor Wc = conv.weight().detach(), Bc = conv.feedback_kernel().detach();
  Tensor fc = torch::conv2d(xc, Wc, {}, 2, 1), bc = torch::conv2d(xc, Bc, {}, 2, 1);
  Tensor rc = torch::conv_transpose2d(fc, Bc, {}, 2, 1);  // 4x4 -> 7x7
  ASSERT_EQ(rc.sizes(), xc.sizes());
  const double P = static_cast<double>(fc.size(2) * fc.size(3));
  const double ampc = -(bc * fc).sum().item<double>() / 2;
  const double nullc = rc.pow(2).sum().item<double>() / 2;
  const double decayc = (Wc.pow(2).sum() + Bc.pow(2).sum()).item<double>();
  EXPECT_NEAR(conv.local_loss(xc).item<double>(),
              (0.5 * ampc + 0.25 * nullc) / P + 0.125 * decayc, 1e-10);
  // normalize_output: amp and null also divided by mean(f^2).
  ia.normalize_output = true;
  conv.set_regulariser(ia);
  const double s = fc.pow(2).mean().item<double>();
  EXPECT_NEAR(conv.local_loss(xc).item<double>(),
              (0.5 * ampc + 0.25 * nullc) / (P * s) + 0.125 * decayc, 1e-10);
  ia.per_position = false;
  conv.set_regulariser(ia);
  EXPECT_NEAR(conv.local_loss(xc).item<double>(),
              (0.5 * ampc + 0.25 * nullc) / s + 0.125 * decayc, 1e-10);
}

TEST_F(NnPlastic, InfoAlignDoesNotMoveW) {
  // Same W, B, x, dy: IA's W, bias and input gradients are FA's.
  auto check = [](PlasticLayer& fa, PlasticLayer& ia, const Tensor& x, const Tensor& g) {
    {
      torch::NoGradGuard guard;
      ia.weight().copy_(fa.weight());
      ia.feedback_kernel().copy_(fa.feedback_kernel());
    }
    Grads a = RunLayer(fa, x, g), b = RunLayer(ia, x, g);
    EXPECT_TRUE(torch::equal(a.dw, b.dw));
    EXPECT_TRUE(torch::equal(a.dx, b.dx));
    EXPECT_TRUE(torch::equal(a.db, b.db));
    EXPECT_TRUE(b.dB.defined());
  };
  PlasticLinear fa(6, 4, true, Feedback::Fixed), ia(6, 4, true, Feedback::Learned, Ia());
  fa.to(TestDevice()); ia.to(TestDevice());
  check(fa, ia, Randn({5, 6}), Randn({5, 4}));
  const auto s = Spec(3, 4, 3, 2, 1, true);
  PlasticConv2d fac(s, Feedback::Fixed), iac(s, Feedback::Learned, Ia());
  fac.to(TestDevice()); iac.to(TestDevice());
  Tensor x = Randn({2, 3, 8, 8});
  check(fac, iac, x, Randn(fac.apply_forward(x).sizes()));
}

TEST_F(NnPlastic, FeedbackKernelRegistration) {
  PlasticLinear bp(3, 2, true, Feedback::Exact), fa(3, 2, true, Feedback::Fixed),
      ia(3, 2, true, Feedback::Learned, Ia());
  bp.to(TestDevice()); fa.to(TestDevice()); ia.to(TestDevice());
  EXPECT_TRUE(bp.feedback_kernel().is_same(bp.weight()));  // B is W, no copy
  EXPECT_EQ(bp.named_buffers().size(), 0u);
  EXPECT_EQ(bp.named_parameters().size(), 2u);
  EXPECT_TRUE(fa.named_buffers().contains("feedback"));  // saved with the state
  EXPECT_FALSE(fa.named_parameters().contains("feedback"));
  EXPECT_FALSE(fa.feedback_kernel().requires_grad());
  EXPECT_TRUE(ia.named_parameters().contains("feedback"));
  EXPECT_TRUE(ia.feedback_kernel().requires_grad());
  EXPECT_THROW(lrid::nn::feedback_for_rule("bogus"), lrid::BadInput);
  EXPECT_EQ(lrid::nn::feedback_for_rule("SGDM").kind, Feedback::Exact);
  EXPECT_EQ(lrid::nn::feedback_for_rule("adam").kind, Feedback::Exact);
  EXPECT_EQ(lrid::nn::feedback_for_rule("FA").kind, Feedback::Fixed);
  EXPECT_EQ(lrid::nn::feedback_for_rule("ia").kind, Feedback::Learned);
}

TEST_F(NnPlastic, FixedBIsUntouchedAndInfoAlignBLearns) {
  for (Feedback fb : {Feedback::Fixed, Feedback::Learned}) {
    lrid::nn::ModelOptions o;
    o.arch = "KNet4";
    o.feedback = fb == Feedback::Learned ? lrid::nn::feedback_for_rule("ia") : lrid::nn::FeedbackSpec{fb};
    auto m = lrid::nn::build_model(o, 3);
    m->to(TestDevice());
    std::vector<Tensor> B0, W0;
    for (const auto& p : m->plastic_layers()) {
      B0.push_back(p.feedback_kernel().detach().clone());
      W0.push_back(p.weight().detach().clone());
    }
    torch::optim::SGD opt(m->parameters(),
                          torch::optim::SGDOptions(0.05).momentum(0.9).weight_decay(1e-4));
    Tensor x = Randn({8, 1, 28, 28});
    Tensor y = Randint(0, 10, {8});
    for (int step = 0; step < 3; ++step) {
      opt.zero_grad();
      torch::nn::functional::cross_entropy(m->forward(x), y).backward();
      opt.step();
    }
    const auto& layers = m->plastic_layers();
    for (size_t i = 0; i < layers.size(); ++i) {
      SCOPED_TRACE(layers[i].name);
      EXPECT_FALSE(torch::equal(layers[i].weight(), W0[i]));
      if (fb == Feedback::Fixed)
        EXPECT_TRUE(torch::equal(layers[i].feedback_kernel(), B0[i]));
      else
        EXPECT_FALSE(torch::equal(layers[i].feedback_kernel(), B0[i]));
    }
    EXPECT_EQ(m->feedback_parameters().size(), fb == Feedback::Learned ? 4u : 0u);
    EXPECT_EQ(m->forward_parameters().size(), 8u);
  }
}

TEST_F(NnPlastic, CaptureAndApplyForward) {
  PlasticConv2d conv(Spec(2, 3, 3, 1, 1, true), Feedback::Learned, Ia());
  conv.to(TestDevice());
  Tensor x = Randn({2, 2, 5, 5});
  conv.forward(x);
  EXPECT_FALSE(conv.captured_input().defined());
  conv.set_capture(true);
  Tensor y = conv.forward(x);
  EXPECT_TRUE(torch::equal(conv.captured_input(), x));
  EXPECT_TRUE(torch::equal(conv.captured_output(), y.detach()));
  EXPECT_FALSE(conv.captured_output().requires_grad());
  // apply_forward: the pure W op, differentiable in a detached input, no capture.
  Tensor xi = conv.captured_input().clone().requires_grad_(true);
  Tensor out = conv.apply_forward(xi);
  EXPECT_TRUE(torch::allclose(out, y));
  out.sum().backward();  // d(sum out)/dx with W, not B
  Tensor expected = torch::conv_transpose2d(torch::ones_like(out), conv.weight().detach(), {}, 1, 1);
  EXPECT_TRUE(Close(xi.grad(), expected, 1e-5));
  EXPECT_TRUE(torch::equal(conv.captured_input(), x));  // not overwritten by apply_forward
  conv.set_capture(false);
  EXPECT_FALSE(conv.captured_input().defined());
}

}  // namespace

namespace {

TEST_F(NnPlastic, NormalizedInfoAlignGradientIsScaleFree) {
  // With normalize_output, dR/dB - 2 gamma B does not change when x (hence f, r) is rescaled.
  const auto s = Spec(3, 4, 3, 2, 1, true);
  Regulariser layer_inputs = Ia();
  layer_inputs.inputs = lrid::nn::LocalInputs::Layer;
  PlasticConv2d conv(s, Feedback::Learned, layer_inputs);
  conv.to(TestDevice());
  conv.to(TestDevice(), torch::kDouble);
  Tensor x = Randn({2, 3, 8, 8}, torch::kDouble);
  Tensor g = Randn(conv.apply_forward(x).sizes(), torch::kDouble);
  Tensor d1 = RunLayer(conv, x, g).dB;
  Tensor d2 = RunLayer(conv, 100.0 * x, g).dB;
  EXPECT_TRUE(Close(d1, d2, 1e-12, 1e-9));
  Regulariser literal = layer_inputs;
  literal.per_position = literal.normalize_output = false;
  conv.set_regulariser(literal);
  Tensor d3 = RunLayer(conv, x, g).dB, d4 = RunLayer(conv, 100.0 * x, g).dB;
  EXPECT_FALSE(Close(d3, d4, 1e-3, 1e-3));
}

TEST_F(NnPlastic, NoiseInputsAreSeededNoiseOfTheInputsShape) {
  // inputs: noise (the default): dR/dB is the layer-input rule's on local_noise(seed) in place of
  // x, whatever x's values; the same seed gives the same gradient, another seed another.
  Regulariser noise = Ia();
  noise.amp = 0.7;
  noise.null = 0.3;
  noise.decay = 0.05;
  noise.batch_fraction = 0.5;
  noise.normalize_output = false;  // the divisor's s differs between the two forms (below)
  Regulariser layer = noise;
  layer.inputs = lrid::nn::LocalInputs::Layer;
  layer.batch_fraction = 1.0;
  auto check = [&](PlasticLayer& a, PlasticLayer& ref, const Tensor& x, const Tensor& g) {
    {
      torch::NoGradGuard guard;
      ref.weight().copy_(a.weight());
      ref.feedback_kernel().copy_(a.feedback_kernel());
      if (ref.bias().defined()) ref.bias().copy_(a.bias());
    }
    a.set_noise_seed(77);
    const Tensor xi = lrid::nn::local_noise(noise, x, lrid::nn::local_batch(noise, x.size(0)), 77);
    ASSERT_EQ(xi.size(0), lrid::nn::local_batch(noise, x.size(0)));
    EXPECT_NEAR(xi.std().item<double>(), 1.0, 0.2);
    Grads got = RunLayer(a, x, g);
    Grads want = RunLayer(ref, xi, torch::zeros(ref.apply_forward(xi).sizes(), xi.options()));
    EXPECT_TRUE(Close(got.dB, want.dB, 1e-12, 1e-10));
    EXPECT_TRUE(Close(RunLayer(a, 3.0 * x + 1.0, g).dB, got.dB, 1e-12, 1e-10));  // not x's values
    a.set_noise_seed(78);
    EXPECT_FALSE(Close(RunLayer(a, x, g).dB, got.dB, 1e-6, 1e-4));
    a.set_noise_seed(77);
    EXPECT_TRUE(torch::equal(RunLayer(a, x, g).dB, got.dB));
    CheckIaGradient(a, x, g);  // also autograd and finite differences of local_loss
  };
  {
    PlasticLinear a(6, 4, true, Feedback::Learned, noise), ref(6, 4, true, Feedback::Learned, layer);
    a.to(TestDevice()); ref.to(TestDevice());
    a.to(TestDevice(), torch::kDouble), ref.to(TestDevice(), torch::kDouble);
    check(a, ref, Randn({8, 6}, torch::kDouble), Randn({8, 4}, torch::kDouble));
  }
  for (const auto& s : kConvCases) {
    SCOPED_TRACE("conv stride " + std::to_string(s.stride) + " groups " + std::to_string(s.groups));
    PlasticConv2d a(s, Feedback::Learned, noise), ref(s, Feedback::Learned, layer);
    a.to(TestDevice()); ref.to(TestDevice());
    a.to(TestDevice(), torch::kDouble), ref.to(TestDevice(), torch::kDouble);
    Tensor x = Randn({4, s.in_channels, 9, 10}, torch::kDouble);
    check(a, ref, x, Randn(a.apply_forward(x).sizes(), torch::kDouble));
  }
}

TEST_F(NnPlastic, NoiseInputsNormaliseByTheExpectedOutputAndSplitAcrossRanks) {
  // normalize_output with noise inputs divides by s = noise_std^2 ||W||^2 / C_out (the
  // expectation of f^2), the same on every rank: two ranks' halves of the group's noise average
  // to the gradient of one process drawing it all.
  Regulariser on = Ia();
  on.amp = 0.7;
  on.null = 0.3;
  on.decay = 0.05;
  on.noise_std = 2.0;
  Regulariser off = on;
  off.normalize_output = false;
  for (int conv = 0; conv < 2; ++conv) {
    SCOPED_TRACE(conv ? "conv" : "fc");
    std::unique_ptr<PlasticLayer> a, b;
    if (conv) {
      a = std::make_unique<PlasticConv2d>(Spec(3, 4, 3, 1, 1, true), Feedback::Learned, on);
      a->to(TestDevice());
      b = std::make_unique<PlasticConv2d>(Spec(3, 4, 3, 1, 1, true), Feedback::Learned, off);
      b->to(TestDevice());
    } else {
      a = std::make_unique<PlasticLinear>(6, 4, true, Feedback::Learned, on);
      a->to(TestDevice());
      b = std::make_unique<PlasticLinear>(6, 4, true, Feedback::Learned, off);
      b->to(TestDevice());
    }
    a->to(TestDevice(), torch::kDouble), b->to(TestDevice(), torch::kDouble);
    {
      torch::NoGradGuard guard;
      b->weight().copy_(a->weight());
      b->feedback_kernel().copy_(a->feedback_kernel());
    }
    const Tensor x = conv ? Randn({6, 3, 5, 5}, torch::kDouble) : Randn({6, 6}, torch::kDouble);
    const Tensor g = Randn(a->apply_forward(x).sizes(), torch::kDouble);
    a->set_noise_seed(5), b->set_noise_seed(5);
    const Tensor B = a->feedback_kernel().detach();
    const Tensor dn = RunLayer(*a, x, g).dB - 2 * on.decay * B, du = RunLayer(*b, x, g).dB - 2 * off.decay * B;
    const double s = 4.0 * a->weight().detach().pow(2).sum().item<double>() / static_cast<double>(a->weight().size(0));
    EXPECT_TRUE(Close(dn * s, du, 1e-12, 1e-9));
    // Ranks 0 and 1 of a group of two, each on half the batch.
    Tensor half[2];
    for (int r = 0; r < 2; ++r) {
      a->set_noise_seed(5, r, 2);
      half[r] = RunLayer(*a, x.narrow(0, 3 * r, 3), g.narrow(0, 3 * r, 3)).dB;
    }
    a->set_noise_seed(5, 0, 1);
    EXPECT_TRUE(Close(0.5 * (half[0] + half[1]), RunLayer(*a, x, g).dB, 1e-12, 1e-9));
  }
}

TEST_F(NnPlastic, NoiseInputsAlignBWithW) {
  // Minimising R alone (SGD with momentum on B, W fixed) from a random B: on noise inputs B
  // turns towards W; on correlated post-ReLU inputs (a large common mean) it does not, because
  // R's minimiser is then ~W E[x x^T] (docs/science.md).
  auto final_angle = [](lrid::nn::LocalInputs inputs) {
    Regulariser c = Ia();
    c.inputs = inputs;
    PlasticLinear l(64, 32, true, Feedback::Learned, c);
    l.to(TestDevice());
    torch::optim::SGD opt({l.feedback_kernel()}, torch::optim::SGDOptions(1.0).momentum(0.9));
    const Tensor mix = Randn({64, 64}) / 8.0;
    for (int step = 0; step < 800; ++step) {
      const Tensor x = torch::relu(Randn({32, 64}).mm(mix) + 2.0);
      l.set_noise_seed(static_cast<uint64_t>(step));
      opt.zero_grad();
      l.local_loss(x).backward();
      opt.step();
    }
    const Tensor w = l.weight().detach().reshape({-1}), b = l.feedback_kernel().detach().reshape({-1});
    return std::acos((w.dot(b) / (w.norm() * b.norm())).item<double>()) * 180.0 / M_PI;
  };
  const double noise = final_angle(lrid::nn::LocalInputs::Noise);
  const double layer = final_angle(lrid::nn::LocalInputs::Layer);
  std::printf("W-B angle after 800 steps of R: noise inputs %.1f deg, layer inputs %.1f deg\n", noise, layer);
  EXPECT_LT(noise, 25.0);
  EXPECT_GT(layer, 45.0);
}

TEST_F(NnPlastic, DefaultInfoAlignTrainsStably) {
  // An MLP at lr 0.05, momentum 0.9 on a separable task drives its logits (hence the read-out's
  // f) to large values; with the literal sums the read-out's B diverged within ~40 steps.
  lrid::nn::ModelOptions o;
  o.arch = "MLP";
  o.height = o.width = 12;
  o.feedback = lrid::nn::feedback_for_rule("ia");
  auto m = lrid::nn::build_model(o, 4);
  m->to(TestDevice());
  torch::optim::SGD opt(m->parameters(), torch::optim::SGDOptions(0.05).momentum(0.9));
  Tensor protos = Rand({10, 1, 12, 12});
  auto batch = [&](int64_t n) {
    Tensor y = Randint(0, 10, {n});
    return std::make_pair(protos.index_select(0, y) + 0.3 * Randn({n, 1, 12, 12}), y);
  };
  for (int step = 0; step < 150; ++step) {
    auto [x, y] = batch(32);
    opt.zero_grad();
    torch::nn::functional::cross_entropy(m->forward(x), y).backward();
    opt.step();
  }
  // Single-batch losses spike under FA/IA at this lr; accuracy on a fixed batch does not.
  auto [xe, ye] = batch(256);
  torch::NoGradGuard no_grad;
  const double acc = (m->forward(xe).argmax(1) == ye).to(TestDevice(), torch::kDouble).mean().item<double>();
  EXPECT_GT(acc, 0.8);
  for (const auto& p : m->plastic_layers()) {
    SCOPED_TRACE(p.name);
    ASSERT_TRUE(torch::isfinite(p.feedback_kernel()).all().item<bool>());
    EXPECT_LT(p.feedback_kernel().norm().item<double>(), 20 * p.weight().norm().item<double>());
  }
}


TEST_F(NnPlastic, NoiseInputsAreAFunctionOfTheSeedAlone) {
  // IA's noise is drawn on a CPU generator seeded with the step's seed, scaled, then moved to the
  // layer's device: the same values whichever device the run is configured for (cpu, cuda, or
  // meta here), and a group's rank takes its rows of the whole batch's draw.
  Regulariser c = Ia();
  c.noise_std = 0.5;
  const Tensor like = torch::zeros({4, 3, 5, 5});
  auto gen = at::detail::createCPUGenerator(1234);
  const Tensor expect = at::randn({4, 3, 5, 5}, gen, torch::kFloat).mul_(0.5);
  EXPECT_TRUE(torch::equal(lrid::nn::local_noise(c, like, 4, 1234), expect));
  EXPECT_TRUE(torch::equal(lrid::nn::local_noise(c, like.to(TestDevice()), 4, 1234).cpu(), expect));
  const Tensor meta = lrid::nn::local_noise(c, like.to(torch::kMeta), 4, 1234);
  EXPECT_TRUE(meta.is_meta());
  EXPECT_EQ(meta.sizes(), expect.sizes());
  auto gen2 = at::detail::createCPUGenerator(1234);
  const Tensor group = at::randn({8, 3, 5, 5}, gen2, torch::kFloat).mul_(0.5);
  EXPECT_TRUE(torch::equal(lrid::nn::local_noise(c, like, 4, 1234, 1, 2), group.narrow(0, 4, 4)));
  EXPECT_FALSE(torch::equal(lrid::nn::local_noise(c, like, 4, 1235), expect));
}

}  // namespace
