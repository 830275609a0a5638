// Training one run end to end on real Fashion-MNIST: every rule lowers the loss, runs are
// reproducible, the recorder's points and its gradavg against an independent computation.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstring>

#include "lrid/config/job.hpp"
#include "lrid/data/data.hpp"
#include "lrid/nn/models.hpp"
#include "lrid/observe/conditions.hpp"
#include "lrid/observe/stats.hpp"
#include "lrid/train/recorder.hpp"
#include "lrid/train/trainer.hpp"

using namespace lrid;

namespace {

config::JobSpec job(const std::string& archs, const std::string& tasks, int steps, int points,
                    const std::string& extra = "") {
  return config::load_job_text(
      "name: t\ngrid:\n  - learning_rules: [sgdm, adam, fa, ia]\n    tasks: [" + tasks +
          "]\n    architectures: [" + archs + "]\n    batch_sizes: [32]\n" +
          "training:\n  defaults: {steps: " + std::to_string(steps) +
          ", schedule: cosine}\nobservables:\n  trajectory_points: " + std::to_string(points) +
          "\n  observation_batch: 16\n" + extra,
      "test.yaml");
}

double mean(const std::vector<double>& v, size_t a, size_t b) {
  double s = 0;
  for (size_t i = a; i < b; ++i) s += v[i];
  return s / static_cast<double>(b - a);
}

}  // namespace

TEST(Train, EveryRuleLowersKNet4Loss) {
  torch::set_num_threads(1);
  const auto j = job("KNet4", "fashion_mnist", 200, 11);
  for (const auto& run : j.runs) {
    train::TrainOptions o;
    o.record = false;
    const auto r = train::train_run(j, run, o);
    // mean of the first three points vs the last three
    const double early = mean(r.loss, 0, 3), late = mean(r.loss, r.loss.size() - 3, r.loss.size());
    EXPECT_LT(late, 0.8 * early) << run.rule << ": " << early << " -> " << late;
    EXPECT_GT(r.final_metric, 0.4) << run.rule << " test accuracy";
  }
}

TEST(Train, IaOnHalfTheBatchLowersKNet4Loss) {
  // ia.batch_fraction 0.5 (R on half of each batch) still trains the network.
  torch::set_num_threads(1);
  const auto j = config::load_job_text(
      "name: t\ngrid:\n  - learning_rules: [ia]\n    tasks: [fashion_mnist]\n"
      "    architectures: [KNet4]\n    batch_sizes: [32]\ntraining:\n"
      "  defaults: {steps: 200, schedule: cosine}\n  ia: {ia: {batch_fraction: 0.5}}\n"
      "observables:\n  trajectory_points: 11\n  observation_batch: 16\n",
      "test.yaml");
  ASSERT_DOUBLE_EQ(j.rule("ia").ia.batch_fraction, 0.5);
  train::TrainOptions o;
  o.record = false;
  const auto r = train::train_run(j, j.runs[0], o);
  const double early = mean(r.loss, 0, 3), late = mean(r.loss, r.loss.size() - 3, r.loss.size());
  EXPECT_LT(late, 0.8 * early) << early << " -> " << late;
  EXPECT_GT(r.final_metric, 0.4) << "test accuracy";
}

TEST(Train, SimclrLossFalls) {
  torch::set_num_threads(1);
  const auto j = job("MLP", "fashion_mnist_simclr", 150, 6);
  train::TrainOptions o;
  o.record = false;
  const auto r = train::train_run(j, j.runs[0], o);
  EXPECT_LT(mean(r.loss, 3, 6), mean(r.loss, 0, 2)) << "NT-Xent should fall";
  // the positive among 2 x 256 - 1 candidates of a held-out chunk: chance is 0.002
  EXPECT_GT(r.final_metric, 0.02);
}

TEST(Train, SameSeedsSameResultBitForBit) {
  torch::set_num_threads(1);
  const auto j = job("MLP", "fashion_mnist", 30, 4);
  for (const auto& run : j.runs) {
    const auto a = train::train_run(j, run), b = train::train_run(j, run);
    ASSERT_EQ(a.values.size(), b.values.size());
    EXPECT_EQ(0, std::memcmp(a.values.data(), b.values.data(), a.values.size() * sizeof(float)))
        << run.rule;
    EXPECT_EQ(a.loss, b.loss) << run.rule;
  }
  // a different model seed changes the result
  auto k = job("MLP", "fashion_mnist", 30, 4);
  auto run = k.runs[0];
  run.model_seed_value += 1;
  const auto c = train::train_run(k, run), d = train::train_run(j, j.runs[0]);
  EXPECT_NE(0, std::memcmp(c.values.data(), d.values.data(), c.values.size() * sizeof(float)));
}

