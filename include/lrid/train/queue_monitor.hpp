#pragma once
// Rank 0's view of a campaign's work queue (torch-free): the progress log's assign / done /
// failed / heartbeat events, the line per finished run, the live line of a terminal, and the ETA
// (measured throughput weighted by the cost model; running runs count with the share of their
// steps done at the last heartbeat, read from their leaders' progress files).
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lrid/comm/queue.hpp"
#include "lrid/config/job.hpp"
#include "lrid/store/progress_log.hpp"
#include "lrid/train/campaign.hpp"
#include "lrid/util/text.hpp"

namespace lrid::train {

/// The running runs' progress (run, step, steps, loss, steps/s, device) from the group leaders'
/// progress files next to the campaign (a run without one is left out).
nlohmann::json running_runs(const std::string& campaign, const std::map<int64_t, std::string>& assigned);

/// Whether rank 0 draws the live progress line: LRID_PROGRESS=live or plain; unset: when stdout
/// is a terminal and no MPI launcher started this process.
bool live_progress();

// Rank 0's view of the queue: the progress log, the line per finished run, the live line of a
// terminal, and the ETA (measured throughput weighted by the cost model; the running runs count
// with the share of their steps done at the last heartbeat).
class QueueMonitor {
 public:
  QueueMonitor(const config::JobSpec& job, const CampaignOptions& options, const std::vector<int64_t>& order,
               std::string device, store::ProgressLog& log, double t0)
      : job_(job), options_(options), device_(std::move(device)), log_(log), t0_(t0), todo_(order.size()),
        live_(!options.quiet && live_progress()) {
    for (int64_t id : order) cost_todo_ += cost(id);
  }

  void on_event(const comm::TaskEvent& e) {
    if (e.kind == comm::TaskEvent::kAssigned) assigned(e);
    else if (e.kind == comm::TaskEvent::kDone) finished(e);
    else heartbeat();
  }
  // Clears the live line once the queue is over.
  void close() {
    if (!live_) return;
    std::printf("\r\033[K");
    std::fflush(stdout);
  }
  int64_t interrupted_or_skipped() const { return interrupted_ + skipped_; }
  int64_t done() const { return done_; }
  int64_t failed() const { return failed_; }
  /// Seconds left at the measured rate: elapsed time per unit of finished cost (config::run_cost;
  /// running runs count with the share of their steps done at the last heartbeat) times the cost
  /// left. NaN before anything is finished.
  double eta_seconds() const {
    double partial = 0;
    for (const auto& [id, share] : running_share_) partial += share * cost(id);
    const double done = cost_done_ + partial, elapsed = util::wall_seconds() - t0_;
    return done > 0 ? elapsed / done * std::max(0.0, cost_todo_ - done) : std::nan("");
  }

 private:
  double cost(int64_t id) const { return config::run_cost(job_, job_.runs[static_cast<size_t>(id)]); }
  int64_t finished_count() const { return done_ + failed_ + interrupted_; }

  void assigned(const comm::TaskEvent& e) {
    ++assigned_count_;
    std::lock_guard<std::mutex> l(assigned_mu_);
    running_[e.task] = device_;
    log_.write({{"event", "assign"}, {"run", e.task}, {"group", e.group}, {"key", key(e.task)}, {"device", device_}});
  }

  void finished(const comm::TaskEvent& e) {
    {
      std::lock_guard<std::mutex> l(assigned_mu_);
      running_.erase(e.task);
    }
    nlohmann::json r = nlohmann::json::parse(e.result);
    const std::string status = r.value("status", "");
    for (const auto& n : r.value("notes", std::vector<std::string>{}))
      log_.write({{"event", "note"}, {"run", e.task}, {"text", n}});
    r.erase("notes");
    if (status == "skipped") {
      ++skipped_;
      return;
    }
    r["event"] = status;
    r["group"] = e.group;
    r["key"] = key(e.task);
    r["seconds"] = e.seconds;
    log_.write(r);
    if (status == "done") ++done_;
    if (status == "failed") ++failed_;
    if (status == "interrupted") ++interrupted_;
    cost_done_ += cost(e.task);
    running_share_.erase(e.task);
    if (!options_.quiet) print_finished(e, status, r);
  }

