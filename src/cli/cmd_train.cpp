// lrid train JOB.yaml --run ID [--out campaign.h5]: train one run in this process.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <cstdlib>
#include <iostream>
#include <memory>

#include <algorithm>

#include "lrid/analyze/electrodes.hpp"
#include "lrid/analyze/model.hpp"
#include "lrid/build_info.hpp"
#include "lrid/cli/commands.hpp"
#include "lrid/cli/options.hpp"
#include "lrid/config/job.hpp"
#include "lrid/error.hpp"
#include "lrid/store/campaign.hpp"
#include "lrid/store/h5.hpp"
#include "lrid/store/lock.hpp"
#include "lrid/train/threads.hpp"
#include "lrid/train/campaign.hpp"
#include "lrid/train/device.hpp"
#include "lrid/train/signals.hpp"
#include "lrid/train/trainer.hpp"
#include "lrid/comm/mpi.hpp"
#include "lrid/observe/conditions.hpp"
#include "lrid/util/text.hpp"

namespace lrid::cli {

namespace {

void ensure_campaign(const std::string& path, const config::JobSpec& job, bool force) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f) {
    std::fclose(f);
    return;
  }
  store::Campaign::create(path, train::describe(job), train::shard_layers(job, {}), train::campaign_layout(job), {}, force);
}

int train_campaign(const config::JobSpec& job, const po::variables_map& vm) {
  if (!vm.count("out")) throw BadInput("missing --out campaign.h5 (see 'lrid train --help')");
  train::CampaignOptions o;
  o.out = vm["out"].as<std::string>();
  o.resume = vm.count("resume") > 0;
  o.force = vm.count("force") > 0;
  if (o.resume && o.force) throw BadInput("--resume and --force exclude each other");
  if (vm.count("shard")) o.shard = train::parse_shard(vm["shard"].as<std::string>());
  o.threads = train::thread_option(vm["threads"].as<int>());
  o.quiet = vm.count("quiet") > 0;
  comm::init_mpi(nullptr, nullptr);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  const auto s = train::run_campaign(job, o);
  if (rank == 0 && s.interrupted) {
    std::printf("lrid train: interrupted by %s: %lld runs done, %lld failed, %lld pending (running runs "
                "checkpointed); continue with: lrid train %s --out %s --resume%s\n",
                train::signal_name(s.signal), static_cast<long long>(s.done), static_cast<long long>(s.failed),
                static_cast<long long>(s.pending), job.path.c_str(), o.out.c_str(),
                o.shard.count > 1 ? (" --shard " + o.shard.name()).c_str() : "");
    std::fflush(stdout);
  }
  if (s.interrupted) return train::kExitInterrupted;
  if (rank == 0) {
    std::printf("lrid train: %lld runs in the shard: %lld done, %lld failed, %lld pending; "
                "trained %lld in %.1f s -> %s\n",
                static_cast<long long>(s.runs), static_cast<long long>(s.done),
                static_cast<long long>(s.failed), static_cast<long long>(s.pending),
                static_cast<long long>(s.trained), s.seconds, o.out.c_str());
    if (s.failed)
      std::printf("lrid train: %lld run(s) failed; 'lrid status %s' lists them, --resume retries "
                  "them (up to distributed.max_attempts)\n",
                  static_cast<long long>(s.failed), o.out.c_str());
  }
  return 0;
}

// `--record-activations FILE.h5`: virtual electrodes (analyze/electrodes.hpp) under the condition
// the options ask for, on the layers they name.
std::unique_ptr<analyze::Electrodes> electrodes_for(const po::variables_map& vm, const config::JobSpec& job,
                                                     const config::RunSpec& run, int64_t id) {
  observe::Condition cond;
  if (vm.count("condition")) cond = observe::parse_condition(vm["condition"].as<std::string>());
  if (vm.count("units")) {
    if (vm.count("condition")) throw BadInput("--units and --condition: give one of them");
    cond.units = vm["units"].as<uint64_t>();
    if (cond.units < 1) throw BadInput("--units: expected a number of units >= 1");
  }
  cond.validate("--condition");
  const std::vector<std::string> chosen = vm.count("layers") ? split_list(vm["layers"].as<std::string>())
                                                             : std::vector<std::string>{};
  return std::make_unique<analyze::Electrodes>(vm["record-activations"].as<std::string>(),
                                               analyze::ElectrodeSource{job.name, job.hash, run.key(), run.rule, id},
                                               train::run_layers(run.arch, job.task(run.task)),
                                               job.observables.trajectory_points, cond, chosen);
}

