#include "lrid/store/status.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "lrid/store/progress_log.hpp"
#include "lrid/store/run_files.hpp"

namespace lrid::store {

CampaignStatus read_status(const std::string& path, double now) {
  CampaignStatus s;
  auto c = Campaign::open_read(path);
  s.path = path;
  s.job_name = c->job_name();
  s.job_hash = c->job_hash();
  s.shard = c->shard();
  const auto runs = c->runs();
  const auto records = c->records();
  std::vector<RunLine> done_runs;
  for (size_t i = 0; i < runs.size(); ++i) {
    const auto& r = runs[i];
    ++s.runs;
    const RunRecord& rec = records[i];
    RunLine line{r.id, r.key(), rec.error, rec.attempts, rec.wall_seconds};
    switch (rec.status) {
      case kDone: ++s.done, done_runs.push_back(line); break;
      case kFailed: ++s.failed, s.failed_runs.push_back(line); break;
      case kRunning: ++s.running, s.interrupted_runs.push_back(line); break;
      default: ++s.pending; break;
    }
  }
  std::sort(done_runs.begin(), done_runs.end(),
            [](const RunLine& a, const RunLine& b) { return a.wall_seconds > b.wall_seconds; });
  done_runs.resize(std::min<size_t>(done_runs.size(), 5));
  s.slowest_runs = done_runs;

  const LogSummary log = read_progress_log(progress_log_path(path));
  s.log_found = log.found;
  s.last_event = log.last_event;
  s.last_event_time = log.last_event_time;
  if (log.found) {
    s.active = log_active(log, now);
    if (log.start >= 0) {
      s.elapsed_seconds = (s.active ? now : log.last) - log.start;
      if (s.elapsed_seconds > 0 && log.finished_since_start > 0)
        s.runs_per_hour = static_cast<double>(log.finished_since_start) / s.elapsed_seconds * 3600.0;
    }
    if (s.runs_per_hour > 0) s.eta_seconds = static_cast<double>(s.pending + s.running) / s.runs_per_hour * 3600.0;
    if (s.active)
      for (const auto& [run, p] : log.running) s.progress.push_back(p);
  }
  // Runs with a checkpoint: the step it holds (running, interrupted, or pending again).
  const std::string dir = checkpoint_dir(path);
  for (auto* lines : {&s.interrupted_runs, &s.failed_runs})
    for (auto& r : *lines)
      if (const auto j = read_checkpoint_summary(dir, r.id)) r.checkpoint_step = j->value("step", int64_t{-1});
  for (const auto& rec : records)
    if (rec.status == kPending)
      if (const auto j = read_checkpoint_summary(dir, rec.id))
        s.checkpointed.push_back({rec.id, j->value("step", int64_t{-1}), j->value("steps", int64_t{-1})});
  for (auto& p : s.progress)
    if (const auto j = read_checkpoint_summary(dir, p.run)) p.checkpoint_step = j->value("step", int64_t{-1});
  if (s.active) {
    s.interrupted_runs.clear();  // they are really running
  }
  return s;
}

nlohmann::json to_json(const CampaignStatus& s) {
  auto lines = [](const std::vector<RunLine>& v) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& r : v)
      a.push_back({{"run", r.id}, {"key", r.key}, {"error", r.error}, {"attempts", r.attempts},
                   {"wall_seconds", r.wall_seconds}, {"checkpoint_step", r.checkpoint_step}});
    return a;
  };
  nlohmann::json running = nlohmann::json::array(), checkpointed = nlohmann::json::array();
  for (const auto& p : s.progress)
    running.push_back({{"run", p.run}, {"step", p.step}, {"steps", p.steps}, {"loss", p.loss},
                       {"steps_per_second", p.steps_per_second}, {"device", p.device},
                       {"checkpoint_step", p.checkpoint_step}});
  for (const auto& c : s.checkpointed) checkpointed.push_back({{"run", c.run}, {"step", c.step}, {"steps", c.steps}});
  return {{"campaign", s.path},
          {"job", s.job_name},
          {"job_hash", s.job_hash},
          {"shard", std::to_string(s.shard.index) + "/" + std::to_string(s.shard.count)},
          {"runs", s.runs},
          {"done", s.done},
          {"failed", s.failed},
          {"running", s.active ? s.running : 0},
          {"interrupted", s.active ? 0 : s.running},
          {"pending", s.pending},
          {"active", s.active},
          {"log_found", s.log_found},
          {"last_event", s.last_event},
          {"last_event_time", s.last_event_time},
          {"elapsed_seconds", s.elapsed_seconds},
          {"runs_per_hour", s.runs_per_hour},
          {"eta_seconds", s.eta_seconds},
          {"failed_runs", lines(s.failed_runs)},
          {"interrupted_runs", lines(s.interrupted_runs)},
          {"slowest_runs", lines(s.slowest_runs)},
          {"running_runs", running},
          {"checkpointed_runs", checkpointed}};
}

