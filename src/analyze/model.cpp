// Learning-rule models for one measurement setting and the classification of recordings
// (see include/lrid/analyze/model.hpp and docs/recordings.md).
#include "lrid/analyze/model.hpp"

#include <hdf5.h>
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <sstream>

#include "lrid/analyze/classifier.hpp"
#include "lrid/analyze/execute.hpp"
#include "lrid/analyze/forest_mpi.hpp"
#include "lrid/analyze/plan.hpp"
#include "lrid/analyze/protocol.hpp"
#include "lrid/build_info.hpp"
#include "lrid/error.hpp"
#include "lrid/observe/conditions.hpp"
#include "lrid/observe/stats.hpp"
#include "lrid/store/campaign.hpp"
#include "lrid/store/h5.hpp"
#include "lrid/util/text.hpp"

namespace lrid::analyze {

namespace h5 = store::h5;
using nlohmann::json;
using nlohmann::ordered_json;

const std::vector<std::string>& depth_categories() {
  static const std::vector<std::string> d{"early", "middle", "deep"};
  return d;
}

double point_position(int64_t point, int64_t points) {
  return points > 1 ? static_cast<double>(point) / static_cast<double>(points - 1) : 1.0;
}

namespace {

// A condition from its stored parts (the campaign's columns, the model's attributes).
observe::Condition condition_of(double fraction, double noise, int64_t units) {
  observe::Condition c;
  c.fraction = fraction;
  c.noise = noise;
  c.units = static_cast<uint64_t>(units);
  return c;
}

double steady_now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// The campaign's condition nearest to `wanted` (exact name first): log-distance of the unit
// fractions (or counts) plus the difference of the noise levels.
int nearest_condition(const CampaignData& c, const std::string& wanted, std::vector<std::string>& notes) {
  for (size_t k = 0; k < c.conditions_meta.size(); ++k)
    if (c.conditions_meta[k].name == wanted) return static_cast<int>(k);
  const observe::Condition w = observe::parse_condition(wanted);
  int best = -1;
  double best_d = std::numeric_limits<double>::infinity();
  for (size_t k = 0; k < c.conditions_meta.size(); ++k) {
    const bool units = c.conditions_meta[k].units > 0;
    if (units != (w.units > 0)) continue;
    const double a = units ? static_cast<double>(c.conditions_meta[k].units) : c.conditions_meta[k].fraction;
    const double b = units ? static_cast<double>(w.units) : w.fraction;
    const double d = std::fabs(std::log(a / b)) + std::fabs(c.conditions_meta[k].noise - w.noise);
    if (d < best_d) best_d = d, best = static_cast<int>(k);
  }
  if (best < 0)
    throw BadInput(c.path + ": no recorded condition is comparable to '" + wanted + "' (recorded: " +
                   util::join(c.condition_names()) + ")");
  notes.push_back("condition " + wanted + " was not recorded; using the nearest recorded one, " +
                  c.conditions_meta[static_cast<size_t>(best)].name + " (recorded: " + util::join(c.condition_names()) + ")");
  return best;
}

int argmax(const std::vector<double>& p) {
  return static_cast<int>(std::max_element(p.begin(), p.end()) - p.begin());
}

std::vector<double> zscored(const RuleModel& m, const std::vector<double>& x) {
  std::vector<double> z(x.size());
  for (size_t j = 0; j < x.size(); ++j) z[j] = (x[j] - m.zscore_mean[j]) / m.zscore_scale[j];
  return z;
}

// Probabilities of one sample: statistic features + the depth one-hot of category k.
DepthVerdict verdict_at(const RuleModel& m, const std::vector<double>& stats, int k) {
  std::vector<double> x = stats;
  for (int j = 0; j < 3; ++j) x.push_back(j == k ? 1.0 : 0.0);
  if (x.size() != m.feature_names.size())
    throw std::logic_error("classify: feature count does not match the model");
  DepthVerdict v;
  v.depth = depth_categories()[static_cast<size_t>(k)];
  const auto z = zscored(m, x);
  v.probabilities = m.forest.predict_proba(z.data(), 1);
  for (size_t j = 0; j < stats.size(); ++j)
    if (stats[j] < m.train_min[j] || stats[j] > m.train_max[j]) ++v.features_outside;
  return v;
}

int depth_index(const std::string& d) {
  const auto& cats = depth_categories();
  const auto it = std::find(cats.begin(), cats.end(), d);
  return it == cats.end() ? -1 : static_cast<int>(it - cats.begin());
}

PopulationVerdict population_verdict(const RuleModel& m, const std::string& name, const std::string& depth,
                                     const std::vector<double>& stats) {
  PopulationVerdict p;
  p.name = name;
  p.depth = depth;
  p.statistic_features = stats.size();
  const int k = depth_index(depth);
  for (int j = 0; j < 3; ++j)
    if (k < 0 || j == k) p.tried.push_back(verdict_at(m, stats, j));
  p.probabilities.assign(m.classes.size(), 0.0);
  for (const auto& t : p.tried)
    for (size_t c = 0; c < p.probabilities.size(); ++c) p.probabilities[c] += t.probabilities[c] / static_cast<double>(p.tried.size());
  p.predicted = argmax(p.probabilities);
  return p;
}

void finish_report(const RuleModel& m, ClassifyReport& r) {
  r.classes = m.classes;
  r.probabilities.assign(m.classes.size(), 0.0);
  for (const auto& p : r.populations)
    for (size_t c = 0; c < r.probabilities.size(); ++c)
      r.probabilities[c] += p.probabilities[c] / static_cast<double>(r.populations.size());
  r.predicted = argmax(r.probabilities);
  for (const auto& p : r.populations) {
    size_t outside = 0;
    for (const auto& t : p.tried) outside = std::max(outside, t.features_outside);
    if (outside > 0)
      r.warnings.push_back("population " + p.name + ": " + std::to_string(outside) + " of " +
                           std::to_string(p.statistic_features) + " features (" +
                           util::fixed(100.0 * static_cast<double>(outside) / static_cast<double>(p.statistic_features), 0) +
                           "%) lie outside the range the model was fitted on: its verdict extrapolates");
    if (p.units > 0 && (static_cast<int64_t>(p.units) < m.act_units_min || static_cast<int64_t>(p.units) > m.act_units_max))
      r.warnings.push_back("population " + p.name + " has " + std::to_string(p.units) +
                           " units; the layers the model was fitted on had " + std::to_string(m.act_units_min) + "-" +
                           std::to_string(m.act_units_max) + " (statistics such as actraw_norm grow with the unit count)");
    if (p.tried.size() > 1)
      r.warnings.push_back("population " + p.name + ": depth unknown, classified at each depth (early, middle, deep) "
                           "and averaged");
  }
}

}  // namespace

// --- fit ----------------------------------------------------------------------------------

namespace {

// The dataset and protocol of a fit: the statistics, condition and points asked for (checked).
Evaluation fit_evaluation(const CampaignData& c, const FitOptions& o, std::vector<std::string>& notes) {
  const auto& cls = o.observable_class;
  if (cls != "act" && cls != "weight" && cls != "gradavg" && cls != "all")
    throw BadInput("--observable: expected act, weight, gradavg or all, got '" + cls + "'");

  // Statistics: the admissible ones of the class unless named; only those of the class.
  std::vector<std::string> names = o.statistics;
  if (names.empty()) names = {cls == "all" ? std::string("admissible") : "admissible_" + cls};
  const std::vector<int> selected = select_statistics(c, names);
  std::vector<int> stats = cls == "all" ? selected : std::vector<int>{};
  for (const auto& [measure, of_measure] : statistics_by_class(c, selected))
    if (measure == cls) stats = of_measure;
  if (stats.empty())
    throw BadInput(c.path + ": the statistics asked for (" + util::join(names) + ") hold no " + cls +
                   " statistic recorded in the campaign");

  Evaluation e;
  e.sweep = "main";
  e.label = "fit/" + cls;
  e.observable_class = cls;
  e.features.statistics = stats;
  e.features.condition = nearest_condition(c, o.condition, notes);
  e.features.exclude_runs = o.exclude_runs;
  for (const auto id : o.exclude_runs)
    if (std::find(c.run_id.begin(), c.run_id.end(), id) == c.run_id.end())
      throw BadInput("--exclude-runs: " + c.path + " holds no run " + std::to_string(id));
  if (!o.points.empty()) {
    for (auto t : o.points) {
      if (t < 0 || t >= c.points)
        throw BadInput("--points: point " + std::to_string(t) + " is outside the campaign's 0.." +
                       std::to_string(c.points - 1));
      e.features.points.push_back(static_cast<int>(t));
    }
    std::sort(e.features.points.begin(), e.features.points.end());
    const auto dup = std::adjacent_find(e.features.points.begin(), e.features.points.end());
    if (dup != e.features.points.end())
      throw BadInput("--points: point " + std::to_string(*dup) + " is given twice");
  } else if (o.spread > 0) {
    if (o.spread > c.points)
      throw BadInput("--spread: " + std::to_string(o.spread) + " points asked for, the campaign recorded " +
                     std::to_string(c.points));
    e.features.points = spread_points(o.spread, static_cast<int>(c.points));
  } else {
    for (int t = 0; t < c.points; ++t) e.features.points.push_back(t);
  }
  e.classifier = {"random_forest", o.fixed_params.empty() ? json::object() : o.fixed_params};
  if (o.fixed_params.empty()) e.grid = classifier_grid(o.analysis, "random_forest");
  e.options = protocol_options(o.analysis, static_cast<int>(o.analysis.splits));

  return e;
}

// Everything the model file says besides the forest: where it came from and what it expects.
void describe_model(RuleModel& m, const CampaignData& c, const FeatureSet& f, const Evaluation& e,
                    const FitOptions& o, const json& params, const ZScore& z) {
  const auto& cls = o.observable_class;
  m.lrid_version = kVersion;
  m.created = util::iso_now();
  m.campaign = c.path;
  m.job_name = c.job_name;
  m.job_hash = c.job_hash;
  m.observable_class = cls;
  const size_t ci = static_cast<size_t>(e.features.condition);
  m.condition = c.conditions_meta[ci].name;
  m.condition_fraction = c.conditions_meta[ci].fraction;
  m.condition_noise = c.conditions_meta[ci].noise;
  m.condition_units = c.conditions_meta[ci].units;
  m.classes = f.classes;
  m.feature_names = f.feature_names;
  for (const auto& n : f.feature_names) {
    const auto at = n.find('@');
    if (at == std::string::npos) continue;
    const std::string s = n.substr(0, at);
    if (std::find(m.statistics.begin(), m.statistics.end(), s) == m.statistics.end()) m.statistics.push_back(s);
  }
  m.campaign_points = c.points;
  for (int t : e.features.points) {
    m.points.push_back(t);
    m.positions.push_back(point_position(t, c.points));
  }
  m.zscore_mean = z.mean;
  m.zscore_scale = z.scale;
  m.train_min.assign(f.d, std::numeric_limits<double>::infinity());
  m.train_max.assign(f.d, -std::numeric_limits<double>::infinity());
  for (size_t i = 0; i < f.n; ++i)
    for (size_t j = 0; j < f.d; ++j) {
      m.train_min[j] = std::min(m.train_min[j], f.X[i * f.d + j]);
      m.train_max[j] = std::max(m.train_max[j], f.X[i * f.d + j]);
    }
  std::map<int64_t, size_t> row_of;
  for (size_t r = 0; r < c.run_id.size(); ++r) row_of[c.run_id[r]] = r;
  // Units per example as measured under the condition (a recording holds only what it measured).
  const observe::Condition cond = condition_of(c.conditions_meta[ci].fraction, c.conditions_meta[ci].noise, c.conditions_meta[ci].units);
  m.act_units_min = std::numeric_limits<int64_t>::max();
  m.act_units_max = 0;
  for (size_t i = 0; i < f.n; ++i) {
    const int64_t all_units = c.act_units[row_of.at(f.run[i])][static_cast<size_t>(f.layer[i])];
    const int64_t u = all_units > 0 ? static_cast<int64_t>(cond.kept(static_cast<size_t>(all_units))) : all_units;
    m.act_units_min = std::min(m.act_units_min, u);
    m.act_units_max = std::max(m.act_units_max, u);
  }
  m.params = params;
  m.params.erase("threads");
  m.samples = static_cast<int64_t>(f.n);
  m.samples_per_class.assign(f.classes.size(), 0);
  for (auto y : f.y) ++m.samples_per_class[static_cast<size_t>(y)];
  m.excluded_runs = o.exclude_runs;
}

}  // namespace

FitOutcome fit_model(const CampaignData& c, const FitOptions& o) {
  const double t0 = steady_now();
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  FitOutcome out;
  RuleModel& m = out.model;
  const Evaluation e = fit_evaluation(c, o, out.notes);
  const FeatureSet f = evaluation_features(e, c);
  if (!f.dropped_statistics.empty() &&
      std::none_of(f.feature_names.begin(), f.feature_names.end(),
                   [](const std::string& n) { return n.find('@') != std::string::npos; }))
    throw BadInput(c.path + ": every statistic asked for has a non-finite value (NaN or inf) in some sample (" +
                   util::join(f.dropped_statistics) + "); nothing is left to fit a model on");
  if (f.n == 0) throw BadInput(c.path + ": no done run is left to fit on");
  if (o.analysis.cv_folds > static_cast<int64_t>(f.n))
    throw BadInput("analysis.cv_folds " + std::to_string(o.analysis.cv_folds) + ": more cross-validation folds than the " +
                   std::to_string(f.n) + " samples of " + c.path + " to fit on");
  if (f.classes.size() < 2)
    throw BadInput(c.path + ": the runs fitted on cover one learning rule (" + util::join(f.classes) +
                   "); a model needs at least two");

  // 2. The cross-validated accuracy of this setting (and the grid point each split chose).
  ExecuteOptions xo;
  xo.quiet = o.quiet;
  xo.start = t0;
  const Execution ex = execute_plan({e}, c, xo);
  out.fits = ex.fits;
  int chosen = 0;
  double acc[3] = {0, 0, 0};
  if (rank == 0) {
    const ProtocolResult& r = ex.results.at(0);
    std::map<int, int> votes;
    for (const auto& s : r.splits) ++votes[s.grid_point];
    int best = -1;
    for (const auto& [g, n] : votes)
      if (n > best) best = n, chosen = g;  // map order: ties go to the first grid point
    acc[0] = r.summary.accuracy.mean;
    acc[1] = r.summary.accuracy.sem;
    acc[2] = static_cast<double>(r.summary.accuracy.count);
  }
  MPI_Bcast(&chosen, 1, MPI_INT, 0, MPI_COMM_WORLD);
  MPI_Bcast(acc, 3, MPI_DOUBLE, 0, MPI_COMM_WORLD);
  m.cv_accuracy.mean = acc[0];
  m.cv_accuracy.sem = acc[1];
  m.cv_accuracy.count = static_cast<size_t>(acc[2]);

  // 3. The final forest on every sample.
  json params = e.classifier.params;
  if (!e.grid.empty())
    for (const auto& [k, v] : e.grid[static_cast<size_t>(chosen)].items()) params[k] = v;
  if (!params.contains("seed")) params["seed"] = o.analysis.seed;
  ForestParams fp = parse_forest_params(params);
  fp.threads = 1;
  std::vector<uint32_t> all(f.n);
  for (uint32_t i = 0; i < f.n; ++i) all[i] = i;
  ZScore z;
  z.fit(f.X.data(), f.d, all);
  const auto Xz = z.transform(f.X.data(), f.d, all);
  m.forest = RandomForest(fp);
  fit_distributed(m.forest, MPI_COMM_WORLD, Xz.data(), f.y.data(), f.n, f.d, static_cast<int>(f.classes.size()));

  describe_model(m, c, f, e, o, params, z);
  if (!f.dropped_statistics.empty())
    out.notes.push_back("left out for a non-finite value in some sample: " + util::join(f.dropped_statistics));
  out.seconds = steady_now() - t0;
  return out;
}

// --- the model file -----------------------------------------------------------------------

namespace {
uint64_t forest_checksum(const std::vector<uint8_t>& bytes);
}  // namespace

void save_model(const RuleModel& m, const std::string& path) {
  // Written next to the target and renamed into place, so a failed save leaves no half file.
  h5::write_new_file(path, "model file", [&](hid_t f) {
    h5::write_header(f, {kModelFormat, m.lrid_version, m.created, m.job_name, m.job_hash, m.campaign});
    h5::write_string_attr(f, "observable_class", m.observable_class);
    h5::write_string_attr(f, "condition", m.condition);
    h5::write_doubles_attr(f, "condition_fraction", {m.condition_fraction});
    h5::write_doubles_attr(f, "condition_noise", {m.condition_noise});
    h5::write_int_attr(f, "condition_units", m.condition_units);
    h5::write_int_attr(f, "campaign_points", m.campaign_points);
    h5::write_string_attr(f, "classifier", "random_forest");
    h5::write_string_attr(f, "params", m.params.dump());
    h5::write_doubles_attr(f, "cv_accuracy", {m.cv_accuracy.mean, m.cv_accuracy.sem, static_cast<double>(m.cv_accuracy.count)});
    h5::write_int_attr(f, "samples", m.samples);
    h5::write_int_attr(f, "act_units_min", m.act_units_min);
    h5::write_int_attr(f, "act_units_max", m.act_units_max);
    h5::write_string_attr(f, "description",
                          "lrid learning-rule model (lrid fit): a random forest over the features named in "
                          "feature_names (statistic@point, then depth one-hot), z-scored with zscore/mean and "
                          "zscore/scale; classify recordings with lrid classify (docs/recordings.md)");
    h5::write_strings(f, "classes", m.classes);
    h5::write_strings(f, "statistics", m.statistics);
    h5::write_int64s(f, "points", m.points);
    h5::write_doubles(f, "positions", m.positions);
    h5::write_strings(f, "feature_names", m.feature_names);
    h5::write_strings(f, "depth_categories", depth_categories());
    h5::write_doubles(f, "zscore/mean", m.zscore_mean);
    h5::write_doubles(f, "zscore/scale", m.zscore_scale);
    h5::write_doubles(f, "training_range/min", m.train_min);
    h5::write_doubles(f, "training_range/max", m.train_max);
    h5::write_int64s(f, "samples_per_class", m.samples_per_class);
    h5::write_int64s(f, "excluded_runs", m.excluded_runs);
    const std::vector<uint8_t> forest = m.forest.serialize();
    h5::write_bytes(f, "forest", forest);
    h5::write_string_attr(f, "forest", "checksum_fnv1a", std::to_string(forest_checksum(forest)));
  });
}

namespace {

// FNV-1a over the forest's bytes: the model file's /forest carries it in its attribute
// `checksum_fnv1a` (models written before it have none and are read as they are).
uint64_t forest_checksum(const std::vector<uint8_t>& bytes) {
  uint64_t h = 1469598103934665603ull;
  for (const uint8_t b : bytes) {
    h ^= b;
    h *= 1099511628211ull;
  }
  return h;
}

// What the classifier relies on: finite z-scores with positive scales, trajectory positions
// in [0, 1] rising, campaign points rising from 0, known statistics. BadInput naming the file.
void check_model(const RuleModel& m, const std::string& path) {
  auto bad = [&](const std::string& what) { throw BadInput(path + ": " + what + " (damaged model file; refit it with 'lrid fit')"); };
  for (size_t i = 0; i < m.zscore_mean.size(); ++i) {
    if (!std::isfinite(m.zscore_mean[i])) bad("zscore/mean[" + std::to_string(i) + "] is not finite");
    if (!std::isfinite(m.zscore_scale[i]) || !(m.zscore_scale[i] > 0))
      bad("zscore/scale[" + std::to_string(i) + "] is " + util::fixed(m.zscore_scale[i], 3) + ", expected a finite value > 0");
  }
  for (size_t i = 0; i < m.positions.size(); ++i) {
    if (!std::isfinite(m.positions[i]) || m.positions[i] < 0 || m.positions[i] > 1)
      bad("positions[" + std::to_string(i) + "] is " + util::fixed(m.positions[i], 3) + ", expected a fraction of learning in [0, 1]");
    if (i && !(m.positions[i] > m.positions[i - 1])) bad("positions are not strictly increasing");
    if (m.points[i] < 0 || (m.campaign_points > 0 && m.points[i] >= m.campaign_points))
      bad("points[" + std::to_string(i) + "] is " + std::to_string(m.points[i]) + ", expected 0.." +
          std::to_string(m.campaign_points - 1));
    if (i && !(m.points[i] > m.points[i - 1])) bad("points are not strictly increasing");
  }
  for (const auto& st : m.statistics)
    if (observe::find_statistic(st) < 0) bad("statistics names '" + st + "', which is not a statistic lrid knows");
}

}  // namespace

RuleModel load_model(const std::string& path, bool allow_other_version) {
  h5::Id f = h5::open_file(path, "model file");
  RuleModel m;
  h5::reading(path, [&] {
    if (!h5::has_attr(f, "format") || h5::read_string_attr(f, "format") != kModelFormat)
      throw BadInput(path + ": not an lrid model file (attribute format is not " + std::string(kModelFormat) +
                     "; make one with 'lrid fit')");
    if (h5::has_attr(f, "lrid_version")) m.lrid_version = h5::read_string_attr(f, "lrid_version");
    else if (!allow_other_version)
      throw BadInput(path + ": has no lrid_version attribute (not made by 'lrid fit'?): refit it with 'lrid fit', "
                            "or pass --any-version to use it anyway");
  });
  if (!allow_other_version && m.lrid_version != kVersion)
    throw BadInput(path + ": made by lrid " + m.lrid_version + ", this is lrid " + kVersion +
                   " (statistics may differ between versions): refit it with 'lrid fit'");
  try {
    m.created = h5::read_string_attr(f, "created");
    m.campaign = h5::read_string_attr(f, "campaign");
    m.job_name = h5::read_string_attr(f, "job_name");
    m.job_hash = h5::read_string_attr(f, "job_hash");
    m.observable_class = h5::read_string_attr(f, "observable_class");
    m.condition = h5::read_string_attr(f, "condition");
    m.condition_fraction = h5::read_doubles_attr(f, "condition_fraction").at(0);
    m.condition_noise = h5::read_doubles_attr(f, "condition_noise").at(0);
    m.condition_units = h5::read_int_attr(f, "condition_units");
    m.campaign_points = h5::read_int_attr(f, "campaign_points");
    m.params = json::parse(h5::read_string_attr(f, "params"));
    const auto acc = h5::read_doubles_attr(f, "cv_accuracy");
    m.cv_accuracy.mean = acc.at(0);
    m.cv_accuracy.sem = acc.at(1);
    m.cv_accuracy.count = static_cast<size_t>(acc.at(2));
    m.samples = h5::read_int_attr(f, "samples");
    m.act_units_min = h5::read_int_attr(f, "act_units_min");
    m.act_units_max = h5::read_int_attr(f, "act_units_max");
    m.classes = h5::read_strings(f, "classes");
    m.statistics = h5::read_strings(f, "statistics");
    m.points = h5::read_int64s(f, "points");
    m.positions = h5::read_doubles(f, "positions");
    m.feature_names = h5::read_strings(f, "feature_names");
    m.zscore_mean = h5::read_doubles(f, "zscore/mean");
    m.zscore_scale = h5::read_doubles(f, "zscore/scale");
    m.train_min = h5::read_doubles(f, "training_range/min");
    m.train_max = h5::read_doubles(f, "training_range/max");
    m.samples_per_class = h5::read_int64s(f, "samples_per_class");
    m.excluded_runs = h5::read_int64s(f, "excluded_runs");
    const auto bytes = h5::read_bytes(f, "forest");
    {
      h5::Id forest(h5::check(H5Dopen2(f, "forest", H5P_DEFAULT), "open forest"));
      if (h5::has_attr(forest, "checksum_fnv1a") &&
          h5::read_string_attr(forest, "checksum_fnv1a") != std::to_string(forest_checksum(bytes)))
        throw BadInput(path + ":/forest: checksum mismatch (the forest's bytes are damaged; refit it with 'lrid fit')");
    }
    m.forest = RandomForest::deserialize(bytes.data(), bytes.size(), path + ":/forest");
  } catch (const BadInput&) {
    throw;
  } catch (const std::exception& e) {
    throw BadInput(path + ": damaged or incomplete model file (" + e.what() + ")");
  }
  const size_t d = m.feature_names.size();
  if (m.zscore_mean.size() != d || m.zscore_scale.size() != d || m.train_min.size() != d || m.train_max.size() != d ||
      m.forest.n_features() != d || static_cast<size_t>(m.forest.n_classes()) != m.classes.size() ||
      m.points.size() != m.positions.size() || d != m.statistics.size() * m.points.size() + 3)
    throw BadInput(path + ": inconsistent model file (feature, class or point counts disagree)");
  check_model(m, path);
  return m;
}

// --- recordings ---------------------------------------------------------------------------

namespace {

herr_t collect_name(hid_t, const char* name, const H5L_info_t*, void* data) {
  static_cast<std::vector<std::string>*>(data)->push_back(name);
  return 0;
}

template <class T>
std::string join_numbers(const std::vector<T>& v, int decimals = 3) {
  std::string s;
  for (size_t i = 0; i < v.size() && i < 24; ++i) s += (i ? ", " : "") + util::fixed(static_cast<double>(v[i]), decimals);
  if (v.size() > 24) s += ", ...";
  return s;
}

}  // namespace

namespace {
Recording read_recording_data(const std::string& path);
}  // namespace

// An HDF5 failure inside (compound or string data, a filter this HDF5 lacks) names the file.
Recording read_recording(const std::string& path) {
  return h5::reading(path, [&] { return read_recording_data(path); });
}

namespace {

Recording read_recording_data(const std::string& path) {
  h5::Id f = h5::open_file(path, "recording");
  Recording r;
  r.path = path;
  if (h5::has_attr(f, "format") && h5::read_string_attr(f, "format") != kRecordingFormat)
    throw BadInput(path + ": attribute format is '" + h5::read_string_attr(f, "format") + "', expected " +
                   kRecordingFormat + " (docs/recordings.md)");
  if (!h5::exists(f, "populations"))
    throw BadInput(path + ": no group /populations (expected /populations/<name>/{activity, positions, stimuli}; "
                          "docs/recordings.md)");
  std::vector<std::string> names;
  {
    h5::Id g(H5Gopen2(f, "populations", H5P_DEFAULT));
    hsize_t idx = 0;
    H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, &idx, collect_name, &names);
  }
  if (names.empty()) throw BadInput(path + ": /populations holds no population");
  for (const auto& name : names) {
    const std::string base = "populations/" + name;
    const std::string where = path + ":/" + base;
    Population p;
    p.name = name;
    for (const char* ds : {"activity", "positions", "stimuli"})
      if (!h5::is_dataset(f, base + "/" + ds))
        throw BadInput(where + ": missing dataset '" + ds + "' (docs/recordings.md)");
    {
      h5::Id g(H5Gopen2(f, base.c_str(), H5P_DEFAULT));
      if (!h5::has_attr(g, "depth"))
        throw BadInput(where + ": no 'depth' attribute (expected early, middle, deep, or unknown to try each)");
      p.depth = h5::read_string_attr(g, "depth");
    }
    if (p.depth != "unknown" && depth_index(p.depth) < 0)
      throw BadInput(where + ": depth '" + p.depth + "': expected early, middle, deep or unknown");
    const auto dims = h5::dataset_dims(f, base + "/activity");
    if (dims.size() < 3)
      throw BadInput(where + "/activity: expected [points, examples, units] (rank >= 3), got rank " +
                     std::to_string(dims.size()));
    p.points = dims[0];
    p.examples = dims[1];
    p.units = 1;
    for (size_t k = 2; k < dims.size(); ++k) p.units *= dims[k];
    for (const char* ds : {"positions", "stimuli"})
      if (h5::dataset_dims(f, base + "/" + ds).size() != 1)
        throw BadInput(where + "/" + ds + ": expected a 1-D dataset, got rank " +
                       std::to_string(h5::dataset_dims(f, base + "/" + ds).size()));
    p.positions = h5::read_doubles(f, base + "/positions");
    p.stimuli = h5::read_int64s(f, base + "/stimuli");
    if (p.positions.size() != p.points)
      throw BadInput(where + "/positions: " + std::to_string(p.positions.size()) + " positions for " +
                     std::to_string(p.points) + " time points of activity (axis 0)");
    if (p.stimuli.size() != p.examples) {
      if (dims.size() == 3 && p.stimuli.size() == dims[2])
        throw BadInput(where + "/activity: looks transposed: axis 1 has " + std::to_string(dims[1]) +
                       " entries but there are " + std::to_string(p.stimuli.size()) +
                       " stimuli, as many as axis 2; expected [points, examples, units] (numpy: "
                       "activity.transpose(0, 2, 1))");
      throw BadInput(where + "/stimuli: " + std::to_string(p.stimuli.size()) + " stimuli for " +
                     std::to_string(p.examples) + " examples (axis 1 of activity)");
    }
    if (p.examples < 1 || p.units < 1 || p.points < 1) throw BadInput(where + "/activity: an axis is empty");
    for (size_t i = 0; i < p.positions.size(); ++i) {
      if (!(p.positions[i] >= 0 && p.positions[i] <= 1))
        throw BadInput(where + "/positions: entry " + std::to_string(i) + " is " + util::shortest(p.positions[i]) +
                       "; expected fractions of learning in [0, 1]");
      if (i > 0 && !(p.positions[i] > p.positions[i - 1]))
        throw BadInput(where + "/positions: expected strictly increasing positions (entry " + std::to_string(i) + ")");
    }
    p.activity = h5::read_floats(f, base + "/activity");
    for (size_t i = 0; i < p.activity.size(); ++i)
      if (!std::isfinite(p.activity[i])) {
        const size_t per_point = p.examples * p.units;
        throw BadInput(where + "/activity: non-finite value (" + util::shortest(p.activity[i]) + ") at point " +
                       std::to_string(i / per_point) + ", example " + std::to_string(i % per_point / p.units) +
                       ", unit " + std::to_string(i % p.units) + "; remove or interpolate it before classifying");
      }
    r.populations.push_back(std::move(p));
  }
  return r;
}

}  // namespace

