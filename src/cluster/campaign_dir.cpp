// Campaign directories: the record (campaign.json), the lock, and the status across shards.
#include "lrid/cluster/campaign_dir.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <map>
#include <sstream>

#include "lrid/error.hpp"

namespace lrid::cluster {

using nlohmann::json;

namespace {

constexpr const char* kFormat = "lrid-slurm-campaign-1";

bool exists(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0;
}

std::string iso(double t) {
  if (t <= 0) return "";
  char buf[32];
  const std::time_t tt = static_cast<std::time_t>(t);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&tt));
  return buf;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The line of a shard's Slurm output that best says why its latest attempt (the lines after
// the last "lrid shard I/N:" header) ended: lrid's own error, else Slurm's cancellation / time
// limit / preemption notice, else the last line mentioning an error. Reads the last 64 kB.
std::string last_error_line(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  in.seekg(std::max<std::streamoff>(0, size - 65536));
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    // an attempt's header, "lrid shard I/N: Slurm job ...", not the script's "lrid shard I: ..." lines
    const size_t colon = line.find(':');
    if (line.rfind("lrid shard ", 0) == 0 && colon != std::string::npos && line.find('/') < colon) lines.clear();
    lines.push_back(line);
  }
  std::string lrid_error, slurm_notice, any_error;
  for (const auto& l : lines) {
    const std::string low = lower(l);
    if (l.rfind("lrid ", 0) == 0 && low.find("error") != std::string::npos) lrid_error = l;
    if (l.find("CANCELLED") != std::string::npos || l.find("DUE TO TIME LIMIT") != std::string::npos ||
        l.find("PREEMPT") != std::string::npos || l.find("NODE FAIL") != std::string::npos ||
        low.find("out of memory") != std::string::npos || low.find("oom-kill") != std::string::npos || low.find("oom_kill") != std::string::npos)
      slurm_notice = l;
    if (low.find("error") != std::string::npos || low.find("killed") != std::string::npos) any_error = l;
  }
  std::string found = !lrid_error.empty() ? lrid_error : !slurm_notice.empty() ? slurm_notice : any_error;
  if (found.size() > 300) found = found.substr(0, 297) + "...";
  return found;
}

json submission_json(const Submission& s) {
  return {{"kind", s.kind},   {"time", s.time},         {"shards", s.shards},
          {"array", s.array}, {"array_job", s.array_job}, {"reduce_job", s.reduce_job},
          {"dependency", s.dependency}, {"cancelled", s.cancelled}};
}

json lines_json(const std::vector<store::RunLine>& v) {
  json a = json::array();
  for (const auto& r : v)
    a.push_back({{"run", r.id}, {"key", r.key}, {"error", r.error}, {"attempts", r.attempts}});
  return a;
}

std::string fmt_seconds(double s) {
  char buf[64];
  if (s < 120)
    std::snprintf(buf, sizeof buf, "%.0f s", s);
  else if (s < 7200)
    std::snprintf(buf, sizeof buf, "%.1f min", s / 60);
  else
    std::snprintf(buf, sizeof buf, "%.1f h", s / 3600);
  return buf;
}

}  // namespace

std::string utc_now() { return iso(static_cast<double>(std::time(nullptr))); }

std::vector<int64_t> CampaignRecord::shard_runs(int64_t i) const {
  return layout.at(static_cast<size_t>(i));
}

std::string CampaignRecord::shard_file(int64_t i) const {
  return dir + "/shards/shard-" + std::to_string(i) + ".h5";
}

bool is_campaign_dir(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode) && exists(path + "/campaign.json");
}

json record_json(const CampaignRecord& r) {
  json layout = json::array();
  for (int64_t i = 0; i < r.shards; ++i)
    layout.push_back({{"index", i}, {"file", "shards/shard-" + std::to_string(i) + ".h5"}, {"runs", r.shard_runs(i)}});
  json subs = json::array();
  for (const auto& s : r.submissions) subs.push_back(submission_json(s));
  return {{"format", kFormat},
          {"job", r.job_name},
          {"job_hash", r.job_hash},
          {"job_file", r.job_file},
          {"runs", r.runs},
          {"shards", r.shards},
          {"shard_rule", "cost-balanced: longest runs first onto the least loaded shard (config::shard_assignment)"},
          {"layout", layout},
          {"max_attempts", r.max_attempts},
          {"max_concurrent", r.max_concurrent},
          {"analyze", r.analyze},
          {"profile", r.profile},
          {"profile_name", r.profile_name},
          {"lrid", r.lrid},
          {"workdir", r.workdir},
          {"submissions", subs}};
}

