#pragma once
// The observables recorder: at each trajectory point it runs the fixed observation batch
// through the model and computes, for every plastic layer and measurement condition, the
// selected statistics of weight, act and gradavg (lrid/observe/stats.hpp).
//
//   weight   the forward kernel W, all entries.
//   act      the layer's output on the observation batch, model in eval mode (BatchNorm running
//            statistics, no dropout), [N, units]: the conv/linear op's output incl. bias, after
//            the ReLU when one directly follows the op (nn::PlasticLayerInfo::relu), as in
//            lr-identify's layers; before BatchNorm, pooling or a read-out otherwise.
//   gradavg  per example, sum over (kept) input units of d(sum of (kept) outputs)/d(input),
//            divided by the number of (kept) output units, of the same output (after the ReLU
//            where act is). Without a ReLU the op is linear in its input and the Jacobian sum is
//            the same for every example (one backward on one example per distinct output
//            subset, broadcast to the batch); with one it depends on the active units (one
//            batched backward per output subset). Measurement noise is then added per example
//            and entry.
//
// Learning-rule diagnostics (recorded next to the observables when a diagnostic loss is given;
// not classifier features), per plastic layer, in degrees:
//   wb_angle    the angle between vec(W) and vec(B) (0 for backprop: B is W);
//   grad_angle  the angle between the gradient the rule delivers for W (through B for FA and
//               IA) and backprop's gradient for W, both of the diagnostic loss on the
//               observation batch at the same point, model in eval mode. The optimiser's own
//               transformation of that gradient (momentum, Adam's scaling) is not included:
//               0 for SGDM and Adam.
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "lrid/nn/models.hpp"
#include "lrid/observe/conditions.hpp"
#include "lrid/observe/stats.hpp"

namespace lrid::train {

/// The angle between vec(a) and vec(b) in degrees (computed in double; 0 when a and b are the
/// same tensor; NaN when either is zero).
double angle_degrees(const torch::Tensor& a, const torch::Tensor& b);

class Recorder {
 public:
  /// The loss the diagnostics differentiate: the task's objective on the observation batch.
  using DiagnosticLoss = std::function<torch::Tensor(nn::Model&)>;

  /// statistics: canonical indices (observe::resolve_statistics); points: K. Without a
  /// diagnostic loss the diagnostics stay NaN.
  Recorder(nn::Model& model, torch::Tensor observation_images,
           std::vector<observe::Condition> conditions, std::vector<int> statistics, int64_t points,
           DiagnosticLoss diagnostic_loss = {});

  /// Receives, at each recorded point, every plastic layer's act tensor as the statistics see it
  /// (float32 row-major [examples, units], after the ReLU where act is taken after one).
  using ActivationSink = std::function<void(int64_t point, size_t layer, const float* act, int64_t examples,
                                            int64_t units)>;
  void set_activation_sink(ActivationSink sink) { sink_ = std::move(sink); }

  /// Records trajectory point `point` (0..K-1) of the model's current state.
  void record(int64_t point);

  /// [layers, conditions, points, statistics], row-major; NaN where not recorded yet.
  const std::vector<float>& values() const { return values_; }
  /// [layers, points] in degrees; NaN where not recorded.
  const std::vector<float>& wb_angle() const { return wb_angle_; }
  const std::vector<float>& grad_angle() const { return grad_angle_; }
  /// Per layer: the act units (output units per example) and weight entries it observed.
  const std::vector<int64_t>& act_units() const { return act_units_; }
  const std::vector<int64_t>& weight_entries() const { return weight_entries_; }
  int64_t layers() const { return static_cast<int64_t>(model_.plastic_layers().size()); }

  /// What has been recorded so far (for a checkpoint), and back.
  void save(torch::serialize::OutputArchive& archive) const;
  void load(torch::serialize::InputArchive& archive);

 private:
  struct LayerUnits {
    std::vector<std::vector<int64_t>> weight, act, gin;  // per condition
    std::vector<int> out_subset;                         // per condition: index into gout
    std::vector<std::vector<int64_t>> gout;              // distinct output subsets
    bool ready = false;
  };
  void prepare(size_t layer, int64_t w_entries, int64_t act_units, int64_t in_units);
  void record_diagnostics(int64_t point);

  nn::Model& model_;
  torch::Tensor obs_;
  std::vector<observe::Condition> conditions_;
  std::vector<int> stats_;
  int64_t points_;
  bool want_weight_ = false, want_act_ = false, want_gradavg_ = false;
  std::vector<LayerUnits> units_;
  std::vector<float> values_;
  DiagnosticLoss diagnostic_loss_;
  std::vector<float> wb_angle_, grad_angle_;
  std::vector<int64_t> act_units_, weight_entries_;
  observe::StatsScratch scratch_;
  ActivationSink sink_;
};

}  // namespace lrid::train
