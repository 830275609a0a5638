#pragma once
// Training one run of a job, with the observables recorded along the way (torch-free header).
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "lrid/config/job.hpp"
#include "lrid/store/campaign.hpp"

#include "lrid/comm/averager.hpp"
namespace lrid::nn {
class Model;  // lrid/nn/models.hpp
}
namespace lrid::observe {
struct Condition;  // lrid/observe/conditions.hpp
}

namespace lrid::train {

/// A run that failed for a reason of its own (diverging loss, NaN, a fault on any rank of its
/// group): recorded as failed, the campaign goes on.
class RunFailed : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A run stopped at a step boundary by a stop request (SIGTERM/SIGUSR1/SIGINT), its checkpoint
/// written (when checkpoints are on): a later attempt continues from `step`.
class RunInterrupted : public std::runtime_error {
 public:
  RunInterrupted(const std::string& what, int64_t step) : std::runtime_error(what), step(step) {}
  int64_t step;
};

struct Progress {
  int64_t step = 0, total_steps = 0;
  int64_t point = 0, points = 0;  ///< trajectory points recorded so far / in all
  double loss = 0;
  double seconds = 0;
  /// The learning-rule diagnostics of this point per plastic layer, degrees (recorder.hpp);
  /// empty when nothing is recorded.
  std::vector<float> wb_angle, grad_angle;
  /// The model at this point, before the step's update (tests and tools may read it during the
  /// callback only).
  const nn::Model* model = nullptr;
};

struct TrainOptions {
  /// Called after each trajectory point is recorded.
  std::function<void(const Progress&)> on_point;
  /// Data-parallel group (nullptr: this process trains alone on the whole batch).
  comm::GradientAverager* group = nullptr;
  /// Record observables (the leader of a group does; the others only train).
  bool record = true;
  /// Called with the trained model at the end (tests, tools), before evaluation.
  std::function<void(nn::Model&)> on_final_model;
  /// Where the run trains: "cpu" or "cuda:N" (resolved by resolve_device).
  std::string device = "cpu";
  /// Batches leave the data stream as uint8 and are normalised and augmented on the run's
  /// device (data::BatchStream::set_deferred). Always so on CUDA; true here does the same on the
  /// CPU (the same values bit for bit: the test of the CUDA path's data handling).
  bool deferred_batches = false;
  /// Checkpoints (store/run_files.hpp; README, "How a campaign runs"): the directory ("" = off), the time between saves on the
  /// leader's clock (0: only after each recorded point), this attempt's number and the limit of
  /// attempts without progress since the checkpoint.
  std::string checkpoint_dir;
  double checkpoint_seconds = 600;
  int32_t attempt = 1;
  int32_t max_attempts = 2;
  /// Polled at every step boundary; true: checkpoint and throw RunInterrupted.
  std::function<bool()> stop_requested;
  /// Called on the group leader after every training step: step, total steps, loss, steps/s.
  std::function<void(int64_t, int64_t, double, double)> on_step;
  /// Virtual electrodes: every plastic layer's act tensor at each recorded point
  /// (Recorder::ActivationSink; `lrid train --run --record-activations`).
  std::function<void(int64_t point, size_t layer, const float* act, int64_t examples, int64_t units)> on_activations;
  /// One-line notes on the leader: "resumed from step S of T", "checkpoint refused (...)".
  std::function<void(const std::string&)> on_note;
};

/// The measurement conditions a job records (observables.conditions): "ideal" first, then every
/// (fraction, noise) pair of its lists (fraction-major, ideal not repeated), then every
/// (unit count, noise) pair.
std::vector<observe::Condition> measurement_conditions(const config::MeasurementSpec& conditions);

/// The number of training steps of a run (steps, or epochs x ceil(N / batch)).
int64_t total_steps(const config::RuleSettings& rule, int64_t batch_size, int64_t train_size);

/// The trajectory points' steps: K evenly spaced steps from 0 to total inclusive (rounded).
std::vector<int64_t> trajectory_steps(int64_t total, int64_t points);

/// The campaign layout of a shard of a job: its runs, statistics and conditions recorded, the
/// most layers any run of the job has.
store::Layout campaign_layout(const config::JobSpec& job, const store::Shard& shard = {});

/// The plastic layers (names, depth categories) a run's model has. Cheap: builds the model once
/// per (architecture, objective) at a nominal input size and caches it.
std::vector<store::LayerMeta> run_layers(const std::string& arch, const config::TaskSpec& task);

/// Trains `run` and records its observables. Throws RunFailed for a diverging run, BadInput
/// for bad data files.
store::RunResult train_run(const config::JobSpec& job, const config::RunSpec& run,
                           const TrainOptions& options = {});

}  // namespace lrid::train
