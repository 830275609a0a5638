#include "lrid/train/campaign.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "lrid/dist/mpi_averager.hpp"
#include "lrid/dist/nccl_averager.hpp"
#include "lrid/dist/queue.hpp"
#include "lrid/error.hpp"
#include "lrid/train/threads.hpp"
#include "lrid/train/trainer.hpp"

namespace lrid::train {

using nlohmann::json;

std::string log_path(const std::string& campaign) { return campaign + ".log.jsonl"; }

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
  if (s.count < 1 || s.index < 0 || s.index >= s.count)
    throw BadInput("--shard '" + text + "': expected 0 <= I < N");
  return s;
}

namespace {

double wall_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string iso_now() {
  char buf[32];
  const std::time_t t = std::time(nullptr);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

// One JSON object per line, flushed per line: readable while the job runs and after a crash.
class ProgressLog {
 public:
  ProgressLog(const std::string& path, bool truncate)
      : out_(path, truncate ? std::ios::trunc : std::ios::app) {}
  void write(json j) {
    std::lock_guard<std::mutex> lock(mu_);
    j["time"] = iso_now();
    j["t"] = wall_now();
    out_ << j.dump() << "\n";
    out_.flush();
  }

 private:
  std::mutex mu_;
  std::ofstream out_;
};

// Relative cost of a run, for longest-first scheduling.
double expected_cost(const config::JobSpec& job, const config::RunSpec& r) {
  static const std::map<std::string, double> arch = {
      {"MLP", 1},       {"KNet4", 6},        {"KNet4-LRN", 7},  {"KNet5", 7},
      {"KNet5-LRN", 8}, {"AlexNet", 30},     {"AlexNet-LRN", 32}, {"ResNet-18", 60},
      {"ResNet-18v2", 60}, {"ResNet-34", 110}, {"ResNet-34v2", 110}};
  const auto& s = job.rule(r.rule);
  const double steps = s.steps > 0 ? static_cast<double>(s.steps) : s.epochs * 1000.0;
  double c = steps * static_cast<double>(r.batch_size) * arch.at(r.arch);
  if (job.task(r.task).objective == "simclr") c *= 2;
  if (r.rule == "ia") c *= 1.3;
  return c;
}

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
      throw BadInput(o.out + ": campaign file holds shard " + std::to_string(c->shard().index) + "/" +
                     std::to_string(c->shard().count) + ", not " + std::to_string(o.shard.index) +
                     "/" + std::to_string(o.shard.count));
    return false;
  }
  std::vector<std::vector<store::LayerMeta>> layers;
  for (const auto& r : job.runs) layers.push_back(run_layers(job, r));
  store::Campaign::create(o.out, job, layers, campaign_layout(job, layers), o.shard, o.force);
  return true;
}

void bcast_string(std::string& s, MPI_Comm comm) {
  int64_t n = static_cast<int64_t>(s.size());
  MPI_Bcast(&n, 1, MPI_INT64_T, 0, comm);
  s.resize(static_cast<size_t>(n));
  if (n) MPI_Bcast(s.data(), static_cast<int>(n), MPI_CHAR, 0, comm);
}

}  // namespace