// --run: one line per trajectory point (step, loss, the mean W-B and update angles).
void print_point(const train::Progress& p) {
  auto mean = [](const std::vector<float>& v) {
    double s = 0;
    for (float x : v) s += x;
    return v.empty() ? std::nan("") : s / static_cast<double>(v.size());
  };
  std::printf("  point %2lld/%lld  step %6lld/%lld  loss %.5f  W-B %5.1f deg  update %5.1f deg  (%.1f s)\n",
              static_cast<long long>(p.point), static_cast<long long>(p.points), static_cast<long long>(p.step),
              static_cast<long long>(p.total_steps), p.loss, mean(p.wb_angle), mean(p.grad_angle), p.seconds);
  std::fflush(stdout);
}

// --run: the learning-rule diagnostics per layer at the first and the last point.
void print_rule_diagnostics(const config::JobSpec& job, const config::RunSpec& run, const store::RunResult& result) {
  // The learning-rule diagnostics per layer at the first and last point.
  const auto layers = train::run_layers(run.arch, job.task(run.task));
  const size_t T = result.steps.size();
  std::printf("  %-22s %12s %12s %14s %14s\n", "layer", "W-B start", "W-B end", "update start", "update end");
  for (size_t l = 0; l < static_cast<size_t>(result.layer_count) && l < layers.size(); ++l)
    std::printf("  %-22s %10.1f deg %8.1f deg %10.1f deg %10.1f deg\n", layers[l].name.c_str(),
                result.wb_angle[l * T], result.wb_angle[l * T + T - 1], result.grad_angle[l * T],
                result.grad_angle[l * T + T - 1]);
}

// lrid train JOB --run ID: one run in this process (recorded into --out when given).
int train_one_run(const config::JobSpec& job, const po::variables_map& vm) {
  if (vm.count("resume") || vm.count("shard"))
    throw BadInput("--resume and --shard apply to a whole campaign, not to --run");
  {
    int init = 0, ranks = 1;
    MPI_Initialized(&init);
    if (!init) ranks = comm::launcher_size_from_env();
    if (ranks > 1)
      throw BadInput("--run trains one run in this one process, but it was started as " + std::to_string(ranks) +
                     " MPI ranks; run it without mpirun/srun, or train the campaign without --run");
  }
  const int64_t id = vm["run"].as<int64_t>();
  if (id < 0 || id >= static_cast<int64_t>(job.runs.size()))
    throw BadInput(job.path + ": --run " + std::to_string(id) + " is out of range (the job has " +
                   std::to_string(job.runs.size()) + " runs, ids 0.." +
                   std::to_string(job.runs.size() - 1) + ")");
  const config::RunSpec& run = job.runs[static_cast<size_t>(id)];
  const bool quiet = vm.count("quiet") > 0;
  int threads = train::thread_option(vm["threads"].as<int>());
  if (threads == 0) threads = static_cast<int>(job.distributed.threads_per_rank);
  threads = train::configure_threads(threads, 1, static_cast<int>(job.distributed.blas_threads));

  // distributed.device holds for --run too (cuda without CUDA: exit 2 before anything is written).
  const std::string device = train::resolve_device(job.distributed.device, 0);
  train::set_allow_tf32(job.distributed.allow_tf32);
  if (vm.count("record-activations")) {
    // The recording replaces an earlier recording only, with --force: never the job file, the
    // campaign this command writes, nor a file of another kind.
    const std::string rec = vm["record-activations"].as<std::string>();
    std::vector<std::string> inputs{job.path};
    if (vm.count("out")) {
      const std::string out = vm["out"].as<std::string>();
      std::error_code ec;
      if (std::filesystem::weakly_canonical(rec, ec) == std::filesystem::weakly_canonical(out, ec))
        throw BadInput(rec + ": --record-activations names the --out campaign of this command; write the recording "
                             "to another file");
      inputs.push_back(out);
    }
    store::h5::check_output(rec, "--record-activations", "lrid-recording-", inputs, vm.count("force") > 0);
  }
  std::unique_ptr<store::Campaign> campaign;
  std::unique_ptr<store::CampaignLock> lock;
  if (vm.count("out")) {
    const std::string out = vm["out"].as<std::string>();
    lock = std::make_unique<store::CampaignLock>(out, "lrid train --run " + std::to_string(id));
    ensure_campaign(out, job, false);
    campaign = store::Campaign::open(out, train::describe(job), MPI_COMM_NULL, true);
    const auto rec = campaign->record(id);
    if (rec.status == store::kDone && !vm.count("force"))
      throw BadInput(out + ": run " + std::to_string(id) +
                     " is already done; use --force to retrain it and replace its data");
  }

  train::TrainOptions options;
  options.device = device;
  if (!quiet)
    std::printf("run %lld: %s (hash %s), %d thread(s), %s\n", static_cast<long long>(id),
                run.key().c_str(), run.hash.c_str(), threads, options.device.c_str());
  // Virtual electrodes (--record-activations): checked before training, written after.
  std::unique_ptr<analyze::Electrodes> electrodes;
  if (vm.count("record-activations")) {
    electrodes = electrodes_for(vm, job, run, id);
    options.on_activations = electrodes->sink();
  } else if (vm.count("layers") || vm.count("units") || vm.count("condition"))
    throw BadInput("--layers, --units and --condition go with --record-activations FILE.h5");
  if (!quiet) options.on_point = print_point;
  int32_t attempts = 0;
  if (campaign) {
    attempts = campaign->record(id).attempts + 1;
    campaign->set_status(id, store::kRunning, attempts);
  }
  store::RunResult result;
  try {
    result = train::train_run(job, run, options);
  } catch (const train::RunFailed& e) {
    if (campaign) campaign->set_status(id, store::kFailed, attempts, e.what());
    std::fprintf(stderr, "lrid train: run %lld failed: %s\n", static_cast<long long>(id), e.what());
    return 1;
  } catch (...) {
    if (campaign) campaign->set_status(id, store::kFailed, attempts, "interrupted by an error");
    throw;
  }
  if (campaign) campaign->write_run(result);
  if (electrodes) {
    const std::string line = electrodes->write();
    if (!quiet) std::printf("  %s\n", line.c_str());
  }
  if (!quiet && result.layer_count > 0) print_rule_diagnostics(job, run, result);
  std::printf("run %lld done: final loss %.5f, %s %.4f, %.1f s (training steps %.2f s, "
              "recording %.2f s)%s\n",
              static_cast<long long>(id), result.final_loss,
              job.task(run.task).objective == "simclr" ? "positive-pair accuracy" : "test accuracy",
              result.final_metric, result.wall_seconds, result.train_seconds, result.record_seconds,
              campaign ? (", written to " + campaign->path()).c_str() : "");
  return 0;
}

}  // namespace