void write_recording(const Recording& r, const std::string& path) {
  h5::write_new_file(path, "recording", [&](hid_t f) {
    h5::write_string_attr(f, "format", kRecordingFormat);
    for (const auto& [k, v] : r.attributes.items())
      h5::write_string_attr(f, k, v.is_string() ? v.get<std::string>() : v.dump());
    for (const auto& p : r.populations) {
      const std::string base = "populations/" + p.name;
      h5::write_floats(f, base + "/activity", p.activity, {p.points, p.examples, p.units});
      h5::write_doubles(f, base + "/positions", p.positions);
      h5::write_int64s(f, base + "/stimuli", p.stimuli);
      h5::Id g(H5Gopen2(f, base.c_str(), H5P_DEFAULT));
      h5::write_string_attr(g, "depth", p.depth);
    }
  });
}

// --- classify -----------------------------------------------------------------------------

std::vector<double> population_features(const RuleModel& m, const Population& p, std::vector<double>* used) {
  std::vector<int> idx;
  for (const auto& s : m.statistics) {
    const int k = observe::find_statistic(s);
    if (k < 0 || observe::measure_of(k) != observe::Measure::act)
      throw BadInput("the model uses " + m.observable_class + " statistics (" + s +
                     "); a recording holds activity, so only an act model classifies it (lrid fit --observable act)");
    idx.push_back(k - observe::kActOffset);
  }
  const double tol = m.campaign_points > 1 ? 0.5 / static_cast<double>(m.campaign_points - 1) : 0.5;
  std::vector<size_t> at;
  for (double pos : m.positions) {
    size_t best = 0;
    for (size_t i = 1; i < p.positions.size(); ++i)
      if (std::fabs(p.positions[i] - pos) < std::fabs(p.positions[best] - pos)) best = i;
    if (std::fabs(p.positions[best] - pos) > tol + 1e-12)
      throw BadInput("population " + p.name + ": no time point near " + util::fixed(pos, 3) +
                     " of learning (the model needs " + join_numbers(m.positions) + ", each within +-" +
                     util::fixed(tol, 3) + "; the recording has " + join_numbers(p.positions) +
                     "): record those points, or fit a model for these (lrid fit --points or --spread)");
    at.push_back(best);
  }
  if (used) {
    used->clear();
    for (size_t i : at) used->push_back(p.positions[i]);
  }
  observe::StatsScratch scratch;
  std::map<size_t, observe::VectorStats> cache;
  for (size_t i : at)
    if (!cache.count(i))
      cache[i] = observe::act_statistics(p.activity.data() + i * p.examples * p.units, p.examples, p.units, scratch);
  std::vector<double> x;
  for (int k : idx)
    for (size_t i : at) x.push_back(static_cast<double>(static_cast<float>(cache[i][static_cast<size_t>(k)])));
  return x;
}

