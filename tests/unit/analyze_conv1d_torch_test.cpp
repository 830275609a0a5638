// Conv1D classifier over trajectories: learns trajectory shapes, deterministic for a seed,
// kernel sizes of the paper's grid, layout checks. Also the factory path.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "lrid/analyze/classifier.hpp"
#include "lrid/analyze/conv1d.hpp"
#include "lrid/error.hpp"
#include "lrid/rng.hpp"
#include "classifier_data.hpp"

using namespace lrid::analyze;
using lrid::testdata::accuracy;
using lrid::testdata::Set;

namespace {

// S = 2 statistics x T = 21 points + 3 one-hot depth features. Class 0: statistic 0 rises,
// class 1: it falls, class 2: it rises then falls; statistic 1 is noise; the one-hot is random.
Set trajectories(size_t n, uint64_t seed) {
  Set s{n, 2 * 21 + 3, {}, {}};
  for (size_t i = 0; i < n; ++i) {
    const int c = static_cast<int>(i % 3);
    s.y.push_back(c);
    for (int t = 0; t < 21; ++t) {
      const double u = t / 20.0;
      const double shape = c == 0 ? u : c == 1 ? 1 - u : 1 - std::fabs(2 * u - 1);
      s.X.push_back(2 * shape + 0.3 * lrid::rng::counter_normal(seed, i * 64 + static_cast<size_t>(t)));
    }
    for (int t = 0; t < 21; ++t)
      s.X.push_back(lrid::rng::counter_normal(seed + 1, i * 64 + static_cast<size_t>(t)));
    const size_t depth = static_cast<size_t>(lrid::rng::counter_uniform(seed + 2, i) * 3);
    for (size_t k = 0; k < 3; ++k) s.X.push_back(k == depth ? 1.0 : 0.0);
  }
  return s;
}

}  // namespace

TEST(AnalyzeConv1d, LearnsTrajectoryShapes) {
  const Set tr = trajectories(150, 1), te = trajectories(90, 2);
  for (const char* pooling : {"none", "max", "avg"}) {
    Conv1dParams p;
    p.pooling = pooling;
    p.epochs = 40;
    p.filters = 8;
    p.lr = 1e-2;
    p.seed = 3;
    Conv1dClassifier m(p);
    m.fit(tr.X.data(), tr.y.data(), tr.n, tr.d, 3);
    EXPECT_GE(accuracy(m.predict(te.X.data(), te.n), te.y), 0.9) << pooling;
    const auto prob = m.predict_proba(te.X.data(), 5);
    for (size_t i = 0; i < 5; ++i)
      EXPECT_NEAR(prob[i * 3] + prob[i * 3 + 1] + prob[i * 3 + 2], 1.0, 1e-5);
  }
}

TEST(AnalyzeConv1d, DeterministicForASeed) {
  const Set tr = trajectories(60, 4);
  Conv1dParams p;
  p.epochs = 5;
  p.seed = 9;
  p.kernel_fraction = 0.5;
  p.stride = 2;
  Conv1dClassifier a(p), b(p);
  a.fit(tr.X.data(), tr.y.data(), tr.n, tr.d, 3);
  b.fit(tr.X.data(), tr.y.data(), tr.n, tr.d, 3);
  const auto pa = a.predict_proba(tr.X.data(), tr.n), pb = b.predict_proba(tr.X.data(), tr.n);
  EXPECT_EQ(0, std::memcmp(pa.data(), pb.data(), pa.size() * sizeof(double)));
  p.seed = 10;
  Conv1dClassifier c(p);
  c.fit(tr.X.data(), tr.y.data(), tr.n, tr.d, 3);
  const auto pc = c.predict_proba(tr.X.data(), tr.n);
  EXPECT_NE(0, std::memcmp(pa.data(), pc.data(), pa.size() * sizeof(double)));
}

TEST(AnalyzeConv1d, KernelSizesOfThePaperGrid) {
  const int want[] = {1, 1, 2, 6, 11, 21};
  const double f[] = {0.003, 0.007, 0.05, 0.25, 0.5, 1.0};
  for (int k = 0; k < 6; ++k) {
    Conv1dParams p;
    p.kernel_fraction = f[k];
    EXPECT_EQ(Conv1dClassifier(p).resolved_kernel_size(), want[k]) << f[k];
  }
  Conv1dParams p;
  p.kernel_size = 30;
  EXPECT_EQ(Conv1dClassifier(p).resolved_kernel_size(), 21);
}

TEST(AnalyzeConv1d, LayoutAndFactory) {
  const Set tr = trajectories(30, 5);
  Conv1dParams p;
  p.epochs = 1;
  Conv1dClassifier m(p);
  EXPECT_THROW(m.fit(tr.X.data(), tr.y.data(), tr.n, tr.d - 1, 3), lrid::BadInput);
  auto clf = make_classifier("conv1d", {{"epochs", 2}, {"kernel_fraction", 1.0}, {"stride", 4},
                                        {"filters", 4}, {"pooling", "max"}});
  clf->fit(tr.X.data(), tr.y.data(), tr.n, tr.d, 3);
  EXPECT_EQ(clf->predict(tr.X.data(), tr.n).size(), tr.n);
  EXPECT_EQ(clf->name(), "conv1d");
  EXPECT_EQ(clf->params()["pooling"], "max");
}
