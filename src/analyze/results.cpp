// The analysis' tables and results.h5 (see include/lrid/analyze/results.hpp).
#include "lrid/analyze/results.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <set>

#include "lrid/analyze/execute.hpp"
#include "lrid/build_info.hpp"
#include "lrid/error.hpp"
#include "lrid/observe/conditions.hpp"
#include "lrid/store/campaign.hpp"
#include "lrid/store/h5.hpp"
#include "lrid/util/text.hpp"

namespace lrid::analyze {

using nlohmann::json;
namespace h5 = store::h5;

const char* verdict_name(Finding::Verdict v) {
  switch (v) {
    case Finding::Verdict::Reproduced: return "reproduced";
    case Finding::Verdict::NotReproduced: return "not reproduced";
    case Finding::Verdict::NotMeasured: return "not measured";
  }
  return "?";
}

const MainRow* Results::main_row(const std::string& cls, const std::string& clf) const {
  for (const auto& r : main)
    if (r.observable_class == cls && r.classifier == clf) return &r;
  return nullptr;
}

const MainRow* Results::networks_row(const std::string& cls, const std::string& clf) const {
  for (const auto& r : networks)
    if (r.observable_class == cls && r.classifier == clf) return &r;
  return nullptr;
}

const MeanSem* MeasurementTable::at(const std::string& condition, const std::string& cls) const {
  const auto ci = std::find(conditions.begin(), conditions.end(), condition);
  const auto ki = std::find(classes.begin(), classes.end(), cls);
  if (ci == conditions.end() || ki == classes.end()) return nullptr;
  return &accuracy[static_cast<size_t>(ci - conditions.begin()) * classes.size() + static_cast<size_t>(ki - classes.begin())];
}

json analysis_settings(const config::AnalysisSpec& a) {
  json j = {{"splits", a.splits},
            {"test_fraction", a.test_fraction},
            {"cv_folds", a.cv_folds},
            {"seed", a.seed},
            {"statistics", a.statistics},
            {"classifiers", a.classifiers},
            {"sweep_splits", a.sweep_splits},
            {"sweep_forest", {{"n_estimators", a.sweep_n_estimators}, {"max_features", a.sweep_max_features}}},
            {"random_draws", a.random_draws},
            {"sweeps", a.sweeps}};
  for (const auto& name : config::classifier_names()) j[name] = grid_lists(a, name);  // every classifier's grid
  return j;
}

namespace {

// numpy's default (linear) percentile of sorted values.
double percentile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return std::nan("");
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (pos - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

std::pair<double, double> mean_sd(const std::vector<double>& v) {
  if (v.empty()) return {std::nan(""), std::nan("")};
  double m = 0;
  for (double x : v) m += x;
  m /= static_cast<double>(v.size());
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return {m, v.size() > 1 ? std::sqrt(s / static_cast<double>(v.size() - 1)) : std::nan("")};
}

MainRow main_row(const Evaluation& e, const ProtocolResult& r, const FeatureSet& meta) {
  MainRow row;
  row.observable_class = e.observable_class;
  row.classifier = e.classifier.name;
  row.accuracy = r.summary.accuracy;
  row.balanced_accuracy = r.summary.balanced_accuracy;
  row.confusion = r.summary.confusion;
  row.dprime = r.summary.dprime;
  for (const auto& sp : r.splits) {
    row.accuracy_per_split.push_back(sp.metrics.accuracy);
    row.chosen_params.push_back(sp.params.dump());
    for (size_t i = 0; i < sp.test_rows.size(); ++i) {
      const uint32_t k = sp.test_rows[i];
      row.predictions.push_back({sp.split, meta.run[k], meta.layer[k], meta.y[k], sp.predicted[i]});
    }
    row.probabilities.insert(row.probabilities.end(), sp.probabilities.begin(), sp.probabilities.end());
  }
  return row;
}

// Per held-out value (consecutive groups of `replicates` splits): mean and s.e.m. over seeds.
Holdout holdout_table(const Evaluation& e, const ProtocolResult& r) {
  Holdout h;
  h.held_out = e.values;
  const size_t reps = static_cast<size_t>(std::max(1, e.replicates));
  std::vector<double> means;
  for (size_t v = 0; v < e.values.size(); ++v) {
    std::vector<double> acc;
    for (size_t k = 0; k < reps; ++k) acc.push_back(r.splits.at(v * reps + k).metrics.accuracy);
    h.accuracy.push_back(mean_sem(acc));
    means.push_back(h.accuracy.back().mean);
  }
  h.overall = mean_sem(means);
  return h;
}

MeasurementTable measurement_table(const std::vector<Evaluation>& plan, const std::vector<ProtocolResult>& results,
                                   const CampaignData& c) {
  MeasurementTable m;
  for (const auto& e : plan)
    if (e.sweep == "measurement" && std::find(m.classes.begin(), m.classes.end(), e.observable_class) == m.classes.end())
      m.classes.push_back(e.observable_class);
  if (m.classes.empty()) return m;
  for (const auto& k : c.conditions_meta) {
    m.conditions.push_back(k.name);
    m.fraction.push_back(k.fraction);
    m.noise.push_back(k.noise);
    m.units.push_back(k.units);
  }
  m.accuracy.assign(m.conditions.size() * m.classes.size(), MeanSem{std::nan(""), std::nan(""), 0});
  for (size_t i = 0; i < plan.size(); ++i) {
    const auto& e = plan[i];
    if (e.sweep != "measurement") continue;
    const size_t k = static_cast<size_t>(std::find(m.classes.begin(), m.classes.end(), e.observable_class) - m.classes.begin());
    m.accuracy[static_cast<size_t>(e.features.condition) * m.classes.size() + k] = results[i].summary.accuracy;
  }
  // What an experimenter would have recorded under each condition: units (act) and synapses
  // (weight) kept, medians over the done runs' layers.
  for (size_t ci = 0; ci < m.conditions.size(); ++ci) {
    m.act_units.push_back(median_kept(c, static_cast<int>(ci)));
    m.weight_entries.push_back(median_kept(c, static_cast<int>(ci), true));
  }
  return m;
}

}  // namespace

std::vector<SanityRow> sanity_table(const CampaignData& c, std::vector<FailedRun>& failed) {
  std::vector<SanityRow> rows;
  std::map<std::tuple<std::string, std::string, std::string>, size_t> index;
  std::vector<std::vector<double>> losses, metrics, chances;
  for (size_t r = 0; r < c.status.size(); ++r) {
    const auto key = std::make_tuple(c.rule[r], c.task[r], c.arch[r]);
    auto it = index.find(key);
    if (it == index.end()) {
      it = index.emplace(key, rows.size()).first;
      rows.push_back({c.rule[r], c.task[r], c.arch[r]});
      losses.emplace_back(), metrics.emplace_back(), chances.emplace_back();
    }
    SanityRow& row = rows[it->second];
    if (c.status[r] == store::kFailed) {
      ++row.failed;
      failed.push_back({c.run_id[r], c.key[r], c.error[r]});
    }
    if (c.status[r] != store::kDone) continue;
    ++row.done;
    losses[it->second].push_back(c.final_loss[r]);
    metrics[it->second].push_back(c.final_metric[r]);
    const double chance = c.metric_chance[r];
    chances[it->second].push_back(chance);
    if (std::isfinite(chance) && c.final_metric[r] < chance + kNearChanceShare * (1.0 - chance)) ++row.near_chance;
  }
  for (size_t i = 0; i < rows.size(); ++i) {
    std::tie(rows[i].final_loss_mean, rows[i].final_loss_sd) = mean_sd(losses[i]);
    std::tie(rows[i].final_metric_mean, rows[i].final_metric_sd) = mean_sd(metrics[i]);
    rows[i].chance = mean_sd(chances[i]).first;
  }
  // Rows in canonical rule order, then as the campaign lists tasks and architectures.
  const auto& order = config::rule_names();
  std::stable_sort(rows.begin(), rows.end(), [&](const SanityRow& a, const SanityRow& b) {
    return std::find(order.begin(), order.end(), a.rule) < std::find(order.begin(), order.end(), b.rule);
  });
  return rows;
}

Curves rule_curves(const CampaignData& c, const std::vector<std::string>& classes) {
  Curves k;
  k.rules = classes;
  k.points = c.points;
  const size_t T = static_cast<size_t>(c.points), L = static_cast<size_t>(c.layers), R = classes.size();
  auto rule_index = [&](size_t r) {
    return static_cast<size_t>(std::find(classes.begin(), classes.end(), c.rule[r]) - classes.begin());
  };
  // A few statistics of each observable class, relative to their value at initialisation.
  for (const char* name : {"weightsq_mean", "weightabs_median", "actsq_norm", "actraw_mean", "gradavgraw_id", "gradavgabs_id"}) {
    const auto it = std::find(c.statistic_names.begin(), c.statistic_names.end(), name);
    if (it == c.statistic_names.end()) continue;
    const int s = static_cast<int>(it - c.statistic_names.begin());
    std::vector<std::vector<std::vector<double>>> vals(R, std::vector<std::vector<double>>(T));
    for (size_t r = 0; r < c.status.size(); ++r) {
      if (c.status[r] != store::kDone || rule_index(r) >= R) continue;
      for (int32_t l = 0; l < c.layer_count[r]; ++l) {
        const double v0 = c.value(static_cast<int64_t>(r), l, 0, 0, s);
        if (!std::isfinite(v0) || v0 == 0) continue;
        for (size_t t = 0; t < T; ++t) {
          const double v = c.value(static_cast<int64_t>(r), l, 0, static_cast<int64_t>(t), s);
          if (std::isfinite(v)) vals[rule_index(r)][t].push_back(v / v0);
        }
      }
    }
    Band b;
    for (size_t ri = 0; ri < R; ++ri)
      for (size_t t = 0; t < T; ++t) {
        auto& v = vals[ri][t];
        std::sort(v.begin(), v.end());
        b.center.push_back(percentile(v, 0.5));
        b.low.push_back(percentile(v, 0.25));
        b.high.push_back(percentile(v, 0.75));
      }
    k.statistics[name] = b;
  }
  // Training loss per rule and task.
  for (size_t r = 0; r < c.status.size(); ++r)
    if (c.status[r] == store::kDone && std::find(k.loss_tasks.begin(), k.loss_tasks.end(), c.task[r]) == k.loss_tasks.end())
      k.loss_tasks.push_back(c.task[r]);
  const size_t K = k.loss_tasks.size();
  for (size_t ri = 0; ri < R; ++ri)
    for (size_t ti = 0; ti < K; ++ti)
      for (size_t t = 0; t < T; ++t) {
        std::vector<double> v;
        for (size_t r = 0; r < c.status.size(); ++r)
          if (c.status[r] == store::kDone && rule_index(r) == ri && c.task[r] == k.loss_tasks[ti] &&
              std::isfinite(c.loss[r * T + t]))
            v.push_back(c.loss[r * T + t]);
        const auto [m, sd] = mean_sd(v);
        k.loss_mean.push_back(m);
        k.loss_sd.push_back(sd);
      }
  // The learning-rule diagnostics per rule, over every layer of every done run.
  auto band = [&](const std::vector<float>& diag) {
    Band b;
    for (size_t ri = 0; ri < R; ++ri)
      for (size_t t = 0; t < T; ++t) {
        std::vector<double> v;
        for (size_t r = 0; r < c.status.size(); ++r) {
          if (c.status[r] != store::kDone || rule_index(r) != ri) continue;
          for (int32_t l = 0; l < c.layer_count[r]; ++l) {
            const float x = diag[(r * L + static_cast<size_t>(l)) * T + t];
            if (std::isfinite(x)) v.push_back(x);
          }
        }
        const auto [m, sd] = mean_sd(v);
        b.center.push_back(m);
        b.low.push_back(m - (std::isfinite(sd) ? sd : 0));
        b.high.push_back(m + (std::isfinite(sd) ? sd : 0));
      }
    return b;
  };
  k.wb_angle = band(c.wb_angle);
  k.grad_angle = band(c.grad_angle);
  return k;
}

void average_linkage(const std::vector<double>& d, size_t R, Identifiability& out) {
  out.left.clear(), out.right.clear(), out.height.clear(), out.order.clear();
  if (R == 0) return;
  // Active clusters: id, members; distances between clusters as the mean of member distances.
  std::vector<int64_t> id(R);
  std::vector<std::vector<int64_t>> members(R);
  for (size_t i = 0; i < R; ++i) id[i] = static_cast<int64_t>(i), members[i] = {static_cast<int64_t>(i)};
  auto dist = [&](const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
    double s = 0;
    for (auto x : a)
      for (auto y : b) s += d[static_cast<size_t>(x) * R + static_cast<size_t>(y)];
    return s / static_cast<double>(a.size() * b.size());
  };
  std::map<int64_t, std::vector<int64_t>> leaves;  // cluster id -> leaves in plot order
  for (size_t i = 0; i < R; ++i) leaves[static_cast<int64_t>(i)] = {static_cast<int64_t>(i)};
  int64_t next = static_cast<int64_t>(R);
  while (id.size() > 1) {
    size_t bi = 0, bj = 1;
    double best = std::numeric_limits<double>::infinity();
    for (size_t i = 0; i < id.size(); ++i)
      for (size_t j = i + 1; j < id.size(); ++j) {
        const double x = dist(members[i], members[j]);
        if (x < best) best = x, bi = i, bj = j;  // ties: the first pair (deterministic)
      }
    out.left.push_back(id[bi]);
    out.right.push_back(id[bj]);
    out.height.push_back(best);
    auto l = leaves[id[bi]];
    const auto& rr = leaves[id[bj]];
    l.insert(l.end(), rr.begin(), rr.end());
    leaves[next] = l;
    members[bi].insert(members[bi].end(), members[bj].begin(), members[bj].end());
    id[bi] = next++;
    id.erase(id.begin() + static_cast<std::ptrdiff_t>(bj));
    members.erase(members.begin() + static_cast<std::ptrdiff_t>(bj));
  }
  out.order = leaves[id[0]];
}

namespace {

// The pairwise matrices of the identifiability sweep, and their dendrogram.
Identifiability identifiability_table(const std::vector<Evaluation>& plan, const std::vector<ProtocolResult>& results,
                                      const CampaignData& c, const std::vector<std::string>& rules) {
  Identifiability t;
  for (const auto& e : plan) {
    if (e.sweep != "identifiability") continue;
    const std::string cond = c.conditions_meta[static_cast<size_t>(e.features.condition)].name;
    if (Identifiability::index(t.conditions, cond) == t.conditions.size()) t.conditions.push_back(cond);
    if (Identifiability::index(t.classes, e.observable_class) == t.classes.size()) t.classes.push_back(e.observable_class);
  }
  if (t.conditions.empty()) return t;
  t.rules = rules;
  t.splits = {"samples", "networks"};
  const size_t R = rules.size();
  const MeanSem none{std::nan(""), std::nan(""), 0};
  t.accuracy.assign(t.conditions.size() * t.splits.size() * t.classes.size() * R * R, none);
  for (size_t i = 0; i < plan.size(); ++i) {
    const Evaluation& e = plan[i];
    if (e.sweep != "identifiability") continue;
    const size_t k = Identifiability::index(t.conditions, c.conditions_meta[static_cast<size_t>(e.features.condition)].name);
    const size_t s = e.options.grouped ? 1 : 0;
    const size_t o = Identifiability::index(t.classes, e.observable_class);
    const size_t a = Identifiability::index(t.rules, e.rules[0]), b = Identifiability::index(t.rules, e.rules[1]);
    const size_t base = ((k * t.splits.size() + s) * t.classes.size() + o) * R * R;
    t.accuracy[base + a * R + b] = t.accuracy[base + b * R + a] = results[i].summary.accuracy;
  }
  // The dendrogram: all statistics (else the first class), ideal condition, networks held out.
  const size_t o = Identifiability::index(t.classes, "all") < t.classes.size() ? Identifiability::index(t.classes, "all") : 0;
  t.distance = "max(0, 2 accuracy - 1) of the pairwise forest, " + t.classes[o] + " statistics, condition " +
               t.conditions[0] + ", whole networks held out";
  std::vector<double> d(R * R, 0.0);
  for (size_t a = 0; a < R; ++a)
    for (size_t b = 0; b < R; ++b)
      if (a != b) {
        const double acc = t.at(0, 1, o, a, b).mean;
        d[a * R + b] = std::isfinite(acc) ? std::max(0.0, 2 * acc - 1) : 1.0;
      }
  average_linkage(d, R, t);
  return t;
}

}  // namespace

Results collect_results(const std::vector<Evaluation>& plan, const std::vector<ProtocolResult>& results,
                        const CampaignData& c, const config::AnalysisSpec& spec, const std::vector<int>& selected,
                        std::vector<std::string> policy_differences) {
  Results out;
  out.campaign = c.path;
  out.job_name = c.job_name;
  out.job_hash = c.job_hash;
  out.lrid_version = kVersion;
  out.settings = analysis_settings(spec);
  out.classes = rule_classes(c);
  out.points = c.points;
  out.runs = c.runs;
  for (auto s : c.status) out.done_runs += s == store::kDone;
  for (int s : selected) out.statistics.push_back(c.statistic_names[static_cast<size_t>(s)]);
  const FeatureSet meta = build_features(c, main_features(selected));
  out.samples = static_cast<int64_t>(meta.n);
  out.dropped_statistics = meta.dropped_statistics;
  out.policy_differences = std::move(policy_differences);

  for (size_t i = 0; i < plan.size(); ++i) {
    const Evaluation& e = plan[i];
    const ProtocolResult& r = results[i];
    if (e.sweep == "main") {
      out.main.push_back(main_row(e, r, meta));
      if (e.observable_class == "all" && e.classifier.name == "random_forest" && !r.importances.empty()) {
        const auto names = evaluation_features(e, c).feature_names;
        std::vector<size_t> idx(r.importances.size());
        std::iota(idx.begin(), idx.end(), 0);
        std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return r.importances[a] > r.importances[b]; });
        idx.resize(std::min<size_t>(idx.size(), 20));
        for (auto k : idx) out.importance_feature.push_back(names[k]), out.importance.push_back(r.importances[k]);
      }
    } else if (e.sweep == "holdout" && e.splits != SplitKind::Transfer) {
      out.holdout[e.label] = holdout_table(e, r);
    } else if (e.sweep == "holdout") {
      out.transfer.tasks = e.values;
      const size_t n = e.values.size(), reps = static_cast<size_t>(std::max(1, e.replicates));
      for (size_t cell = 0; cell < n * n; ++cell) {
        std::vector<double> acc;
        for (size_t k = 0; k < reps; ++k) acc.push_back(r.splits.at(cell * reps + k).metrics.accuracy);
        out.transfer.accuracy.push_back(mean_sem(acc));
      }
    } else if (e.sweep == "trajectory") {
      out.trajectory.push_back({e.trajectory_kind, e.k, e.position, r.summary.accuracy});
    } else if (e.sweep == "networks") {
      out.networks.push_back(main_row(e, r, evaluation_features(e, c)));
    } else if (e.sweep == "permutation") {
      out.permutation_run = true;
      for (const auto& sp : r.splits) out.permutation_per_split.push_back(sp.metrics.accuracy);
      out.permutation = mean_sem(out.permutation_per_split);
    }
  }
  out.identifiability = identifiability_table(plan, results, c, out.classes);
  out.measurement = measurement_table(plan, results, c);
  out.sanity = sanity_table(c, out.failed);
  out.curves = rule_curves(c, out.classes);
  return out;
}