CampaignRecord read_record(const std::string& dir_in) {
  std::string dir = dir_in;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  const std::string path = dir + "/campaign.json";
  std::ifstream in(path);
  if (!in)
    throw BadInput(dir + ": not a campaign directory (no campaign.json); 'lrid submit JOB.yaml "
                         "--cluster PROFILE --shards N --dir " + dir + "' creates one");
  json j;
  try {
    j = json::parse(in);
  } catch (const json::exception& e) {
    throw BadInput(path + ": malformed JSON: " + e.what());
  }
  CampaignRecord r;
  try {
    if (j.value("format", "") != kFormat)
      throw BadInput(path + ": format: expected '" + std::string(kFormat) + "', got '" + j.value("format", "") + "'");
    char* real = realpath(dir.c_str(), nullptr);
    r.dir = real ? real : dir;
    std::free(real);
    r.job_name = j.at("job").get<std::string>();
    r.job_hash = j.at("job_hash").get<std::string>();
    r.job_file = j.value("job_file", "");
    r.runs = j.at("runs").get<int64_t>();
    r.shards = j.at("shards").get<int64_t>();
    for (const auto& l : j.at("layout")) r.layout.push_back(l.at("runs").get<std::vector<int64_t>>());
    r.max_attempts = j.value("max_attempts", int64_t{2});
    r.max_concurrent = j.value("max_concurrent", int64_t{0});
    r.analyze = j.value("analyze", true);
    r.profile = j.value("profile", "");
    r.profile_name = j.value("profile_name", "");
    r.lrid = j.value("lrid", "");
    r.workdir = j.value("workdir", "");
    for (const auto& s : j.value("submissions", json::array())) {
      Submission x;
      x.kind = s.value("kind", "");
      x.time = s.value("time", "");
      x.shards = s.value("shards", std::vector<int64_t>{});
      x.array = s.value("array", "");
      x.array_job = s.value("array_job", "");
      x.reduce_job = s.value("reduce_job", "");
      x.dependency = s.value("dependency", std::vector<std::string>{});
      x.cancelled = s.value("cancelled", std::vector<std::string>{});
      r.submissions.push_back(x);
    }
  } catch (const json::exception& e) {
    throw BadInput(path + ": unexpected content: " + e.what());
  }
  if (r.shards < 1 || r.runs < 1) throw BadInput(path + ": runs and shards must be >= 1");
  if (static_cast<int64_t>(r.layout.size()) != r.shards)
    throw BadInput(path + ": layout lists " + std::to_string(r.layout.size()) + " shards, expected " +
                   std::to_string(r.shards));
  return r;
}

void write_record(const CampaignRecord& r) {
  const std::string path = r.path(), tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) throw BadInput(tmp + ": cannot write (is the campaign directory writable?)");
    out << record_json(r).dump(1) << "\n";
    out.flush();
    if (!out) throw BadInput(tmp + ": write failed (disk full?)");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    throw BadInput(path + ": cannot move the new campaign.json into place");
}

DirLock::DirLock(const std::string& dir) {
  const std::string path = dir + "/.lock";
  fd_ = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw BadInput(path + ": cannot create the lock file (is the directory writable?)");
  if (flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    close(fd_);
    fd_ = -1;
    throw BadInput(dir + ": another 'lrid submit' or 'lrid resume' is working on this campaign "
                         "directory right now; try again when it has finished");
  }
}

DirLock::~DirLock() {
  if (fd_ >= 0) close(fd_);
}

std::vector<std::string> campaign_job_ids(const CampaignRecord& r) {
  std::vector<std::string> ids;
  for (const auto& s : r.submissions) {
    if (!s.array_job.empty()) ids.push_back(s.array_job);
    if (!s.reduce_job.empty()) ids.push_back(s.reduce_job);
  }
  return ids;
}

DirStatus read_dir_status(const std::string& dir, double now) {
  const CampaignRecord r = read_record(dir);
  return read_dir_status(dir, now, query_jobs(campaign_job_ids(r)));
}