int cmd_train(int argc, char** argv) {
  po::options_description opts("options");
  opts.add_options()
      ("out", po::value<std::string>(), "campaign file (HDF5) to write into")
      ("resume", "continue an existing campaign file of the same job: train only runs not done")
      ("force", "replace an existing campaign file (with --run: retrain a run already done)")
      ("shard", po::value<std::string>(), "I/N: train only shard I of N (the job's runs split into N shards of about equal estimated cost; 'lrid submit --dry-run --json' lists them)")
      ("run", po::value<int64_t>(), "train only this run id, in this process (see 'lrid grid')")
      ("record-activations", po::value<std::string>(),
       "with --run: also write the activations the recorder saw (observation batch, every trajectory point) "
       "to this HDF5 file in the recording layout of 'lrid classify' (docs/recordings.md)")
      ("layers", po::value<std::string>(), "with --record-activations: comma-separated layer names (default: every plastic layer)")
      ("units", po::value<uint64_t>(), "with --record-activations: keep N random units of each layer (the condition n<N>_s0)")
      ("condition", po::value<std::string>(),
       "with --record-activations: measure under this condition (e.g. f0.25_s0.5): the units and noise the campaign's "
       "recorder uses for it")
      ("threads", po::value<int>()->default_value(0),
       "intra-op threads (0: the job's distributed.threads_per_rank, else all cores)")
      ("quiet,q", "print only the summary line");
  const auto cmd = parse_job_command(argc, argv, "train", opts, "JOB.yaml");
  if (!cmd) return 0;
  const auto& [vm, args] = *cmd;
  if (vm.count("run")) return train_one_run(load_job(args), vm);
  // A campaign takes its stop signals from here on: Slurm's warning can come while it starts.
  train::install_stop_handlers();
  return train_campaign(load_job(args), vm);
}

}  // namespace lrid::cli
