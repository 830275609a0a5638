#pragma once
// Cluster profiles (cluster/<site>.yaml): where and how `lrid submit` runs a campaign on a
// Slurm cluster. Torch-free. See cluster/example-gpu.yaml for every key, documented.
#include <cstdint>
#include <string>
#include <vector>

namespace lrid::cluster {

/// What one Slurm job (one shard's array task, or the reduction) asks for.
struct Resources {
  int64_t nodes = 1;
  int64_t tasks_per_node = 1;   ///< MPI ranks per node
  int64_t cpus_per_task = 1;    ///< cores per rank
  int64_t gpus_per_node = 0;
  std::string gpu_type;         ///< e.g. a100 -> --gpus-per-node=a100:4
  std::string memory;           ///< --mem (e.g. 64G); "" = site default
  std::string time;             ///< --time (Slurm time format); "" = site default
  std::string partition, qos;   ///< "" = the profile's
};

struct Profile {
  std::string path;             ///< file it was read from
  std::string name;
  std::string partition, account, qos;
  bool partition_required = false;   ///< this site has no default partition
  Resources shard;
  Resources reduce;             ///< defaults: 1 node, 1 task, the shard's cpus_per_task and time
  std::string launcher = "srun --mpi=pmix";   ///< first word: srun, mpirun or mpiexec
  std::vector<std::string> setup;    ///< shell lines run first in every script (module load ...)
  /// Environment modules every script loads after the setup lines (`module load lrid/0.1.0`);
  /// without `lrid`, the scripts then run the lrid the modules put on PATH.
  std::vector<std::string> modules;
  std::vector<std::string> sbatch;   ///< extra #SBATCH options of the shard jobs, e.g. --constraint=a100
  std::vector<std::string> reduce_sbatch;   ///< extra #SBATCH options of the reduction job
  std::string lrid;             ///< lrid binary on the compute nodes; "" = the submitting binary
  bool requeue = true;          ///< #SBATCH --requeue (preempted / node-failed tasks rerun)
  /// Seconds before a shard's time limit at which Slurm warns the task (#SBATCH
  /// --signal=B:USR1@N): the script passes SIGUSR1 to the ranks, which checkpoint and exit 75,
  /// and the task requeues itself (with requeue: true). 0 = no warning.
  int64_t signal_grace = 300;
  bool analyze = true;          ///< the reduction runs 'lrid analyze' after the merge
  std::string templates;        ///< directory of the script templates; "" = default search

  /// The launcher's first word ("srun", "mpirun", "mpiexec").
  std::string launcher_program() const;
};

/// Reads and validates a profile. Every problem throws lrid::BadInput as
/// "FILE:LINE:COL: KEY: what was expected" (unknown keys get a "did you mean").
Profile load_profile_file(const std::string& path);
Profile load_profile_text(const std::string& text, const std::string& origin);

/// Whether `t` is a Slurm time limit: M, M:S, H:M:S, D-H, D-H:M, D-H:M:S (or "infinite").
bool valid_slurm_time(const std::string& t);

}  // namespace lrid::cluster