CampaignSummary run_campaign(const config::JobSpec& job, const CampaignOptions& o) {
  const double t0 = wall_now();
  MPI_Comm world = MPI_COMM_WORLD;
  int rank = 0, size = 1;
  MPI_Comm_rank(world, &rank);
  MPI_Comm_size(world, &size);
  MPI_Comm node;
  MPI_Comm_split_type(world, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &node);
  int node_size = 1;
  MPI_Comm_size(node, &node_size);
  MPI_Comm_free(&node);
  const int threads = configure_threads(o.threads > 0 ? o.threads : static_cast<int>(job.distributed.threads_per_rank),
                                        node_size);
  dist::Groups groups = dist::split_groups(world, static_cast<int>(job.distributed.ranks_per_run));
  // Gradient backend: auto and mpi average the (CPU) gradients with MPI; nccl stages them through
  // one GPU per rank (BadInput on every rank when built without NCCL or without a usable GPU).
  std::unique_ptr<dist::GradientAverager> averager;
  try {
    if (job.distributed.gradient_backend == "nccl")
      averager = dist::make_nccl_averager(world, groups.group, job.path);
    else
      averager = std::make_unique<dist::MpiAverager>(groups.group);
  } catch (const BadInput&) {
    dist::free_groups(groups);
    throw;
  }

  // Rank 0 creates or checks the file; every rank learns the outcome.
  std::string error;
  bool fresh = false;
  if (rank == 0) {
    try {
      fresh = prepare_file(job, o);
    } catch (const BadInput& e) {
      error = e.what();
    }
  }
  bcast_string(error, world);
  if (!error.empty()) {
    dist::free_groups(groups);
    throw BadInput(error);
  }
  dist::quiet_barrier(world);
  auto campaign = store::Campaign::open(o.out, job, size > 1 ? world : MPI_COMM_NULL, true);

  // What to train: this shard's runs not done (failed ones up to max_attempts), longest first.
  std::vector<int64_t> order;
  CampaignSummary summary;
  std::unique_ptr<ProgressLog> log;
  if (rank == 0) {
    const auto records = campaign->records();
    for (const auto& r : job.runs) {
      if (!o.shard.contains(r.id)) continue;
      ++summary.runs;
      const auto& rec = records[static_cast<size_t>(r.id)];
      if (rec.status == store::kDone) continue;
      if (rec.status == store::kFailed && rec.attempts >= job.distributed.max_attempts) continue;
      order.push_back(r.id);
    }
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      return expected_cost(job, job.runs[static_cast<size_t>(a)]) >
             expected_cost(job, job.runs[static_cast<size_t>(b)]);
    });
    log = std::make_unique<ProgressLog>(log_path(o.out), fresh);
    log->write({{"event", "start"},
                {"job", job.name},
                {"job_hash", job.hash},
                {"campaign", o.out},
                {"shard", std::to_string(o.shard.index) + "/" + std::to_string(o.shard.count)},
                {"ranks", size},
                {"groups", groups.group_count},
                {"ranks_per_run", groups.group_size},
                {"threads_per_rank", threads},
                {"runs", summary.runs},
                {"todo", order.size()},
                {"resume", o.resume}});
    if (!o.quiet)
      std::printf("lrid train: job '%s', %lld runs in shard %lld/%lld, %zu to train on %d rank(s) "
                  "in %d group(s), %d thread(s) per rank -> %s\n",
                  job.name.c_str(), static_cast<long long>(summary.runs),
                  static_cast<long long>(o.shard.index), static_cast<long long>(o.shard.count),
                  order.size(), size, groups.group_count, threads, o.out.c_str());
    std::fflush(stdout);
  }

  auto work = [&](int64_t id) -> std::string {
    const config::RunSpec& run = job.runs[static_cast<size_t>(id)];
    int32_t attempts = 0;
    if (groups.leader()) {
      attempts = campaign->record(id).attempts + 1;
      campaign->set_status(id, store::kRunning, attempts);
    }
    TrainOptions to;
    to.group = groups.group_size > 1 ? averager.get() : nullptr;
    to.record = groups.leader();
    json r = {{"run", id}, {"attempts", attempts}};
    try {
      const store::RunResult res = train_run(job, run, to);
      if (groups.leader()) campaign->write_run(res);
      r["status"] = "done";
      r["final_loss"] = res.final_loss;
      r["final_metric"] = res.final_metric;
      r["wall_seconds"] = res.wall_seconds;
      r["record_seconds"] = res.record_seconds;
      r["train_seconds"] = res.train_seconds;
    } catch (const std::exception& e) {
      // A run's own failure (diverging loss, bad data): recorded, the campaign goes on.
      std::string msg = e.what();
      msg = msg.substr(0, msg.find('\n'));
      if (groups.leader()) campaign->set_status(id, store::kFailed, attempts, msg);
      r["status"] = "failed";
      r["error"] = msg;
    }
    return r.dump();
  };

  int64_t n_done = 0, n_failed = 0, n_assigned = 0;
  const size_t todo = order.size();
  dist::QueueOptions qo;
  qo.on_event = [&](const dist::TaskEvent& e) {
    if (!log) return;
    if (e.kind == dist::TaskEvent::kAssigned) {
      ++n_assigned;
      const auto& run = job.runs[static_cast<size_t>(e.task)];
      log->write({{"event", "assign"}, {"run", e.task}, {"group", e.group}, {"key", run.key()}});
    } else if (e.kind == dist::TaskEvent::kDone) {
      json r = json::parse(e.result);
      const bool ok = r["status"] == "done";
      ok ? ++n_done : ++n_failed;
      r["event"] = ok ? "done" : "failed";
      r["group"] = e.group;
      r["key"] = job.runs[static_cast<size_t>(e.task)].key();
      r["seconds"] = e.seconds;
      log->write(r);
      if (!o.quiet) {
        const double el = wall_now() - t0;
        const double finished = static_cast<double>(n_done + n_failed);
        const double eta = finished > 0 ? el / finished * (static_cast<double>(todo) - finished) : 0;
        if (ok)
          std::printf("[%lld/%zu] run %lld %s done in %.1f s (loss %.4f, metric %.4f), ETA %.0f s\n",
                      static_cast<long long>(n_done + n_failed), todo, static_cast<long long>(e.task),
                      r["key"].get<std::string>().c_str(), e.seconds, r["final_loss"].get<double>(),
                      r["final_metric"].get<double>(), eta);
        else
          std::printf("[%lld/%zu] run %lld %s FAILED: %s\n", static_cast<long long>(n_done + n_failed),
                      todo, static_cast<long long>(e.task), r["key"].get<std::string>().c_str(),
                      r["error"].get<std::string>().c_str());
        std::fflush(stdout);
      }
    } else {
      log->write({{"event", "heartbeat"},
                  {"done", n_done},
                  {"failed", n_failed},
                  {"running", n_assigned - n_done - n_failed},
                  {"pending", static_cast<int64_t>(todo) - n_assigned}});
    }
  };
  dist::run_queue(world, groups, order, work, qo);
  dist::quiet_barrier(world);

  int64_t counts[5] = {0, 0, 0, 0, 0};
  if (rank == 0) {
    const auto st = campaign->statuses();
    for (const auto& r : job.runs)
      if (o.shard.contains(r.id)) {
        if (st[static_cast<size_t>(r.id)] == store::kDone) ++counts[1];
        else if (st[static_cast<size_t>(r.id)] == store::kFailed) ++counts[2];
        else ++counts[3];
      }
    counts[0] = summary.runs;
    counts[4] = static_cast<int64_t>(todo);
  }
  MPI_Bcast(counts, 5, MPI_INT64_T, 0, world);
  campaign.reset();  // collective close
  averager.reset();
  dist::free_groups(groups);
  summary.runs = counts[0];
  summary.done = counts[1];
  summary.failed = counts[2];
  summary.pending = counts[3];
  summary.trained = counts[4];
  summary.seconds = wall_now() - t0;
  if (log)
    log->write({{"event", "finish"},
                {"done", summary.done},
                {"failed", summary.failed},
                {"pending", summary.pending},
                {"seconds", summary.seconds}});
  return summary;
}

}  // namespace lrid::train
