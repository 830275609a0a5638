#pragma once
// What an analysis found, as tables (collected from the plan's results and the campaign), and
// the results.h5 file that holds them (format "lrid-results-2"; written with store::h5, read
// back by read_results, by tools/plot_results.py and by tools/lrid_read.py):
//
//   /                       attrs: format, lrid_version, campaign, job_name, job_hash, samples,
//                           ranks, created, settings (the analysis section as JSON)
//   /classes                string [C]  the rules (dimension scale "rule")
//   /main/label, observable_class, classifier, chosen_params   string [K]
//   /main/accuracy_mean, accuracy_sem, balanced_accuracy_mean, balanced_accuracy_sem  [K]
//   /main/<class>_<classifier>/confusion_mean, confusion_sem [C, C] (rows: true rule, fractions),
//         dprime_mean, dprime_sem [C], accuracy_per_split [splits],
//         predictions/{split, run, layer, true, predicted} [N], predictions/probability [N, C]
//   /networks/...           the same layout as /main, with splits that hold out whole networks
//   /identifiability/rules [R], observable_class [O], condition [K] (ideal, worst), split [S]
//         ("samples", "networks"); accuracy_mean, accuracy_sem [K, S, O, R, R] (the forest on
//         each pair of rules alone, symmetric, NaN on the diagonal); dendrogram/left, right,
//         height [R - 1] (average linkage of the separability 2 acc - 1 of the networks-split
//         matrix of all statistics under the ideal condition; clusters numbered R, R + 1, ...),
//         dendrogram/order [R] (the leaves in plot order); attrs distance
//   /holdout/{architecture,task}/held_out [V], accuracy_mean, accuracy_sem [V] (over forest
//         seeds), attrs mean, sem (over the held-out values)
//   /holdout/transfer/tasks [T], accuracy_mean, accuracy_sem [T, T] (rows: trained on)
//   /trajectory/{window,spread,random}/k, position, accuracy_mean, accuracy_sem
//   /measurement/condition, fraction, noise, units, act_units, weight_entries (medians over
//         samples of what was kept) [M]; observable_class [O]; accuracy_mean, accuracy_sem [M, O]
//   /importance/feature, importance [20]
//   /permutation/accuracy_per_split; attrs accuracy_mean, accuracy_sem, chance
//   /sanity/rule, task, architecture, done, failed, near_chance, final_loss_mean,
//         final_loss_sd, final_metric_mean, final_metric_sd, chance [rows];
//         /sanity/failed/run, key, error
//   /curves/rule [R]; point [T]; statistic/<name>/median, q25, q75 [R, T] (value over its
//         value at point 0, over samples); loss/task [K], loss/mean, loss/sd [R, K, T];
//         wb_angle/mean, sd and grad_angle/mean, sd [R, T] (degrees, over samples)
//   /findings/number, title, verdict, evidence, criterion [F]
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lrid/analyze/features.hpp"
#include "lrid/analyze/metrics.hpp"
#include "lrid/analyze/plan.hpp"