// ---------------------------------------------------------------------------------------------
// results.h5

namespace {

std::vector<double> means(const std::vector<MeanSem>& v) {
  std::vector<double> o;
  for (const auto& x : v) o.push_back(x.mean);
  return o;
}
std::vector<double> sems(const std::vector<MeanSem>& v) {
  std::vector<double> o;
  for (const auto& x : v) o.push_back(x.sem);
  return o;
}
std::vector<MeanSem> zip(const std::vector<double>& m, const std::vector<double>& s) {
  std::vector<MeanSem> o;
  for (size_t i = 0; i < m.size(); ++i) o.push_back({m[i], i < s.size() ? s[i] : std::nan(""), 0});
  return o;
}
void write_double_attr(hid_t loc, const std::string& path, const std::string& name, double v) {
  h5::Id obj(h5::check(H5Oopen(loc, path.c_str(), H5P_DEFAULT), "open " + path));
  h5::write_doubles_attr(obj, name, {v});
}
double read_double_attr(hid_t loc, const std::string& path, const std::string& name) {
  h5::Id obj(h5::check(H5Oopen(loc, path.c_str(), H5P_DEFAULT), "open " + path));
  const auto v = h5::read_doubles_attr(obj, name);
  return v.empty() ? std::nan("") : v[0];
}

// Root attributes (format, version, campaign, settings, counts) and /classes.
void write_attributes(hid_t f, const Results& r) {
  h5::write_header(f, {kResultsFormat, r.lrid_version, "", r.job_name, r.job_hash, r.campaign});
  h5::write_string_attr(f, "settings", r.settings.dump());
  h5::write_int_attr(f, "samples", r.samples);
  h5::write_int_attr(f, "ranks", r.ranks);
  h5::write_int_attr(f, "runs", r.runs);
  h5::write_int_attr(f, "done_runs", r.done_runs);
  h5::write_int_attr(f, "points", r.points);
  h5::write_int_attr(f, "fits", r.fits);
  h5::write_doubles_attr(f, "seconds", {r.seconds});
  h5::write_strings_attr(f, "statistics", r.statistics);
  h5::write_strings_attr(f, "dropped_statistics", r.dropped_statistics);
  h5::write_strings_attr(f, "policy_differences", r.policy_differences);
  h5::write_strings(f, "/classes", r.classes);
  // Each rule's plot colour, from its definition (config/rules.hpp); "" for a class lrid does not
  // know (tools/plot_results.py then takes matplotlib's next colour).
  std::vector<std::string> colors;
  for (const auto& c : r.classes) {
    const config::RuleDef* def = config::find_rule(c);
    colors.push_back(def ? def->color : "");
  }
  h5::Id classes(h5::check(H5Oopen(f, "/classes", H5P_DEFAULT), "open /classes"));
  h5::write_strings_attr(classes, "colors", colors);
}

// /main: per observable class x classifier the accuracy, confusion, d', per-split accuracy and
// per-sample predictions (with the rules as dimension scales).
void write_main(hid_t f, const Results& r, const std::vector<MainRow>& rows, const std::string& root) {
  const hsize_t C = r.classes.size();
  if (!rows.empty()) {
    std::vector<std::string> label, cls, clf, params;
    std::vector<MeanSem> acc, bal;
    for (const auto& m : rows) {
      label.push_back(m.label());
      cls.push_back(m.observable_class);
      clf.push_back(m.classifier);
      params.push_back(json(m.chosen_params).dump());
      acc.push_back(m.accuracy);
      bal.push_back(m.balanced_accuracy);
      const std::string g = root + "/" + m.observable_class + "_" + m.classifier;
      h5::write_doubles(f, g + "/confusion_mean", means(m.confusion), {C, C});
      h5::write_doubles(f, g + "/confusion_sem", sems(m.confusion), {C, C});
      for (const char* d : {"/confusion_mean", "/confusion_sem"}) {
        h5::attach_scale(f, g + d, "/classes", 0, "rule");
        h5::attach_scale(f, g + d, "/classes", 1, "rule");
      }
      h5::write_doubles(f, g + "/dprime_mean", means(m.dprime));
      h5::write_doubles(f, g + "/dprime_sem", sems(m.dprime));
      h5::write_doubles(f, g + "/accuracy_per_split", m.accuracy_per_split);
      std::vector<int64_t> split, run, layer, truth, pred;
      for (const auto& p : m.predictions)
        split.push_back(p.split), run.push_back(p.run), layer.push_back(p.layer), truth.push_back(p.truth),
            pred.push_back(p.predicted);
      h5::write_int64s(f, g + "/predictions/split", split);
      h5::write_int64s(f, g + "/predictions/run", run);
      h5::write_int64s(f, g + "/predictions/layer", layer);
      h5::write_int64s(f, g + "/predictions/true", truth);
      h5::write_int64s(f, g + "/predictions/predicted", pred);
      h5::write_doubles(f, g + "/predictions/probability", m.probabilities, {m.predictions.size(), C});
    }
    h5::write_strings(f, root + "/label", label);
    h5::write_strings(f, root + "/observable_class", cls);
    h5::write_strings(f, root + "/classifier", clf);
    h5::write_strings(f, root + "/chosen_params", params);
    h5::write_doubles(f, root + "/accuracy_mean", means(acc));
    h5::write_doubles(f, root + "/accuracy_sem", sems(acc));
    h5::write_doubles(f, root + "/balanced_accuracy_mean", means(bal));
    h5::write_doubles(f, root + "/balanced_accuracy_sem", sems(bal));
  }
}

// /identifiability: the pairwise matrices and the dendrogram.
void write_identifiability(hid_t f, const Results& r) {
  const Identifiability& t = r.identifiability;
  if (t.empty()) return;
  const hsize_t K = t.conditions.size(), S = t.splits.size(), O = t.classes.size(), R = t.rules.size();
  h5::write_strings(f, "/identifiability/rules", t.rules);
  h5::write_strings(f, "/identifiability/observable_class", t.classes);
  h5::write_strings(f, "/identifiability/condition", t.conditions);
  h5::write_strings(f, "/identifiability/split", t.splits);
  h5::write_doubles(f, "/identifiability/accuracy_mean", means(t.accuracy), {K, S, O, R, R});
  h5::write_doubles(f, "/identifiability/accuracy_sem", sems(t.accuracy), {K, S, O, R, R});
  for (const char* d : {"/identifiability/accuracy_mean", "/identifiability/accuracy_sem"}) {
    h5::attach_scale(f, d, "/identifiability/condition", 0, "condition");
    h5::attach_scale(f, d, "/identifiability/split", 1, "split");
    h5::attach_scale(f, d, "/identifiability/observable_class", 2, "observable_class");
    h5::attach_scale(f, d, "/identifiability/rules", 3, "rule");
    h5::attach_scale(f, d, "/identifiability/rules", 4, "rule");
  }
  h5::write_int64s(f, "/identifiability/dendrogram/left", t.left);
  h5::write_int64s(f, "/identifiability/dendrogram/right", t.right);
  h5::write_doubles(f, "/identifiability/dendrogram/height", t.height);
  h5::write_int64s(f, "/identifiability/dendrogram/order", t.order);
  h5::write_string_attr(f, "/identifiability/dendrogram", "distance", t.distance);
}

// /holdout: held-out architectures and tasks, and the task-to-task transfer matrix.
void write_holdout(hid_t f, const Results& r) {
  for (const auto& [kind, h] : r.holdout) {
    const std::string g = "/holdout/" + kind;
    h5::write_strings(f, g + "/held_out", h.held_out);
    h5::write_doubles(f, g + "/accuracy_mean", means(h.accuracy));
    h5::write_doubles(f, g + "/accuracy_sem", sems(h.accuracy));
    write_double_attr(f, g, "mean", h.overall.mean);
    write_double_attr(f, g, "sem", h.overall.sem);
  }
  if (!r.transfer.tasks.empty()) {
    const hsize_t n = r.transfer.tasks.size();
    h5::write_strings(f, "/holdout/transfer/tasks", r.transfer.tasks);
    h5::write_doubles(f, "/holdout/transfer/accuracy_mean", means(r.transfer.accuracy), {n, n});
    h5::write_doubles(f, "/holdout/transfer/accuracy_sem", sems(r.transfer.accuracy), {n, n});
  }
}

// /trajectory: accuracy with k trajectory points, per sampling kind (window, spread, random).
void write_trajectory(hid_t f, const Results& r) {
  for (const char* kind : {"window", "spread", "random"}) {
    std::vector<int64_t> k, pos;
    std::vector<MeanSem> acc;
    for (const auto& t : r.trajectory)
      if (t.kind == kind) k.push_back(t.k), pos.push_back(t.position), acc.push_back(t.accuracy);
    if (k.empty()) continue;
    const std::string g = std::string("/trajectory/") + kind;
    h5::write_int64s(f, g + "/k", k);
    h5::write_int64s(f, g + "/position", pos);
    h5::write_doubles(f, g + "/accuracy_mean", means(acc));
    h5::write_doubles(f, g + "/accuracy_sem", sems(acc));
  }
}

// /measurement: accuracy per measurement condition x observable class.
void write_measurement(hid_t f, const Results& r) {
  if (!r.measurement.classes.empty()) {
    const auto& m = r.measurement;
    h5::write_strings(f, "/measurement/condition", m.conditions);
    h5::write_doubles(f, "/measurement/fraction", m.fraction);
    h5::write_doubles(f, "/measurement/noise", m.noise);
    h5::write_int64s(f, "/measurement/units", m.units);
    h5::write_doubles(f, "/measurement/act_units", m.act_units);
    h5::write_doubles(f, "/measurement/weight_entries", m.weight_entries);
    h5::write_strings(f, "/measurement/observable_class", m.classes);
    const hsize_t nc = m.conditions.size(), no = m.classes.size();
    h5::write_doubles(f, "/measurement/accuracy_mean", means(m.accuracy), {nc, no});
    h5::write_doubles(f, "/measurement/accuracy_sem", sems(m.accuracy), {nc, no});
    for (const char* d : {"/measurement/accuracy_mean", "/measurement/accuracy_sem"}) {
      h5::attach_scale(f, d, "/measurement/condition", 0, "condition");
      h5::attach_scale(f, d, "/measurement/observable_class", 1, "observable_class");
    }
  }
}

// /importance (the forest's top features) and /permutation (the shuffled-label control).
void write_importance_and_permutation(hid_t f, const Results& r) {
  if (!r.importance.empty()) {
    h5::write_strings(f, "/importance/feature", r.importance_feature);
    h5::write_doubles(f, "/importance/importance", r.importance);
  }
  if (r.permutation_run) {
    h5::write_doubles(f, "/permutation/accuracy_per_split", r.permutation_per_split);
    write_double_attr(f, "/permutation", "accuracy_mean", r.permutation.mean);
    write_double_attr(f, "/permutation", "accuracy_sem", r.permutation.sem);
    write_double_attr(f, "/permutation", "chance", r.classes.empty() ? std::nan("") : 1.0 / static_cast<double>(r.classes.size()));
  }
}

// /sanity: final loss and metric per rule x task x architecture; the failed runs.
void write_sanity(hid_t f, const Results& r) {
  {
    std::vector<std::string> rule, task, arch;
    std::vector<int64_t> done, failed, near;
    std::vector<double> lm, ls, mm, ms, ch;
    for (const auto& s : r.sanity) {
      rule.push_back(s.rule), task.push_back(s.task), arch.push_back(s.arch);
      done.push_back(s.done), failed.push_back(s.failed), near.push_back(s.near_chance);
      lm.push_back(s.final_loss_mean), ls.push_back(s.final_loss_sd), mm.push_back(s.final_metric_mean),
          ms.push_back(s.final_metric_sd), ch.push_back(s.chance);
    }
    h5::write_strings(f, "/sanity/rule", rule);
    h5::write_strings(f, "/sanity/task", task);
    h5::write_strings(f, "/sanity/architecture", arch);
    h5::write_int64s(f, "/sanity/done", done);
    h5::write_int64s(f, "/sanity/failed", failed);
    h5::write_int64s(f, "/sanity/near_chance", near);
    h5::write_doubles(f, "/sanity/final_loss_mean", lm);
    h5::write_doubles(f, "/sanity/final_loss_sd", ls);
    h5::write_doubles(f, "/sanity/final_metric_mean", mm);
    h5::write_doubles(f, "/sanity/final_metric_sd", ms);
    h5::write_doubles(f, "/sanity/chance", ch);
    std::vector<int64_t> run;
    std::vector<std::string> key, err;
    for (const auto& x : r.failed) run.push_back(x.run), key.push_back(x.key), err.push_back(x.error);
    h5::write_int64s(f, "/sanity/failed_runs/run", run);
    h5::write_strings(f, "/sanity/failed_runs/key", key);
    h5::write_strings(f, "/sanity/failed_runs/error", err);
  }
}

// /curves: the observable trajectories and training curves per rule (Figure 1).
void write_curves(hid_t f, const Results& r) {
  {
    const auto& k = r.curves;
    const hsize_t R = k.rules.size(), T = static_cast<hsize_t>(k.points), K = k.loss_tasks.size();
    h5::write_strings(f, "/curves/rule", k.rules);
    std::vector<int64_t> pts(T);
    std::iota(pts.begin(), pts.end(), 0);
    h5::write_int64s(f, "/curves/point", pts);
    for (const auto& [name, b] : k.statistics) {
      const std::string g = "/curves/statistic/" + name;
      h5::write_doubles(f, g + "/median", b.center, {R, T});
      h5::write_doubles(f, g + "/q25", b.low, {R, T});
      h5::write_doubles(f, g + "/q75", b.high, {R, T});
    }
    h5::write_strings(f, "/curves/loss/task", k.loss_tasks);
    h5::write_doubles(f, "/curves/loss/mean", k.loss_mean, {R, K, T});
    h5::write_doubles(f, "/curves/loss/sd", k.loss_sd, {R, K, T});
    for (const auto& [name, b] : {std::make_pair("wb_angle", &k.wb_angle), std::make_pair("grad_angle", &k.grad_angle)}) {
      std::vector<double> sd;
      for (size_t i = 0; i < b->center.size(); ++i) sd.push_back(b->high[i] - b->center[i]);
      h5::write_doubles(f, std::string("/curves/") + name + "/mean", b->center, {R, T});
      h5::write_doubles(f, std::string("/curves/") + name + "/sd", sd, {R, T});
    }
  }
}

// /findings: each finding's verdict, evidence and criterion.
void write_findings(hid_t f, const Results& r) {
  {
    std::vector<int64_t> num;
    std::vector<std::string> title, verdict, evidence, criterion;
    for (const auto& x : r.findings)
      num.push_back(x.number), title.push_back(x.title), verdict.push_back(verdict_name(x.verdict)),
          evidence.push_back(x.evidence), criterion.push_back(x.criterion);
    h5::write_int64s(f, "/findings/number", num);
    h5::write_strings(f, "/findings/title", title);
    h5::write_strings(f, "/findings/verdict", verdict);
    h5::write_strings(f, "/findings/evidence", evidence);
    h5::write_strings(f, "/findings/criterion", criterion);
  }
}

}  // namespace

