#pragma once
// The job file: YAML -> validated JobSpec -> the expanded list of RunSpecs.
// Every key is documented in docs/job-file.md. No torch here (included widely).
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "lrid/config/architectures.hpp"
#include "lrid/config/classifiers.hpp"
#include "lrid/config/rules.hpp"

namespace lrid::config {

/// Optimiser and schedule of one learning rule (defaults merged in).
struct RuleSettings {
  std::string optimizer;          ///< "sgd" (with momentum) or "adam"
  double learning_rate = 0.0;
  double momentum = 0.0;          ///< sgd only
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;  ///< adam only
  double weight_decay = 0.0;
  std::string schedule;           ///< "constant", "cosine" or "step"
  int64_t warmup_steps = 0;
  double step_gamma = 0.1;        ///< "step": multiply lr by this ...
  std::vector<double> step_milestones;  ///< ... at these fractions of training
  int64_t steps = 0;              ///< training steps (0 when given as epochs)
  double epochs = 0.0;            ///< training epochs (0 when given as steps)
  double gradient_clip = 0.0;     ///< max global norm of the task gradient (W, biases, BN), 0 = off
  double max_loss = 1e4;          ///< a loss above this (or NaN) fails the run
  /// A smoothed training loss above this times the run's initial loss fails the run (0 = off).
  double divergence_factor = 5.0;
  /// What the rule's backward kernel B does, with its rule-only settings (config/rules.hpp).
  FeedbackSpec feedback;
};

struct DatasetSpec {
  std::string format;  ///< "idx", "cifar10" or "hdf5"
  std::string path;    ///< directory (idx, cifar10) or file (hdf5), ${data_root} expanded
};

/// A task's nominal size, for the cost model only (training reads the real data).
struct TaskSize {
  int64_t examples = 50000;
  int64_t channels = 3, height = 32, width = 32;
  int64_t classes = 10;
};

/// Training-time augmentation of a task's images (docs/job-file.md, tasks.augment). Resolved:
/// supervised defaults to none, SimCLR to its random resized crop, flip and noise.
struct AugmentSpec {
  std::string crop = "none";   ///< none | pad (zero-pad and crop, CIFAR-style) | resized (random resized crop)
  int64_t pad = 4;             ///< crop: pad
  double flip = 0.0;           ///< probability of a horizontal flip
  double min_scale = 0.08;     ///< crop: resized, smallest area fraction
  double noise = 0.0;          ///< std of additive Gaussian noise, normalised units
  int64_t height = 0, width = 0;  ///< output size trained at (0: the stored size); evaluation and
                                  ///< observation images are centre-cropped to it
  bool operator==(const AugmentSpec& o) const {
    return crop == o.crop && pad == o.pad && flip == o.flip && min_scale == o.min_scale && noise == o.noise &&
           height == o.height && width == o.width;
  }
};

/// The defaults of an objective: supervised none; simclr resized crop, flip 0.5, noise 0.1.
AugmentSpec default_augment(const std::string& objective);

struct TaskSpec {
  std::string name;
  std::string objective;             ///< "supervised" or "simclr"
  DatasetSpec dataset;
  std::vector<int64_t> label_map;    ///< old label -> new label, empty = identity
  double simclr_temperature = 0.5;
  int64_t simclr_head_hidden = 128;
  int64_t simclr_head_dim = 64;
  TaskSize size;
  AugmentSpec augment;               ///< resolved (default_augment of the objective, then the job's keys)
};

struct Seed {
  bool fixed = false;  ///< false: "unfixed" (derived from the run's content, so reruns agree)
  int64_t value = 0;
  std::string str() const { return fixed ? std::to_string(value) : std::string("unfixed"); }
  bool operator==(const Seed& o) const { return fixed == o.fixed && (!fixed || value == o.value); }
};

struct MeasurementSpec {
  std::vector<double> unit_fractions{1.0};
  std::vector<int64_t> unit_counts;  ///< absolute numbers of units (min(count, a layer's units))
  std::vector<double> noise_levels{0.0};
  int64_t seed = 0;
};

struct ObservablesSpec {
  int64_t trajectory_points = 21;
  int64_t observation_batch = 256;
  std::vector<std::string> statistics{"all"};  ///< names or sets, resolved by observe
  MeasurementSpec conditions;
};

struct DistributedSpec {
  int64_t ranks_per_run = 1;
  std::string gradient_backend = "auto";  ///< auto | mpi | nccl
  std::string device = "auto";            ///< auto | cpu | cuda
  int64_t threads_per_rank = 0;           ///< 0: cores / ranks on the node
  /// OpenBLAS's threads per rank for matrix products (0: threads_per_rank). 1: LibTorch's
  /// intra-op pool does all the parallel work (two spinning pools oversubscribe the cores).
  int64_t blas_threads = 1;
  int64_t max_attempts = 2;               ///< a failed run is retried on resume up to this
  /// TF32 in float32 convolutions and matrix products on CUDA (train::set_allow_tf32): faster,
  /// not bit-reproducible across devices. No effect on the CPU; not part of the run hash.
  bool allow_tf32 = true;
  double checkpoint_seconds = 600;        ///< in-run checkpoints this often (0: off)
  /// An HDF5 split whose images take more than this (MiB, per process) is streamed from the
  /// file by batches instead of loaded (< 0: never stream).
  double data_memory_mb = 512;
};

struct AnalysisSpec {
  int64_t splits = 10;
  double test_fraction = 0.25;
  int64_t cv_folds = 5;
  int64_t seed = 0;
  std::vector<std::string> statistics{"admissible"};
  /// The classifiers of the main table (default: every registered one, config/classifiers.hpp).
  std::vector<std::string> classifiers = classifier_names();
  /// analysis.<classifier>.<key> lists the job gives (the rest: the classifier's defaults).
  ClassifierGrids grids;
  int64_t sweep_splits = 10;               ///< splits of the robustness sweeps
  int64_t sweep_n_estimators = 100;        ///< the sweeps' forest
  std::string sweep_max_features = "sqrt";
  int64_t random_draws = 3;                ///< trajectory sweep: random point sets per k
  std::vector<std::string> sweeps{"observable_class", "networks",    "holdout",     "trajectory",
                                  "measurement",      "importance",  "permutation", "identifiability"};
};

/// The analysis sweeps lrid runs (AnalysisSpec::sweeps).
const std::vector<std::string>& analysis_sweep_names();

/// One factor combination of the grid.
struct RunSpec {
  int64_t id = 0;  ///< index in the canonical order
  std::string rule, task, arch;
  int64_t batch_size = 0;
  Seed model_seed, dataset_seed;
  uint64_t model_seed_value = 0;    ///< resolved seed used for W and B initialisation
  uint64_t dataset_seed_value = 0;  ///< resolved seed used for data order and augmentation
  int block = 0;                    ///< grid block it came from
  std::string hash;                 ///< 16 hex digits over everything that affects its data
  /// "rule/task/arch/bs64/m0/d_unfixed": a readable key, unique within a job.
  std::string key() const;
};

struct JobSpec {
  std::string path;       ///< the file it was read from ("<embedded>" for the default)
  std::string yaml_text;  ///< the full text, stored in the campaign file
  std::string name;
  std::string description;
  std::string data_root;
  std::map<std::string, TaskSpec> tasks;          ///< built-ins and job-defined
  std::map<std::string, RuleSettings> training;   ///< per rule, defaults merged
  ObservablesSpec observables;
  DistributedSpec distributed;
  AnalysisSpec analysis;
  std::vector<RunSpec> runs;  ///< expanded, validated, ids and hashes assigned
  std::string hash;           ///< hash over the runs' hashes: what a campaign file is bound to

