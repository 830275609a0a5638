#include "lrid/analyze/features.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>

#include "lrid/config/job.hpp"
#include "lrid/config/text.hpp"
#include "lrid/error.hpp"
#include "lrid/observe/stats.hpp"
#include "lrid/store/campaign.hpp"
#include "lrid/store/h5.hpp"

namespace lrid::analyze {

CampaignData read_campaign(const std::string& path) {
  auto f = store::Campaign::open_read(path);
  CampaignData c;
  c.path = path;
  c.job_name = f->job_name();
  c.job_hash = f->job_hash();
  c.job_yaml = f->job_yaml();
  const store::Layout& L = f->layout();
  c.runs = L.runs;
  c.layers = L.layers;
  c.conditions = L.conditions;
  c.points = L.points;
  c.statistics = L.statistics;
  c.statistic_names = L.statistic_names;
  for (const auto& m : L.conditions_meta) {
    c.condition_names.push_back(m.name);
    c.condition_fraction.push_back(m.fraction);
    c.condition_noise.push_back(m.noise);
  }
  for (const auto& r : f->runs()) {
    c.rule.push_back(r.rule);
    c.task.push_back(r.task);
    c.arch.push_back(r.arch);
  }
  c.status = f->statuses();
  const size_t per_run = static_cast<size_t>(L.layers * L.conditions * L.points * L.statistics);
  c.values.assign(per_run * static_cast<size_t>(L.runs), std::nanf(""));
  for (int64_t r = 0; r < L.runs; ++r) {
    const auto layers = f->layers(r);
    c.layer_count.push_back(static_cast<int32_t>(layers.size()));
    c.layer_name.emplace_back();
    c.layer_depth.emplace_back();
    for (const auto& l : layers) {
      c.layer_name.back().push_back(l.name);
      c.layer_depth.back().push_back(l.depth);
    }
    if (c.status[static_cast<size_t>(r)] != store::kDone) continue;
    const auto v = f->values(r);
    std::copy(v.begin(), v.end(), c.values.begin() + static_cast<std::ptrdiff_t>(per_run * static_cast<size_t>(r)));
  }
  return c;
}

std::vector<std::string> rule_classes(const CampaignData& c) {
  std::vector<std::string> out;
  for (const auto& rule : config::rule_names())
    for (int64_t r = 0; r < c.runs; ++r)
      if (c.status[static_cast<size_t>(r)] == store::kDone && c.rule[static_cast<size_t>(r)] == rule) {
        out.push_back(rule);
        break;
      }
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
    throw BadInput(c.path + ": none of the statistics asked for (" + config::join(names) +
                   ") was recorded in the campaign");
  return out;
}

FeatureSet build_features(const CampaignData& c, const FeatureSpec& spec) {
  FeatureSet f;
  f.classes = rule_classes(c);
  std::vector<int> points = spec.points;
  if (points.empty())
    for (int t = 0; t < c.points; ++t) points.push_back(t);

  // Samples: every layer of every done run.
  std::vector<std::pair<int64_t, int32_t>> samples;
  for (int64_t r = 0; r < c.runs; ++r)
    if (c.status[static_cast<size_t>(r)] == store::kDone)
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

  for (const auto& [r, l] : samples) {
    const size_t ri = static_cast<size_t>(r);
    const auto label = std::find(f.classes.begin(), f.classes.end(), c.rule[ri]) - f.classes.begin();
    for (int s : stats)
      for (int t : points) f.X.push_back(static_cast<double>(c.value(r, l, spec.condition, t, s)));
    const int depth = c.layer_depth[ri][static_cast<size_t>(l)];
    if (spec.depth)
      for (int k = 0; k < 3; ++k) f.X.push_back(depth == k ? 1.0 : 0.0);
    f.y.push_back(static_cast<int32_t>(label));
    f.run.push_back(r);
    f.layer.push_back(l);
    f.task.push_back(c.task[ri]);
    f.arch.push_back(c.arch[ri]);
    f.layer_name.push_back(c.layer_name[ri][static_cast<size_t>(l)]);
    f.depth.push_back(depth);
  }
  f.n = f.y.size();
  return f;
}

namespace {

void write_strings(hid_t file, const std::string& name, const std::vector<std::string>& v) {
  size_t width = 1;
  for (const auto& s : v) width = std::max(width, s.size() + 1);
  std::vector<char> buf(width * std::max<size_t>(v.size(), 1), 0);
  for (size_t i = 0; i < v.size(); ++i) std::memcpy(&buf[i * width], v[i].data(), v[i].size());
  store::h5::Id type = store::h5::string_type(width);
  const hsize_t n = v.size();
  store::h5::Id space(store::h5::check(H5Screate_simple(1, &n, nullptr), "space"));
  store::h5::Id d(store::h5::check(
      H5Dcreate2(file, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), name));
  if (n) store::h5::check(H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()), name);
}

template <class T>
void write_array(hid_t file, const std::string& name, hid_t ftype, hid_t mtype, const std::vector<T>& v,
                 std::vector<hsize_t> dims) {
  store::h5::Id space(store::h5::check(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), "space"));
  store::h5::Id d(store::h5::check(
      H5Dcreate2(file, name.c_str(), ftype, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), name));
  if (!v.empty()) store::h5::check(H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()), name);
}

}  // namespace

void export_features(const FeatureSet& f, const std::string& path) {
  store::h5::silence_errors();
  store::h5::Id file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
  if (!file.valid()) throw BadInput(path + ": cannot create the features file");
  write_array(file, "X", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, f.X, {f.n, f.d});
  write_array(file, "y", H5T_STD_I32LE, H5T_NATIVE_INT32, f.y, {f.n});
  write_strings(file, "feature_names", f.feature_names);
  write_strings(file, "classes", f.classes);
  write_array(file, "run", H5T_STD_I64LE, H5T_NATIVE_INT64, f.run, {f.n});
  write_array(file, "layer", H5T_STD_I32LE, H5T_NATIVE_INT32, f.layer, {f.n});
  std::vector<int32_t> depth(f.depth.begin(), f.depth.end());
  write_array(file, "depth", H5T_STD_I32LE, H5T_NATIVE_INT32, depth, {f.n});
  write_strings(file, "task", f.task);
  write_strings(file, "architecture", f.arch);
  write_strings(file, "layer_name", f.layer_name);
  store::h5::write_string_attr(file, "description",
                               "lrid features: X [samples, features] (statistic-major trajectories, "
                               "then depth one-hot), y = index into classes (learning rules)");
  // statistics left out for a non-finite value ("" when none)
  store::h5::write_string_attr(file, "dropped_statistics", config::join(f.dropped_statistics));
}

}  // namespace lrid::analyze
