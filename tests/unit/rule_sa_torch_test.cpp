// Symmetric alignment (src/config/rules/sa.cpp): B learned from R = alpha P_decay + beta P_self.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "lrid/nn/plastic.hpp"
#include "lrid/train/trainer.hpp"
#include "plastic_checks.hpp"
#include "rule_checks.hpp"

using namespace lrid_test;

TEST(RuleSa, GradientOfBIsTheDerivativeOfItsRegulariser) {
  // dR/dB = 2 alpha B - beta W, whatever the inputs: against autograd and finite differences.
  torch::set_num_threads(1);
  torch::manual_seed(8);
  const Regulariser r = lrid::nn::feedback_for_rule("sa").regulariser;
  ASSERT_FALSE(r.uses_inputs());
  PlasticLinear lin(6, 4, true, Feedback::Learned, r);
  lin.to(TestDevice(), torch::kDouble);
  const Tensor x = Randn({8, 6}, torch::kDouble), g = Randn({8, 4}, torch::kDouble);
  CheckIaGradient(lin, x, g);
  const Grads got = RunLayer(lin, x, g);
  EXPECT_TRUE(Close(got.dB, 2 * r.decay * lin.feedback_kernel().detach() - r.self * lin.weight().detach(), 1e-12));
  PlasticConv2d conv(Spec(3, 4, 3, 1, 1, true), Feedback::Learned, r);
  conv.to(TestDevice(), torch::kDouble);
  const Tensor xc = Randn({3, 3, 6, 6}, torch::kDouble);
  CheckIaGradient(conv, xc, Randn(conv.apply_forward(xc).sizes(), torch::kDouble));
}

TEST(RuleSa, WBAngleFallsClearlyBelowFasOnTheMlp) {
  torch::set_num_threads(1);
  double last[2] = {0, 0};
  const char* rules[2] = {"fa", "sa"};
  for (int i = 0; i < 2; ++i) {
    const auto j = rule_job(rules[i], "MLP", 1000, 5);
    const auto r = lrid::train::train_run(j, j.runs.at(0));
    last[i] = layer_mean_at(r.wb_angle, static_cast<size_t>(r.layer_count), 5, 4);
  }
  std::printf("MLP after 1000 steps, mean W-B angle: FA %.1f deg, SA %.1f deg\n", last[0], last[1]);
  EXPECT_LT(last[1], last[0] - 30.0);
}

TEST(RuleSa, TrainsTheMlpAndKnet4AtTheSharedPolicy) { trains_mlp_and_knet4("sa"); }
