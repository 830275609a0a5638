#pragma once
// The campaign file: one HDF5 file per job (or per shard) holding its runs' specs, status and
// observable trajectories. A shard file holds only its shard's runs; `lrid merge` places them
// into the full campaign. Layout (format "lrid-campaign-2"; every dataset allocated when the
// file is created, so training only writes raw data into it and a crash can never damage
// metadata or runs already marked done):
//
//   /                      attrs: format, lrid_version, job_name, job_hash, job_file, job_yaml,
//                                 created, shard_index, shard_count, job_runs
//   /runs/job_id           int64 [R]  the job's run id of each row (dimension scale "run")
//   /runs/spec             compound [R]: id, rule, task, architecture, batch_size, model_seed,
//                          dataset_seed, model_seed_value, dataset_seed_value, hash, block
//                          (strings variable-length UTF-8)
//   /runs/status           uint8 [R]  0 pending, 1 running, 2 done, 3 failed (attr: legend)
//   /runs/attempts         int32 [R]
//   /runs/wall_seconds     float64 [R]
//   /runs/final_loss       float64 [R]
//   /runs/final_metric     float64 [R]  (attr metric)
//   /runs/metric_chance    float64 [R]  the metric's chance level (1/classes; SimCLR 1/(2n-1))
//   /runs/device           string(32) [R]  where the run trained ("cpu", "cuda:0")
//   /runs/error            string(512) [R]
//   /runs/steps            int64 [R, T]   training step of each trajectory point
//   /runs/loss             float64 [R, T] training loss at each trajectory point
//   /layers/count          int32 [R]
//   /layers/name           string [R, L]  (variable-length, "" where a run has fewer layers)
//   /layers/depth          int8 [R, L]    0 early, 1 middle, 2 deep, -1 none
//   /layers/act_units, /layers/weight_entries   int64 [R, L]  units the recorder observed per
//                          example / entries of W (written with the run; -1 before)
//   /observables/values    float32 [R, L, C, T, S], chunked per run, NaN where not recorded;
//                          dimension scales: /runs/job_id, /observables/layer,
//                          /observables/condition, /observables/point, /observables/statistic
//   /observables/statistic string [S]; condition string [C]; condition_fraction,
//                          condition_noise float64 [C]; condition_units int64 [C] (0: by
//                          fraction); point, layer int64 [T], [L]; attr condition_seed
//   /diagnostics/wb_angle, /diagnostics/grad_angle   float32 [R, L, T], degrees
//                          (lrid/train/recorder.hpp), dimension scales as above
// Strings written during training (error, device) are fixed-length: HDF5 cannot write
// variable-length data through MPI-IO.
#include <mpi.h>

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>


namespace lrid::store {

enum RunStatus : uint8_t { kPending = 0, kRunning = 1, kDone = 2, kFailed = 3 };

/// The format this lrid writes and reads.
inline constexpr const char* kCampaignFormat = "lrid-campaign-2";

struct LayerMeta {
  std::string name;
  int depth = 0;  ///< 0 early, 1 middle, 2 deep
  int64_t act_units = -1, weight_entries = -1;  ///< as recorded (-1: not yet)
};

struct ConditionMeta {
  std::string name;
  double fraction = 1.0;
  double noise = 0.0;
  int64_t units = 0;  ///< an absolute unit count (min(units, the layer's)), 0: by fraction
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
  std::vector<float> wb_angle, grad_angle;  ///< [layers of this run, T], degrees
  std::vector<float> last_wb_angle, last_grad_angle;  ///< the latest point's (not stored)
  std::vector<int64_t> act_units, weight_entries;     ///< [layers of this run]
  std::vector<int64_t> steps;    ///< [T]
  std::vector<double> loss;      ///< [T]
  double wall_seconds = 0, final_loss = 0, final_metric = 0;
  double metric_chance = 0;      ///< the final metric's chance level
  std::string device = "cpu";
  double record_seconds = 0;  ///< of wall_seconds, spent recording observables (not stored)
  int64_t resumed_from = -1;  ///< the step a checkpoint resumed it from, -1: from scratch (not stored)
  double train_seconds = 0;   ///< of wall_seconds, spent in training steps (not stored)
  int64_t checkpoints = 0;    ///< checkpoints this attempt wrote (not stored)
  double checkpoint_seconds = 0;   ///< of wall_seconds, spent writing them (not stored)
  int64_t checkpoint_bytes = 0;    ///< size of the last one, this rank's file (not stored)
};

/// Shard I of N of a job: the run ids it holds (config::shard_assignment). An empty list with
/// N = 1 means every run of the job.
struct Shard {
  int64_t index = 0, count = 1;
  std::vector<int64_t> runs;
  bool all() const { return count == 1 && runs.empty(); }
  bool contains(int64_t run_id) const;
  std::string name() const { return std::to_string(index) + "/" + std::to_string(count); }
};

/// One run of the job as /runs/spec stores it.
struct RunRow {
  int64_t id = 0;  ///< job run id
  std::string rule, task, arch;
  int64_t batch_size = 0;
  std::string model_seed, dataset_seed;  ///< "unfixed" or the seed given
  uint64_t model_seed_value = 0, dataset_seed_value = 0;  ///< the seeds used
  std::string hash;  ///< the run's content hash
  int block = 0;     ///< the grid block it came from
  /// "rule/task/arch/bs64/m0/d_unfixed", as config::RunSpec::key().
  std::string key() const;
};

/// What a campaign file records of its job: store reads no job files (train::describe makes
/// this from a config::JobSpec).
struct CampaignDescription {
  std::string name, hash;  ///< the job's name and hash
  std::string file, yaml;  ///< the job file's path and its effective YAML text
  std::vector<RunRow> runs;  ///< every run of the job, index = run id
};

struct RunRecord {
  int64_t id = 0;  ///< job run id
  uint8_t status = kPending;
  int32_t attempts = 0;
  double wall_seconds = 0, final_loss = 0, final_metric = 0, metric_chance = 0;
  std::string device, error;
};

class Campaign {
 public:
  /// Creates `path` for the runs of `shard` of the job `job` describes (written as path.tmp, then renamed: a
  /// crash never leaves half a file). `layers[i]` lists the plastic layers of the shard's i-th
  /// run (in job id order). Refuses an existing file (BadInput) unless `overwrite`. Serial:
  /// call on one process only.
  static void create(const std::string& path, const CampaignDescription& job,
                     const std::vector<std::vector<LayerMeta>>& layers, const Layout& layout,
                     const Shard& shard, bool overwrite);