  const TaskSpec& task(const std::string& name) const { return tasks.at(name); }
  const RuleSettings& rule(const std::string& name) const { return training.at(name); }
};

/// Reads, validates and expands a job file. Throws lrid::BadInput with
/// "FILE:LINE:COL: KEY: what was expected" on any problem.
///
/// `overrides` are command-line "key.path=value" settings applied on top of the file
/// (training.defaults.steps=50, grid.0.batch_sizes=[16,32], analysis.random_forest.max_features=null):
/// the value is YAML (so typed as in a file), a list index selects a grid block, missing maps
/// are created. They are validated exactly like the file; a problem in one is reported as
/// "override N (key=value): KEY: what was expected". With overrides, the job's yaml_text (what a
/// campaign file stores and what its hash covers) is the effective job, emitted from the merged
/// tree with a comment naming the file and the overrides.
JobSpec load_job_file(const std::string& path, const std::vector<std::string>& overrides = {});
/// Same, from text (`origin` names it in messages).
JobSpec load_job_text(const std::string& text, const std::string& origin,
                      const std::vector<std::string>& overrides = {});

/// Whether a command-line argument is an override (contains '=' and no leading '-').
bool is_override(const std::string& arg);

/// Where the job's rules of the shared SGD policy (Policy::Shared: sgdm, fa, ia, ...; those it
/// trains) differ in their learning-rate policy (learning rate, schedule, momentum, weight decay,
/// warm-up, gradient clip, training length, optimizer), one "key: sgdm X, fa Y" line each; empty
/// when they share one. With different policies a classifier can tell the rules apart by the
/// size of their steps alone.
std::vector<std::string> policy_differences(const JobSpec& job);

/// The relative cost of training a run: images processed (steps x batch, epochs x the task's
/// nominal size) x the architecture's forward multiply-accumulates at the task's nominal input
/// size (config/architectures.hpp) x the rule's cost factor (its RuleDef) x the objective's
/// (SimCLR's two views: 2). Used to balance shards and to schedule runs longest first.
double run_cost(const JobSpec& job, const RunSpec& run);

/// The run ids of each of `count` shards: runs taken longest first (run_cost, ties by id) onto
/// the shard with the least cost so far (ties: lowest index); each shard's ids ascending.
/// Deterministic for a job; count in [1, runs].
std::vector<std::vector<int64_t>> shard_assignment(const JobSpec& job, int64_t count);

}  // namespace lrid::config
