#pragma once
// A learning-rule model fitted for one measurement setting (`lrid fit`), and the classification
// of a recording with it (`lrid classify`; the recording layout is in docs/recordings.md).
// No torch here.
//
// Fitting (collective over MPI_COMM_WORLD, like the analysis):
//   1. the dataset: one sample per (done run, plastic layer) as the analysis builds it
//      (features.hpp), with the chosen statistics (default: the admissible ones of the
//      observable class), measurement condition and trajectory points, minus --exclude-runs;
//   2. the cross-validated accuracy of that setting: the paper's protocol (balanced splits,
//      z-scoring, stratified CV over the forest grid of the job's analysis section) on the
//      rank-0 work queue, exactly as a main-table evaluation (execute.hpp);
//   3. the final forest: the grid point chosen most often over the splits (ties: the first in
//      grid order), z-scored with the statistics of all samples, fitted on all of them with its
//      trees spread over the ranks (analyze::fit_distributed: the same forest for any rank
//      count), seed = the analysis seed.
//
// Classifying a population (one recorded layer or brain area): for each of the model's
// trajectory points, the recording's nearest time point (within half the campaign's spacing of
// points, else BadInput); the act statistics of its [examples, units] activity with the
// campaign's kernels (observe/stats.hpp: per example over the units, averaged over examples),
// rounded to float32 as the campaign stores them; the features in the model's order, the depth
// one-hot, the model's z-scoring, the forest's class probabilities. The recording is taken as
// measured: no further subsampling or noise (fit the model for the condition that matches the
// experiment). A population of unknown depth is classified at each depth and its probabilities
// averaged. The combined verdict averages the populations' probabilities.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lrid/analyze/features.hpp"
#include "lrid/analyze/forest.hpp"
#include "lrid/analyze/metrics.hpp"
#include "lrid/config/job.hpp"

