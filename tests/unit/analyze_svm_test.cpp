// Linear SVM (liblinear) and PCA: separable data, XOR (where the forest wins), determinism.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "lrid/analyze/forest.hpp"
#include "lrid/analyze/svm.hpp"
#include "lrid/error.hpp"
#include "lrid/rng.hpp"
#include "classifier_data.hpp"

using namespace lrid::analyze;
using lrid::testdata::accuracy;
using lrid::testdata::clusters;
using lrid::testdata::Set;
using lrid::testdata::xor_set;

TEST(AnalyzeSvm, SeparableClusters) {
  const Set tr = clusters(300, 20, 4, 5.0, 1), te = clusters(200, 20, 4, 5.0, 2);
  for (const char* solver : {"primal", "dual"}) {
    SvmParams p;
    p.solver = solver;
    LinearSvm svm(p);
    svm.fit(tr.X.data(), tr.y.data(), tr.n, tr.d, 4);
    EXPECT_GE(accuracy(svm.predict(te.X.data(), te.n), te.y), 0.98) << solver;
  }
  // Two classes (liblinear keeps a single weight vector) and an intercept-only shift.
  Set two = clusters(200, 5, 2, 4.0, 3);
  for (auto& v : two.X) v += 100.0;
  LinearSvm svm;
  svm.fit(two.X.data(), two.y.data(), two.n, two.d, 2);
  EXPECT_GE(accuracy(svm.predict(two.X.data(), two.n), two.y), 0.97);
  const auto dv = svm.decision_function(two.X.data(), 1);
  EXPECT_DOUBLE_EQ(dv[0], -dv[1]);
}

TEST(AnalyzeSvm, XorDefeatsTheLinearModelButNotTheForest) {
  const Set tr = xor_set(800, 4, 5), te = xor_set(800, 4, 6);
  LinearSvm svm;
  svm.fit(tr.X.data(), tr.y.data(), tr.n, tr.d, 2);
  const double svm_acc = accuracy(svm.predict(te.X.data(), te.n), te.y);
  ForestParams fp;
  fp.n_estimators = 40;
  fp.seed = 3;
  RandomForest rf(fp);
  rf.fit(tr.X.data(), tr.y.data(), tr.n, tr.d, 2);
  const double rf_acc = accuracy(rf.predict(te.X.data(), te.n), te.y);
  EXPECT_LE(svm_acc, 0.62) << "a linear model should be near chance on XOR";
  EXPECT_GE(rf_acc, 0.93);
}

TEST(AnalyzeSvm, DeterministicAndAbsentClassesNeverPredicted) {
  const Set tr = clusters(150, 10, 3, 1.0, 7);
  for (const char* solver : {"primal", "dual"}) {
    SvmParams p;
    p.solver = solver;
    p.seed = 4;
    LinearSvm a(p), b(p);
    a.fit(tr.X.data(), tr.y.data(), tr.n, tr.d, 3);
    b.fit(tr.X.data(), tr.y.data(), tr.n, tr.d, 3);
    EXPECT_EQ(a.weights(), b.weights()) << solver;
  }
  // Labels 0 and 2 only, 4 classes declared: classes 1 and 3 are never predicted.
  std::vector<int32_t> y = tr.y;
  for (auto& v : y) v = v == 1 ? 2 : v;
  LinearSvm svm;
  svm.fit(tr.X.data(), y.data(), tr.n, tr.d, 4);
  for (int32_t v : svm.predict(tr.X.data(), tr.n)) EXPECT_TRUE(v == 0 || v == 2);
  const auto dv = svm.decision_function(tr.X.data(), 1);
  EXPECT_TRUE(std::isinf(dv[1]) && dv[1] < 0);
  EXPECT_TRUE(std::isinf(dv[3]) && dv[3] < 0);
}

TEST(AnalyzeSvm, PcaFindsThePrincipalAxes) {
  // x = 3 a u + 1 b v + 0.01 noise, u and v orthonormal in 5-D.
  const size_t n = 400, d = 5;
  const double u[5] = {0.6, 0.8, 0, 0, 0}, v[5] = {0, 0, 0, 0.6, -0.8};
  std::vector<double> X(n * d);
  for (size_t i = 0; i < n; ++i) {
    const double a = lrid::rng::counter_normal(1, i), b = lrid::rng::counter_normal(2, i);
    for (size_t j = 0; j < d; ++j)
      X[i * d + j] = 7.0 + 3 * a * u[j] + b * v[j] + 0.01 * lrid::rng::counter_normal(3, i * d + j);
  }
  Pca pca;
  pca.fit(X.data(), n, d, 2);
  ASSERT_EQ(pca.components(), 2);
  const auto& ax = pca.axes();
  double du = 0, dv = 0;
  for (size_t j = 0; j < d; ++j) du += ax[j] * u[j], dv += ax[d + j] * v[j];
  EXPECT_NEAR(std::fabs(du), 1.0, 1e-3);
  EXPECT_NEAR(std::fabs(dv), 1.0, 1e-3);
  EXPECT_GT(ax[1], 0);  // sign: the largest-magnitude entry is positive
  EXPECT_NEAR(pca.explained_variance()[0], 9.0, 1.5);
  EXPECT_NEAR(pca.explained_variance()[1], 1.0, 0.3);
  const auto z = pca.transform(X.data(), n);
  double m0 = 0;
  for (size_t i = 0; i < n; ++i) m0 += z[i * 2];
  EXPECT_NEAR(m0 / n, 0.0, 1e-9);
  // More components than min(n, d) are capped.
  Pca big;
  big.fit(X.data(), 3, d, 10);
  EXPECT_EQ(big.components(), 3);
}

TEST(AnalyzeSvm, PcaThenSvm) {
  const Set tr = clusters(300, 30, 3, 4.0, 11), te = clusters(150, 30, 3, 4.0, 12);
  SvmParams p;
  p.pca_components = 5;
  p.C = 50;
  LinearSvm svm(p);
  svm.fit(tr.X.data(), tr.y.data(), tr.n, tr.d, 3);
  EXPECT_EQ(svm.weights().size(), 3u * 6);  // 5 components + intercept
  EXPECT_GE(accuracy(svm.predict(te.X.data(), te.n), te.y), 0.95);
}

TEST(AnalyzeSvm, BadInput) {
  const Set tr = clusters(20, 3, 2, 1.0, 13);
  SvmParams p;
  p.C = 0;
  EXPECT_THROW(LinearSvm(p).fit(tr.X.data(), tr.y.data(), tr.n, tr.d, 2), lrid::BadInput);
  p = SvmParams();
  p.solver = "dule";
  EXPECT_THROW(LinearSvm(p).fit(tr.X.data(), tr.y.data(), tr.n, tr.d, 2), lrid::BadInput);
  std::vector<double> X = tr.X;
  X[4] = INFINITY;
  EXPECT_THROW(LinearSvm().fit(X.data(), tr.y.data(), tr.n, tr.d, 2), lrid::BadInput);
}