std::string format_status(const CampaignStatus& s) {
  std::ostringstream o;
  char buf[256];
  o << "campaign " << s.path << ": job '" << s.job_name << "' (hash " << s.job_hash << "), shard "
    << s.shard.index << "/" << s.shard.count << ", " << s.runs << " runs\n";
  std::snprintf(buf, sizeof buf, "  done %lld  failed %lld  %s %lld  pending %lld\n",
                static_cast<long long>(s.done), static_cast<long long>(s.failed),
                s.active ? "running" : "interrupted", static_cast<long long>(s.running),
                static_cast<long long>(s.pending));
  o << buf;
  if (!s.log_found) {
    o << "  no progress log (" << s.path << ".log.jsonl)\n";
  } else {
    o << "  job " << (s.active ? "running" : "not running") << "; last event '" << s.last_event
      << "' at " << s.last_event_time << "\n";
    if (s.runs_per_hour > 0) {
      std::snprintf(buf, sizeof buf, "  throughput %.1f runs/h over %.0f s", s.runs_per_hour,
                    s.elapsed_seconds);
      o << buf;
      if (s.eta_seconds >= 0 && s.pending + s.running > 0) {
        std::snprintf(buf, sizeof buf, ", ETA %.0f s%s", s.eta_seconds,
                      s.active ? "" : " (once resumed)");
        o << buf;
      }
      o << "\n";
    }
  }
  if (!s.progress.empty()) {
    o << "  running:\n";
    for (const auto& p : s.progress) {
      std::snprintf(buf, sizeof buf, "    run %lld on %s: step %lld/%lld, loss %.4f, %.1f steps/s%s\n",
                    static_cast<long long>(p.run), p.device.c_str(), static_cast<long long>(p.step),
                    static_cast<long long>(p.steps), p.loss, p.steps_per_second,
                    p.checkpoint_step >= 0 ? (", checkpoint at step " + std::to_string(p.checkpoint_step)).c_str() : "");
      o << buf;
    }
  }
  if (!s.interrupted_runs.empty()) {
    o << "  interrupted (continued by --resume):";
    for (const auto& r : s.interrupted_runs)
      o << " " << r.id << (r.checkpoint_step >= 0 ? " (checkpoint at step " + std::to_string(r.checkpoint_step) + ")" : "");
    o << "\n";
  }
  if (!s.checkpointed.empty()) {
    o << "  pending with a checkpoint (continued by --resume):";
    for (const auto& c : s.checkpointed) o << " " << c.run << " (step " << c.step << "/" << c.steps << ")";
    o << "\n";
  }
  if (!s.slowest_runs.empty()) {
    o << "  slowest runs:\n";
    for (const auto& r : s.slowest_runs) {
      std::snprintf(buf, sizeof buf, "    run %lld %s  %.1f s\n", static_cast<long long>(r.id),
                    r.key.c_str(), r.wall_seconds);
      o << buf;
    }
  }
  if (!s.failed_runs.empty()) {
    o << "  failed runs:\n";
    for (const auto& r : s.failed_runs)
      o << "    run " << r.id << " " << r.key << " (attempts " << r.attempts << "): " << r.error << "\n";
  }
  return o.str();
}

}  // namespace lrid::store
