#pragma once
// Virtual electrodes (`lrid train --run ID --record-activations FILE.h5`): the act tensors the
// recorder sees at every trajectory point, measured under one condition exactly as the recorder
// measures it (the same units, the same noise stream), collected into the recording layout that
// `lrid classify` reads (analyze/model.hpp, docs/recordings.md). Torch-free: the trainer hands
// the activations over through TrainOptions::on_activations (sink()).
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "lrid/analyze/model.hpp"
#include "lrid/observe/conditions.hpp"
#include "lrid/store/campaign.hpp"

namespace lrid::analyze {

/// Where a recording's activations come from (its attributes).
struct ElectrodeSource {
  std::string job_name, job_hash, run_key, rule;
  int64_t run = 0;
};

class Electrodes {
 public:
  /// The run's plastic layers, its trajectory points, the measurement condition and the layers
  /// to record (names; empty: every layer; an unknown name: BadInput with did-you-mean).
  Electrodes(std::string path, const ElectrodeSource& source, const std::vector<store::LayerMeta>& layers,
             int64_t points, observe::Condition condition, const std::vector<std::string>& chosen = {});

  using Sink = std::function<void(int64_t point, size_t layer, const float* act, int64_t examples, int64_t units)>;
  /// What the trainer calls with every plastic layer's act tensor at each recorded point.
  Sink sink();

  /// Writes the recording (BadInput when a chosen layer missed a point: a run continued from a
  /// checkpoint); returns a one-line summary.
  std::string write();

 private:
  void take(int64_t point, size_t l, const float* act, int64_t examples, int64_t units);

  std::string path_;
  int64_t points_;
  observe::Condition cond_;
  Recording rec_;
  std::vector<int> chosen_;
  std::vector<int64_t> seen_;
};

}  // namespace lrid::analyze