namespace {

// One shard's file: its counts and failed runs when it belongs to this campaign (returns true),
// else why not ("missing", "foreign" with the shard it holds, "unreadable" with the error).
bool read_shard_file(ShardView& v, const CampaignRecord& r, int64_t i, double now) {
  if (!exists(v.file)) {
    v.file_state = "missing";
    return false;
  }
  try {
    const store::CampaignStatus st = store::read_status(v.file, now);
    if (st.job_hash != r.job_hash || st.shard.index != i || st.shard.count != r.shards) {
      v.file_state = "foreign";
      v.file_error = v.file + " holds shard " + std::to_string(st.shard.index) + "/" + std::to_string(st.shard.count) +
                     " of job '" + st.job_name + "' (hash " + st.job_hash + "), not shard " + std::to_string(i) + "/" +
                     std::to_string(r.shards) + " of hash " + r.job_hash;
      return false;
    }
    v.file_state = "ok";
    v.done = st.done;
    v.failed = st.failed;
    v.pending = st.pending;
    v.running = st.running;  // split into running / interrupted by the caller
    v.log_active = st.active;
    v.runs_per_hour = st.runs_per_hour;
    v.last_event = st.last_event;
    v.last_event_time = st.last_event_time;
    v.failed_runs = st.failed_runs;
    for (const auto& f : st.failed_runs)
      if (f.attempts >= r.max_attempts) ++v.failed_final;
    v.interrupted_runs = st.interrupted_runs;
    return true;
  } catch (const std::exception& e) {
    v.file_state = "unreadable";
    v.file_error = e.what();
    return false;
  }
}

}  // namespace

DirStatus read_dir_status(const std::string& dir, double now, const SlurmView& view) {
  DirStatus s;
  s.record = read_record(dir);
  const CampaignRecord& r = s.record;
  s.slurm_available = view.available;
  s.slurm_error = view.error;

  // The latest submission that holds each shard.
  std::vector<std::string> task_of(static_cast<size_t>(r.shards));
  for (const auto& sub : r.submissions)
    for (int64_t i : sub.shards)
      if (i >= 0 && i < r.shards && !sub.array_job.empty())
        task_of[static_cast<size_t>(i)] = sub.array_job + "_" + std::to_string(i);

  double first_start = -1, last = -1;
  int64_t finished = 0;
  for (int64_t i = 0; i < r.shards; ++i) {
    ShardView v;
    v.index = i;
    v.file = r.shard_file(i);
    v.runs = static_cast<int64_t>(r.shard_runs(i).size());
    v.slurm_job = task_of[static_cast<size_t>(i)];
    if (!v.slurm_job.empty()) {
      const auto it = view.tasks.find(v.slurm_job);
      if (it != view.tasks.end()) {
        v.slurm_state = it->second.state;
        v.slurm_reason = it->second.reason;
        v.slurm_active = state_active(v.slurm_state);
      }
    }
    const bool readable = read_shard_file(v, r, i, now);
    if (!readable) v.pending = v.runs;
    // Slurm is the authority on whether the task runs; the log only when Slurm does not know it.
    v.active = v.slurm_state.empty() ? v.log_active : v.slurm_active;
    if (!v.active || !readable) {
      v.interrupted = v.running;
      v.running = 0;
    } else if (!v.log_active) {
      // Slurm runs the task, the log is stale: a requeued task not started yet
      v.interrupted = v.running;
      v.running = 0;
    }
    if (v.active) v.interrupted_runs.clear();
    v.complete = readable && v.pending == 0 && v.running == 0 && v.interrupted == 0 &&
                 v.failed == v.failed_final;
    if (!v.complete && !v.active) v.output_error = last_error_line(r.dir + "/logs/shard-" + std::to_string(i) + ".out");

    const store::LogSummary lt = store::read_progress_log(store::progress_log_path(v.file));
    if (lt.first_start >= 0 && (first_start < 0 || lt.first_start < first_start)) first_start = lt.first_start;
    last = std::max(last, lt.last);
    finished += lt.finished_total;

    s.done += v.done;
    s.failed += v.failed;
    s.failed_final += v.failed_final;
    s.running += v.running;
    s.interrupted += v.interrupted;
    s.pending += v.pending;
    if (v.active) {
      ++s.active_shards;
      if (v.log_active) s.runs_per_hour_now += v.runs_per_hour;
    }
    s.shards.push_back(std::move(v));
  }
  s.complete = std::all_of(s.shards.begin(), s.shards.end(), [](const ShardView& v) { return v.complete; });
  if (first_start >= 0 && last > first_start && finished > 0)
    s.runs_per_hour_overall = static_cast<double>(finished) / (last - first_start) * 3600.0;
  s.first_start = iso(first_start);
  s.last_event_time = iso(last);
  const int64_t remaining = s.pending + s.running + s.interrupted + (s.failed - s.failed_final);
  if (s.runs_per_hour_now > 0) s.eta_seconds = static_cast<double>(remaining) / s.runs_per_hour_now * 3600.0;
  if (remaining == 0) s.eta_seconds = 0;

  if (!r.submissions.empty()) {
    s.reduce_job = r.submissions.back().reduce_job;
    const auto it = view.tasks.find(s.reduce_job);
    if (it != view.tasks.end()) {
      s.reduce_state = it->second.state;
      s.reduce_reason = it->second.reason;
      s.reduce_active = state_active(s.reduce_state);
    }
  }
  s.merged = exists(r.dir + "/campaign.h5");
  s.reduced = exists(r.dir + "/reduce.done");
  s.active = s.active_shards > 0 || s.reduce_active;
  return s;
}

