// Weight mirror (src/config/rules/wm.cpp): B learned from R = alpha P_decay + beta P_amp on seeded
// noise inputs.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "lrid/nn/plastic.hpp"
#include "lrid/train/trainer.hpp"
#include "plastic_checks.hpp"
#include "rule_checks.hpp"

using namespace lrid_test;

TEST(RuleWm, GradientOfBIsTheDerivativeOfItsRegulariser) {
  torch::set_num_threads(1);
  torch::manual_seed(7);
  const Regulariser r = lrid::nn::feedback_for_rule("wm").regulariser;
  ASSERT_GT(r.decay, 0);
  ASSERT_GT(r.amp, 0);
  ASSERT_EQ(r.null, 0);
  PlasticLinear lin(6, 4, true, Feedback::Learned, r);
  lin.to(TestDevice(), torch::kDouble);
  lin.set_noise_seed(3);
  CheckIaGradient(lin, Randn({8, 6}, torch::kDouble), Randn({8, 4}, torch::kDouble));
  PlasticConv2d conv(Spec(3, 4, 3, 2, 1, true), Feedback::Learned, r);
  conv.to(TestDevice(), torch::kDouble);
  conv.set_noise_seed(4);
  const Tensor x = Randn({3, 3, 7, 7}, torch::kDouble);
  CheckIaGradient(conv, x, Randn(conv.apply_forward(x).sizes(), torch::kDouble));
}

TEST(RuleWm, WBAngleFallsClearlyBelowFasOnTheMlp) {
  torch::set_num_threads(1);
  double last[2] = {0, 0};
  const char* rules[2] = {"fa", "wm"};
  for (int i = 0; i < 2; ++i) {
    const auto j = rule_job(rules[i], "MLP", 1000, 5);
    const auto r = lrid::train::train_run(j, j.runs.at(0));
    last[i] = layer_mean_at(r.wb_angle, static_cast<size_t>(r.layer_count), 5, 4);
  }
  std::printf("MLP after 1000 steps, mean W-B angle: FA %.1f deg, WM %.1f deg\n", last[0], last[1]);
  EXPECT_LT(last[1], last[0] - 30.0);
}

TEST(RuleWm, TrainsTheMlpAndKnet4AtTheSharedPolicy) { trains_mlp_and_knet4("wm"); }