ClassifyReport classify_recording(const RuleModel& m, const Recording& r) {
  ClassifyReport rep;
  for (const auto& p : r.populations) {
    std::vector<double> used;
    const auto x = population_features(m, p, &used);
    auto v = population_verdict(m, p.name, p.depth, x);
    v.used_positions = used;
    v.units = p.units;
    v.examples = p.examples;
    rep.populations.push_back(std::move(v));
  }
  finish_report(m, rep);
  return rep;
}

ClassifyReport classify_campaign_run(const RuleModel& m, const CampaignData& c, int64_t run_id) {
  const auto row_it = std::find(c.run_id.begin(), c.run_id.end(), run_id);
  if (row_it == c.run_id.end()) throw BadInput(c.path + ": run " + std::to_string(run_id) + " is not in this file");
  const size_t r = static_cast<size_t>(row_it - c.run_id.begin());
  if (c.status[r] != store::kDone) throw BadInput(c.path + ": run " + std::to_string(run_id) + " is not done");
  const std::vector<std::string> names = c.condition_names();
  const auto ci = std::find(names.begin(), names.end(), m.condition);
  if (ci == names.end())
    throw BadInput(c.path + ": condition " + m.condition + " of the model was not recorded in this campaign");
  std::vector<int> sidx;
  for (const auto& s : m.statistics) {
    const auto it = std::find(c.statistic_names.begin(), c.statistic_names.end(), s);
    if (it == c.statistic_names.end()) throw BadInput(c.path + ": statistic " + s + " of the model was not recorded");
    sidx.push_back(static_cast<int>(it - c.statistic_names.begin()));
  }
  for (auto t : m.points)
    if (t >= c.points) throw BadInput(c.path + ": the model's point " + std::to_string(t) + " was not recorded");
  const observe::Condition cond = condition_of(m.condition_fraction, m.condition_noise, m.condition_units);
  ClassifyReport rep;
  for (int32_t l = 0; l < c.layer_count[r]; ++l) {
    std::vector<double> x;
    for (int s : sidx)
      for (auto t : m.points)
        x.push_back(static_cast<double>(c.value(static_cast<int64_t>(r), l, ci - names.begin(), t, s)));
    for (size_t k = 0; k < x.size(); ++k)
      if (!std::isfinite(x[k]))
        throw BadInput(c.path + ": run " + std::to_string(run_id) + ", layer " + c.layer_name[r][static_cast<size_t>(l)] +
                       ": statistic " + m.statistics[k / m.points.size()] + " at point " +
                       std::to_string(m.points[k % m.points.size()]) + " is not finite (" + util::shortest(x[k]) +
                       "); the model cannot classify it");
    const int depth = c.layer_depth[r][static_cast<size_t>(l)];
    auto v = population_verdict(m, c.layer_name[r][static_cast<size_t>(l)],
                                depth >= 0 && depth < 3 ? depth_categories()[static_cast<size_t>(depth)] : "unknown", x);
    v.used_positions = m.positions;
    const int64_t all_units = c.act_units[r][static_cast<size_t>(l)];
    v.units = all_units > 0 ? cond.kept(static_cast<size_t>(all_units)) : 0;
    rep.populations.push_back(std::move(v));
  }
  finish_report(m, rep);
  return rep;
}

