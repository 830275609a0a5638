#pragma once
// Talking to Slurm through its client commands (sbatch, squeue, sacct, sinfo, scancel).
// Torch-free. Parsers are separate from the commands so they can be unit-tested.
#include <map>
#include <string>
#include <vector>

namespace lrid::cluster {

struct CommandResult {
  int status = -1;        ///< exit code; -1 if the program could not be started
  std::string out, err;
};

/// Runs argv[0] (searched in PATH) with the given arguments, capturing stdout and stderr.
CommandResult run_command(const std::vector<std::string>& argv);

/// The full path of `program` in PATH, or "" when it is not there.
std::string find_in_path(const std::string& program);

/// Throws BadInput when `program` is not in PATH (naming what needs it and how to get it).
void require_program(const std::string& program, const std::string& command);

/// Throws BadInput unless a Slurm controller answers (`sinfo` runs): a missing or unreadable
/// SLURM_CONF, no slurm.conf at all, or a controller that does not answer each get one line
/// naming the environment to set (SLURM_CONF, the local cluster's env.sh) before anything is
/// written. Slurm's own client would retry a missing SLURM_CONF for 60 s; this checks first.
/// Returns what that `sinfo -h -o %P` listed: the partitions, and the default one (marked '*'
/// by sinfo; "" when the cluster has none).
struct Partitions {
  std::vector<std::string> names;
  std::string default_name;
};
Partitions require_slurm(const std::string& command);

/// Runs `sbatch --parsable ARGS...` and returns the job id. A refusal by sbatch (bad partition,
/// account, time limit...) throws BadInput with sbatch's message and `blame` (e.g. the profile).
std::string sbatch(const std::vector<std::string>& args, const std::string& blame);

/// One Slurm job or array task as squeue / sacct report it.
struct TaskState {
  std::string state;   ///< PENDING, RUNNING, COMPLETED, FAILED, CANCELLED, TIMEOUT, NODE_FAIL, ...
  std::string reason;  ///< squeue's reason (e.g. NonZeroExitCode, Dependency); sacct's ExitCode
  std::string source;  ///< "squeue" or "sacct"
};

/// Keys: "JOB_TASK" for array tasks (e.g. "12_3"), "JOB" for a plain job.
using TaskStates = std::map<std::string, TaskState>;

/// Parses `squeue -h -r -t all -o %F|%K|%T|%r` output.
TaskStates parse_squeue(const std::string& out);
/// Parses `sacct -n -X -P -o JobID,State,ExitCode` output (array ranges like 12_[1-3%2] are
/// expanded; "CANCELLED by 0" becomes CANCELLED).
TaskStates parse_sacct(const std::string& out);
/// Expands a Slurm array index list "1-3,7,9-11:2%4" (throttle ignored).
std::vector<long long> expand_indices(const std::string& spec);

/// What Slurm knows about a set of jobs right now.
struct SlurmView {
  bool available = false;   ///< squeue answered
  std::string error;        ///< why not (no squeue in PATH, controller down, ...)
  TaskStates tasks;
};

/// Queries squeue for `job_ids` (and sacct for ids squeue no longer holds).
SlurmView query_jobs(const std::vector<std::string>& job_ids);

/// Whether a job in this state may still run (pending, running, requeued, suspended, ...).
bool state_active(const std::string& state);
/// Whether a finished job in this state did not complete (failed, cancelled, timeout, node fail...).
bool state_unsuccessful(const std::string& state);

}  // namespace lrid::cluster
