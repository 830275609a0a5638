#include "lrid/cli/commands.hpp"

namespace lrid::cli {

const std::vector<Command>& commands() {
  static const std::vector<Command> list = {
      {"run", "the main job: train the grid across the MPI ranks (default: quickstart)", cmd_run},
      {"grid", "validate a job file and list its expanded runs", cmd_grid},
      {"train", "train a job's runs across MPI ranks into a campaign file", cmd_train},
      {"analyze", "identify the learning rule: classifiers and robustness sweeps", cmd_analyze},
      {"status", "progress of a campaign: done, failed, running, pending, ETA", cmd_status},
      {"merge", "combine shard files of one job into one campaign file", cmd_merge},
      {"submit", "run a job on a Slurm cluster: sbatch array of shards + chained merge/analyze", cmd_submit},
      {"resume", "resubmit the failed/cancelled shards of a Slurm campaign directory", cmd_resume},
      {"stats", "statistics of one HDF5 dataset under a condition, as JSON", cmd_stats},
      {"fit", "fit a learning-rule model for one measurement setting (for classify)", cmd_fit},
      {"classify", "which learning rule a recording looks like, with probabilities", cmd_classify},
      {"completion", "print the bash completion script: source <(lrid completion bash)", cmd_completion},
  };
  return list;
}

}  // namespace lrid::cli
