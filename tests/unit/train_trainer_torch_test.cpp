// Training one run end to end on real Fashion-MNIST: every rule lowers the loss, runs are
// reproducible, the recorder's points and its gradavg against an independent computation.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstring>
#include <cstdlib>
#include <map>

#include "lrid/config/job.hpp"
#include "lrid/data/data.hpp"
#include "lrid/nn/models.hpp"
#include "lrid/observe/conditions.hpp"
#include "lrid/observe/stats.hpp"
#include "lrid/train/recorder.hpp"
#include "lrid/train/threads.hpp"
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

// distributed.blas_threads reaches OpenBLAS, apart from LibTorch's intra-op count.
TEST(Threads, BlasThreadsSetApartFromIntraOp) {
  if (lrid::train::blas_threads() == 0) GTEST_SKIP() << "the BLAS is not OpenBLAS";
  EXPECT_EQ(lrid::train::configure_threads(2, 1, 1), 2);
  EXPECT_EQ(torch::get_num_threads(), 2);
  EXPECT_EQ(lrid::train::blas_threads(), 1);
  EXPECT_EQ(lrid::train::configure_threads(2, 1, 0), 2);  // 0: as many as the intra-op threads
  EXPECT_EQ(lrid::train::blas_threads(), 2);
  EXPECT_EQ(lrid::train::configure_threads(3, 1, 2), 3);
  EXPECT_EQ(lrid::train::blas_threads(), 2);
  lrid::train::configure_threads(1, 1, 1);
  EXPECT_EQ(torch::get_num_threads(), 1);
}

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
  ASSERT_DOUBLE_EQ(j.rule("ia").feedback.regulariser.batch_fraction, 0.5);
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

TEST(Train, EveryRegisteredRuleResumesBitForBit) {
  // Stopped at a step boundary (checkpoint written, RunInterrupted), then continued from the
  // checkpoint: the run equals an uninterrupted one bit for bit, for every rule of the registry
  // (W, B of every kind, the optimiser state, the noise seeds, the recorder).
  torch::set_num_threads(1);
  std::string rules;
  for (const auto& r : config::rule_names()) rules += (rules.empty() ? "" : ", ") + r;
  const auto j = config::load_job_text("name: t\ngrid:\n  - learning_rules: [" + rules +
                                           "]\n    tasks: [fashion_mnist]\n    architectures: [MLP]\n"
                                           "    batch_sizes: [16]\ntraining:\n  defaults: {steps: 24}\n"
                                           "observables:\n  trajectory_points: 4\n  observation_batch: 16\n",
                                       "test.yaml");
  const std::string dir = ::testing::TempDir() + "/lrid_resume_every_rule";
  for (const auto& run : j.runs) {
    SCOPED_TRACE(run.rule);
    std::system(("rm -rf " + dir).c_str());
    const auto whole = train::train_run(j, run);
    train::TrainOptions o;
    o.checkpoint_dir = dir;
    o.checkpoint_seconds = 0;
    int polls = 0;
    o.stop_requested = [&polls] { return ++polls == 13; };
    int64_t stopped = -1;
    try {
      train::train_run(j, run, o);
    } catch (const train::RunInterrupted& e) {
      stopped = e.step;
    }
    ASSERT_EQ(stopped, 13);
    o.stop_requested = [] { return false; };
    o.attempt = 2;
    const auto resumed = train::train_run(j, run, o);
    EXPECT_EQ(resumed.resumed_from, 13);
    ASSERT_EQ(whole.values.size(), resumed.values.size());
    EXPECT_EQ(0, std::memcmp(whole.values.data(), resumed.values.data(), whole.values.size() * sizeof(float)));
    EXPECT_EQ(whole.loss, resumed.loss);
    EXPECT_EQ(0, std::memcmp(whole.wb_angle.data(), resumed.wb_angle.data(), whole.wb_angle.size() * sizeof(float)));
    EXPECT_EQ(0, std::memcmp(whole.grad_angle.data(), resumed.grad_angle.data(), whole.grad_angle.size() * sizeof(float)));
  }
  std::system(("rm -rf " + dir).c_str());
}

