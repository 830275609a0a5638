#include "lrid/analyze/features.hpp"

#include "lrid/config/rules.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>

#include "lrid/config/job.hpp"
#include "lrid/util/text.hpp"
#include "lrid/error.hpp"
#include "lrid/observe/stats.hpp"
#include "lrid/rng.hpp"
#include "lrid/store/campaign.hpp"
#include "lrid/store/h5.hpp"

namespace lrid::analyze {

std::vector<std::string> CampaignData::condition_names() const {
  std::vector<std::string> out;
  for (const auto& k : conditions_meta) out.push_back(k.name);
  return out;
}

namespace {
CampaignData read_campaign_data(const std::string& path);
}  // namespace

// An HDF5 failure inside (compound values, a filter this HDF5 lacks) names the file.
CampaignData read_campaign(const std::string& path) {
  return store::h5::reading(path, [&] { return read_campaign_data(path); });
}

namespace {

CampaignData read_campaign_data(const std::string& path) {
  auto f = store::Campaign::open_read(path);
  CampaignData c;
  c.path = path;
  c.job_name = f->job_name();
  c.job_hash = f->job_hash();
  c.job_yaml = f->job_yaml();
  const store::Layout& L = f->layout();
  static_cast<store::Layout&>(c) = L;  // the file's dimensions and labels, as they are
  for (const auto& r : f->runs()) {
    c.run_id.push_back(r.id);
    c.rule.push_back(r.rule);
    c.task.push_back(r.task);
    c.arch.push_back(r.arch);
    c.key.push_back(r.key());
    c.batch_size.push_back(r.batch_size);
  }
  for (const auto& rec : f->records()) {
    c.status.push_back(rec.status);
    c.error.push_back(rec.error);
    c.final_loss.push_back(rec.final_loss);
    c.final_metric.push_back(rec.final_metric);
    c.metric_chance.push_back(rec.metric_chance);
  }
  const size_t T = static_cast<size_t>(L.points), LT = static_cast<size_t>(L.layers) * T;
  c.loss.assign(static_cast<size_t>(L.runs) * T, std::nan(""));
  c.steps.assign(static_cast<size_t>(L.runs) * T, -1);
  c.wb_angle.assign(static_cast<size_t>(L.runs) * LT, std::nanf(""));
  c.grad_angle = c.wb_angle;
  const size_t per_run = static_cast<size_t>(L.layers * L.conditions * L.points * L.statistics);
  c.values.assign(per_run * static_cast<size_t>(L.runs), std::nanf(""));
  for (int64_t r = 0; r < L.runs; ++r) {
    const int64_t id = c.run_id[static_cast<size_t>(r)];
    const auto layers = f->layers(id);
    c.layer_count.push_back(static_cast<int32_t>(layers.size()));
    c.layer_name.emplace_back();
    c.layer_depth.emplace_back();
    c.act_units.emplace_back();
    c.weight_entries.emplace_back();
    for (const auto& l : layers) {
      c.layer_name.back().push_back(l.name);
      c.layer_depth.back().push_back(l.depth);
      c.act_units.back().push_back(l.act_units);
      c.weight_entries.back().push_back(l.weight_entries);
    }
    if (c.status[static_cast<size_t>(r)] != store::kDone) continue;
    const auto v = f->values(id);
    std::copy(v.begin(), v.end(), c.values.begin() + static_cast<std::ptrdiff_t>(per_run * static_cast<size_t>(r)));
    const auto loss = f->losses(id);
    const auto steps = f->steps(id);
    std::copy(loss.begin(), loss.end(), c.loss.begin() + static_cast<std::ptrdiff_t>(T * static_cast<size_t>(r)));
    std::copy(steps.begin(), steps.end(), c.steps.begin() + static_cast<std::ptrdiff_t>(T * static_cast<size_t>(r)));
    const auto wb = f->diagnostic(id, "wb_angle"), ga = f->diagnostic(id, "grad_angle");
    std::copy(wb.begin(), wb.end(), c.wb_angle.begin() + static_cast<std::ptrdiff_t>(LT * static_cast<size_t>(r)));
    std::copy(ga.begin(), ga.end(), c.grad_angle.begin() + static_cast<std::ptrdiff_t>(LT * static_cast<size_t>(r)));
  }
  return c;
}

}  // namespace

std::vector<std::string> rule_classes(const CampaignData& c) {
  // The registry's order; a rule this lrid does not know (a campaign from a later one) after them,
  // alphabetically.
  std::vector<std::string> done, out;
  for (int64_t r = 0; r < c.runs; ++r)
    if (c.status[static_cast<size_t>(r)] == store::kDone) done.push_back(c.rule[static_cast<size_t>(r)]);
  for (const auto& rule : config::rule_names())
    if (std::find(done.begin(), done.end(), rule) != done.end()) out.push_back(rule);
  std::sort(done.begin(), done.end());
  done.erase(std::unique(done.begin(), done.end()), done.end());
  for (const auto& rule : done)
    if (!config::find_rule(rule)) out.push_back(rule);
  return out;
}

std::vector<int> select_statistics(const CampaignData& c, const std::vector<std::string>& names) {
  const auto wanted = observe::resolve_statistics(names);
  const auto& all = observe::all_statistic_names();
  std::vector<int> out;
  for (int w : wanted) {
    const auto it = std::find(c.statistic_names.begin(), c.statistic_names.end(), all[static_cast<size_t>(w)]);
    if (it != c.statistic_names.end()) out.push_back(static_cast<int>(it - c.statistic_names.begin()));
  }
  if (out.empty())
    throw BadInput(c.path + ": none of the statistics asked for (" + util::join(names) +
                   ") was recorded in the campaign");
  return out;
}

FeatureSet build_features(const CampaignData& c, const FeatureSpec& spec) {
  FeatureSet f;
  f.classes = rule_classes(c);
  auto wanted = [&](const std::string& rule) {
    return spec.rules.empty() || std::find(spec.rules.begin(), spec.rules.end(), rule) != spec.rules.end();
  };
  f.classes.erase(std::remove_if(f.classes.begin(), f.classes.end(), [&](const std::string& r) { return !wanted(r); }),
                  f.classes.end());
  std::vector<int> points = spec.points;
  if (points.empty())
    for (int t = 0; t < c.points; ++t) points.push_back(t);

  // Samples: every layer of every done run.
  std::vector<std::pair<int64_t, int32_t>> samples;
  auto excluded = [&](int64_t r) {
    return std::find(spec.exclude_runs.begin(), spec.exclude_runs.end(), c.run_id[static_cast<size_t>(r)]) !=
           spec.exclude_runs.end();
  };
  for (int64_t r = 0; r < c.runs; ++r)
    if (c.status[static_cast<size_t>(r)] == store::kDone && !excluded(r) && wanted(c.rule[static_cast<size_t>(r)]))
      for (int32_t l = 0; l < c.layer_count[static_cast<size_t>(r)]; ++l) samples.emplace_back(r, l);

  // Statistics with a non-finite value in any sample are dropped whole.
  std::vector<int> stats;
  for (int s : spec.statistics) {
    bool finite = true;
    for (const auto& [r, l] : samples) {
      for (int t : points)
        if (!std::isfinite(c.value(r, l, spec.condition, t, s))) {
          finite = false;
          break;
        }
      if (!finite) break;
    }
    if (finite)
      stats.push_back(s);
    else
      f.dropped_statistics.push_back(c.statistic_names[static_cast<size_t>(s)]);
  }
  for (int s : stats)
    for (int t : points)
      f.feature_names.push_back(c.statistic_names[static_cast<size_t>(s)] + "@" + std::to_string(t));
  if (spec.depth)
    for (const char* n : {"depth_early", "depth_middle", "depth_deep"}) f.feature_names.push_back(n);
  f.d = f.feature_names.size();

  // The control: done runs' rules permuted among them (Fisher-Yates with a seeded generator).
  std::vector<std::string> rule_of = c.rule;
  if (spec.permute_labels) {
    std::vector<size_t> done;
    for (size_t r = 0; r < c.rule.size(); ++r)
      if (c.status[r] == store::kDone) done.push_back(r);
    std::vector<std::string> labels;
    for (size_t r : done) labels.push_back(c.rule[r]);
    rng::Xoshiro256ss g(spec.permutation_seed);
    for (size_t i = labels.size(); i > 1; --i) std::swap(labels[i - 1], labels[g.below(i)]);
    for (size_t k = 0; k < done.size(); ++k) rule_of[done[k]] = labels[k];
  }
  for (const auto& [r, l] : samples) {
    const size_t ri = static_cast<size_t>(r);
    const auto label = std::find(f.classes.begin(), f.classes.end(), rule_of[ri]) - f.classes.begin();
    for (int s : stats)
      for (int t : points) f.X.push_back(static_cast<double>(c.value(r, l, spec.condition, t, s)));
    const int depth = c.layer_depth[ri][static_cast<size_t>(l)];
    if (spec.depth)
      for (int k = 0; k < 3; ++k) f.X.push_back(depth == k ? 1.0 : 0.0);
    f.y.push_back(static_cast<int32_t>(label));
    f.run.push_back(c.run_id[static_cast<size_t>(r)]);
    f.layer.push_back(l);
    f.task.push_back(c.task[ri]);
    f.arch.push_back(c.arch[ri]);
    f.layer_name.push_back(c.layer_name[ri][static_cast<size_t>(l)]);
    f.depth.push_back(depth);
  }
  f.n = f.y.size();
  return f;
}

void export_features(const FeatureSet& f, const std::string& path) {
  namespace h5 = store::h5;
  h5::write_new_file(path, "features file", [&](hid_t file) {
    h5::write_doubles(file, "X", f.X, {f.n, f.d});
    h5::write_int64s(file, "y", std::vector<int64_t>(f.y.begin(), f.y.end()));
    h5::write_strings(file, "feature_names", f.feature_names);
    h5::write_strings(file, "classes", f.classes);
    h5::write_int64s(file, "run", f.run);
    h5::write_int64s(file, "layer", std::vector<int64_t>(f.layer.begin(), f.layer.end()));
    h5::write_int64s(file, "depth", std::vector<int64_t>(f.depth.begin(), f.depth.end()));
    h5::write_strings(file, "task", f.task);
    h5::write_strings(file, "architecture", f.arch);
    h5::write_strings(file, "layer_name", f.layer_name);
    h5::write_string_attr(file, "description",
                          "lrid features: X [samples, features] (statistic-major trajectories, "
                          "then depth one-hot), y = index into classes (learning rules), run = the "
                          "job's run id");
    // statistics left out for a non-finite value ("" when none)
    h5::write_string_attr(file, "dropped_statistics", util::join(f.dropped_statistics));
  });
}

}  // namespace lrid::analyze
