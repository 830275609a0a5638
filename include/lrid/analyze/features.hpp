#pragma once
// The classifiers' dataset (README, "The analysis and its results"): one sample per (done run,
// plastic layer); features = the chosen statistics' trajectories, statistic-major (all points of
// the first statistic, then the next), then the layer's depth category one-hot (early, middle,
// deep); label = the learning rule. No torch here.
#include <cstdint>
#include <string>
#include <vector>

#include "lrid/store/campaign.hpp"

namespace lrid::analyze {

/// Everything of a campaign file the analysis needs, read once: its dimensions and labels (the
/// store::Layout it was made with: runs, layers, conditions, points, statistics, their names and
/// the conditions' fractions, noise and unit counts), then its runs and values.
struct CampaignData : store::Layout {
  std::string path, job_name, job_hash, job_yaml;
  std::vector<std::string> condition_names() const;
  std::vector<int64_t> run_id;                ///< per row: the job run id
  std::vector<std::string> rule, task, arch;  ///< per run
  std::vector<uint8_t> status;                ///< per run
  std::vector<int32_t> layer_count;           ///< per run
  std::vector<std::vector<std::string>> layer_name;  ///< per run
  std::vector<std::vector<int>> layer_depth;         ///< per run
  std::vector<float> values;                  ///< [R, L, C, T, S]
  // per run (row): what the training-sanity table and the curves need
  std::vector<std::string> key, error;
  std::vector<int64_t> batch_size;
  std::vector<double> final_loss, final_metric, metric_chance;
  std::vector<std::vector<int64_t>> act_units, weight_entries;  ///< per run, per layer
  std::vector<double> loss;                   ///< [R, T] training loss at the points
  std::vector<int64_t> steps;                 ///< [R, T]
  std::vector<float> wb_angle, grad_angle;    ///< [R, L, T] degrees

  float value(int64_t r, int64_t l, int64_t c, int64_t t, int64_t s) const {
    return values[static_cast<size_t>(((((r * layers) + l) * conditions + c) * points + t) * statistics + s)];
  }
};

/// Reads a campaign file (lrid::BadInput when it is not one).
CampaignData read_campaign(const std::string& path);

struct FeatureSpec {
  std::vector<int> statistics;  ///< indices into CampaignData::statistic_names
  int condition = 0;            ///< index into the file's conditions
  std::vector<int> points;      ///< trajectory points used (empty: all)
  bool depth = true;            ///< append the depth one-hot
  /// A control: every run's label replaced by another run's (a seeded permutation of the done
  /// runs' labels; all layers of a run share it), so no feature carries the rule.
  bool permute_labels = false;
  uint64_t permutation_seed = 0;
  /// Job run ids left out (e.g. held out of a model by `lrid fit --exclude-runs`).
  std::vector<int64_t> exclude_runs;
  /// Only the samples of these rules (classes: these, in canonical order); empty: every rule.
  std::vector<std::string> rules;
};

/// The main dataset's spec: these statistics, the ideal condition, every point, the depth.
inline FeatureSpec main_features(std::vector<int> statistics) {
  FeatureSpec s;
  s.statistics = std::move(statistics);
  return s;
}

struct FeatureSet {
  std::vector<double> X;            ///< n x d row-major
  std::vector<int32_t> y;           ///< learning rule index in `classes`
  size_t n = 0, d = 0;
  std::vector<std::string> classes; ///< learning rule names, label order
  std::vector<std::string> feature_names;  ///< "<statistic>@<point>", then depth_early, ...
  // metadata per sample
  std::vector<int64_t> run;
  std::vector<int32_t> layer;
  std::vector<std::string> task, arch, layer_name;
  std::vector<int> depth;
  // what was left out
  std::vector<std::string> dropped_statistics;  ///< had a non-finite value in a sample
  size_t dropped_samples = 0;                   ///< non-finite after dropping those
};

/// The learning rules that occur among done runs, in the registry's order (config/rules.hpp), a
/// rule the registry does not know after them.
std::vector<std::string> rule_classes(const CampaignData& c);

/// Builds the samples of every done run. Statistics with a non-finite value in any sample are
/// dropped whole (reported in dropped_statistics), never fed in.
FeatureSet build_features(const CampaignData& c, const FeatureSpec& spec);

/// Statistic indices of the file for a selection of names/sets (observe::resolve_statistics),
/// restricted to those the file recorded. BadInput for unknown names.
std::vector<int> select_statistics(const CampaignData& c, const std::vector<std::string>& names);

/// Writes X, y, feature names, class names and per-sample metadata to an HDF5 file.
void export_features(const FeatureSet& f, const std::string& path);

}  // namespace lrid::analyze