TEST(Train, DeferredBatchesGiveTheSameRunBitForBit) {
  // The CUDA path's batches (uint8 out of the stream, normalised and augmented where the run
  // trains) on the CPU: every statistic and loss equal to the host path's, supervised with
  // augmentation and SimCLR's two views.
  torch::set_num_threads(1);
  for (const std::string task : {"fashion_mnist_simclr", "fashion_mnist"}) {
    const auto j = job("MLP", task, 12, 3, task == "fashion_mnist" ? "tasks:\n  fashion_mnist: {augment: {crop: pad, pad: 2, flip: 0.5, noise: 0.1}}\n" : "");
    const auto& run = j.runs[2];  // fa
    train::TrainOptions deferred;
    deferred.deferred_batches = true;
    const auto a = train::train_run(j, run), b = train::train_run(j, run, deferred);
    ASSERT_EQ(a.values.size(), b.values.size());
    EXPECT_EQ(0, std::memcmp(a.values.data(), b.values.data(), a.values.size() * sizeof(float))) << task;
    EXPECT_EQ(a.loss, b.loss) << task;
  }
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
          if (layers[l].relu) y = torch::relu(y);
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
  // The layers measured after their ReLU: the MLP's hidden layers, KNet4's conv2 and conv3.
  nn::ModelOptions mlp;
  mlp.arch = "MLP";
  std::vector<bool> r;
  for (const auto& l : nn::build_model(mlp, 1)->plastic_layers()) r.push_back(l.relu);
  EXPECT_EQ(r, (std::vector<bool>{true, true, false}));
  mlp.arch = "KNet4";
  r.clear();
  for (const auto& l : nn::build_model(mlp, 1)->plastic_layers()) r.push_back(l.relu);
  EXPECT_EQ(r, (std::vector<bool>{false, true, true, false}));
}

TEST(Recorder, DiagnosticsMatchAHandComputation) {
  // The W-B angle and the angle between the rule's W gradient and backprop's, on a small FA MLP,
  // against the definitions computed here with a separate backprop model of the same weights.
  torch::set_num_threads(1);
  nn::ModelOptions mo;
  mo.arch = "MLP";
  mo.feedback = nn::FeedbackSpec{nn::Feedback::Fixed};
  auto fa = nn::build_model(mo, 11);
  mo.feedback = nn::FeedbackSpec{};
  auto bp = nn::build_model(mo, 11);  // the same W (seeded per mode-independent stream)
  const torch::Tensor x = torch::randn({12, 1, 28, 28});
  const torch::Tensor y = torch::randint(0, 10, {12}, torch::kLong);
  auto loss = [&](nn::Model& m) { return torch::nn::functional::cross_entropy(m.forward(x), y); };
  train::Recorder rec(*fa, x, {{1.0, 0.0, 0}}, observe::resolve_statistics({"weightraw_mean"}), 2, loss);
  rec.record(1);
  const auto& fl = fa->plastic_layers();
  const auto& bl = bp->plastic_layers();
  std::vector<torch::Tensor> wf, wb;
  for (size_t l = 0; l < fl.size(); ++l) wf.push_back(fl[l].weight()), wb.push_back(bl[l].weight());
  fa->eval(), bp->eval();
  const auto g_rule = torch::autograd::grad({loss(*fa)}, wf);
  const auto g_bp = torch::autograd::grad({loss(*bp)}, wb);
  auto angle = [](const torch::Tensor& a, const torch::Tensor& b) {
    const auto u = a.reshape({-1}).to(torch::kFloat64), v = b.reshape({-1}).to(torch::kFloat64);
    double dot = 0, nu = 0, nv = 0;
    for (int64_t i = 0; i < u.numel(); ++i) {
      const double p = u[i].item<double>(), q = v[i].item<double>();
      dot += p * q, nu += p * p, nv += q * q;
    }
    return std::acos(dot / std::sqrt(nu * nv)) * 180.0 / M_PI;
  };
  for (size_t l = 0; l < fl.size(); ++l) {
    SCOPED_TRACE(fl[l].name);
    ASSERT_TRUE(torch::equal(fl[l].weight(), bl[l].weight()));
    EXPECT_NEAR(rec.wb_angle()[l * 2 + 1], angle(fl[l].weight(), fl[l].feedback_kernel()), 1e-3);
    EXPECT_NEAR(rec.grad_angle()[l * 2 + 1], angle(g_rule[l], g_bp[l]), 1e-2);
    EXPECT_TRUE(std::isnan(rec.wb_angle()[l * 2]));  // point 0 not recorded
  }
  // The read-out's W gradient is exact under FA; the hidden layers' is not.
  EXPECT_LT(rec.grad_angle()[(fl.size() - 1) * 2 + 1], 1e-2);
  EXPECT_GT(rec.grad_angle()[1], 10.0);
  // Backprop: B is W, both angles 0.
  train::Recorder rb(*bp, x, {{1.0, 0.0, 0}}, observe::resolve_statistics({"weightraw_mean"}), 1, loss);
  rb.record(0);
  for (size_t l = 0; l < bl.size(); ++l) {
    EXPECT_EQ(rb.wb_angle()[l], 0.0f);
    EXPECT_LT(rb.grad_angle()[l], 1e-2);
  }
}

namespace {

// Mean over layers of a [L, T] diagnostic at point t.
double layer_mean(const std::vector<float>& v, size_t L, size_t T, size_t t) {
  double s = 0;
  for (size_t l = 0; l < L; ++l) s += v[l * T + t];
  return s / static_cast<double>(L);
}

}  // namespace

