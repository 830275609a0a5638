#pragma once
// The paper's evaluation protocol, as independent units of work (no torch, no MPI here):
//   k category-balanced train/test splits (default 10 x 75/25, stratified by label, seeded);
//   in each split, model selection by stratified 5-fold CV over a hyperparameter grid (mean
//   validation accuracy; ties -> the first grid point in grid order); then one fit on the whole
//   training part with the chosen point and the test metrics (metrics.hpp).
//   Features are z-scored with the statistics of the rows a model is fitted on (CV: the
//   training folds; test: the training part), zero-variance features getting scale 1.
//
// Distribution: every unit is a pure function of (data, protocol, unit), so any rank can run any
// unit. The pipeline hands
//   stage 1: cv_units()           -> run_cv_unit(u)      (scores, encode_scores() for the queue)
//   then     select(scores)       -> the chosen grid point per split
//   stage 2: splits s             -> run_test_unit(s, chosen[s])  (SplitOutcome::to_json())
//   then     combine(outcomes)    -> ProtocolResult (mean and s.e.m. over splits)
// to the rank-0 work queue (comm/queue.hpp); evaluate() runs it all in this process.
// A random_forest CV unit scores every grid point that differs only in n_estimators with one
// fit of the largest forest (the first m trees of a forest are the forest fitted with
// n_estimators = m, forest.hpp), so the paper's 15-point forest grid costs 3 fits per fold.
//
// Seeds: a fit gets "seed" = hash_combine(options.seed, split) unless its parameters set one;
// splits are shuffled with hash_combine(hash_combine(options.seed, split), class) and folds
// with a seed derived from (options.seed, split).
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lrid/analyze/classifier.hpp"
#include "lrid/analyze/metrics.hpp"

namespace lrid::analyze {

/// Borrowed data: X n x d row-major, labels in [0, n_classes); optionally a group per row (the
/// run a sample comes from: every layer of one network), for splits that keep groups whole.
struct DataView {
  const double* X = nullptr;
  const int32_t* y = nullptr;
  size_t n = 0, d = 0;
  int n_classes = 0;
  const int64_t* groups = nullptr;
};

/// Row indices (into the data), each part sorted ascending; train and test are disjoint.
struct Split {
  std::vector<uint32_t> train, test;
};

/// k stratified splits: class c's n_c samples are shuffled (seeded per split and class) and the
/// first round(train_fraction x n_c) go to train (clamped to [1, n_c - 1] when n_c >= 2; a class
/// with one sample goes to train). k >= 1, train_fraction in (0, 1), else BadInput.
std::vector<Split> balanced_splits(const int32_t* y, size_t n, int n_classes, int k,
                                   double train_fraction, uint64_t seed);

/// The same at the level of groups (whole networks): class c's groups (a group's rows share one
/// label) are shuffled and the first round(train_fraction x groups) go to train, with every row
/// of a group on the same side, so no test sample has a sibling from its network in training.
std::vector<Split> grouped_splits(const int32_t* y, const int64_t* groups, size_t n, int n_classes, int k,
                                  double train_fraction, uint64_t seed);
/// Stratified k-fold over `rows` at the level of groups: each class's groups are shuffled
/// (seeded) and dealt to the folds in turn; a group's rows stay in one fold.
std::vector<std::vector<uint32_t>> grouped_folds(const int32_t* y, const int64_t* groups,
                                                 const std::vector<uint32_t>& rows, int n_classes, int k,
                                                 uint64_t seed);

/// Stratified k-fold over `rows`: each class's rows are shuffled (seeded) and dealt to the folds
/// in turn, so fold sizes per class differ by at most one. Returns the validation rows of each
/// fold (sorted); the training rows of fold f are `rows` minus folds[f].
std::vector<std::vector<uint32_t>> stratified_folds(const int32_t* y,
                                                    const std::vector<uint32_t>& rows,
                                                    int n_classes, int k, uint64_t seed);
/// rows minus exclude (both sorted).
std::vector<uint32_t> set_difference(const std::vector<uint32_t>& rows,
                                     const std::vector<uint32_t>& exclude);

/// Per-feature standardisation: mean and population standard deviation of the fitted rows;
/// a feature with zero variance gets scale 1 (so it maps to 0).
struct ZScore {
  std::vector<double> mean, scale;
  void fit(const double* X, size_t d, const std::vector<uint32_t>& rows);
  /// The given rows of X, standardised, as a rows.size() x d matrix.
  std::vector<double> transform(const double* X, size_t d, const std::vector<uint32_t>& rows) const;
};

std::vector<double> take_rows(const double* X, size_t d, const std::vector<uint32_t>& rows);
std::vector<int32_t> take_labels(const int32_t* y, const std::vector<uint32_t>& rows);


struct ProtocolOptions {
  int splits = 10;
  double train_fraction = 0.75;
  int folds = 5;
  uint64_t seed = 0;
  bool zscore = true;
  /// Splits and CV folds keep the data's groups whole (DataView::groups: whole networks).
  bool grouped = false;
};

/// One model-selection fit: split `split`, held-out fold `fold`, scoring `grid_points`.
struct CvUnit {
  int split = 0, fold = 0;
  std::vector<int> grid_points;
  double cost = 1;  ///< relative cost estimate (e.g. to hand the largest units out first)
};

/// The test evaluation of one split.
struct SplitOutcome {
  int split = 0;
  int grid_point = 0;
  nlohmann::json params;             ///< the parameters of the final fit
  TestMetrics metrics;
  std::vector<uint32_t> test_rows;   ///< the split's test rows (into the data)
  std::vector<int32_t> predicted;    ///< per test row of the split, in its order
  std::vector<double> probabilities; ///< test rows x classes: the classifier's predict_proba
  std::vector<double> importances;   ///< the forest's feature importances, else empty
  nlohmann::json to_json() const;
  static SplitOutcome from_json(const nlohmann::json& j);
};

struct ProtocolResult {
  std::vector<SplitOutcome> splits;
  /// [split][grid point] mean CV accuracy (empty when there was no model selection).
  std::vector<std::vector<double>> cv_accuracy;
  MetricsSummary summary;
  /// Mean over splits of the importances (empty when the classifier has none).
  std::vector<double> importances;
};

/// Scores for the queue: a JSON array with round-trip precision, and back.
std::string encode_scores(const std::vector<double>& scores);
std::vector<double> decode_scores(const std::string& text);

class Protocol {
 public:
  /// Balanced splits from options (splits, train_fraction, seed). `grid` entries are merged
  /// over base.params (grid wins); an empty grid means the single point base.params.
  Protocol(DataView data, ClassifierSpec base, std::vector<nlohmann::json> grid,
           ProtocolOptions options = {});
  /// Given splits (e.g. held-out architectures or tasks); options.splits/train_fraction unused.
  Protocol(DataView data, ClassifierSpec base, std::vector<nlohmann::json> grid,
           std::vector<Split> splits, ProtocolOptions options = {});

