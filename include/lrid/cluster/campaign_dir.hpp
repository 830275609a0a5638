#pragma once
// A campaign directory made by `lrid submit` (torch-free):
//
//   CAMPAIGN_DIR/campaign.json     job name and hash, shard layout, every submission's Slurm job ids
//   CAMPAIGN_DIR/job.yaml          the job file as submitted (what every array task trains)
//   CAMPAIGN_DIR/shards.sbatch     the array job script (task I = shard I)
//   CAMPAIGN_DIR/reduce.sbatch     the reduction script (merge + analyze)
//   CAMPAIGN_DIR/shards/shard-I.h5 (+ .log.jsonl)   shard I's campaign file and rank-0 log
//   CAMPAIGN_DIR/logs/             Slurm output: shard-I.out (appended over reruns), reduce-JOB.out
//   CAMPAIGN_DIR/campaign.h5       the merged campaign (by the reduction), results/ its analysis,
//                                  reduce.done written when the reduction finished
//
// Its status combines the shard files, their rank-0 logs and what Slurm says of the jobs.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lrid/cluster/slurm.hpp"
#include "lrid/store/status.hpp"

namespace lrid::cluster {

/// One sbatch round: the first submit, or a resume.
struct Submission {
  std::string kind;                 ///< "submit" or "resume"
  std::string time;                 ///< UTC, ISO 8601
  std::vector<int64_t> shards;      ///< array indices submitted (empty: only a new reduction)
  std::string array;                ///< the --array value
  std::string array_job;            ///< Slurm job id of the array job ("" if none)
  std::string reduce_job;           ///< Slurm job id of the reduction
  std::vector<std::string> dependency;   ///< jobs the reduction waits for (afterany)
  std::vector<std::string> cancelled;    ///< superseded pending reductions cancelled by this round
};

struct CampaignRecord {
  std::string dir;                  ///< absolute
  std::string job_name, job_hash, job_file;   ///< job_file: the path given to lrid submit
  std::string profile, profile_name;          ///< cluster profile path and name
  std::string lrid;                 ///< lrid binary the scripts run
  std::string workdir;              ///< the scripts' --chdir
  int64_t runs = 0, shards = 1, max_concurrent = 0, max_attempts = 2;
  bool analyze = true;
  std::vector<Submission> submissions;
  /// Run ids of each shard (config::shard_assignment at submission), stored in campaign.json.
  std::vector<std::vector<int64_t>> layout;

  /// Run ids of shard i.
  std::vector<int64_t> shard_runs(int64_t i) const;
  std::string shard_file(int64_t i) const;   ///< dir/shards/shard-i.h5
  std::string path() const { return dir + "/campaign.json"; }
};

/// Whether `path` is a directory holding a campaign.json.
bool is_campaign_dir(const std::string& path);
/// Reads CAMPAIGN_DIR/campaign.json; BadInput if absent or malformed.
CampaignRecord read_record(const std::string& dir);
/// Writes campaign.json atomically (temporary file, then rename).
void write_record(const CampaignRecord& r);
nlohmann::json record_json(const CampaignRecord& r);

/// An exclusive lock on the campaign directory for the life of the object (flock on
/// CAMPAIGN_DIR/.lock): two submit/resume commands never interleave. BadInput if held.
class DirLock {
 public:
  explicit DirLock(const std::string& dir);
  ~DirLock();
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;

 private:
  int fd_ = -1;
};

struct ShardView {
  int64_t index = 0;
  std::string file;
  int64_t runs = 0;                 ///< runs of the shard (from the layout)
  std::string file_state;           ///< "missing", "unreadable", "foreign" or "ok"
  std::string file_error;           ///< why unreadable / foreign
  int64_t done = 0, failed = 0, failed_final = 0, running = 0, interrupted = 0, pending = 0;
  bool complete = false;            ///< every run done, or failed with no attempt left
  bool log_active = false;          ///< its rank-0 log beat in the last 30 s
  double runs_per_hour = 0;         ///< since the shard's last start
  std::string last_event, last_event_time;
  std::string slurm_job;            ///< "ARRAYJOB_I" of the latest submission holding the shard
  std::string slurm_state, slurm_reason;   ///< "" when Slurm does not know it
  bool slurm_active = false;
  bool active = false;              ///< Slurm says pending/running (or, if Slurm does not know the
                                    ///< task, its log is live): never resubmitted
  std::string output_error;         ///< last error line of logs/shard-I.out
  std::vector<store::RunLine> failed_runs, interrupted_runs;
};

struct DirStatus {
  CampaignRecord record;
  std::vector<ShardView> shards;
  int64_t done = 0, failed = 0, failed_final = 0, running = 0, interrupted = 0, pending = 0;
  bool complete = false;            ///< every shard complete
  bool active = false;              ///< some shard or the reduction may still run
  int64_t active_shards = 0;
  double runs_per_hour_now = 0;     ///< sum over the shards running now
  double runs_per_hour_overall = 0; ///< runs finished / time from the first start to the last event
  double eta_seconds = -1;          ///< -1: unknown (nothing running)
  std::string first_start, last_event_time;
  std::string reduce_job, reduce_state, reduce_reason;
  bool reduce_active = false;
  bool merged = false;              ///< campaign.h5 exists
  bool reduced = false;             ///< reduce.done exists
  bool slurm_available = false;
  std::string slurm_error;
};

/// Job ids (arrays and reductions) of every submission, oldest first.
std::vector<std::string> campaign_job_ids(const CampaignRecord& r);

/// Reads the campaign's status; `view` is what Slurm says of campaign_job_ids().
DirStatus read_dir_status(const std::string& dir, double now, const SlurmView& view);
/// Same, asking Slurm (squeue, then sacct) itself.
DirStatus read_dir_status(const std::string& dir, double now);

/// The shards to resubmit: not complete and not active (pending/running in Slurm).
std::vector<int64_t> shards_to_resubmit(const DirStatus& s);

nlohmann::json to_json(const DirStatus& s);
std::string format_dir_status(const DirStatus& s);

/// UTC now as 2020-01-31T12:00:00Z.
std::string utc_now();

}  // namespace lrid::cluster
