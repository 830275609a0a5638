// Metrics against hand-computed confusion matrices.
#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>

#include "lrid/analyze/metrics.hpp"

using namespace lrid::analyze;

namespace {
// truth/pred of 9 samples, 3 classes:
//            pred 0  1  2
//   truth 0:      2  1  0
//   truth 1:      0  2  0
//   truth 2:      1  1  2
const std::vector<int32_t> kTruth = {0, 0, 0, 1, 1, 2, 2, 2, 2};
const std::vector<int32_t> kPred = {0, 1, 0, 1, 1, 2, 0, 2, 1};
}  // namespace

TEST(AnalyzeMetrics, ConfusionMatrixByHand) {
  const ConfusionMatrix m = confusion_matrix(kTruth, kPred, 3);
  EXPECT_EQ(m.counts, (std::vector<int64_t>{2, 1, 0, 0, 2, 0, 1, 1, 2}));
  EXPECT_EQ(m.total(), 9);
  EXPECT_EQ(m.row(2), 4);
  EXPECT_EQ(m.column(1), 4);
  EXPECT_THROW(confusion_matrix({0, 3}, {0, 0}, 3), std::invalid_argument);
}

TEST(AnalyzeMetrics, AccuracyAndBalancedAccuracyByHand) {
  const ConfusionMatrix m = confusion_matrix(kTruth, kPred, 3);
  EXPECT_DOUBLE_EQ(accuracy(m), 6.0 / 9.0);
  EXPECT_DOUBLE_EQ(balanced_accuracy(m), (2.0 / 3.0 + 1.0 + 2.0 / 4.0) / 3.0);
  // A class absent from the truth does not count in the balanced accuracy.
  const ConfusionMatrix m4 = confusion_matrix(kTruth, kPred, 4);
  EXPECT_DOUBLE_EQ(balanced_accuracy(m4), (2.0 / 3.0 + 1.0 + 2.0 / 4.0) / 3.0);
}

TEST(AnalyzeMetrics, NormalQuantile) {
  EXPECT_NEAR(normal_quantile(0.975), 1.959963984540054, 1e-14);
  EXPECT_NEAR(normal_quantile(0.5), 0.0, 1e-16);
  EXPECT_NEAR(normal_quantile(0.1), -1.2815515655446004, 1e-14);
  EXPECT_NEAR(normal_quantile(1e-10), -6.361340902404056, 1e-12);
  EXPECT_NEAR(normal_quantile(1 - 1e-12), 7.0344869100478356, 1e-9);
  EXPECT_TRUE(std::isinf(normal_quantile(0.0)));
  EXPECT_TRUE(std::isnan(normal_quantile(1.5)));
}

TEST(AnalyzeMetrics, DprimeByHandWithClipping) {
  const ConfusionMatrix m = confusion_matrix(kTruth, kPred, 3);
  const auto d = dprime(m);
  ASSERT_EQ(d.size(), 3u);
  // class 0: H = 2/3 (P = 3), F = 1/6 (N = 6; one class-2 sample predicted 0).
  EXPECT_NEAR(d[0], normal_quantile(2.0 / 3.0) - normal_quantile(1.0 / 6.0), 1e-12);
  EXPECT_NEAR(d[0], 0.43072729929545744 + 0.967421566101701, 1e-12);
  // class 1: H = 2/2 = 1 -> clipped to 1 - 1/(2*2) = 0.75; F = 2/7.
  EXPECT_NEAR(d[1], normal_quantile(0.75) - normal_quantile(2.0 / 7.0), 1e-12);
  // class 2: H = 2/4, F = 0/5 -> clipped to 1/(2*5) = 0.1.
  EXPECT_NEAR(d[2], normal_quantile(0.5) - normal_quantile(0.1), 1e-12);
  EXPECT_NEAR(d[2], 1.2815515655446004, 1e-12);
  // A perfect classifier: H clipped to 1 - 1/(2P), F to 1/(2N).
  const auto p = dprime(confusion_matrix({0, 0, 1, 1}, {0, 0, 1, 1}, 2));
  EXPECT_NEAR(p[0], 2 * normal_quantile(0.75), 1e-12);
  // No positives: NaN.
  EXPECT_TRUE(std::isnan(dprime(confusion_matrix({0, 0}, {0, 1}, 2))[1]));
}

TEST(AnalyzeMetrics, MeanSem) {
  const MeanSem m = mean_sem({1, 2, 3, 4});
  EXPECT_DOUBLE_EQ(m.mean, 2.5);
  EXPECT_NEAR(m.sem, std::sqrt(5.0 / 3.0) / 2.0, 1e-15);  // sample std 1.29099 / sqrt(4)
  EXPECT_EQ(m.count, 4u);
  EXPECT_TRUE(std::isnan(mean_sem({0.7}).sem));
  EXPECT_DOUBLE_EQ(mean_sem({0.7}).mean, 0.7);
}

TEST(AnalyzeMetrics, SummaryOverSplits) {
  const TestMetrics a = evaluate_predictions(kTruth.data(), kPred.data(), kTruth.size(), 3);
  const TestMetrics b = evaluate_predictions(kTruth.data(), kTruth.data(), kTruth.size(), 3);
  const MetricsSummary s = summarize({a, b});
  EXPECT_EQ(s.splits, 2u);
  EXPECT_DOUBLE_EQ(s.accuracy.mean, (6.0 / 9.0 + 1.0) / 2.0);
  EXPECT_NEAR(s.accuracy.sem, std::fabs(1.0 - 6.0 / 9.0) / 2.0, 1e-15);  // k = 2: |a - b| / 2
  ASSERT_EQ(s.confusion.size(), 9u);
  EXPECT_DOUBLE_EQ(s.confusion[0].mean, (2.0 / 3.0 + 1.0) / 2.0);  // row-normalised (0, 0)
  EXPECT_DOUBLE_EQ(s.confusion[6].mean, (1.0 / 4.0 + 0.0) / 2.0);  // (2, 0)
  EXPECT_EQ(s.confusion_total.at(0, 0), 5);
  ASSERT_EQ(s.dprime.size(), 3u);
  EXPECT_NEAR(s.dprime[2].mean, (a.dprime[2] + b.dprime[2]) / 2, 1e-12);
}
