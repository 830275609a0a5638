#pragma once
// The analysis plan: every evaluation (a dataset, a classifier with its grid, the protocol's
// splits) of every sweep, built by one planner per sweep from the campaign and the job's
// `analysis` section (config::AnalysisSpec, the one source of grids and sweep names). No torch,
// no MPI: execute.hpp runs the plan on the work queue, results.hpp collects what it found.
//
// Sweeps and their evaluations:
//   main         observable class (weight, act, gradavg, all) x classifier, the paper's protocol
//                (balanced splits, z-scoring, stratified CV over the grids)
//   networks     the same with splits (and CV folds) that hold out whole networks: all layers of
//                a run on one side, so that no test layer has a sibling from its network in
//                training (part of the sample-split accuracy is recognising a run's other layers)
//   holdout      held-out architectures, held-out tasks (train on the others), the task-to-task
//                transfer matrix; each split fitted with `sweep_splits` forest seeds
//   trajectory   k of the T points: every contiguous window, k evenly spread, k random draws
//   measurement  every recorded condition (unit fraction or count, noise) x observable class
//   permutation  the control: the sweep forest on run-level permuted rule labels, a new
//                permutation in each of `splits` splits (expected at chance; away from it, the
//                features or splits carry something other than the rule)
//   identifiability  with more than two rules: for every pair of rules, the sweep forest on just
//                those two, per observable class, under the ideal and the worst recorded
//                measurement condition (worst_condition), with sample splits and network splits
// The importance sweep needs no evaluation of its own: it reads the main forest's importances.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lrid/analyze/classifier.hpp"
#include "lrid/analyze/features.hpp"
#include "lrid/analyze/protocol.hpp"
#include "lrid/config/job.hpp"

namespace lrid::analyze {

/// How an evaluation's train/test splits are made.
enum class SplitKind {
  Balanced,     ///< the protocol's balanced 75/25 splits
  HoldoutArch,  ///< test on one architecture, train on the others (one split per value)
  HoldoutTask,  ///< the same for tasks
  Transfer,     ///< train on task i, test on task j (the diagonal: a balanced split inside i)
};

struct Evaluation {
  std::string sweep;  ///< main, holdout, trajectory, measurement, permutation
  std::string label;  ///< unique within the sweep, e.g. "act/random_forest", "window/k3/5"
  FeatureSpec features;
  ClassifierSpec classifier;
  std::vector<nlohmann::json> grid;  ///< model selection grid (empty or one point: none)
  ProtocolOptions options;
  SplitKind splits = SplitKind::Balanced;
  std::vector<std::string> values;   ///< holdout: the held-out values; transfer: the tasks
  int replicates = 1;                ///< holdout/transfer: fits per split, with other seeds
  // What the results need to describe it:
  std::string observable_class;      ///< main, measurement, identifiability: weight, act, gradavg, all
  std::vector<std::string> rules;    ///< identifiability: the pair of rules (features.rules)
  std::string trajectory_kind;       ///< window, spread, random
  int k = 0, position = 0;           ///< trajectory: points used, window start / draw
};

/// The statistics of each observable class among `selected` (file indices), classes in the
/// order weight, act, gradavg; "all" is not included.
std::vector<std::pair<std::string, std::vector<int>>> statistics_by_class(const CampaignData& c,
                                                                            const std::vector<int>& selected);

/// The protocol's settings (train fraction, folds, seed) from the analysis settings, with `splits`.
ProtocolOptions protocol_options(const config::AnalysisSpec& a, int splits);

/// The model-selection grid of a classifier from the analysis settings: the product of its grid
/// keys' lists (the job's, else the classifier's defaults), first key outermost. Unknown name:
/// BadInput.
std::vector<nlohmann::json> classifier_grid(const config::AnalysisSpec& a, const std::string& classifier);
/// The lists themselves, {key: [values]} (what results.h5's settings record).
nlohmann::json grid_lists(const config::AnalysisSpec& a, const std::string& classifier);
/// The paper's grids (config::AnalysisSpec's defaults): random_forest max_features {sqrt, log2,
/// all} x n_estimators {20, 50, 100, 500, 1000}; linear_svm C {1, 50, 500, 5e3, 5e4, 5e5, 5e6};
/// conv1d kernel_fraction {0.003, 0.007, 0.05, 0.25, 0.5, 1} x stride {1, 2, 4} x filters
/// {20, 40} x pooling {none, max, avg}.
std::vector<nlohmann::json> default_grid(const std::string& classifier);

/// The spread sampling of k of T points: round(i (T - 1) / (k - 1)) for i < k (k = 1: the last).
std::vector<int> spread_points(int k, int points);

// One planner per sweep.
std::vector<Evaluation> plan_main(const CampaignData& c, const config::AnalysisSpec& a,
                                  const std::vector<int>& selected);
std::vector<Evaluation> plan_holdout(const CampaignData& c, const config::AnalysisSpec& a,
                                     const std::vector<int>& selected);
std::vector<Evaluation> plan_trajectory(const CampaignData& c, const config::AnalysisSpec& a,
                                        const std::vector<int>& selected);
std::vector<Evaluation> plan_measurement(const CampaignData& c, const config::AnalysisSpec& a,
                                         const std::vector<int>& selected);
std::vector<Evaluation> plan_permutation(const CampaignData& c, const config::AnalysisSpec& a,
                                         const std::vector<int>& selected);
std::vector<Evaluation> plan_identifiability(const CampaignData& c, const config::AnalysisSpec& a,
                                             const std::vector<int>& selected);

/// What an experimenter records under condition `condition`: the units (act; weights: the
/// synapses) kept, median over the done runs' layers.
double median_kept(const CampaignData& c, int condition, bool weights = false);
/// The worst recorded measurement condition (the identifiability matrix's "worst", and finding
/// 6's): the fewest units kept (median_kept), then the most noise. -1 when the campaign recorded
/// only the ideal condition.
int worst_condition(const CampaignData& c);

/// Every sweep the settings ask for, in the order above.
std::vector<Evaluation> make_plan(const CampaignData& c, const config::AnalysisSpec& a,
                                  const std::vector<int>& selected);

/// The splits of an evaluation over its dataset (Balanced: none, the protocol makes them).
std::vector<Split> evaluation_splits(const Evaluation& e, const FeatureSet& f);

}  // namespace lrid::analyze