std::vector<int64_t> shards_to_resubmit(const DirStatus& s) {
  std::vector<int64_t> out;
  for (const auto& v : s.shards)
    if (!v.complete && !v.active) out.push_back(v.index);
  return out;
}

json to_json(const DirStatus& s) {
  const CampaignRecord& r = s.record;
  json shards = json::array();
  json failed = json::array();
  for (const auto& v : s.shards) {
    shards.push_back({{"index", v.index},
                      {"file", v.file},
                      {"file_state", v.file_state},
                      {"file_error", v.file_error},
                      {"runs", v.runs},
                      {"done", v.done},
                      {"failed", v.failed},
                      {"failed_final", v.failed_final},
                      {"running", v.running},
                      {"interrupted", v.interrupted},
                      {"pending", v.pending},
                      {"complete", v.complete},
                      {"active", v.active},
                      {"log_active", v.log_active},
                      {"runs_per_hour", v.runs_per_hour},
                      {"last_event", v.last_event},
                      {"last_event_time", v.last_event_time},
                      {"slurm_job", v.slurm_job},
                      {"slurm_state", v.slurm_state},
                      {"slurm_reason", v.slurm_reason},
                      {"output_error", v.output_error},
                      {"failed_runs", lines_json(v.failed_runs)},
                      {"interrupted_runs", lines_json(v.interrupted_runs)}});
    for (const auto& f : v.failed_runs)
      failed.push_back({{"shard", v.index}, {"run", f.id}, {"key", f.key}, {"error", f.error},
                        {"attempts", f.attempts}, {"retried_by_resume", f.attempts < r.max_attempts}});
  }
  return {{"campaign_dir", r.dir},
          {"job", r.job_name},
          {"job_hash", r.job_hash},
          {"profile", r.profile},
          {"runs", r.runs},
          {"shards", r.shards},
          {"done", s.done},
          {"failed", s.failed},
          {"failed_final", s.failed_final},
          {"running", s.running},
          {"interrupted", s.interrupted},
          {"pending", s.pending},
          {"complete", s.complete},
          {"active", s.active},
          {"active_shards", s.active_shards},
          {"runs_per_hour_now", s.runs_per_hour_now},
          {"runs_per_hour_overall", s.runs_per_hour_overall},
          {"eta_seconds", s.eta_seconds},
          {"first_start", s.first_start},
          {"last_event_time", s.last_event_time},
          {"slurm", {{"available", s.slurm_available}, {"error", s.slurm_error}}},
          {"reduction", {{"job", s.reduce_job}, {"state", s.reduce_state}, {"reason", s.reduce_reason},
                         {"active", s.reduce_active}, {"merged", s.merged}, {"done", s.reduced}}},
          {"to_resubmit", shards_to_resubmit(s)},
          {"failed_runs", failed},
          {"shard_status", shards},
          {"submissions", record_json(r)["submissions"]}};
}

