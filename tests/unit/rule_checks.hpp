#pragma once
// Shared by the learning rules' own tests (tests/unit/rule_<name>_torch_test.cpp): a job of one
// rule at the quickstart's shared SGD policy (jobs/quickstart.yaml: lr 0.05, momentum 0.9, cosine,
// the task gradient clipped to 0.5) on Fashion-MNIST, the angle of two tensors computed from their
// values, and the per-layer mean of a recorded diagnostic. Header-only, tests only.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "lrid/config/job.hpp"
#include "lrid/nn/models.hpp"
#include "lrid/train/trainer.hpp"

namespace lrid_test {

/// One run of `rule` on `arch` (batch 32 for the MLP, 16 for KNet4, as the quickstart) for `steps`
/// steps, `points` trajectory points; `training` adds keys to the rule's section.
inline lrid::config::JobSpec rule_job(const std::string& rule, const std::string& arch, int steps, int points = 5,
                                      const std::string& training = "", const std::string& task = "fashion_mnist") {
  const std::string batch = arch == "MLP" ? "32" : "16";
  return lrid::config::load_job_text(
      "name: t\ngrid:\n  - learning_rules: [" + rule + "]\n    tasks: [" + task + "]\n    architectures: [" + arch +
          "]\n    batch_sizes: [" + batch + "]\n    model_seeds: [0]\n    dataset_seeds: [0]\ntraining:\n  defaults: {steps: " +
          std::to_string(steps) + ", schedule: cosine, gradient_clip: 0.5, learning_rate: 0.05}\n  adam: {learning_rate: 0.001}\n" +
          (training.empty() ? "" : "  " + rule + ": {" + training + "}\n") + "observables:\n  trajectory_points: " +
          std::to_string(points) + "\n  observation_batch: 32\n",
      "rule_test.yaml");
}

/// The angle between two tensors in degrees, from their values in double precision.
inline double angle_of(const torch::Tensor& a, const torch::Tensor& b) {
  const torch::Tensor x = a.detach().reshape({-1}).to(torch::kCPU, torch::kDouble).contiguous();
  const torch::Tensor y = b.detach().reshape({-1}).to(torch::kCPU, torch::kDouble).contiguous();
  const double* p = x.data_ptr<double>();
  const double* q = y.data_ptr<double>();
  double dot = 0, nx = 0, ny = 0;
  for (int64_t i = 0; i < x.numel(); ++i) dot += p[i] * q[i], nx += p[i] * p[i], ny += q[i] * q[i];
  return std::acos(std::max(-1.0, std::min(1.0, dot / std::sqrt(nx * ny)))) * 180.0 / M_PI;
}

/// Mean over layers of a [layers, points] diagnostic at `point`.
inline double layer_mean_at(const std::vector<float>& v, size_t layers, size_t points, size_t point) {
  double s = 0;
  for (size_t l = 0; l < layers; ++l) s += v[l * points + point];
  return s / static_cast<double>(layers);
}

/// Trains `rule` on the MLP and KNet4 for 1000 steps at the quickstart's shared policy: no run
/// may diverge (train_run throws RunFailed), and each must learn (test accuracy well above the
/// 10-way chance of 0.1). Prints the accuracies (the figures of docs/science.md).
inline void trains_mlp_and_knet4(const std::string& rule) {
  torch::set_num_threads(1);
  for (const std::string arch : {"MLP", "KNet4"}) {
    SCOPED_TRACE(rule + " " + arch);
    const auto j = rule_job(rule, arch, 1000, 3);
    lrid::store::RunResult r;
    ASSERT_NO_THROW(r = lrid::train::train_run(j, j.runs.at(0)));
    std::printf("%s on %s, 1000 steps at the quickstart's policy: test accuracy %.3f, final loss %.3f\n", rule.c_str(),
                arch.c_str(), r.final_metric, r.final_loss);
    EXPECT_TRUE(std::isfinite(r.final_loss));
    EXPECT_GT(r.final_metric, 0.5);
  }
}

}  // namespace lrid_test
