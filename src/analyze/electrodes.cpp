// Virtual electrodes (include/lrid/analyze/electrodes.hpp).
#include "lrid/analyze/electrodes.hpp"

#include <algorithm>

#include "lrid/build_info.hpp"
#include "lrid/error.hpp"
#include "lrid/util/text.hpp"

namespace lrid::analyze {

Electrodes::Electrodes(std::string path, const ElectrodeSource& source, const std::vector<store::LayerMeta>& layers,
                       int64_t points, observe::Condition condition, const std::vector<std::string>& chosen)
    : path_(std::move(path)), points_(points), cond_(condition) {
  chosen_.assign(layers.size(), chosen.empty() ? 1 : 0);
  seen_.assign(layers.size(), 0);
  std::vector<std::string> names;
  for (const auto& m : layers) names.push_back(m.name);
  for (const auto& name : chosen) {
    const auto it = std::find(names.begin(), names.end(), name);
    if (it == names.end())
      throw BadInput("--layers: run " + std::to_string(source.run) + " has no plastic layer '" + name + "'" +
                     util::did_you_mean(name, names) + "; its layers: " + util::join(names));
    chosen_[static_cast<size_t>(it - names.begin())] = 1;
  }
  rec_.attributes = {{"source", "lrid train --record-activations"}, {"job_name", source.job_name},
                     {"job_hash", source.job_hash},                 {"run", std::to_string(source.run)},
                     {"run_key", source.run_key},                   {"rule", source.rule},
                     {"condition", cond_.name()},                   {"lrid_version", kVersion}};
  for (const auto& layer : layers) {
    Population p;
    p.name = layer.name;
    p.depth = depth_categories().at(static_cast<size_t>(layer.depth));
    for (int64_t t = 0; t < points_; ++t) p.positions.push_back(point_position(t, points_));
    p.points = static_cast<size_t>(points_);
    rec_.populations.push_back(std::move(p));
  }
}

Electrodes::Sink Electrodes::sink() {
  return [this](int64_t point, size_t l, const float* act, int64_t examples, int64_t units) {
    take(point, l, act, examples, units);
  };
}

void Electrodes::take(int64_t point, size_t l, const float* act, int64_t examples, int64_t units) {
  if (l >= chosen_.size() || !chosen_[l]) return;
  Population& p = rec_.populations[l];
  const auto kept_units = observe::act_units(static_cast<size_t>(units), cond_);
  std::vector<float> kept;
  observe::observe_act(act, static_cast<size_t>(examples), static_cast<size_t>(units), kept_units, cond_,
                       observe::noise_seed(cond_, l, static_cast<uint64_t>(point), observe::Measure::act), kept);
  if (p.activity.empty()) {
    p.examples = static_cast<size_t>(examples);
    p.units = kept_units.size();
    p.activity.assign(p.points * p.examples * p.units, 0.0f);
    for (int64_t e = 0; e < examples; ++e) p.stimuli.push_back(e);
  }
  std::copy(kept.begin(), kept.end(),
            p.activity.begin() + static_cast<std::ptrdiff_t>(static_cast<size_t>(point) * p.examples * p.units));
  ++seen_[l];
}

std::string Electrodes::write() {
  Recording out;
  out.attributes = rec_.attributes;
  for (size_t l = 0; l < rec_.populations.size(); ++l) {
    if (!chosen_[l]) continue;
    if (seen_[l] != points_)
      throw BadInput("--record-activations: layer " + rec_.populations[l].name + " was observed at " +
                     std::to_string(seen_[l]) + " of " + std::to_string(points_) +
                     " points (the run continued from a checkpoint); retrain it with --force");
    out.populations.push_back(std::move(rec_.populations[l]));
  }
  write_recording(out, path_);
  return "activations of " + std::to_string(out.populations.size()) + " layer(s) at " + std::to_string(points_) +
         " points, condition " + cond_.name() + " -> " + path_;
}

}  // namespace lrid::analyze