namespace lrid::analyze {

inline constexpr const char* kResultsFormat = "lrid-results-2";

struct Prediction {
  int split = 0;
  int64_t run = 0;
  int32_t layer = 0, truth = 0, predicted = 0;
};

struct MainRow {
  std::string observable_class, classifier;
  MeanSem accuracy, balanced_accuracy;
  std::vector<MeanSem> confusion;  ///< C x C
  std::vector<MeanSem> dprime;     ///< C
  std::vector<double> accuracy_per_split;
  std::vector<std::string> chosen_params;  ///< JSON per split
  std::vector<Prediction> predictions;
  std::vector<double> probabilities;       ///< predictions x C
  std::string label() const { return observable_class + "/" + classifier; }
};

struct Holdout {
  std::vector<std::string> held_out;
  std::vector<MeanSem> accuracy;  ///< per held-out value, over forest seeds
  MeanSem overall;                ///< over the held-out values
};

struct Transfer {
  std::vector<std::string> tasks;
  std::vector<MeanSem> accuracy;  ///< T x T, rows: trained on
};

struct TrajectoryRow {
  std::string kind;  ///< window, spread, random
  int k = 0, position = 0;
  MeanSem accuracy;
};

struct MeasurementTable {
  std::vector<std::string> conditions, classes;
  std::vector<double> fraction, noise;
  std::vector<int64_t> units;                    ///< absolute counts (0: by fraction)
  std::vector<double> act_units, weight_entries; ///< medians over samples of what was kept
  std::vector<MeanSem> accuracy;                 ///< conditions x classes
  const MeanSem* at(const std::string& condition, const std::string& cls) const;
};

/// The pairwise identifiability of the rules (plan_identifiability): the forest's accuracy on each
/// pair of rules alone (chance 0.5).
struct Identifiability {
  std::vector<std::string> rules, classes, conditions, splits;
  std::vector<MeanSem> accuracy;  ///< [conditions][splits][classes][rules][rules], NaN on the diagonal
  /// Average linkage on d_ij = max(0, 2 acc_ij - 1): merge k joins clusters left[k] and
  /// right[k] (0..R-1 the rules, R + m the m-th merge) at height[k].
  std::vector<int64_t> left, right, order;
  std::vector<double> height;
  std::string distance;  ///< which matrix the dendrogram's distances come from
  bool empty() const { return rules.empty(); }
  const MeanSem& at(size_t condition, size_t split, size_t cls, size_t i, size_t j) const {
    const size_t R = rules.size();
    return accuracy[(((condition * splits.size() + split) * classes.size() + cls) * R + i) * R + j];
  }
  /// Index of a name in a list (size() when absent).
  static size_t index(const std::vector<std::string>& v, const std::string& x) {
    size_t i = 0;
    while (i < v.size() && v[i] != x) ++i;
    return i;
  }
};

/// Average-linkage (UPGMA) clustering of R items with distances d (R x R, symmetric): fills
/// left, right, height (R - 1 merges, heights non-decreasing) and order (the leaves, each
/// cluster's left part first).
void average_linkage(const std::vector<double>& d, size_t R, Identifiability& out);

struct SanityRow {
  std::string rule, task, arch;
  int64_t done = 0, failed = 0, near_chance = 0;
  double final_loss_mean = 0, final_loss_sd = 0, final_metric_mean = 0, final_metric_sd = 0, chance = 0;
};

struct FailedRun {
  int64_t run = 0;
  std::string key, error;
};

struct Band {
  std::vector<double> center, low, high;  ///< rules x points
};

struct Curves {
  std::vector<std::string> rules;
  int64_t points = 0;
  std::map<std::string, Band> statistics;  ///< median, q25, q75 of value / value at point 0
  std::vector<std::string> loss_tasks;
  std::vector<double> loss_mean, loss_sd;  ///< rules x tasks x points
  Band wb_angle, grad_angle;               ///< mean, mean - sd, mean + sd over samples
};

struct Finding {
  enum class Verdict { Reproduced, NotReproduced, NotMeasured };
  int number = 0;
  std::string title, criterion, evidence;
  Verdict verdict = Verdict::NotMeasured;
};
const char* verdict_name(Finding::Verdict v);  ///< "reproduced", "not reproduced", "not measured"

struct Results {
  std::string campaign, job_name, job_hash, lrid_version;
  nlohmann::json settings;  ///< the analysis section used
  std::vector<std::string> classes;
  int64_t samples = 0, ranks = 1, done_runs = 0, runs = 0, points = 0;
  std::vector<std::string> dropped_statistics, statistics;
  std::vector<std::string> policy_differences;
  std::vector<MainRow> main;
  std::vector<MainRow> networks;  ///< the main evaluations with whole networks held out
  Identifiability identifiability;
  std::map<std::string, Holdout> holdout;  ///< "architecture", "task"
  Transfer transfer;
  std::vector<TrajectoryRow> trajectory;
  MeasurementTable measurement;
  std::vector<std::string> importance_feature;
  std::vector<double> importance;
  bool permutation_run = false;
  MeanSem permutation;
  std::vector<double> permutation_per_split;
  std::vector<SanityRow> sanity;
  std::vector<FailedRun> failed;
  Curves curves;
  std::vector<Finding> findings;
  int64_t fits = 0;
  double seconds = 0;

  const MainRow* main_row(const std::string& observable_class, const std::string& classifier) const;
  const MainRow* networks_row(const std::string& observable_class, const std::string& classifier) const;
};

/// Tables from the executed plan (rank 0): `results[i]` belongs to `plan[i]`.
Results collect_results(const std::vector<Evaluation>& plan, const std::vector<ProtocolResult>& results,
                        const CampaignData& c, const config::AnalysisSpec& spec, const std::vector<int>& selected,
                        std::vector<std::string> policy_differences = {});

/// The training-sanity table and the per-rule curves (what collect_results adds from the
/// campaign itself; no classifier involved).
std::vector<SanityRow> sanity_table(const CampaignData& c, std::vector<FailedRun>& failed);
Curves rule_curves(const CampaignData& c, const std::vector<std::string>& classes);

/// A finished run "near chance": its metric below chance + this share of the way to 1.
inline constexpr double kNearChanceShare = 0.1;

void write_results(const Results& r, const std::string& path);
/// Reads a results file of this format (BadInput naming the file otherwise).
Results read_results(const std::string& path);

/// The AnalysisSpec as JSON (the results' settings attribute).
nlohmann::json analysis_settings(const config::AnalysisSpec& a);

}  // namespace lrid::analyze
