#pragma once
// The observables recorder: at each trajectory point it runs the fixed observation batch
// through the model and computes, for every plastic layer and measurement condition, the
// selected statistics of weight, act and gradavg (lrid/observe/stats.hpp).
//
//   weight   the forward kernel W, all entries.
//   act      the plastic op's output (conv/linear output incl. bias, before any normalisation
//            or nonlinearity) on the observation batch, model in eval mode (BatchNorm running
//            statistics, no dropout), [N, units].
//   gradavg  per example, sum over (kept) input units of d(sum of (kept) output units)/d(input),
//            divided by the number of (kept) output units. The op is linear in its input, so
//            the Jacobian sum is the same for every example: one backward on one example per
//            distinct output subset (apply_forward on the detached input), broadcast to the
//            batch; measurement noise is then added per example and entry.
#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "lrid/nn/models.hpp"
#include "lrid/observe/conditions.hpp"
#include "lrid/observe/stats.hpp"

namespace lrid::train {

class Recorder {
 public:
  /// statistics: canonical indices (observe::resolve_statistics); points: K.
  Recorder(nn::Model& model, torch::Tensor observation_images,
           std::vector<observe::Condition> conditions, std::vector<int> statistics, int64_t points);

  /// Records trajectory point `point` (0..K-1) of the model's current state.
  void record(int64_t point);

  /// [layers, conditions, points, statistics], row-major; NaN where not recorded yet.
  const std::vector<float>& values() const { return values_; }
  int64_t layers() const { return static_cast<int64_t>(model_.plastic_layers().size()); }

 private:
  struct LayerUnits {
    std::vector<std::vector<int64_t>> weight, act, gin;  // per condition
    std::vector<int> out_subset;                         // per condition: index into gout
    std::vector<std::vector<int64_t>> gout;              // distinct output subsets
    bool ready = false;
  };
  void prepare(size_t layer, int64_t w_entries, int64_t act_units, int64_t in_units);

  nn::Model& model_;
  torch::Tensor obs_;
  std::vector<observe::Condition> conditions_;
  std::vector<int> stats_;
  int64_t points_;
  bool want_weight_ = false, want_act_ = false, want_gradavg_ = false;
  std::vector<LayerUnits> units_;
  std::vector<float> values_;
  observe::StatsScratch scratch_;
};

}  // namespace lrid::train