ordered_json ClassifyReport::to_json(const RuleModel& m) const {
  ordered_json j;
  j["model"] = {{"observable_class", m.observable_class},
                {"condition", m.condition},
                {"positions", m.positions},
                {"cv_accuracy", m.cv_accuracy.mean},
                {"cv_accuracy_sem", std::isfinite(m.cv_accuracy.sem) ? ordered_json(m.cv_accuracy.sem) : ordered_json()},
                {"job_name", m.job_name},
                {"job_hash", m.job_hash}};
  j["classes"] = classes;
  auto probs = [&](const std::vector<double>& p) {
    ordered_json o;
    for (size_t k = 0; k < classes.size(); ++k) o[classes[k]] = p[k];
    return o;
  };
  j["populations"] = ordered_json::array();
  for (const auto& p : populations) {
    ordered_json q;
    q["name"] = p.name;
    q["depth"] = p.depth;
    q["predicted"] = classes[static_cast<size_t>(p.predicted)];
    q["probabilities"] = probs(p.probabilities);
    q["units"] = p.units;
    q["positions_used"] = p.used_positions;
    q["tried"] = ordered_json::array();
    for (const auto& t : p.tried)
      q["tried"].push_back({{"depth", t.depth},
                            {"probabilities", probs(t.probabilities)},
                            {"features_outside_training_range", t.features_outside},
                            {"features", p.statistic_features}});
    j["populations"].push_back(q);
  }
  j["verdict"] = {{"predicted", classes[static_cast<size_t>(predicted)]},
                  {"probabilities", probs(probabilities)},
                  {"populations", populations.size()}};
  j["warnings"] = warnings;
  return j;
}

