// Sign symmetry (src/config/rules/ss.cpp): B = sign(W) scaled by mean |W|, recomputed at every
// step, never learned.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "lrid/nn/models.hpp"
#include "lrid/train/trainer.hpp"
#include "rule_checks.hpp"

using namespace lrid_test;

TEST(RuleSs, WBAngleIsTheAngleBetweenWAndSignWAtEveryPoint) {
  // The recorder's W-B angle against the angle between the layer's W and sign(W) computed here
  // from W's values at every recorded point (the scale of sign(W) does not change an angle).
  torch::set_num_threads(1);
  const auto j = rule_job("ss", "MLP", 200, 6);
  lrid::train::TrainOptions o;
  int points = 0;
  double start = 0;
  o.on_point = [&](const lrid::train::Progress& p) {
    ASSERT_NE(p.model, nullptr);
    const auto& layers = p.model->plastic_layers();
    ASSERT_EQ(p.wb_angle.size(), layers.size());
    for (size_t l = 0; l < layers.size(); ++l) {
      const torch::Tensor W = layers[l].weight();
      const double want = angle_of(W, W.sign());
      EXPECT_NEAR(p.wb_angle[l], want, 1e-3) << layers[l].name << " at point " << points;
      if (points == 0) start += want / static_cast<double>(layers.size());
    }
    ++points;
  };
  const auto r = lrid::train::train_run(j, j.runs.at(0), o);
  EXPECT_EQ(points, 6);
  // A Gaussian W starts at acos(E|w| / sqrt(E w^2)) = acos(sqrt(2 / pi)) = 37.0 degrees.
  EXPECT_NEAR(start, std::acos(std::sqrt(2.0 / M_PI)) * 180.0 / M_PI, 1.0);
  EXPECT_TRUE(std::isfinite(r.final_loss));
}

TEST(RuleSs, TrainsTheMlpAndKnet4AtTheSharedPolicy) { trains_mlp_and_knet4("ss"); }
