#pragma once
// Progress of a campaign, from its file's status table and its rank-0 log (<file>.log.jsonl).
// Works while the job runs, after it finished, and after a crash.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lrid/store/campaign.hpp"
#include "lrid/store/progress_log.hpp"

namespace lrid::store {

struct RunLine {
  int64_t id = 0;
  std::string key, error;
  int32_t attempts = 0;
  double wall_seconds = 0;
  int64_t checkpoint_step = -1;  ///< the step its checkpoint holds, -1: none
};

struct Checkpointed {
  int64_t run = 0, step = -1, steps = -1;
};

struct CampaignStatus {
  std::string path, job_name, job_hash;
  Shard shard;
  int64_t runs = 0;  ///< runs in this file's shard
  int64_t done = 0, failed = 0, running = 0, pending = 0;
  bool log_found = false;
  bool active = false;          ///< the log shows a job that has not finished and beat recently
  std::string last_event, last_event_time;
  double elapsed_seconds = 0;   ///< since the last 'start' in the log
  double runs_per_hour = 0;     ///< runs finished per hour since the last start
  double eta_seconds = -1;      ///< -1: unknown
  std::vector<RunLine> failed_runs, slowest_runs, interrupted_runs;
  /// Running runs' latest step, loss and speed (from the log's heartbeats; active jobs only).
  struct Running : RunProgress {
    int64_t checkpoint_step = -1;
    Running(const RunProgress& p) : RunProgress(p) {}
  };
  std::vector<Running> progress;
  /// Pending runs that have a checkpoint (an interrupted attempt), with its step.
  std::vector<Checkpointed> checkpointed;
};

/// Reads the status of a campaign file (and its log, if present).
CampaignStatus read_status(const std::string& campaign_path, double now_seconds);
nlohmann::json to_json(const CampaignStatus& s);
/// The human-readable report.
std::string format_status(const CampaignStatus& s);

}  // namespace lrid::store
