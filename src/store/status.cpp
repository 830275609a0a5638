#include "lrid/store/status.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace lrid::store {

namespace {
// A job whose log has no event for this long (heartbeats come every 5 s) is taken as stopped.
constexpr double kStaleSeconds = 30.0;
}  // namespace

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
  for (const auto& r : runs) {
    if (!s.shard.contains(r.id)) continue;
    ++s.runs;
    const RunRecord& rec = records[static_cast<size_t>(r.id)];
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

  std::ifstream log(path + ".log.jsonl");
  double t_start = -1, t_last = -1;
  int64_t finished_since_start = 0;
  std::string line;
  while (log && std::getline(log, line)) {
    if (line.empty()) continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception&) {
      continue;  // a line cut by a crash
    }
    s.log_found = true;
    const std::string ev = j.value("event", "");
    const double t = j.value("t", 0.0);
    s.last_event = ev;
    s.last_event_time = j.value("time", "");
    t_last = t;
    if (ev == "start") t_start = t, finished_since_start = 0;
    if (ev == "done" || ev == "failed") ++finished_since_start;
  }
  if (s.log_found) {
    s.active = s.last_event != "finish" && now - t_last < kStaleSeconds;
    if (t_start >= 0) {
      s.elapsed_seconds = (s.active ? now : t_last) - t_start;
      if (s.elapsed_seconds > 0 && finished_since_start > 0)
        s.runs_per_hour = static_cast<double>(finished_since_start) / s.elapsed_seconds * 3600.0;
    }
    if (s.runs_per_hour > 0) s.eta_seconds = static_cast<double>(s.pending + s.running) / s.runs_per_hour * 3600.0;
  }
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
                   {"wall_seconds", r.wall_seconds}});
    return a;
  };
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
          {"slowest_runs", lines(s.slowest_runs)}};
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
  if (!s.interrupted_runs.empty()) {
    o << "  interrupted (retrained by --resume):";
    for (const auto& r : s.interrupted_runs) o << " " << r.id;
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