  void print_finished(const comm::TaskEvent& e, const std::string& status, const nlohmann::json& r) const {
    const auto n = static_cast<long long>(finished_count());
    const auto id = static_cast<long long>(e.task);
    const std::string k = key(e.task);
    if (live_) std::printf("\r\033[K");  // the live line gives way
    if (status == "done") {
      const int64_t resumed = r.value("resumed_from", int64_t{-1});
      const std::string from = resumed >= 0 ? " resumed from step " + std::to_string(resumed) : "";
      const double eta = eta_seconds();
      std::printf("[%lld/%zu] run %lld %s done in %.1f s (loss %.4f, metric %.4f)%s, ETA %.0f s\n", n, todo_, id,
                  k.c_str(), e.seconds, r["final_loss"].get<double>(), r["final_metric"].get<double>(), from.c_str(),
                  std::isfinite(eta) ? eta : 0.0);
    } else if (status == "interrupted") {
      std::printf("[%lld/%zu] run %lld %s interrupted at step %lld (checkpointed)\n", n, todo_, id, k.c_str(),
                  static_cast<long long>(r["step"].get<int64_t>()));
    } else {
      std::printf("[%lld/%zu] run %lld %s FAILED: %s\n", n, todo_, id, k.c_str(), r["error"].get<std::string>().c_str());
    }
    std::fflush(stdout);
  }

  void heartbeat() {
    std::map<int64_t, std::string> now;
    {
      std::lock_guard<std::mutex> l(assigned_mu_);
      now = running_;
    }
    const nlohmann::json rr = running_runs(options_.out, now);
    for (const auto& x : rr)
      if (x.value("steps", int64_t{0}) > 0)
        running_share_[x.value("run", int64_t{-1})] =
            static_cast<double>(x.value("step", int64_t{0})) / static_cast<double>(x["steps"].get<int64_t>());
    log_.write({{"event", "heartbeat"},
                {"done", done_},
                {"failed", failed_},
                {"running", assigned_count_ - finished_count() - skipped_},
                {"pending", static_cast<int64_t>(todo_) - assigned_count_},
                {"running_runs", rr}});
    if (live_) print_live_line(rr);
  }

  // One line, rewritten in place: runs finished, each running run's step and rate, ETA.
  void print_live_line(const nlohmann::json& running) const {
    std::string line = "[" + std::to_string(finished_count()) + "/" + std::to_string(todo_) + "] running:";
    for (const auto& x : running)
      line += " run " + std::to_string(x.value("run", int64_t{-1})) + " " + std::to_string(x.value("step", int64_t{0})) +
              "/" + std::to_string(x.value("steps", int64_t{0})) + " (" +
              util::fixed(x.value("steps_per_second", 0.0), 1) + "/s)";
    const double eta = eta_seconds();
    line += std::isfinite(eta) ? ", ETA " + util::fixed(eta, 0) + " s" : "";
    std::printf("\r\033[K%s", line.substr(0, 200).c_str());
    std::fflush(stdout);
  }

  std::string key(int64_t id) const { return job_.runs[static_cast<size_t>(std::max<int64_t>(id, 0))].key(); }

  const config::JobSpec& job_;
  const CampaignOptions& options_;
  const std::string device_;
  store::ProgressLog& log_;
  const double t0_;
  const size_t todo_;
  const bool live_;
  int64_t done_ = 0, failed_ = 0, interrupted_ = 0, skipped_ = 0, assigned_count_ = 0;
  double cost_done_ = 0, cost_todo_ = 0;
  std::map<int64_t, std::string> running_;  // run -> device, for the heartbeat (guarded by assigned_mu_)
  std::mutex assigned_mu_;
  std::map<int64_t, double> running_share_;  // run -> share of its steps done at the last heartbeat
};


}  // namespace lrid::train