TEST(Recorder, PointsAreInitialToFinal) {
  torch::set_num_threads(1);
  const auto j = job("MLP", "fashion_mnist", 20, 5, "  statistics: [weightraw_norm]\n");
  const auto& run = j.runs[0];
  std::vector<float> final_norms;
  train::TrainOptions o;
  o.on_final_model = [&](nn::Model& m) {
    for (const auto& l : m.plastic_layers()) final_norms.push_back(l.weight().norm().item<float>());
  };
  const auto r = train::train_run(j, run, o);
  EXPECT_EQ(r.steps, (std::vector<int64_t>{0, 5, 10, 15, 20}));
  // The initial network: the same model built from the run's seed.
  nn::ModelOptions mo;
  mo.arch = "MLP";
  const auto init = nn::build_model(mo, run.model_seed_value);
  const size_t L = init->plastic_layers().size(), C = 1 + 1 + 1 + 0, T = 5;
  (void)C;
  const size_t conds = r.values.size() / (L * T);  // one statistic
  ASSERT_EQ(static_cast<size_t>(r.layer_count), L);
  for (size_t l = 0; l < L; ++l) {
    const float at0 = r.values[(l * conds + 0) * T + 0];
    const float atK = r.values[(l * conds + 0) * T + T - 1];
    EXPECT_NEAR(at0, init->plastic_layers()[l].weight().norm().item<float>(), 1e-5 * at0) << l;
    EXPECT_NEAR(atK, final_norms[l], 1e-5 * atK) << l;
    EXPECT_NE(at0, atK);
    for (size_t t = 0; t < T; ++t) EXPECT_TRUE(std::isfinite(r.values[(l * conds) * T + t]));
  }
}

TEST(Recorder, GradavgMatchesPerExampleAutograd) {
  torch::set_num_threads(1);
  for (const char* arch : {"MLP", "KNet4"}) {
    nn::ModelOptions mo;
    mo.arch = arch;
    auto model = nn::build_model(mo, 7);
    const torch::Tensor obs = torch::randn({6, 1, 28, 28}, torch::TensorOptions().dtype(torch::kFloat32));
    const std::vector<observe::Condition> conds = {{1.0, 0.0, 3}, {0.5, 0.0, 3}};
    const auto stats = observe::resolve_statistics({"gradavg"});
    train::Recorder rec(*model, obs, conds, stats, 1);
    rec.record(0);
    // Reference: for each example alone, autograd of the sum of the kept outputs with respect
    // to its input, summed over the kept input units, divided by the kept output count.
    model->eval();
    model->set_capture(true);
    {
      torch::NoGradGuard ng;
      model->forward(obs);
    }
    const auto& layers = model->plastic_layers();
    for (size_t l = 0; l < layers.size(); ++l) {
      const auto& layer = *layers[l].layer;
      const torch::Tensor in = layer.captured_input();
      const int64_t N = in.size(0), n_in = in.numel() / N;
      const int64_t n_out = layer.captured_output().numel() / N;
      for (size_t c = 0; c < conds.size(); ++c) {
        const auto out_units = observe::gradavg_output_units(static_cast<size_t>(n_out), conds[c]);
        const auto in_units = observe::gradavg_input_units(static_cast<size_t>(n_in), conds[c]);
        double m1 = 0, m2 = 0, ma = 0;
        for (int64_t n = 0; n < N; ++n) {
          torch::Tensor x = in.narrow(0, n, 1).clone().requires_grad_(true);
          torch::Tensor y = layer.apply_forward(x).reshape({-1});
          torch::Tensor kept = y.index_select(0, torch::tensor(out_units, torch::kLong)).sum();
          torch::Tensor g = torch::autograd::grad({kept}, {x})[0].reshape({-1});
          const double v = g.index_select(0, torch::tensor(in_units, torch::kLong)).sum().item<double>() /
                           static_cast<double>(out_units.size());
          m1 += v / N, m2 += v * v / N, ma += std::abs(v) / N;
        }
        const auto& vals = rec.values();  // [L, C, T=1, S=3]
        const float* got = &vals[(l * conds.size() + c) * 3];
        EXPECT_NEAR(got[0], m1, 1e-4 * std::max(1.0, std::abs(m1))) << arch << " layer " << l << " cond " << c;
        EXPECT_NEAR(got[1], m2, 1e-4 * std::max(1.0, std::abs(m2))) << arch << " layer " << l << " cond " << c;
        EXPECT_NEAR(got[2], ma, 1e-4 * std::max(1.0, std::abs(ma))) << arch << " layer " << l << " cond " << c;
      }
    }
    model->set_capture(false);
  }
}
