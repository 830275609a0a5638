// The analysis plan: one planner per sweep (see include/lrid/analyze/plan.hpp).
#include "lrid/analyze/plan.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <tuple>

#include "lrid/analyze/classifiers.hpp"
#include "lrid/error.hpp"
#include "lrid/observe/conditions.hpp"
#include "lrid/rng.hpp"
#include "lrid/store/campaign.hpp"
#include "lrid/util/text.hpp"

namespace lrid::analyze {

using nlohmann::json;

namespace {

std::string stat_class(const std::string& name) {
  for (const char* m : {"weight", "act", "gradavg"})
    if (name.rfind(m, 0) == 0) return m;
  return "";
}


ClassifierSpec sweep_forest(const config::AnalysisSpec& a) {
  return {"random_forest", {{"n_estimators", a.sweep_n_estimators}, {"max_features", a.sweep_max_features}}};
}

// The done runs' distinct values of a factor, in first-appearance order.
std::vector<std::string> done_values(const CampaignData& c, const std::vector<std::string>& factor) {
  std::vector<std::string> out;
  for (size_t r = 0; r < factor.size(); ++r)
    if (c.status[r] == store::kDone && std::find(out.begin(), out.end(), factor[r]) == out.end())
      out.push_back(factor[r]);
  return out;
}

// The three measures' statistics plus "all" when there is more than one class.
std::vector<std::pair<std::string, std::vector<int>>> with_all(const CampaignData& c, const std::vector<int>& selected) {
  auto classes = statistics_by_class(c, selected);
  if (classes.size() > 1) classes.push_back({"all", selected});
  return classes;
}

}  // namespace

ProtocolOptions protocol_options(const config::AnalysisSpec& a, int splits) {
  ProtocolOptions o;
  o.splits = splits;
  o.train_fraction = 1.0 - a.test_fraction;
  o.folds = static_cast<int>(a.cv_folds);
  o.seed = static_cast<uint64_t>(a.seed);
  return o;
}

std::vector<std::pair<std::string, std::vector<int>>> statistics_by_class(const CampaignData& c,
                                                                            const std::vector<int>& selected) {
  std::vector<std::pair<std::string, std::vector<int>>> out;
  for (const char* m : {"weight", "act", "gradavg"}) {
    std::vector<int> stats;
    for (int s : selected)
      if (stat_class(c.statistic_names[static_cast<size_t>(s)]) == m) stats.push_back(s);
    if (!stats.empty()) out.push_back({m, stats});
  }
  return out;
}

json grid_lists(const config::AnalysisSpec& a, const std::string& classifier) {
  const ClassifierDef& def = classifier_def(classifier);
  const auto given = a.grids.find(classifier);
  json out = json::object();
  for (const auto& k : def.table.grid) {
    config::GridValues v{k.numbers, k.texts};
    if (given != a.grids.end()) {
      const auto it = given->second.find(k.name);
      if (it != given->second.end()) v = it->second;
    }
    json list = json::array();
    switch (k.type) {
      case config::GridKey::Type::PositiveIntegers:
        for (double x : v.numbers) list.push_back(static_cast<int64_t>(x));
        break;
      case config::GridKey::Type::PositiveReals:
      case config::GridKey::Type::Fractions:
        for (double x : v.numbers) list.push_back(x);
        break;
      default:
        for (const auto& x : v.texts) list.push_back(x);
    }
    out[k.name] = list;
  }
  return out;
}

std::vector<json> classifier_grid(const config::AnalysisSpec& a, const std::string& classifier) {
  // The product of the keys' lists, the first key outermost.
  const ClassifierDef& def = classifier_def(classifier);
  const json lists = grid_lists(a, classifier);
  std::vector<json> g = {json::object()};
  for (const auto& k : def.table.grid) {
    std::vector<json> next;
    for (const auto& point : g)
      for (const auto& v : lists.at(k.name)) {
        json p = point;
        p[k.name] = v;
        next.push_back(p);
      }
    g = std::move(next);
  }
  return g;
}

std::vector<json> default_grid(const std::string& classifier) { return classifier_grid(config::AnalysisSpec{}, classifier); }

std::vector<int> spread_points(int k, int points) {
  std::vector<int> out;
  for (int i = 0; i < k; ++i)
    out.push_back(k == 1 ? points - 1 : static_cast<int>(std::lround(static_cast<double>(i) * (points - 1) / (k - 1))));
  return out;
}

std::vector<Evaluation> plan_main(const CampaignData& c, const config::AnalysisSpec& a,
                                  const std::vector<int>& selected) {
  std::vector<Evaluation> out;
  const bool main = std::count(a.sweeps.begin(), a.sweeps.end(), "observable_class") > 0;
  const bool importance = std::count(a.sweeps.begin(), a.sweeps.end(), "importance") > 0;
  const bool networks = main && std::count(a.sweeps.begin(), a.sweeps.end(), "networks") > 0;
  if (!main && !importance) return out;
  // Without the observable-class sweep, the importances still need the forest on everything.
  auto classes = with_all(c, selected);
  if (!main) classes = {{"all", selected}};
  const std::vector<std::string> clfs = main ? a.classifiers : std::vector<std::string>{"random_forest"};
  for (const auto& [cls, stats] : classes)
    for (const auto& clf : clfs) {
      Evaluation e;
      e.sweep = "main";
      e.label = cls + "/" + clf;
      e.observable_class = cls;
      e.features.statistics = stats;
      e.classifier = {clf, json::object()};
      const ClassifierDef& def = classifier_def(clf);
      if (def.base_params) e.classifier.params = def.base_params(FitContext{c.points, 3});
      e.grid = classifier_grid(a, clf);
      e.options = protocol_options(a, static_cast<int>(a.splits));
      if (networks) {
        Evaluation g = e;
        g.sweep = "networks";
        g.options.grouped = true;
        out.push_back(std::move(g));
      }
      out.push_back(std::move(e));
    }
  return out;
}

std::vector<Evaluation> plan_holdout(const CampaignData& c, const config::AnalysisSpec& a,
                                     const std::vector<int>& selected) {
  std::vector<Evaluation> out;
  if (!std::count(a.sweeps.begin(), a.sweeps.end(), "holdout")) return out;
  const auto archs = done_values(c, c.arch), tasks = done_values(c, c.task);
  auto add = [&](const std::string& label, SplitKind kind, const std::vector<std::string>& values) {
    Evaluation e;
    e.sweep = "holdout";
    e.label = label;
    e.observable_class = "all";
    e.features.statistics = selected;
    e.classifier = sweep_forest(a);
    e.options = protocol_options(a, static_cast<int>(a.sweep_splits));
    e.splits = kind;
    e.values = values;
    e.replicates = static_cast<int>(a.sweep_splits);
    out.push_back(std::move(e));
  };
  if (archs.size() > 1) add("architecture", SplitKind::HoldoutArch, archs);
  if (tasks.size() > 1) add("task", SplitKind::HoldoutTask, tasks);
  if (tasks.size() > 1) add("transfer", SplitKind::Transfer, tasks);
  return out;
}

std::vector<Evaluation> plan_trajectory(const CampaignData& c, const config::AnalysisSpec& a,
                                        const std::vector<int>& selected) {
  std::vector<Evaluation> out;
  if (!std::count(a.sweeps.begin(), a.sweeps.end(), "trajectory")) return out;
  const int T = static_cast<int>(c.points);
  auto add = [&](const std::string& kind, int k, int position, std::vector<int> points) {
    Evaluation e;
    e.sweep = "trajectory";
    e.label = kind + "/k" + std::to_string(k) + "/" + std::to_string(position);
    e.observable_class = "all";
    e.trajectory_kind = kind;
    e.k = k;
    e.position = position;
    e.features.statistics = selected;
    e.features.points = std::move(points);
    e.classifier = sweep_forest(a);
    e.options = protocol_options(a, static_cast<int>(a.sweep_splits));
    out.push_back(std::move(e));
  };
  for (int k = 1; k <= T; ++k) {
    for (int p = 0; p + k <= T; ++p) {
      std::vector<int> pts(static_cast<size_t>(k));
      std::iota(pts.begin(), pts.end(), p);
      add("window", k, p, pts);
    }
    add("spread", k, 0, spread_points(k, T));
    for (int d = 0; d < a.random_draws; ++d) {
      std::vector<int> all(static_cast<size_t>(T));
      std::iota(all.begin(), all.end(), 0);
      rng::Xoshiro256ss g(rng::hash_combine(rng::hash_combine(static_cast<uint64_t>(a.seed), static_cast<uint64_t>(k)),
                                            static_cast<uint64_t>(d)));
      for (int i = 0; i < k; ++i) {
        const auto j = static_cast<size_t>(i) + static_cast<size_t>(g() % static_cast<uint64_t>(T - i));
        std::swap(all[static_cast<size_t>(i)], all[j]);
      }
      std::vector<int> pts(all.begin(), all.begin() + k);
      std::sort(pts.begin(), pts.end());
      add("random", k, d, pts);
    }
  }
  return out;
}

std::vector<Evaluation> plan_measurement(const CampaignData& c, const config::AnalysisSpec& a,
                                         const std::vector<int>& selected) {
  std::vector<Evaluation> out;
  if (!std::count(a.sweeps.begin(), a.sweeps.end(), "measurement")) return out;
  const auto classes = statistics_by_class(c, selected);
  for (int64_t cond = 0; cond < c.conditions; ++cond)
    for (const auto& [cls, stats] : classes) {
      Evaluation e;
      e.sweep = "measurement";
      e.label = c.conditions_meta[static_cast<size_t>(cond)].name + "/" + cls;
      e.observable_class = cls;
      e.features.statistics = stats;
      e.features.condition = static_cast<int>(cond);
      e.classifier = sweep_forest(a);
      e.options = protocol_options(a, static_cast<int>(a.sweep_splits));
      out.push_back(std::move(e));
    }
  return out;
}

std::vector<Evaluation> plan_permutation(const CampaignData& c, const config::AnalysisSpec& a,
                                         const std::vector<int>& selected) {
  // One permutation per split: a single permutation's accuracy scatters around chance by its own
  // draw (sd ~0.02 measured on the quickstart), which the s.e.m. over splits of one permutation
  // does not show. Each evaluation is one balanced split under its own permutation, so the mean
  // and s.e.m. are over permutations.
  std::vector<Evaluation> out;
  if (!std::count(a.sweeps.begin(), a.sweeps.end(), "permutation")) return out;
  for (int64_t p = 0; p < a.splits; ++p) {
    Evaluation e;
    e.sweep = "permutation";
    e.label = "all/random_forest";
    e.observable_class = "all";
    e.features.statistics = selected;
    e.features.permute_labels = true;
    e.features.permutation_seed =
        rng::hash_combine(rng::hash_combine(static_cast<uint64_t>(a.seed), 0x7065726dULL), static_cast<uint64_t>(p));
    e.classifier = sweep_forest(a);
    e.options = protocol_options(a, 1);
    e.options.seed = rng::hash_combine(e.options.seed, static_cast<uint64_t>(p));
    out.push_back(std::move(e));
  }
  (void)c;
  return out;
}

double median_kept(const CampaignData& c, int condition, bool weights) {
  const auto k = static_cast<size_t>(condition);
  observe::Condition cond{c.conditions_meta[k].fraction, c.conditions_meta[k].noise, 0, static_cast<uint64_t>(c.conditions_meta[k].units)};
  std::vector<double> v;
  for (size_t r = 0; r < c.status.size(); ++r) {
    if (c.status[r] != store::kDone) continue;
    const auto& units = weights ? c.weight_entries[r] : c.act_units[r];
    for (int64_t u : units)
      if (u > 0) v.push_back(static_cast<double>(cond.kept(static_cast<size_t>(u))));
  }
  if (v.empty()) return std::nan("");
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int worst_condition(const CampaignData& c) {
  int worst = -1;
  double worst_kept = 0;
  for (int k = 1; k < static_cast<int>(c.conditions); ++k) {
    const double kept = median_kept(c, k);
    if (worst < 0 || kept < worst_kept ||
        (kept == worst_kept && c.conditions_meta[static_cast<size_t>(k)].noise > c.conditions_meta[static_cast<size_t>(worst)].noise))
      worst = k, worst_kept = kept;
  }
  return worst;
}

std::vector<Evaluation> plan_identifiability(const CampaignData& c, const config::AnalysisSpec& a,
                                             const std::vector<int>& selected) {
  std::vector<Evaluation> out;
  if (!std::count(a.sweeps.begin(), a.sweeps.end(), "identifiability")) return out;
  const auto rules = rule_classes(c);
  if (rules.size() < 3) return out;
  std::vector<int> conditions = {0};
  if (worst_condition(c) > 0) conditions.push_back(worst_condition(c));
  for (size_t i = 0; i < rules.size(); ++i)
    for (size_t j = i + 1; j < rules.size(); ++j)
      for (int cond : conditions)
        for (const auto& [cls, stats] : with_all(c, selected))
          for (bool grouped : {false, true}) {
            Evaluation e;
            e.sweep = "identifiability";
            e.rules = {rules[i], rules[j]};
            e.label = rules[i] + "," + rules[j] + "/" + cls + "/" + c.conditions_meta[static_cast<size_t>(cond)].name + "/" +
                      (grouped ? "networks" : "samples");
            e.observable_class = cls;
            e.features.statistics = stats;
            e.features.condition = cond;
            e.features.rules = e.rules;
            e.classifier = sweep_forest(a);
            e.options = protocol_options(a, static_cast<int>(a.sweep_splits));
            e.options.grouped = grouped;
            out.push_back(std::move(e));
          }
  return out;
}

std::vector<Evaluation> make_plan(const CampaignData& c, const config::AnalysisSpec& a,
                                  const std::vector<int>& selected) {
  std::vector<Evaluation> plan;
  for (auto planner : {plan_main, plan_holdout, plan_trajectory, plan_measurement, plan_permutation,
                       plan_identifiability})
    for (auto& e : planner(c, a, selected)) plan.push_back(std::move(e));
  return plan;
}

std::vector<Split> evaluation_splits(const Evaluation& e, const FeatureSet& f) {
  std::vector<Split> splits;
  if (e.splits == SplitKind::Balanced) return splits;
  const int reps = std::max(1, e.replicates);
  if (e.splits == SplitKind::HoldoutArch || e.splits == SplitKind::HoldoutTask) {
    const auto& key = e.splits == SplitKind::HoldoutArch ? f.arch : f.task;
    for (const auto& v : e.values) {
      Split s;
      for (uint32_t i = 0; i < f.n; ++i) (key[i] == v ? s.test : s.train).push_back(i);
      for (int r = 0; r < reps; ++r) splits.push_back(s);
    }
    return splits;
  }
  // Transfer: train on task i, test on task j; the diagonal is a balanced split inside task i
  // with the analysis' test fraction.
  for (size_t i = 0; i < e.values.size(); ++i)
    for (size_t j = 0; j < e.values.size(); ++j)
      for (int r = 0; r < reps; ++r) {
        Split s;
        if (i != j) {
          for (uint32_t k = 0; k < f.n; ++k) {
            if (f.task[k] == e.values[i]) s.train.push_back(k);
            if (f.task[k] == e.values[j]) s.test.push_back(k);
          }
        } else {
          std::vector<uint32_t> rows;
          std::vector<int32_t> y;
          for (uint32_t k = 0; k < f.n; ++k)
            if (f.task[k] == e.values[i]) rows.push_back(k), y.push_back(f.y[k]);
          const auto inner = balanced_splits(y.data(), y.size(), static_cast<int>(f.classes.size()), 1,
                                             e.options.train_fraction,
                                             rng::hash_combine(rng::hash_combine(e.options.seed, i), static_cast<uint64_t>(r)));
          for (auto x : inner[0].train) s.train.push_back(rows[x]);
          for (auto x : inner[0].test) s.test.push_back(rows[x]);
        }
        splits.push_back(std::move(s));
      }
  return splits;
}

}  // namespace lrid::analyze
