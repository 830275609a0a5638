// The rank-0 progress log (see include/lrid/store/progress_log.hpp).
#include "lrid/store/progress_log.hpp"

#include "lrid/util/text.hpp"

namespace lrid::store {

std::string progress_log_path(const std::string& campaign) { return campaign + ".log.jsonl"; }

ProgressLog::ProgressLog(const std::string& path, bool truncate)
    : out_(path, truncate ? std::ios::trunc : std::ios::app) {}

void ProgressLog::write(nlohmann::json j) {
  std::lock_guard<std::mutex> lock(mu_);
  j["time"] = util::iso_now();
  j["t"] = util::wall_seconds();
  out_ << j.dump() << "\n";
  out_.flush();
}

LogSummary read_progress_log(const std::string& path) {
  LogSummary s;
  std::ifstream in(path);
  std::string line;
  while (in && std::getline(in, line)) {
    if (line.empty()) continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception&) {
      continue;  // a line cut by a crash
    }
    s.found = true;
    const std::string ev = j.value("event", "");
    const double t = j.value("t", 0.0);
    s.last_event = ev;
    s.last_event_time = j.value("time", "");
    s.last = std::max(s.last, t);
    if (ev == "start") {
      if (s.first_start < 0) s.first_start = t;
      s.start = t;
      s.finished_since_start = 0;
      s.running.clear();
      s.interrupted = false;
    } else if (ev == "assign") {
      RunProgress p;
      p.run = j.value("run", int64_t{-1});
      p.device = j.value("device", "");
      s.running[p.run] = p;
    } else if (ev == "done" || ev == "failed" || ev == "interrupted") {
      const int64_t run = j.value("run", int64_t{-1});
      s.running.erase(run);
      if (ev != "interrupted") ++s.finished_since_start, ++s.finished_total;
      if (ev == "done") s.run_seconds[run] = j.value("seconds", 0.0);
    } else if (ev == "heartbeat") {
      for (const auto& r : j.value("running_runs", nlohmann::json::array())) {
        const int64_t run = r.value("run", int64_t{-1});
        auto it = s.running.find(run);
        if (it == s.running.end()) continue;
        it->second.step = r.value("step", int64_t{-1});
        it->second.steps = r.value("steps", int64_t{-1});
        it->second.loss = r.value("loss", 0.0);
        it->second.steps_per_second = r.value("steps_per_second", 0.0);
      }
    } else if (ev == "finish") {
      s.interrupted = j.value("interrupted", false);
      s.running.clear();
    }
  }
  return s;
}

bool log_active(const LogSummary& s, double now) {
  return s.found && s.last_event != "finish" && now - s.last < kLogStaleSeconds;
}

}  // namespace lrid::store