  /// Opens an existing file and checks it belongs to `job` (same job hash, same run hashes);
  /// a foreign or changed job throws BadInput naming the runs that would change.
  /// comm == MPI_COMM_NULL: serial access; otherwise collective MPI-IO open over comm.
  static std::unique_ptr<Campaign> open(const std::string& path, const CampaignDescription& job,
                                        MPI_Comm comm, bool writable);
  /// Opens any campaign file read-only without a job (status, analyze, merge). A file of
  /// another format (e.g. lrid-campaign-1) is refused with one line naming it.
  static std::unique_ptr<Campaign> open_read(const std::string& path);

  ~Campaign();
  Campaign(const Campaign&) = delete;
  Campaign& operator=(const Campaign&) = delete;

  const std::string& path() const { return path_; }
  /// layout().runs is the number of runs in this file (its rows).
  const Layout& layout() const { return layout_; }
  const std::string& job_hash() const { return job_hash_; }
  const std::string& job_name() const { return job_name_; }
  const std::string& job_yaml() const { return job_yaml_; }
  const Shard& shard() const { return shard_; }
  /// The job run ids this file holds, in row order (ascending).
  const std::vector<int64_t>& run_ids() const { return ids_; }
  bool has_run(int64_t run_id) const { return row_.count(run_id) > 0; }
  /// The number of runs in the whole job.
  int64_t job_runs() const { return job_runs_; }

  // Per-run access by job run id (BadInput for a run the file does not hold).

  /// Writes a run's results, then marks it done (in that order). Independent I/O.
  void write_run(const RunResult& result);
  /// Sets status (and attempts/error) of one run. Independent I/O.
  void set_status(int64_t run_id, uint8_t status, int32_t attempts, const std::string& error = "");

  /// Copies run `run_id` (observables, diagnostics, curves, record; status last) from `src`, a
  /// file of the same job and layout holding that run.
  void copy_run(const Campaign& src, int64_t run_id);

  uint8_t status(int64_t run_id) const;
  RunRecord record(int64_t run_id) const;
  /// One per row (run_ids() order).
  std::vector<RunRecord> records() const;
  std::vector<LayerMeta> layers(int64_t run_id) const;
  /// [layers of the run, C, T, S] for one run.
  std::vector<float> values(int64_t run_id) const;
  /// [layers of the run, T]: "wb_angle" or "grad_angle".
  std::vector<float> diagnostic(int64_t run_id, const std::string& name) const;
  /// [T] training steps and losses of the trajectory points.
  std::vector<int64_t> steps(int64_t run_id) const;
  std::vector<double> losses(int64_t run_id) const;
  /// Specs as stored, one per row (id, rule, task, architecture, batch size, seeds, hash).
  std::vector<RunRow> runs() const;

 private:
  Campaign() = default;
  static std::unique_ptr<Campaign> open_impl(const std::string& path, MPI_Comm comm, bool writable);
  uint64_t row(int64_t run_id) const;
  struct Handles;
  std::unique_ptr<Handles> h_;
  std::string path_, job_hash_, job_name_, job_yaml_;
  Layout layout_;
  Shard shard_;
  std::vector<int64_t> ids_;
  std::unordered_map<int64_t, uint64_t> row_;
  int64_t job_runs_ = 0;
  bool writable_ = false;
};

}  // namespace lrid::store
