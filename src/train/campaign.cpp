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

#include "lrid/comm/averager.hpp"
#include "lrid/train/queue_monitor.hpp"
#include "lrid/comm/mpi.hpp"
#include "lrid/comm/nccl_backend.hpp"
#include "lrid/comm/queue.hpp"
#include "lrid/error.hpp"
#include "lrid/store/h5.hpp"
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

store::CampaignDescription describe(const config::JobSpec& job) {
  store::CampaignDescription d{job.name, job.hash, job.path, job.yaml_text, {}};
  for (const auto& r : job.runs)
    d.runs.push_back({r.id, r.rule, r.task, r.arch, r.batch_size, r.model_seed.str(), r.dataset_seed.str(),
                      r.model_seed_value, r.dataset_seed_value, r.hash, r.block});
  return d;
}

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
    if (shard.contains(r.id)) layers.push_back(run_layers(r.arch, job.task(r.task)));
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
  // --force replaces an earlier campaign only: never the job file, nor a file of another kind.
  if (exists && o.force) store::h5::check_output(o.out, "--out", "lrid-campaign-", {job.path}, true);
  if (exists && o.resume && !o.force) {
    auto c = store::Campaign::open(o.out, describe(job), MPI_COMM_NULL, false);
    if (c->shard().index != o.shard.index || c->shard().count != o.shard.count)
      throw BadInput(o.out + ": campaign file holds shard " + c->shard().name() + ", not " + o.shard.name());
    if (!o.shard.all() && c->run_ids() != o.shard.runs)
      throw BadInput(o.out + ": campaign file holds other runs than shard " + o.shard.name() +
                     " of this job (made by another lrid's shard assignment?); use a new file");
    return false;
  }
  store::Campaign::create(o.out, describe(job), shard_layers(job, o.shard), campaign_layout(job, o.shard), o.shard, o.force);
  return true;
}

// Every rank computes `what`; if any fails (a BadInput or an internal error such as a damaged
// campaign file), every rank throws the lowest failing rank's error (comm::agreed), so that no
// rank is left waiting in a later collective.
using comm::agreed;

// The averaging backend of a data-parallel group (docs/job-file.md, distributed.gradient_backend):
// none for a group of one rank, which has nothing to average (whatever the setting; an explicit
// choice is still checked against the device); for larger groups auto is NCCL on CUDA (MPI only
// averages host memory, so a build without NCCL is refused) and MPI on the CPU. `where` names the
// job file in messages.
std::unique_ptr<comm::ReduceBackend> make_backend(const config::DistributedSpec& d, const std::string& where,
                                                  const std::string& device, MPI_Comm world, const comm::Groups& groups) {
  const std::string& b = d.gradient_backend;
  const bool cuda = device.rfind("cuda", 0) == 0;
  const bool nccl = b == "nccl" || (b == "auto" && cuda);
  const bool parallel = groups.group_size > 1;
  // Every rank learns whether any rank's choice is impossible before the collective set-up.
  agreed(world, [&] {
    if (nccl && !cuda)
      throw BadInput(where + ": distributed.gradient_backend: nccl averages GPU memory, but this rank trains on " +
                     device + " (distributed.device: " + d.device + ")");
    if (!nccl && cuda && parallel)
      throw BadInput(where + ": distributed.gradient_backend: mpi averages CPU memory, but this rank trains on " +
                     device + "; use gradient_backend: nccl or auto");
    if (nccl && parallel && !comm::have_nccl())
      throw BadInput(where + ": distributed.gradient_backend: " + b + " averages a data-parallel group on " + device +
                     " with NCCL, but this lrid was built without NCCL (README, \"Building for GPUs\"); or use "
                     "distributed.ranks_per_run: 1");
    return 0;
  });
  if (!parallel) return nullptr;
  if (nccl) return comm::make_nccl_backend(world, groups.group, std::stoi(device.substr(5)), where);
  return comm::make_mpi_backend(groups.group);
}

// The runs a shard still has to train (not done; failed ones up to max_attempts), the most
// expensive first (config::run_cost), so that the longest runs do not start last.
std::vector<int64_t> runs_to_train(const config::JobSpec& job, const store::Campaign& campaign) {
  std::vector<int64_t> order;
  for (const auto& rec : campaign.records()) {
    if (rec.status == store::kDone) continue;
    if (rec.status == store::kFailed && rec.attempts >= job.distributed.max_attempts) continue;
    order.push_back(rec.id);
  }
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return config::run_cost(job, job.runs[static_cast<size_t>(a)]) > config::run_cost(job, job.runs[static_cast<size_t>(b)]);
  });
  return order;
}

