#pragma once
// Classification metrics of the paper's protocol (no torch, no MPI).
//
// Definitions:
//  - confusion matrix M[t][p]: number of test samples of true class t predicted as p
//    (rows = truth, columns = prediction), n_classes x n_classes.
//  - accuracy: trace(M) / sum(M).
//  - balanced accuracy: mean over the classes that occur in the truth (row sum > 0) of the
//    recall M[c][c] / row_c (as scikit-learn's balanced_accuracy_score).
//  - d' of class c (one-vs-rest): Z(H) - Z(F), with hit rate H = M[c][c] / P (P = row_c, the
//    positives) and false-alarm rate F = (column_c - M[c][c]) / N (N = total - P, the
//    negatives), Z the inverse of the standard normal CDF. Rates of 0 or 1 would give an
//    infinite d', so H is clipped to [1/(2P), 1 - 1/(2P)] and F to [1/(2N), 1 - 1/(2N)]
//    (the usual 1/(2N) correction, Macmillan & Kaplan 1985). A class with P == 0 or N == 0 has
//    no d' (NaN).
//  - mean and s.e.m. over k values (e.g. over splits): s.e.m. = sample standard deviation
//    (k - 1 in the denominator) / sqrt(k); NaN when k < 2.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace lrid::analyze {

struct ConfusionMatrix {
  int n_classes = 0;
  std::vector<int64_t> counts;  ///< n_classes x n_classes row-major, rows = truth

  int64_t at(int truth, int pred) const {
    return counts[static_cast<size_t>(truth) * static_cast<size_t>(n_classes) +
                  static_cast<size_t>(pred)];
  }
  int64_t total() const;
  int64_t row(int truth) const;
  int64_t column(int pred) const;
};

/// Per row of an n x n_classes score (or probability) matrix, the class of the largest (the
/// lowest index on ties).
std::vector<int32_t> argmax_rows(const std::vector<double>& proba, size_t n, int n_classes);

/// Counts (truth[i], pred[i]); labels outside [0, n_classes) throw std::invalid_argument.
ConfusionMatrix confusion_matrix(const int32_t* truth, const int32_t* pred, size_t n,
                                 int n_classes);
inline ConfusionMatrix confusion_matrix(const std::vector<int32_t>& truth,
                                        const std::vector<int32_t>& pred, int n_classes) {
  return confusion_matrix(truth.data(), pred.data(), std::min(truth.size(), pred.size()),
                          n_classes);
}

double accuracy(const ConfusionMatrix& m);
double balanced_accuracy(const ConfusionMatrix& m);
/// Per-class one-vs-rest d' (see the definitions above).
std::vector<double> dprime(const ConfusionMatrix& m);

/// Inverse of the standard normal CDF for p in (0, 1) (Wichura's AS 241, ~1e-16 relative);
/// -inf / +inf at 0 / 1, NaN outside [0, 1].
double normal_quantile(double p);

struct MeanSem {
  double mean = 0;
  double sem = 0;  ///< NaN when fewer than two values
  size_t count = 0;
};
MeanSem mean_sem(const std::vector<double>& values);

/// Every metric of one test evaluation.
struct TestMetrics {
  ConfusionMatrix confusion;
  double accuracy = 0;
  double balanced_accuracy = 0;
  std::vector<double> dprime;
};
TestMetrics evaluate_predictions(const int32_t* truth, const int32_t* pred, size_t n,
                                 int n_classes);

/// Mean and s.e.m. over splits of every metric; the confusion matrix as per-cell mean/s.e.m.
/// of the row-normalised matrices (each row of a split's matrix divided by its row sum, i.e.
/// the fraction of class t predicted as p; rows without samples count as NaN and are left out).
struct MetricsSummary {
  int n_classes = 0;
  size_t splits = 0;
  MeanSem accuracy, balanced_accuracy;
  std::vector<MeanSem> dprime;          ///< per class
  std::vector<MeanSem> confusion;       ///< n_classes x n_classes, row-normalised fractions
  ConfusionMatrix confusion_total;      ///< counts summed over splits
};
MetricsSummary summarize(const std::vector<TestMetrics>& per_split);

}  // namespace lrid::analyze