std::string ClassifyReport::to_text(const RuleModel& m) const {
  std::ostringstream o;
  o << "model: " << m.observable_class << " statistics (" << m.statistics.size() << ") at " << m.points.size()
    << " points along learning, condition " << m.condition << ", cross-validated accuracy "
    << util::fixed(m.cv_accuracy.mean, 3);
  if (std::isfinite(m.cv_accuracy.sem)) o << " +- " << util::fixed(m.cv_accuracy.sem, 3);
  o << " (chance " << util::fixed(1.0 / static_cast<double>(classes.size()), 3) << ")\n\n";
  char line[256];
  std::snprintf(line, sizeof line, "%-24s %-8s %-10s", "population", "depth", "predicted");
  o << line;
  for (const auto& c : classes) {
    std::snprintf(line, sizeof line, " %7s", c.c_str());
    o << line;
  }
  o << "\n";
  auto row = [&](const std::string& name, const std::string& depth, int pred, const std::vector<double>& p) {
    std::snprintf(line, sizeof line, "%-24s %-8s %-10s", name.c_str(), depth.c_str(), classes[static_cast<size_t>(pred)].c_str());
    o << line;
    for (double v : p) {
      std::snprintf(line, sizeof line, " %7.3f", v);
      o << line;
    }
    o << "\n";
  };
  for (const auto& p : populations) row(p.name, p.depth, p.predicted, p.probabilities);
  o << "\n";
  row("combined (" + std::to_string(populations.size()) + " populations)", "", predicted, probabilities);
  o << "\nverdict: " << classes[static_cast<size_t>(predicted)] << " (mean probability "
    << util::fixed(probabilities[static_cast<size_t>(predicted)], 3) << " over " << populations.size()
    << " population" << (populations.size() == 1 ? "" : "s") << ")\n";
  for (const auto& w : warnings) o << "warning: " << w << "\n";
  return o.str();
}

}  // namespace lrid::analyze
