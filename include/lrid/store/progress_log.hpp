#pragma once
// The rank-0 progress log of a campaign file: F.h5.log.jsonl next to it, one JSON object per
// line, flushed per line, so it can be read while the job writes and after a crash. One owner:
// train writes it, store's status and cluster's campaign directory read it through here.
//
// Events (every line has "event", "time" (ISO UTC) and "t" (seconds since the epoch)):
//   start        job, job_hash, campaign, shard, ranks, groups, ranks_per_run, threads_per_rank,
//                blas_threads, device, runs, todo, resume
//   assign       run, group, key, device
//   done         run, group, key, attempts, final_loss, final_metric, wall_seconds, seconds,
//                record_seconds, train_seconds, device, resumed_from (the checkpoint's step or -1)
//   failed       run, group, key, attempts, error
//   interrupted  run, key, step (the step its checkpoint holds; a later attempt continues there)
//   note         run, text (e.g. "checkpoint refused ...")
//   heartbeat    done, failed, running, pending; running_runs: [{run, step, steps, loss,
//                steps_per_second, device}] from the group leaders' progress files
//   finish       done, failed, pending, seconds, interrupted (true when stopped by a signal)
#include <cstdint>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

namespace lrid::store {

/// F.h5.log.jsonl
std::string progress_log_path(const std::string& campaign);

/// A job whose log has no event for this long (heartbeats come every 5 s) is taken as stopped.
inline constexpr double kLogStaleSeconds = 30.0;

class ProgressLog {
 public:
  /// Appends to the log (truncate: starts it afresh).
  ProgressLog(const std::string& path, bool truncate);
  /// Adds time and t, writes one line, flushes. Thread-safe.
  void write(nlohmann::json event);

 private:
  std::mutex mu_;
  std::ofstream out_;
};

/// The latest progress of a running run, from assign and heartbeat events.
struct RunProgress {
  int64_t run = -1, step = -1, steps = -1;
  double loss = 0, steps_per_second = 0;
  std::string device;
};

struct LogSummary {
  bool found = false;
  std::string last_event, last_event_time;
  double first_start = -1;   ///< t of the first start event
  double start = -1;         ///< t of the latest start event
  double last = -1;          ///< t of the latest event
  int64_t finished_since_start = 0, finished_total = 0;
  bool interrupted = false;  ///< the latest finish said it was stopped by a signal
  /// Runs assigned since the latest start and not finished, with their latest progress.
  std::map<int64_t, RunProgress> running;
  /// Per run: the last time it took (done events since the start), for ETA estimates.
  std::map<int64_t, double> run_seconds;
};

/// Reads a log (lines cut by a crash are skipped). Missing file: found == false.
LogSummary read_progress_log(const std::string& path);
/// Whether the log shows a job that has not finished and wrote within kLogStaleSeconds.
bool log_active(const LogSummary& s, double now_seconds);

}  // namespace lrid::store