std::string format_dir_status(const DirStatus& s) {
  const CampaignRecord& r = s.record;
  std::ostringstream o;
  char buf[512];
  o << "campaign " << r.dir << ": job '" << r.job_name << "' (hash " << r.job_hash << "), " << r.runs
    << " runs in " << r.shards << " shards, profile " << (r.profile_name.empty() ? r.profile : r.profile_name)
    << "\n";
  if (!s.slurm_available) o << "  Slurm: not reachable (" << s.slurm_error << "); showing the shard files only\n";
  const bool all_rows = r.shards <= 50;
  std::snprintf(buf, sizeof buf, "  %5s  %-14s %-12s %6s %6s %7s %11s %7s  %s\n", "shard", "slurm job",
                "state", "done", "failed", "running", "interrupted", "pending", "note");
  o << buf;
  int64_t hidden = 0;
  for (const auto& v : s.shards) {
    if (!all_rows && v.complete && !v.active) {
      ++hidden;
      continue;
    }
    std::string note;
    if (v.file_state == "missing")
      note = v.active ? "not started" : "no shard file";
    else if (v.file_state != "ok")
      note = v.file_state + ": " + v.file_error;
    else if (v.complete)
      note = "complete";
    else if (v.active)
      note = v.log_active ? "training" : "waiting";
    else
      note = "incomplete";
    if (!v.complete && !v.active && !v.output_error.empty()) note += " | " + v.output_error;
    std::snprintf(buf, sizeof buf, "  %5lld  %-14s %-12s %6lld %6lld %7lld %11lld %7lld  ",
                  static_cast<long long>(v.index), v.slurm_job.empty() ? "-" : v.slurm_job.c_str(),
                  v.slurm_state.empty() ? "?" : v.slurm_state.c_str(), static_cast<long long>(v.done),
                  static_cast<long long>(v.failed), static_cast<long long>(v.running),
                  static_cast<long long>(v.interrupted), static_cast<long long>(v.pending));
    o << buf << note << "\n";
  }
  if (hidden) o << "  (" << hidden << " complete shards not listed)\n";
  std::snprintf(buf, sizeof buf,
                "  total: done %lld  failed %lld  running %lld  interrupted %lld  pending %lld  of %lld runs%s\n",
                static_cast<long long>(s.done), static_cast<long long>(s.failed),
                static_cast<long long>(s.running), static_cast<long long>(s.interrupted),
                static_cast<long long>(s.pending), static_cast<long long>(r.runs),
                s.complete ? "  (complete)" : "");
  o << buf;
  if (s.runs_per_hour_now > 0 || s.runs_per_hour_overall > 0) {
    o << "  throughput:";
    if (s.runs_per_hour_now > 0) {
      std::snprintf(buf, sizeof buf, " %.1f runs/h now (%lld shard(s) running)", s.runs_per_hour_now,
                    static_cast<long long>(s.active_shards));
      o << buf << ";";
    }
    if (s.runs_per_hour_overall > 0) {
      std::snprintf(buf, sizeof buf, " %.1f runs/h from the first start (%s) to the last event (%s)",
                    s.runs_per_hour_overall, s.first_start.c_str(), s.last_event_time.c_str());
      o << buf;
    }
    o << "\n";
  }
  if (!s.complete) {
    if (s.eta_seconds > 0)
      o << "  ETA " << fmt_seconds(s.eta_seconds) << " at the current rate\n";
    else if (!s.active)
      o << "  ETA: nothing is running\n";
  }
  o << "  reduction: ";
  if (s.reduce_job.empty())
    o << "not submitted";
  else
    o << "job " << s.reduce_job << " " << (s.reduce_state.empty() ? "(unknown to Slurm)" : s.reduce_state)
      << (s.reduce_reason.empty() || s.reduce_reason == "None" ? "" : " (" + s.reduce_reason + ")");
  o << "; merged campaign " << (s.merged ? r.dir + "/campaign.h5" : std::string("not yet"))
    << (s.reduced ? ", reduction finished" : "") << "\n";
  bool any_failed = false;
  for (const auto& v : s.shards)
    for (const auto& f : v.failed_runs) {
      if (!any_failed) o << "  failed runs:\n";
      any_failed = true;
      o << "    shard " << v.index << " run " << f.id << " " << f.key << " (attempt " << f.attempts << " of "
        << r.max_attempts << (f.attempts < r.max_attempts ? ", retried by lrid resume" : "") << "): " << f.error
        << "\n";
    }
  const auto todo = shards_to_resubmit(s);
  if (!todo.empty()) {
    std::string list;
    for (auto i : todo) list += (list.empty() ? "" : ",") + std::to_string(i);
    o << "  to resubmit: shards " << list << "  ('lrid resume " << r.dir << "')\n";
  } else if (s.complete && !s.reduced && !s.reduce_active) {
    o << "  shards complete, reduction not finished: 'lrid resume " << r.dir << "' resubmits it\n";
  }
  return o.str();
}

}  // namespace lrid::cluster