// The final counts of the shard, as the file holds them (rank 0).
Counts count_records(const store::Campaign& campaign) {
  Counts c;
  for (const auto& rec : campaign.records()) {
    ++c.runs;
    if (rec.status == store::kDone) ++c.done;
    else if (rec.status == store::kFailed) ++c.failed;
    else ++c.pending;
  }
  return c;
}

// One run on this rank's group: its status in the file, train_run, the result recorded. The
// result (JSON: status, losses, timings, notes) goes back to rank 0's scheduler.
struct RunWorker {
  const config::JobSpec& job;
  const CampaignOptions& options;
  store::Campaign& campaign;
  const comm::Groups& groups;
  comm::GradientAverager* averager;  // null for groups of one rank (no data parallelism)
  std::string device;
  std::string checkpoints;  // "" when checkpoints are off

  std::string operator()(int64_t id) const {
    // After a stop request no run starts; the group agrees (a signal may reach its ranks apart).
    int stop = stop_requested() ? 1 : 0;
    MPI_Allreduce(MPI_IN_PLACE, &stop, 1, MPI_INT, MPI_MAX, groups.group);
    if (stop) return json{{"run", id}, {"status", "skipped"}}.dump();
    int32_t attempts = 0;
    if (groups.leader()) {
      attempts = campaign.record(id).attempts + 1;
      campaign.set_status(id, store::kRunning, attempts);
    }
    // Every rank of the group needs the attempt number (for the no-progress limit).
    MPI_Bcast(&attempts, 1, MPI_INT32_T, 0, groups.group);
    std::vector<std::string> notes;
    double last_progress = 0;
    TrainOptions to = train_options(id, attempts, notes, last_progress);
    json r = {{"run", id}, {"attempts", attempts}, {"device", device}};
    try {
      const store::RunResult res = train_run(job, job.runs[static_cast<size_t>(id)], to);
      if (groups.leader()) {
        campaign.write_run(res);
        if (!checkpoints.empty()) remove_checkpoint(checkpoints, id);
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
      if (groups.leader()) campaign.set_status(id, store::kPending, attempts);
      r["status"] = "interrupted";
      r["step"] = e.step;
    } catch (const std::exception& e) {
      // A run's own failure (diverging loss, bad data, a fault on any rank of the group; the
      // group agreed on it): recorded, the campaign goes on.
      std::string msg = e.what();
      msg = msg.substr(0, msg.find('\n'));
      if (groups.leader()) campaign.set_status(id, store::kFailed, attempts, msg);
      r["status"] = "failed";
      r["error"] = msg;
    }
    if (groups.leader()) std::remove(progress_file(options.out, id).c_str());
    r["notes"] = notes;
    return r.dump();
  }

  TrainOptions train_options(int64_t id, int32_t attempts, std::vector<std::string>& notes,
                             double& last_progress) const {
    TrainOptions to;
    to.group = averager;
    to.record = groups.leader();
    to.device = device;
    to.checkpoint_dir = checkpoints;
    to.checkpoint_seconds = job.distributed.checkpoint_seconds;
    to.attempt = attempts;
    to.max_attempts = static_cast<int32_t>(job.distributed.max_attempts);
    to.stop_requested = [] { return stop_requested(); };
    to.on_note = [&notes](const std::string& n) { notes.push_back(n); };
    if (!groups.leader()) return to;
    // The leader's progress file, for rank 0's heartbeat (at most every 2 s).
    const std::string file = progress_file(options.out, id);
    to.on_step = [file, id, &last_progress](int64_t step, int64_t steps, double loss, double sps) {
      const double now = util::wall_seconds();
      if (now - last_progress < 2.0) return;
      last_progress = now;
      try {
        write_file_atomically(file, json{{"run", id}, {"step", step}, {"steps", steps}, {"loss", loss},
                                         {"steps_per_second", sps}}.dump());
      } catch (const BadInput&) {
        // progress is a convenience; training goes on
      }
    };
    return to;
  }
};

}  // namespace

