#pragma once
// The campaign file: one HDF5 file per job (or per shard) holding every run's spec, status and
// observable trajectories. Layout (all allocated when the file is created; training only writes
// raw data into it, so a crash can never damage metadata or runs already marked done):
//
//   /                      attrs: format, lrid_version, job_name, job_hash, job_yaml, created,
//                                 shard_index, shard_count
//   /runs/spec             compound [R]: id, rule, task, architecture, batch_size, model_seed,
//                          dataset_seed, model_seed_value, dataset_seed_value, hash
//   /runs/status           uint8 [R]  0 pending, 1 running, 2 done, 3 failed (attr: legend)
//   /runs/attempts         int32 [R]
//   /runs/wall_seconds     float64 [R]
//   /runs/final_loss       float64 [R]
//   /runs/final_metric     float64 [R]  (attr metric: accuracy / positive-pair accuracy)
//   /runs/error            string(512) [R]
//   /runs/steps            int64 [R, T]   training step of each trajectory point
//   /runs/loss             float64 [R, T] training loss at each trajectory point
//   /layers/count          int32 [R]
//   /layers/name           string(48) [R, L]
//   /layers/depth          int8 [R, L]    0 early, 1 middle, 2 deep, -1 none
//   /observables/values    float32 [R, L, C, T, S], NaN where a run has fewer layers
//                          attrs: statistics, conditions, condition_fraction, condition_noise,
//                                 condition_seed, points
#include <mpi.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "lrid/config/job.hpp"

namespace lrid::store {

enum RunStatus : uint8_t { kPending = 0, kRunning = 1, kDone = 2, kFailed = 3 };
const char* status_name(uint8_t s);

struct LayerMeta {
  std::string name;
  int depth = 0;  ///< 0 early, 1 middle, 2 deep
};

struct ConditionMeta {
  std::string name;
  double fraction = 1.0;
  double noise = 0.0;
};

/// The fixed dimensions and labels of a campaign's observables.
struct Layout {
  int64_t runs = 0, layers = 0, conditions = 0, points = 0, statistics = 0;
  std::vector<std::string> statistic_names;
  std::vector<ConditionMeta> conditions_meta;
  int64_t condition_seed = 0;
};

/// What a finished run writes.
struct RunResult {
  int64_t run_id = 0;
  std::vector<float> values;  ///< [layers of this run, C, T, S], row-major
  int64_t layer_count = 0;
  std::vector<int64_t> steps;    ///< [T]
  std::vector<double> loss;      ///< [T]
  double wall_seconds = 0, final_loss = 0, final_metric = 0;
  double record_seconds = 0;  ///< of wall_seconds, spent recording observables (not stored)
  double train_seconds = 0;   ///< of wall_seconds, spent in training steps (not stored)
};

/// Shard I of N: the runs with id % N == I (a stable partition of run ids).
struct Shard {
  int64_t index = 0, count = 1;
  bool contains(int64_t run_id) const { return run_id % count == index; }
};

struct RunRecord {
  uint8_t status = kPending;
  int32_t attempts = 0;
  double wall_seconds = 0, final_loss = 0, final_metric = 0;
  std::string error;
};

class Campaign {
 public:
  /// Creates `path` for `job` (written as path.tmp, then renamed: a crash never leaves half a
  /// file). `layers[r]` lists run r's plastic layers. Refuses an existing file (BadInput) unless
  /// `overwrite`. Serial: call on one process only.
  static void create(const std::string& path, const config::JobSpec& job,
                     const std::vector<std::vector<LayerMeta>>& layers, const Layout& layout,
                     const Shard& shard, bool overwrite);

  /// Opens an existing file and checks it belongs to `job` (same job hash, same run hashes);
  /// a foreign or changed job throws BadInput naming the runs that would change.
  /// comm == MPI_COMM_NULL: serial access; otherwise collective MPI-IO open over comm.
  static std::unique_ptr<Campaign> open(const std::string& path, const config::JobSpec& job,
                                        MPI_Comm comm, bool writable);
  /// Opens any campaign file read-only without a job (status, analyze, merge).
  static std::unique_ptr<Campaign> open_read(const std::string& path);

  ~Campaign();
  Campaign(const Campaign&) = delete;
  Campaign& operator=(const Campaign&) = delete;

  const std::string& path() const { return path_; }
  const Layout& layout() const { return layout_; }
  const std::string& job_hash() const { return job_hash_; }
  const std::string& job_name() const { return job_name_; }
  const std::string& job_yaml() const { return job_yaml_; }
  Shard shard() const { return shard_; }

  /// Writes a run's results, then marks it done (in that order). Independent I/O.
  void write_run(const RunResult& result);
  /// Sets status (and attempts/error) of one run. Independent I/O.
  void set_status(int64_t run_id, uint8_t status, int32_t attempts, const std::string& error = "");

  /// Copies run `run_id` (observables, curves, record; status last) from `src`, a file of the
  /// same job and layout.
  void copy_run(const Campaign& src, int64_t run_id);

  std::vector<uint8_t> statuses() const;
  RunRecord record(int64_t run_id) const;
  std::vector<RunRecord> records() const;
  std::vector<LayerMeta> layers(int64_t run_id) const;
  /// [layers of the run, C, T, S] for one run.
  std::vector<float> values(int64_t run_id) const;
  /// Specs as stored (id, rule, task, architecture, batch size, seeds, hash).
  std::vector<config::RunSpec> runs() const;

 private:
  Campaign() = default;
  static std::unique_ptr<Campaign> open_impl(const std::string& path, MPI_Comm comm, bool writable);
  struct Handles;
  std::unique_ptr<Handles> h_;
  std::string path_, job_hash_, job_name_, job_yaml_;
  Layout layout_;
  Shard shard_;
  bool writable_ = false;
};

}  // namespace lrid::store