namespace lrid::analyze {

inline constexpr const char* kModelFormat = "lrid-model-1";
inline constexpr const char* kRecordingFormat = "lrid-recording-1";

/// Depth categories of the features' one-hot, in order.
const std::vector<std::string>& depth_categories();
/// Trajectory point t of `points` as a position along training, t / (points - 1) (1 for a
/// single point): how models and recordings name their time points.
double point_position(int64_t point, int64_t points);

struct RuleModel {
  std::string lrid_version, created, campaign, job_name, job_hash;
  std::string observable_class;            ///< act, weight, gradavg or all
  std::string condition;                   ///< the campaign's condition name (e.g. f0.25_s0.5)
  double condition_fraction = 1, condition_noise = 0;
  int64_t condition_units = 0;
  std::vector<std::string> classes;        ///< learning rules, label order
  std::vector<std::string> statistics;     ///< canonical names, in feature order
  std::vector<int64_t> points;             ///< the campaign's trajectory point indices used
  std::vector<double> positions;           ///< each point's position along training, [0, 1]
  int64_t campaign_points = 0;             ///< trajectory points the campaign recorded
  std::vector<std::string> feature_names;  ///< statistic@point ..., depth_early, _middle, _deep
  std::vector<double> zscore_mean, zscore_scale;  ///< per feature
  std::vector<double> train_min, train_max;       ///< per feature, over the fitted samples (raw)
  int64_t act_units_min = 0, act_units_max = 0;   ///< units per example measured (under the condition)
                                                  ///< in the layers fitted on
  nlohmann::json params;                   ///< the forest's hyperparameters
  MeanSem cv_accuracy;                     ///< the protocol's test accuracy over splits
  int64_t samples = 0;
  std::vector<int64_t> samples_per_class;
  std::vector<int64_t> excluded_runs;
  RandomForest forest;
};

/// HDF5 model file (docs/recordings.md, "The model file"). save: BadInput when it cannot write.
void save_model(const RuleModel& m, const std::string& path);
/// BadInput (one line naming the file) when it is missing, not HDF5, not an lrid model, from
/// another lrid version (`allow_other_version` = false) or damaged (the forest's checksum).
RuleModel load_model(const std::string& path, bool allow_other_version = false);

struct FitOptions {
  std::string observable_class = "act";  ///< act, weight, gradavg, all
  std::string condition = "ideal";       ///< a condition name; the nearest recorded is used
  std::vector<int64_t> points;           ///< campaign point indices (empty: all, unless spread)
  int spread = 0;                        ///< > 0: that many evenly spread points
  std::vector<std::string> statistics;   ///< names or sets (empty: admissible of the class)
  std::vector<int64_t> exclude_runs;     ///< job run ids left out of the fit
  config::AnalysisSpec analysis;         ///< splits, folds, seed, the forest grid
  nlohmann::json fixed_params;           ///< non-empty: these hyperparameters, no grid search
  bool quiet = false;
};

struct FitOutcome {
  RuleModel model;                  ///< on every rank
  std::vector<std::string> notes;   ///< e.g. the nearest condition used
  int64_t fits = 0;                 ///< fits run by the protocol (CV and test)
  double seconds = 0;
};

/// Collective over MPI_COMM_WORLD (every rank passes the same data and options).
FitOutcome fit_model(const CampaignData& c, const FitOptions& o);

/// One recorded population: activity [points, examples, units] (units = every axis after the
/// second, flattened), each point's position along learning, depth, the stimuli shown.
struct Population {
  std::string name;
  std::string depth;                 ///< early, middle, deep or unknown
  std::vector<double> positions;     ///< [points], fractions of learning in [0, 1]
  std::vector<float> activity;       ///< [points, examples, units] row-major
  size_t points = 0, examples = 0, units = 0;
  std::vector<int64_t> stimuli;      ///< [examples]: which stimulus each example is
};

struct Recording {
  std::string path;
  std::vector<Population> populations;
  nlohmann::json attributes = nlohmann::json::object();  ///< root attributes (provenance)
};

/// Reads and checks a recording (BadInput naming the file, population and problem: shapes,
/// transposed units and examples, non-finite values, positions, depth).
Recording read_recording(const std::string& path);
/// Writes one (what `lrid train --record-activations` and the tests use). `attributes`: string
/// values become root attributes.
void write_recording(const Recording& r, const std::string& path);

struct DepthVerdict {
  std::string depth;
  std::vector<double> probabilities;  ///< per class
  size_t features_outside = 0;        ///< of the statistic features, outside the training range
};

struct PopulationVerdict {
  std::string name, depth;              ///< depth as given
  std::vector<DepthVerdict> tried;      ///< one per depth tried (three when unknown)
  std::vector<double> probabilities;    ///< mean over `tried`
  int predicted = 0;
  std::vector<double> used_positions;   ///< the recording's positions matched to the model's points
  size_t statistic_features = 0;
  size_t units = 0, examples = 0;
};

struct ClassifyReport {
  std::vector<std::string> classes;
  std::vector<PopulationVerdict> populations;
  std::vector<double> probabilities;  ///< the combined verdict: mean over populations
  int predicted = 0;
  std::vector<std::string> warnings;
  nlohmann::ordered_json to_json(const RuleModel& m) const;
  std::string to_text(const RuleModel& m) const;
};

/// The statistic features of one population at the model's points (raw, float32-rounded),
/// feature order; BadInput when a point has no time point near enough or the model's
/// statistics are not act statistics.
std::vector<double> population_features(const RuleModel& m, const Population& p,
                                        std::vector<double>* used_positions = nullptr);

/// Classifies every population of a recording.
ClassifyReport classify_recording(const RuleModel& m, const Recording& r);
/// The same for a campaign run's layers, from the statistics the campaign stored (the model's
/// condition, points and statistics): the reference a recording of that run must reproduce.
ClassifyReport classify_campaign_run(const RuleModel& m, const CampaignData& c, int64_t run_id);

}  // namespace lrid::analyze
