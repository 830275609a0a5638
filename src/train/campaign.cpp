// Training a job (or a shard of it) across the MPI ranks into one campaign file
// (see include/lrid/train/campaign.hpp).
#include "lrid/train/campaign.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>

#include "lrid/dist/averager.hpp"
#include "lrid/dist/mpi.hpp"
#include "lrid/dist/nccl_backend.hpp"
#include "lrid/dist/queue.hpp"
#include "lrid/error.hpp"
#include "lrid/store/lock.hpp"
#include "lrid/store/progress_log.hpp"
#include "lrid/store/run_files.hpp"
#include "lrid/train/device.hpp"
#include "lrid/train/signals.hpp"
#include "lrid/train/threads.hpp"
#include "lrid/train/trainer.hpp"
#include "lrid/util/text.hpp"

namespace lrid::train {

using nlohmann::json;
using store::checkpoint_dir;
using store::progress_file;
using store::remove_checkpoint;
using store::write_file_atomically;

std::string log_path(const std::string& campaign) { return store::progress_log_path(campaign); }

store::Shard parse_shard(const std::string& text) {
  const auto slash = text.find('/');
  store::Shard s;
  try {
    if (slash == std::string::npos) throw std::invalid_argument("no slash");
    size_t a = 0, b = 0;
    s.index = std::stoll(text.substr(0, slash), &a);
    s.count = std::stoll(text.substr(slash + 1), &b);
    if (a != slash || b != text.size() - slash - 1) throw std::invalid_argument("junk");
  } catch (const std::exception&) {
    throw BadInput("--shard '" + text + "': expected I/N, e.g. 0/4");
  }
  if (s.count < 1 || s.index < 0 || s.index >= s.count) throw BadInput("--shard '" + text + "': expected 0 <= I < N");
  return s;
}

store::Shard resolve_shard(const config::JobSpec& job, store::Shard shard) {
  if (shard.count > 1 && shard.runs.empty())
    shard.runs = config::shard_assignment(job, shard.count).at(static_cast<size_t>(shard.index));
  return shard;
}

std::vector<std::vector<store::LayerMeta>> shard_layers(const config::JobSpec& job, const store::Shard& shard) {
  std::vector<std::vector<store::LayerMeta>> layers;
  for (const auto& r : job.runs)
    if (shard.contains(r.id)) layers.push_back(run_layers(job, r));
  return layers;
}

namespace {

// The run counts of a shard as the file holds them.
struct Counts {
  int64_t runs = 0, done = 0, failed = 0, pending = 0, trained = 0, interrupted = 0;
};

bool file_exists(const std::string& p) { return access(p.c_str(), F_OK) == 0; }

// Rank 0: create the file or check the existing one. Returns whether the log starts afresh.
bool prepare_file(const config::JobSpec& job, const CampaignOptions& o) {
  const bool exists = file_exists(o.out);
  if (exists && !o.resume && !o.force)
    throw BadInput(o.out + ": campaign file already exists; use --resume to continue it (only "
                           "runs not done are trained) or --force to replace it");
  if (exists && o.resume && !o.force) {
    auto c = store::Campaign::open(o.out, job, MPI_COMM_NULL, false);
    if (c->shard().index != o.shard.index || c->shard().count != o.shard.count)
      throw BadInput(o.out + ": campaign file holds shard " + c->shard().name() + ", not " + o.shard.name());
    if (!o.shard.all() && c->run_ids() != o.shard.runs)
      throw BadInput(o.out + ": campaign file holds other runs than shard " + o.shard.name() +
                     " of this job (made by another lrid's shard assignment?); use a new file");
    return false;
  }
  store::Campaign::create(o.out, job, shard_layers(job, o.shard), campaign_layout(job, o.shard), o.shard, o.force);
  return true;
}

// Every rank computes `what`; if any fails with BadInput, every rank throws the lowest failing
// rank's message (so no rank is left waiting in a later collective).
template <class F>
auto agreed(MPI_Comm world, F what) -> decltype(what()) {
  using R = decltype(what());
  R value{};
  std::string error;
  try {
    value = what();
  } catch (const BadInput& e) {
    error = e.what();
  }
  int rank = 0;
  MPI_Comm_rank(world, &rank);
  int bad = error.empty() ? INT_MAX : rank;
  MPI_Allreduce(MPI_IN_PLACE, &bad, 1, MPI_INT, MPI_MIN, world);
  if (bad != INT_MAX) {
    dist::bcast_string(error, bad, world);
    throw BadInput(error);
  }
  return value;
}

// The averaging backend of a rank: auto is NCCL for CUDA runs, MPI for CPU ones.
std::unique_ptr<dist::ReduceBackend> make_backend(const config::JobSpec& job, const std::string& device, MPI_Comm world,
                                                  MPI_Comm group) {
  const std::string b = job.distributed.gradient_backend;
  const bool cuda = device.rfind("cuda", 0) == 0;
  const bool nccl = b == "nccl" || (b == "auto" && cuda);
  // Every rank learns whether any rank's choice is impossible before the collective set-up.
  agreed(world, [&] {
    if (nccl && !cuda)
      throw BadInput(job.path + ": distributed.gradient_backend: nccl averages GPU memory, but this rank trains on " +
                     device + " (distributed.device: " + job.distributed.device + ")");
    if (!nccl && cuda)
      throw BadInput(job.path + ": distributed.gradient_backend: mpi averages CPU memory, but this rank trains on " +
                     device + "; use gradient_backend: nccl or auto");
    return 0;
  });
  if (nccl) return dist::make_nccl_backend(world, group, std::stoi(device.substr(5)), job.path);
  return dist::make_mpi_backend(group);
}

// The running runs' progress, from the group leaders' progress files (rank 0's heartbeat).
json running_runs(const std::string& campaign, const std::map<int64_t, std::string>& assigned) {
  json out = json::array();
  for (const auto& [run, device] : assigned) {
    std::ifstream in(progress_file(campaign, run));
    if (!in) continue;
    try {
      json j = json::parse(in);
      j["device"] = device;
      out.push_back(j);
    } catch (const json::exception&) {
    }
  }
  return out;
}

// The live progress line: LRID_PROGRESS=live or plain; unset (auto): when stdout is a
// terminal, except under an MPI launcher, whose forwarding gives every rank a terminal for
// stdout whatever mpirun's own output is (tools/run.sh sets live when its output is one).
bool live_progress() {
  const char* v = std::getenv("LRID_PROGRESS");
  const std::string mode = v ? v : "auto";
  if (mode == "live") return true;
  if (mode == "plain") return false;
  return dist::launcher_size_from_env() == 1 && isatty(1) != 0;
}

}  // namespace

CampaignSummary run_campaign(const config::JobSpec& job, const CampaignOptions& options) {
  const double t0 = util::wall_seconds();
  CampaignOptions o = options;
  o.shard = resolve_shard(job, o.shard);
  MPI_Comm world = MPI_COMM_WORLD;
  int rank = 0, size = 1;
  MPI_Comm_rank(world, &rank);
  MPI_Comm_size(world, &size);
  const int node_ranks = dist::ranks_on_node(world);
  const int local = dist::local_rank_from_env() >= 0 ? dist::local_rank_from_env() : dist::node_rank(world);
  const int threads = configure_threads(o.threads > 0 ? o.threads : static_cast<int>(job.distributed.threads_per_rank),
                                        node_ranks);
  const std::string device = agreed(world, [&] { return resolve_device(job.distributed.device, local); });
  dist::Groups groups = dist::split_groups(world, static_cast<int>(job.distributed.ranks_per_run));
  std::unique_ptr<dist::GradientAverager> averager;
  try {
    averager = std::make_unique<dist::GradientAverager>(groups.group, make_backend(job, device, world, groups.group));
  } catch (const BadInput&) {
    dist::free_groups(groups);
    throw;
  }

  // Rank 0 takes the writer lock and creates or checks the file; every rank learns the outcome.
  std::unique_ptr<store::CampaignLock> lock;
  bool fresh = false;
  try {
    fresh = agreed(world, [&] {
      if (rank != 0) return false;
      lock = std::make_unique<store::CampaignLock>(o.out, "lrid train " + job.path);
      return prepare_file(job, o);
    });
  } catch (const BadInput&) {
    dist::free_groups(groups);
    throw;
  }
  dist::quiet_barrier(world);
  auto campaign = store::Campaign::open(o.out, job, size > 1 ? world : MPI_COMM_NULL, true);
  install_stop_handlers();
  const std::string ckpt = job.distributed.checkpoint_seconds > 0 ? checkpoint_dir(o.out) : std::string();
  if (rank == 0) mkdir(checkpoint_dir(o.out).c_str(), 0775);

  // What to train: this shard's runs not done (failed ones up to max_attempts), longest first.
  std::vector<int64_t> order;
  Counts start;
  std::unique_ptr<store::ProgressLog> log;
  if (rank == 0) {
    for (const auto& rec : campaign->records()) {
      ++start.runs;
      if (rec.status == store::kDone) continue;
      if (rec.status == store::kFailed && rec.attempts >= job.distributed.max_attempts) continue;
      order.push_back(rec.id);
    }
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      return config::run_cost(job, job.runs[static_cast<size_t>(a)]) > config::run_cost(job, job.runs[static_cast<size_t>(b)]);
    });
    log = std::make_unique<store::ProgressLog>(log_path(o.out), fresh);
    json start_event = {{"event", "start"},        {"job", job.name},          {"job_hash", job.hash},
                        {"campaign", o.out},       {"shard", o.shard.name()},  {"ranks", size},
                        {"groups", groups.group_count}, {"ranks_per_run", groups.group_size},
                        {"threads_per_rank", threads}, {"device", device},     {"runs", start.runs},
                        {"todo", order.size()},    {"resume", o.resume}};
    if (lock && !lock->took_over().empty()) start_event["stale_lock"] = lock->took_over();
    log->write(start_event);
    if (!o.quiet)
      std::printf("lrid train: job '%s', %lld runs in shard %s, %zu to train on %d rank(s) in %d group(s), %d "
                  "thread(s) per rank, %s -> %s\n",
                  job.name.c_str(), static_cast<long long>(start.runs), o.shard.name().c_str(), order.size(), size,
                  groups.group_count, threads, device.c_str(), o.out.c_str());
    std::fflush(stdout);
  }

  // One run on this rank's group. The result string goes back to rank 0's scheduler.
  auto work = [&](int64_t id) -> std::string {
    const config::RunSpec& run = job.runs[static_cast<size_t>(id)];
    // After a stop request no run starts; the group agrees (a signal may reach its ranks apart).
    int stop = stop_requested() ? 1 : 0;
    MPI_Allreduce(MPI_IN_PLACE, &stop, 1, MPI_INT, MPI_MAX, groups.group);
    if (stop) return json{{"run", id}, {"status", "skipped"}}.dump();
    int32_t attempts = 0;
    if (groups.leader()) {
      attempts = campaign->record(id).attempts + 1;
      campaign->set_status(id, store::kRunning, attempts);
    }
    // Every rank of the group needs the attempt number (for the no-progress limit).
    MPI_Bcast(&attempts, 1, MPI_INT32_T, 0, groups.group);
    TrainOptions to;
    to.group = groups.group_size > 1 ? averager.get() : nullptr;
    to.record = groups.leader();
    to.device = device;
    to.checkpoint_dir = ckpt;
    to.checkpoint_seconds = job.distributed.checkpoint_seconds;
    to.attempt = attempts;
    to.max_attempts = static_cast<int32_t>(job.distributed.max_attempts);
    to.stop_requested = [] { return stop_requested(); };
    std::vector<std::string> notes;
    to.on_note = [&](const std::string& n) { notes.push_back(n); };
    // The leader's progress file, for rank 0's heartbeat (at most every 2 s).
    double last_progress = 0;
    if (groups.leader())
      to.on_step = [&](int64_t step, int64_t steps, double loss, double sps) {
        const double now = util::wall_seconds();
        if (now - last_progress < 2.0) return;
        last_progress = now;
        try {
          write_file_atomically(progress_file(o.out, id), json{{"run", id}, {"step", step}, {"steps", steps},
                                                               {"loss", loss}, {"steps_per_second", sps}}.dump());
        } catch (const BadInput&) {
          // progress is a convenience; training goes on
        }
      };
    json r = {{"run", id}, {"attempts", attempts}, {"device", device}};
    try {
      const store::RunResult res = train_run(job, run, to);
      if (groups.leader()) {
        campaign->write_run(res);
        if (!ckpt.empty()) remove_checkpoint(ckpt, id);
      }
      r["status"] = "done";
      r["final_loss"] = res.final_loss;
      r["final_metric"] = res.final_metric;
      r["wall_seconds"] = res.wall_seconds;
      r["record_seconds"] = res.record_seconds;
      r["train_seconds"] = res.train_seconds;
      r["resumed_from"] = res.resumed_from;
      r["checkpoints"] = res.checkpoints;
      r["checkpoint_seconds"] = res.checkpoint_seconds;
      r["checkpoint_bytes"] = res.checkpoint_bytes;
    } catch (const RunInterrupted& e) {
      // Its checkpoint holds the step; the run is pending again for the next attempt.
      if (groups.leader()) campaign->set_status(id, store::kPending, attempts);
      r["status"] = "interrupted";
      r["step"] = e.step;
    } catch (const std::exception& e) {
      // A run's own failure (diverging loss, bad data, a fault on any rank of the group; the
      // group agreed on it): recorded, the campaign goes on.
      std::string msg = e.what();
      msg = msg.substr(0, msg.find('\n'));
      if (groups.leader()) campaign->set_status(id, store::kFailed, attempts, msg);
      r["status"] = "failed";
      r["error"] = msg;
    }
    if (groups.leader()) std::remove(progress_file(o.out, id).c_str());
    r["notes"] = notes;
    return r.dump();
  };

  // Rank 0's view of the queue: the log and the progress lines.
  struct Tally {
    int64_t done = 0, failed = 0, interrupted = 0, skipped = 0, assigned = 0;
    double cost_done = 0, cost_todo = 0;
  } tally;
  for (int64_t id : order) tally.cost_todo += config::run_cost(job, job.runs[static_cast<size_t>(id)]);
  std::map<int64_t, std::string> assigned;  // run -> device, for the heartbeat
  std::mutex assigned_mu;
  const size_t todo = order.size();
  // The running runs' share done (from the last heartbeat): the ETA counts their partial cost,
  // and in a terminal a live line shows them between the done lines.
  std::map<int64_t, double> running_share;
  const bool live = !o.quiet && live_progress();
  auto eta_seconds = [&]() {
    double partial = 0;
    for (const auto& [id, share] : running_share) partial += share * config::run_cost(job, job.runs[static_cast<size_t>(id)]);
    const double done = tally.cost_done + partial, el = util::wall_seconds() - t0;
    return done > 0 ? el / done * std::max(0.0, tally.cost_todo - done) : std::nan("");
  };
  dist::QueueOptions qo;
  qo.on_event = [&](const dist::TaskEvent& e) {
    if (!log) return;
    const auto& run = job.runs[static_cast<size_t>(std::max<int64_t>(e.task, 0))];
    if (e.kind == dist::TaskEvent::kAssigned) {
      ++tally.assigned;
      std::lock_guard<std::mutex> l(assigned_mu);
      assigned[e.task] = device;
      log->write({{"event", "assign"}, {"run", e.task}, {"group", e.group}, {"key", run.key()}, {"device", device}});
    } else if (e.kind == dist::TaskEvent::kDone) {
      {
        std::lock_guard<std::mutex> l(assigned_mu);
        assigned.erase(e.task);
      }
      json r = json::parse(e.result);
      const std::string status = r.value("status", "");
      for (const auto& n : r.value("notes", std::vector<std::string>{}))
        log->write({{"event", "note"}, {"run", e.task}, {"text", n}});
      r.erase("notes");
      if (status == "skipped") {
        ++tally.skipped;
        return;
      }
      r["event"] = status;
      r["group"] = e.group;
      r["key"] = run.key();
      r["seconds"] = e.seconds;
      log->write(r);
      if (status == "done") ++tally.done;
      if (status == "failed") ++tally.failed;
      if (status == "interrupted") ++tally.interrupted;
      tally.cost_done += config::run_cost(job, run);
      running_share.erase(e.task);
      if (o.quiet) return;
      // ETA from the measured throughput, weighted by the cost model.
      const double eta = eta_seconds();
      const int64_t finished = tally.done + tally.failed + tally.interrupted;
      if (live) std::printf("\r\033[K");  // the live line gives way
      if (status == "done")
        std::printf("[%lld/%zu] run %lld %s done in %.1f s (loss %.4f, metric %.4f)%s, ETA %.0f s\n",
                    static_cast<long long>(finished), todo, static_cast<long long>(e.task), run.key().c_str(), e.seconds,
                    r["final_loss"].get<double>(), r["final_metric"].get<double>(),
                    r.value("resumed_from", int64_t{-1}) >= 0
                        ? (" resumed from step " + std::to_string(r["resumed_from"].get<int64_t>())).c_str()
                        : "",
                    std::isfinite(eta) ? eta : 0.0);
      else if (status == "interrupted")
        std::printf("[%lld/%zu] run %lld %s interrupted at step %lld (checkpointed)\n", static_cast<long long>(finished),
                    todo, static_cast<long long>(e.task), run.key().c_str(), static_cast<long long>(r["step"].get<int64_t>()));
      else
        std::printf("[%lld/%zu] run %lld %s FAILED: %s\n", static_cast<long long>(finished), todo,
                    static_cast<long long>(e.task), run.key().c_str(), r["error"].get<std::string>().c_str());
      std::fflush(stdout);
    } else {
      std::map<int64_t, std::string> now;
      {
        std::lock_guard<std::mutex> l(assigned_mu);
        now = assigned;
      }
      const json rr = running_runs(o.out, now);
      for (const auto& x : rr)
        if (x.value("steps", int64_t{0}) > 0)
          running_share[x.value("run", int64_t{-1})] =
              static_cast<double>(x.value("step", int64_t{0})) / static_cast<double>(x["steps"].get<int64_t>());
      log->write({{"event", "heartbeat"},
                  {"done", tally.done},
                  {"failed", tally.failed},
                  {"running", tally.assigned - tally.done - tally.failed - tally.interrupted - tally.skipped},
                  {"pending", static_cast<int64_t>(todo) - tally.assigned},
                  {"running_runs", rr}});
      if (live) {
        // One line, rewritten in place: runs finished, each running run's step and rate, ETA.
        std::string line = "[" + std::to_string(tally.done + tally.failed + tally.interrupted) + "/" +
                           std::to_string(todo) + "] running:";
        for (const auto& x : rr)
          line += " run " + std::to_string(x.value("run", int64_t{-1})) + " " + std::to_string(x.value("step", int64_t{0})) +
                  "/" + std::to_string(x.value("steps", int64_t{0})) + " (" +
                  util::fixed(x.value("steps_per_second", 0.0), 1) + "/s)";
        const double eta = eta_seconds();
        line += std::isfinite(eta) ? ", ETA " + util::fixed(eta, 0) + " s" : "";
        std::printf("\r\033[K%s", line.substr(0, 200).c_str());
        std::fflush(stdout);
      }
    }
  };
  dist::run_queue(world, groups, order, work, qo);
  if (live && log) {
    std::printf("\r\033[K");
    std::fflush(stdout);
  }
  dist::quiet_barrier(world);

  Counts end;
  if (rank == 0) {
    for (const auto& rec : campaign->records()) {
      ++end.runs;
      if (rec.status == store::kDone) ++end.done;
      else if (rec.status == store::kFailed) ++end.failed;
      else ++end.pending;
    }
    end.trained = static_cast<int64_t>(todo);
    end.interrupted = tally.interrupted + tally.skipped;
  }
  MPI_Bcast(&end, static_cast<int>(sizeof end), MPI_BYTE, 0, world);
  campaign.reset();  // collective close
  averager.reset();
  dist::free_groups(groups);
  CampaignSummary summary;
  summary.runs = end.runs;
  summary.done = end.done;
  summary.failed = end.failed;
  summary.pending = end.pending;
  summary.trained = end.trained;
  summary.interrupted = stop_requested();
  summary.signal = stop_signal();
  summary.seconds = util::wall_seconds() - t0;
  if (log)
    log->write({{"event", "finish"},
                {"done", summary.done},
                {"failed", summary.failed},
                {"pending", summary.pending},
                {"seconds", summary.seconds},
                {"interrupted", summary.interrupted}});
  return summary;
}

}  // namespace lrid::train