TEST(Train, DiagnosticsSeparateTheRules) {
  // The job's shared policy, an MLP on Fashion-MNIST: FA's B never moves while its W turns
  // towards B (the W-B angle falls below 90); IA's angle falls faster and lower; backprop's are 0.
  torch::set_num_threads(1);
  const auto j = job("MLP", "fashion_mnist", 400, 5, "  statistics: [weightraw_mean]\n");
  std::map<std::string, store::RunResult> res;
  std::map<std::string, std::vector<torch::Tensor>> final_b;
  for (const auto& run : j.runs) {
    train::TrainOptions o;
    o.on_final_model = [&](nn::Model& m) {
      for (const auto& l : m.plastic_layers()) final_b[run.rule].push_back(l.feedback_kernel().detach().clone());
    };
    res[run.rule] = train::train_run(j, run, o);
  }
  const size_t L = static_cast<size_t>(res["fa"].layer_count), T = 5;
  // FA's B: exactly its initial value.
  nn::ModelOptions mo;
  mo.arch = "MLP";
  mo.feedback = nn::FeedbackSpec{nn::Feedback::Fixed};
  const auto init = nn::build_model(mo, j.runs[2].model_seed_value);
  for (size_t l = 0; l < L; ++l) EXPECT_TRUE(torch::equal(final_b["fa"][l], init->plastic_layers()[l].feedback_kernel()));
  const double fa0 = layer_mean(res["fa"].wb_angle, L, T, 0), faT = layer_mean(res["fa"].wb_angle, L, T, T - 1);
  const double ia0 = layer_mean(res["ia"].wb_angle, L, T, 0), iaT = layer_mean(res["ia"].wb_angle, L, T, T - 1);
  const double iaM = layer_mean(res["ia"].wb_angle, L, T, 1), faM = layer_mean(res["fa"].wb_angle, L, T, 1);
  std::printf("W-B angle, mean over layers: FA %.1f -> %.1f -> %.1f, IA %.1f -> %.1f -> %.1f deg\n", fa0, faM, faT,
              ia0, iaM, iaT);
  EXPECT_NEAR(fa0, 90.0, 5.0);
  EXPECT_LT(faT, fa0);
  EXPECT_LT(faT, 90.0);
  EXPECT_LT(iaM, faM - 10.0);  // faster
  EXPECT_LT(iaT, faT - 20.0);  // lower
  for (const char* rule : {"sgdm", "adam"})
    for (size_t i = 0; i < L * T; ++i) {
      EXPECT_EQ(res[rule].wb_angle[i], 0.0f) << rule;
      EXPECT_LT(res[rule].grad_angle[i], 1e-2) << rule;
    }
  // FA's hidden-layer gradients are far from backprop's, IA's closer at the end.
  EXPECT_LT(layer_mean(res["ia"].grad_angle, L - 1, T, T - 1), layer_mean(res["fa"].grad_angle, L - 1, T, T - 1));
}

TEST(Train, SharedRateTrainsEveryRuleOnKNet4AndIaBeatsFa) {
  // One learning-rate policy (the built-in: lr 0.01, momentum 0.9, cosine, clip 1) for SGDM, FA
  // and IA, KNet4 at batch 16 on Fashion-MNIST for 1000 steps: none diverges, every loss falls,
  // and IA (B aligning with W) learns better than FA.
  torch::set_num_threads(1);
  const auto j = config::load_job_text(
      "name: t\ngrid:\n  - learning_rules: [sgdm, fa, ia]\n    tasks: [fashion_mnist]\n"
      "    architectures: [KNet4]\n    batch_sizes: [16]\ntraining:\n  defaults: {steps: 1000}\n"
      "observables:\n  trajectory_points: 11\n  observation_batch: 16\n",
      "test.yaml");
  for (const auto& rule : {"sgdm", "fa", "ia"}) {
    const auto& s = j.rule(rule);
    EXPECT_EQ(s.learning_rate, 0.01);
    EXPECT_EQ(s.momentum, 0.9);
    EXPECT_EQ(s.gradient_clip, 1.0);
    EXPECT_EQ(s.schedule, "cosine");
  }
  std::map<std::string, double> acc;
  for (const auto& run : j.runs) {
    train::TrainOptions o;
    o.record = false;
    const auto r = train::train_run(j, run, o);  // throws RunFailed on divergence
    const double early = mean(r.loss, 0, 2), late = mean(r.loss, r.loss.size() - 3, r.loss.size());
    EXPECT_LT(late, 0.5 * early) << run.rule << ": " << early << " -> " << late;
    acc[run.rule] = r.final_metric;
  }
  std::printf("KNet4, 1000 steps at one rate: test accuracy SGDM %.3f, FA %.3f, IA %.3f\n", acc["sgdm"], acc["fa"],
              acc["ia"]);
  EXPECT_GT(acc["ia"], acc["fa"] + 0.02);
  EXPECT_GT(acc["sgdm"], 0.7);
}