  const std::vector<Split>& splits() const { return splits_; }
  const std::vector<nlohmann::json>& grid() const { return grid_; }
  const ProtocolOptions& options() const { return options_; }
  /// Parameters of grid point g's fits in split s (merged, seed filled in).
  nlohmann::json params_for(int grid_point, int split) const;

  /// Stage 1 (empty when the grid has a single point: nothing to select).
  const std::vector<CvUnit>& cv_units() const { return units_; }
  /// Validation accuracy for each of cv_units()[u].grid_points, in that order.
  std::vector<double> run_cv_unit(size_t u) const;
  /// [split][grid point] mean validation accuracy over the folds, from every unit's scores
  /// (indexed like cv_units()).
  std::vector<std::vector<double>> cv_accuracy(const std::vector<std::vector<double>>& scores) const;
  /// The best grid point per split (ties: the first in grid order); all 0 without a grid.
  std::vector<int> select(const std::vector<std::vector<double>>& scores) const;

  /// Stage 2: fit on split s's training part with grid point g, evaluate on its test part.
  SplitOutcome run_test_unit(int split, int grid_point) const;
  ProtocolResult combine(std::vector<SplitOutcome> outcomes,
                         std::vector<std::vector<double>> cv_accuracy = {}) const;

  /// The whole protocol, serially in this process.
  ProtocolResult evaluate() const;

 private:
  void init();
  // Fits params on `train` rows and returns the classifier plus the standardised `eval` rows.
  std::unique_ptr<Classifier> fit_on(const nlohmann::json& params,
                                     const std::vector<uint32_t>& train,
                                     const std::vector<uint32_t>& eval,
                                     std::vector<double>& eval_X) const;

  DataView data_;
  ClassifierSpec base_;
  std::vector<nlohmann::json> grid_;
  ProtocolOptions options_;
  std::vector<Split> splits_;
  std::vector<std::vector<std::vector<uint32_t>>> folds_;  // [split][fold] validation rows
  std::vector<CvUnit> units_;
};

}  // namespace lrid::analyze
