// Kolen-Pollack (src/config/rules/kp.cpp): B receives W's own update, both decay with R's alpha,
// so W - B shrinks geometrically.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "lrid/nn/models.hpp"
#include "lrid/train/trainer.hpp"
#include "rule_checks.hpp"

using namespace lrid_test;

TEST(RuleKp, WMinusBShrinksByTheFactorItsUpdateImplies) {
  // SGD with momentum mu at rate lr_t on W and B, both with the task gradient g and decay
  // 2 alpha: d = W - B follows d_{t+1} = d_t - lr_t k_t, k_t = mu k_{t-1} + 2 alpha d_t (k_0 =
  // 2 alpha d_0, PyTorch's first momentum step), so ||d_T|| = c_T ||d_0|| with the scalar c_T of
  // that recurrence. No data parallelism, no clipping (the clip acts on W's task gradient only).
  torch::set_num_threads(1);
  const int T = 150;
  const double alpha = 0.02, lr = 0.05, mu = 0.9;
  const auto j = rule_job("kp", "MLP", T, 3, "gradient_clip: 0, kp: {decay: 0.02}");
  const auto& run = j.runs.at(0);
  lrid::nn::ModelOptions mo;
  mo.arch = "MLP";
  mo.in_channels = 1, mo.height = 28, mo.width = 28, mo.num_outputs = 10;
  mo.feedback = j.rule("kp").feedback;
  const auto init = lrid::nn::build_model(mo, run.model_seed_value);
  std::vector<torch::Tensor> d0, dT;
  for (const auto& l : init->plastic_layers()) d0.push_back(l.weight().detach() - l.feedback_kernel().detach());
  lrid::train::TrainOptions o;
  o.on_final_model = [&](lrid::nn::Model& m) {
    for (const auto& l : m.plastic_layers()) dT.push_back(l.weight().detach() - l.feedback_kernel().detach());
  };
  lrid::train::train_run(j, run, o);
  double c = 1, k = 0;
  for (int t = 0; t < T; ++t) {
    const double lr_t = lr * 0.5 * (1.0 + std::cos(M_PI * t / T));
    k = (t == 0 ? 0.0 : mu * k) + 2 * alpha * c;
    c -= lr_t * k;
  }
  ASSERT_EQ(dT.size(), d0.size());
  EXPECT_LT(c, 0.7);  // a factor the test can tell from 1
  for (size_t l = 0; l < d0.size(); ++l) {
    const double want = c * d0[l].norm().item<double>(), got = dT[l].norm().item<double>();
    EXPECT_NEAR(got, want, 1e-4 * want) << "layer " << l;
    // ... and the direction of W - B is kept.
    EXPECT_LT(angle_of(dT[l], d0[l]), 0.05) << "layer " << l;
  }
}

TEST(RuleKp, TrainsTheMlpAndKnet4AtTheSharedPolicy) { trains_mlp_and_knet4("kp"); }