CampaignSummary run_campaign(const config::JobSpec& job, const CampaignOptions& options) {
  const double t0 = util::wall_seconds();
  CampaignOptions o = options;
  o.shard = resolve_shard(job, o.shard);
  MPI_Comm world = MPI_COMM_WORLD;
  int rank = 0, size = 1;
  MPI_Comm_rank(world, &rank);
  MPI_Comm_size(world, &size);
  const int node_ranks = comm::ranks_on_node(world);
  const int local = comm::local_rank_from_env() >= 0 ? comm::local_rank_from_env() : comm::node_rank(world);
  const int threads = configure_threads(o.threads > 0 ? o.threads : static_cast<int>(job.distributed.threads_per_rank),
                                        node_ranks, static_cast<int>(job.distributed.blas_threads));
  const std::string device = agreed(world, [&] { return resolve_device(job.distributed.device, local); });
  set_allow_tf32(job.distributed.allow_tf32);
  comm::Groups groups = comm::split_groups(world, static_cast<int>(job.distributed.ranks_per_run));
  std::unique_ptr<comm::GradientAverager> averager;
  // Rank 0 takes the writer lock and creates or checks the file; every rank learns the outcome.
  std::unique_ptr<store::CampaignLock> lock;
  bool fresh = false;
  try {
    auto backend = make_backend(job.distributed, job.path, device, world, groups);
    if (backend) averager = std::make_unique<comm::GradientAverager>(groups.group, std::move(backend));
    fresh = agreed(world, [&] {
      if (rank != 0) return false;
      lock = std::make_unique<store::CampaignLock>(o.out, "lrid train " + job.path);
      return prepare_file(job, o);
    });
  } catch (...) {
    comm::free_groups(groups);
    throw;
  }
  comm::quiet_barrier(world);
  auto campaign = store::Campaign::open(o.out, describe(job), size > 1 ? world : MPI_COMM_NULL, true);
  install_stop_handlers();
  const std::string ckpt = job.distributed.checkpoint_seconds > 0 ? checkpoint_dir(o.out) : std::string();
  if (rank == 0) mkdir(checkpoint_dir(o.out).c_str(), 0775);

  std::vector<int64_t> order;
  std::unique_ptr<store::ProgressLog> log;
  std::unique_ptr<QueueMonitor> monitor;
  if (rank == 0) {
    order = runs_to_train(job, *campaign);
    const int64_t runs = static_cast<int64_t>(campaign->records().size());
    log = std::make_unique<store::ProgressLog>(log_path(o.out), fresh);
    json start_event = {{"event", "start"},        {"job", job.name},          {"job_hash", job.hash},
                        {"campaign", o.out},       {"shard", o.shard.name()},  {"ranks", size},
                        {"groups", groups.group_count}, {"ranks_per_run", groups.group_size},
                        {"threads_per_rank", threads}, {"blas_threads", blas_threads()}, {"device", device},
                        {"gradient_backend", averager ? averager->backend().name() : "none"},
                        {"allow_tf32", job.distributed.allow_tf32}, {"runs", runs},
                        {"todo", order.size()},    {"resume", o.resume}};
    if (lock && !lock->took_over().empty()) start_event["stale_lock"] = lock->took_over();
    log->write(start_event);
    if (!o.quiet)
      std::printf("lrid train: job '%s', %lld runs in shard %s, %zu to train on %d rank(s) in %d group(s), %d "
                  "thread(s) per rank, %s -> %s\n",
                  job.name.c_str(), static_cast<long long>(runs), o.shard.name().c_str(), order.size(), size,
                  groups.group_count, threads, device.c_str(), o.out.c_str());
    std::fflush(stdout);
    monitor = std::make_unique<QueueMonitor>(job, o, order, device, *log, t0);
  }

  const RunWorker work{job, o, *campaign, groups, averager.get(), device, ckpt};
  comm::QueueOptions qo;
  qo.on_event = [&](const comm::TaskEvent& e) {
    if (monitor) monitor->on_event(e);
  };
  comm::run_queue(world, groups, order, work, qo);
  if (monitor) monitor->close();
  comm::quiet_barrier(world);

  Counts end;
  if (rank == 0) {
    end = count_records(*campaign);
    end.trained = static_cast<int64_t>(order.size());
    end.interrupted = monitor->interrupted_or_skipped();
  }
  MPI_Bcast(&end, static_cast<int>(sizeof end), MPI_BYTE, 0, world);
  campaign.reset();  // collective close
  averager.reset();
  comm::free_groups(groups);
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
