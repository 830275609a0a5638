#pragma once
// Training one run of a job, with the observables recorded along the way (torch-free header).
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "lrid/config/job.hpp"
#include "lrid/store/campaign.hpp"

namespace lrid::dist {
class GradientAverager;  // lrid/dist/averager.hpp
}
namespace lrid::nn {
class Model;  // lrid/nn/models.hpp
}

namespace lrid::train {

/// A run that failed for a reason of its own (diverging loss, NaN): recorded as failed, the
/// campaign goes on.
class RunFailed : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Progress {
  int64_t step = 0, total_steps = 0;
  int64_t point = 0, points = 0;  ///< trajectory points recorded so far / in all
  double loss = 0;
  double seconds = 0;
};

struct TrainOptions {
  /// Called after each trajectory point is recorded.
  std::function<void(const Progress&)> on_point;
  /// Data-parallel group (nullptr: this process trains alone on the whole batch).
  dist::GradientAverager* group = nullptr;
  /// Record observables (the leader of a group does; the others only train).
  bool record = true;
  /// Called with the trained model at the end (tests, tools), before evaluation.
  std::function<void(nn::Model&)> on_final_model;
};

/// The number of training steps of a run (steps, or epochs x ceil(N / batch)).
int64_t total_steps(const config::JobSpec& job, const config::RunSpec& run, int64_t train_size);

/// The trajectory points' steps: K evenly spaced steps from 0 to total inclusive (rounded).
std::vector<int64_t> trajectory_steps(int64_t total, int64_t points);

/// The campaign layout of a job: statistics and conditions recorded, max layers.
store::Layout campaign_layout(const config::JobSpec& job,
                              const std::vector<std::vector<store::LayerMeta>>& layers);

/// The plastic layers (names, depth categories) a run's model has. Cheap: builds the model once
/// per (architecture, objective) at a nominal input size and caches it.
std::vector<store::LayerMeta> run_layers(const config::JobSpec& job, const config::RunSpec& run);

/// Trains `run` and records its observables. Throws RunFailed for a diverging run, BadInput
/// for bad data files.
store::RunResult train_run(const config::JobSpec& job, const config::RunSpec& run,
                           const TrainOptions& options = {});

}  // namespace lrid::train