void write_results(const Results& r, const std::string& path) {
  h5::write_new_file(path, "results file", [&](hid_t f) {
    write_attributes(f, r);
    write_main(f, r, r.main, "/main");
    write_main(f, r, r.networks, "/networks");
    write_identifiability(f, r);
    write_holdout(f, r);
    write_trajectory(f, r);
    write_measurement(f, r);
    write_importance_and_permutation(f, r);
    write_sanity(f, r);
    write_curves(f, r);
    write_findings(f, r);
  });
}

namespace {

// The readers of the sections write_results writes (the same order, the same paths).
// Root attributes and /classes.
void read_attributes(hid_t f, Results& r) {
  r.campaign = h5::read_string_attr(f, "campaign");
  r.job_name = h5::read_string_attr(f, "job_name");
  r.job_hash = h5::read_string_attr(f, "job_hash");
  r.lrid_version = h5::read_string_attr(f, "lrid_version");
  r.settings = json::parse(h5::read_string_attr(f, "settings"));
  r.samples = h5::read_int_attr(f, "samples");
  r.ranks = h5::read_int_attr(f, "ranks");
  r.runs = h5::read_int_attr(f, "runs");
  r.done_runs = h5::read_int_attr(f, "done_runs");
  r.points = h5::read_int_attr(f, "points");
  r.fits = h5::read_int_attr(f, "fits");
  r.statistics = h5::read_strings_attr(f, "statistics");
  r.dropped_statistics = h5::read_strings_attr(f, "dropped_statistics");
  r.policy_differences = h5::read_strings_attr(f, "policy_differences");
  r.classes = h5::read_strings(f, "/classes");
}

void read_main(hid_t f, std::vector<MainRow>& rows, const std::string& root) {
  if (h5::is_dataset(f, root + "/label")) {
    const auto cls = h5::read_strings(f, root + "/observable_class"), clf = h5::read_strings(f, root + "/classifier");
    const auto am = h5::read_doubles(f, root + "/accuracy_mean"), as = h5::read_doubles(f, root + "/accuracy_sem");
    const auto bm = h5::read_doubles(f, root + "/balanced_accuracy_mean"), bs = h5::read_doubles(f, root + "/balanced_accuracy_sem");
    for (size_t i = 0; i < cls.size(); ++i) {
      MainRow m;
      m.observable_class = cls[i];
      m.classifier = clf[i];
      m.accuracy = {am[i], as[i], 0};
      m.balanced_accuracy = {bm[i], bs[i], 0};
      const std::string g = root + "/" + cls[i] + "_" + clf[i];
      m.confusion = zip(h5::read_doubles(f, g + "/confusion_mean"), h5::read_doubles(f, g + "/confusion_sem"));
      m.dprime = zip(h5::read_doubles(f, g + "/dprime_mean"), h5::read_doubles(f, g + "/dprime_sem"));
      m.accuracy_per_split = h5::read_doubles(f, g + "/accuracy_per_split");
      const auto split = h5::read_int64s(f, g + "/predictions/split"), run = h5::read_int64s(f, g + "/predictions/run");
      const auto layer = h5::read_int64s(f, g + "/predictions/layer"), truth = h5::read_int64s(f, g + "/predictions/true");
      const auto pred = h5::read_int64s(f, g + "/predictions/predicted");
      for (size_t k = 0; k < split.size(); ++k)
        m.predictions.push_back({static_cast<int>(split[k]), run[k], static_cast<int32_t>(layer[k]),
                                 static_cast<int32_t>(truth[k]), static_cast<int32_t>(pred[k])});
      m.probabilities = h5::read_doubles(f, g + "/predictions/probability");
      rows.push_back(std::move(m));
    }
  }
}

void read_identifiability(hid_t f, Results& r) {
  if (!h5::is_dataset(f, "/identifiability/rules")) return;
  Identifiability& t = r.identifiability;
  t.rules = h5::read_strings(f, "/identifiability/rules");
  t.classes = h5::read_strings(f, "/identifiability/observable_class");
  t.conditions = h5::read_strings(f, "/identifiability/condition");
  t.splits = h5::read_strings(f, "/identifiability/split");
  t.accuracy = zip(h5::read_doubles(f, "/identifiability/accuracy_mean"), h5::read_doubles(f, "/identifiability/accuracy_sem"));
  t.left = h5::read_int64s(f, "/identifiability/dendrogram/left");
  t.right = h5::read_int64s(f, "/identifiability/dendrogram/right");
  t.height = h5::read_doubles(f, "/identifiability/dendrogram/height");
  t.order = h5::read_int64s(f, "/identifiability/dendrogram/order");
  h5::Id g(h5::check(H5Oopen(f, "/identifiability/dendrogram", H5P_DEFAULT), "open /identifiability/dendrogram"));
  t.distance = h5::read_string_attr(g, "distance");
}

void read_holdout(hid_t f, Results& r) {
  for (const char* kind : {"architecture", "task"}) {
    const std::string g = std::string("/holdout/") + kind;
    if (!h5::is_dataset(f, g + "/held_out")) continue;
    Holdout h;
    h.held_out = h5::read_strings(f, g + "/held_out");
    h.accuracy = zip(h5::read_doubles(f, g + "/accuracy_mean"), h5::read_doubles(f, g + "/accuracy_sem"));
    h.overall = {read_double_attr(f, g, "mean"), read_double_attr(f, g, "sem"), h.held_out.size()};
    r.holdout[kind] = h;
  }
  if (h5::is_dataset(f, "/holdout/transfer/tasks")) {
    r.transfer.tasks = h5::read_strings(f, "/holdout/transfer/tasks");
    r.transfer.accuracy = zip(h5::read_doubles(f, "/holdout/transfer/accuracy_mean"),
                              h5::read_doubles(f, "/holdout/transfer/accuracy_sem"));
  }
}

void read_trajectory(hid_t f, Results& r) {
  for (const char* kind : {"window", "spread", "random"}) {
    const std::string g = std::string("/trajectory/") + kind;
    if (!h5::is_dataset(f, g + "/k")) continue;
    const auto k = h5::read_int64s(f, g + "/k"), pos = h5::read_int64s(f, g + "/position");
    const auto m = h5::read_doubles(f, g + "/accuracy_mean"), s = h5::read_doubles(f, g + "/accuracy_sem");
    for (size_t i = 0; i < k.size(); ++i) r.trajectory.push_back({kind, static_cast<int>(k[i]), static_cast<int>(pos[i]), {m[i], s[i], 0}});
  }
}

void read_measurement(hid_t f, Results& r) {
  if (h5::is_dataset(f, "/measurement/condition")) {
    auto& m = r.measurement;
    m.conditions = h5::read_strings(f, "/measurement/condition");
    m.fraction = h5::read_doubles(f, "/measurement/fraction");
    m.noise = h5::read_doubles(f, "/measurement/noise");
    m.units = h5::read_int64s(f, "/measurement/units");
    m.act_units = h5::read_doubles(f, "/measurement/act_units");
    m.weight_entries = h5::read_doubles(f, "/measurement/weight_entries");
    m.classes = h5::read_strings(f, "/measurement/observable_class");
    m.accuracy = zip(h5::read_doubles(f, "/measurement/accuracy_mean"), h5::read_doubles(f, "/measurement/accuracy_sem"));
  }
}

void read_importance_and_permutation(hid_t f, Results& r) {
  if (h5::is_dataset(f, "/importance/feature")) {
    r.importance_feature = h5::read_strings(f, "/importance/feature");
    r.importance = h5::read_doubles(f, "/importance/importance");
  }
  if (h5::is_dataset(f, "/permutation/accuracy_per_split")) {
    r.permutation_run = true;
    r.permutation_per_split = h5::read_doubles(f, "/permutation/accuracy_per_split");
    r.permutation = {read_double_attr(f, "/permutation", "accuracy_mean"), read_double_attr(f, "/permutation", "accuracy_sem"),
                     r.permutation_per_split.size()};
  }
}

void read_sanity(hid_t f, Results& r) {
  {
    const auto rule = h5::read_strings(f, "/sanity/rule"), task = h5::read_strings(f, "/sanity/task"),
               arch = h5::read_strings(f, "/sanity/architecture");
    const auto done = h5::read_int64s(f, "/sanity/done"), failed = h5::read_int64s(f, "/sanity/failed"),
               near = h5::read_int64s(f, "/sanity/near_chance");
    const auto lm = h5::read_doubles(f, "/sanity/final_loss_mean"), ls = h5::read_doubles(f, "/sanity/final_loss_sd"),
               mm = h5::read_doubles(f, "/sanity/final_metric_mean"), ms = h5::read_doubles(f, "/sanity/final_metric_sd"),
               ch = h5::read_doubles(f, "/sanity/chance");
    for (size_t i = 0; i < rule.size(); ++i)
      r.sanity.push_back({rule[i], task[i], arch[i], done[i], failed[i], near[i], lm[i], ls[i], mm[i], ms[i], ch[i]});
    const auto run = h5::read_int64s(f, "/sanity/failed_runs/run");
    const auto key = h5::read_strings(f, "/sanity/failed_runs/key"), err = h5::read_strings(f, "/sanity/failed_runs/error");
    for (size_t i = 0; i < run.size(); ++i) r.failed.push_back({run[i], key[i], err[i]});
  }
}

void read_curves(hid_t f, Results& r) {
  {
    auto& k = r.curves;
    k.rules = h5::read_strings(f, "/curves/rule");
    k.points = static_cast<int64_t>(h5::read_int64s(f, "/curves/point").size());
    k.loss_tasks = h5::read_strings(f, "/curves/loss/task");
    k.loss_mean = h5::read_doubles(f, "/curves/loss/mean");
    k.loss_sd = h5::read_doubles(f, "/curves/loss/sd");
    for (const char* name : {"weightsq_mean", "weightabs_median", "actsq_norm", "actraw_mean", "gradavgraw_id", "gradavgabs_id"}) {
      const std::string g = std::string("/curves/statistic/") + name;
      if (!h5::is_dataset(f, g + "/median")) continue;
      k.statistics[name] = {h5::read_doubles(f, g + "/median"), h5::read_doubles(f, g + "/q25"), h5::read_doubles(f, g + "/q75")};
    }
    for (auto [name, b] : {std::make_pair("wb_angle", &k.wb_angle), std::make_pair("grad_angle", &k.grad_angle)}) {
      b->center = h5::read_doubles(f, std::string("/curves/") + name + "/mean");
      const auto sd = h5::read_doubles(f, std::string("/curves/") + name + "/sd");
      for (size_t i = 0; i < sd.size(); ++i) b->low.push_back(b->center[i] - sd[i]), b->high.push_back(b->center[i] + sd[i]);
    }
  }
}

void read_findings(hid_t f, Results& r) {
  {
    const auto num = h5::read_int64s(f, "/findings/number");
    const auto title = h5::read_strings(f, "/findings/title"), verdict = h5::read_strings(f, "/findings/verdict"),
               evidence = h5::read_strings(f, "/findings/evidence"), criterion = h5::read_strings(f, "/findings/criterion");
    for (size_t i = 0; i < num.size(); ++i) {
      Finding x;
      x.number = static_cast<int>(num[i]);
      x.title = title[i];
      x.evidence = evidence[i];
      x.criterion = criterion[i];
      x.verdict = verdict[i] == "reproduced" ? Finding::Verdict::Reproduced
                  : verdict[i] == "not reproduced" ? Finding::Verdict::NotReproduced
                                                   : Finding::Verdict::NotMeasured;
      r.findings.push_back(x);
    }
  }
}

}  // namespace

Results read_results(const std::string& path) {
  h5::Id f = h5::open_file(path, "results file");
  if (!h5::has_attr(f, "format") || h5::read_string_attr(f, "format") != kResultsFormat)
    throw BadInput(path + ": not an lrid results file of format " + std::string(kResultsFormat) +
                   (h5::has_attr(f, "format") ? " (it is '" + h5::read_string_attr(f, "format") + "')" : ""));
  Results r;
  read_attributes(f, r);
  read_main(f, r.main, "/main");
  read_main(f, r.networks, "/networks");
  read_identifiability(f, r);
  read_holdout(f, r);
  read_trajectory(f, r);
  read_measurement(f, r);
  read_importance_and_permutation(f, r);
  read_sanity(f, r);
  read_curves(f, r);
  read_findings(f, r);
  return r;
}

}  // namespace lrid::analyze
