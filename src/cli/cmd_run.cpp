// lrid run [JOB.yaml] [--dir DIR]: the main job: train the grid across the ranks, then analyze.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <cstdio>

#include "lrid/analyze/pipeline.hpp"
#include "lrid/cli/commands.hpp"
#include "lrid/cli/options.hpp"
#include "lrid/config/job.hpp"
#include "lrid/comm/mpi.hpp"
#include "lrid/embedded_jobs.hpp"
#include "lrid/error.hpp"
#include "lrid/store/campaign.hpp"
#include "lrid/train/campaign.hpp"
#include "lrid/train/threads.hpp"
#include "lrid/train/signals.hpp"

namespace lrid::cli {

int cmd_run(int argc, char** argv) {
  po::options_description opts("options");
  opts.add_options()
      ("dir", po::value<std::string>(), "output directory (default: lrid-<job name>)")
      ("fresh", "start the campaign afresh, replacing an earlier one in --dir")
      ("threads", po::value<int>()->default_value(0), "intra-op threads per rank (0: automatic)")
      ("no-plots", "do not draw the PNG plots")
      ("quiet,q", "print only summaries");
  const auto cmd = parse_job_command(argc, argv, "run", opts, nullptr);
  if (!cmd) return 0;
  const auto& [vm, args] = *cmd;
  train::install_stop_handlers();  // from here on a signal stops the campaign cleanly (exit 75)
  const config::JobSpec job = !args.job.empty()
                                  ? load_job(args)
                                  : config::load_job_text(kQuickstartYaml, "<embedded jobs/quickstart.yaml>", args.overrides);
  const std::string dir = vm.count("dir") ? vm["dir"].as<std::string>() : "lrid-" + job.name;

  comm::init_mpi(nullptr, nullptr);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  // Rank 0 creates DIR and reads an earlier campaign in it; every rank learns the outcome
  // (comm::agreed), so that no rank waits for one that has failed.
  comm::agreed(MPI_COMM_WORLD, [&] {
    if (rank == 0 && mkdir(dir.c_str(), 0775) != 0 && errno != EEXIST)
      throw BadInput(dir + ": cannot create the output directory (" + std::strerror(errno) + ")" +
                     (vm.count("dir") ? std::string() : "; it is named after the job name of " + job.path + ": give --dir"));
  });

  train::CampaignOptions o;
  o.out = dir + "/campaign.h5";
  o.force = vm.count("fresh") > 0;
  o.resume = !o.force && access(o.out.c_str(), F_OK) == 0;
  if (o.resume) {
    // An earlier campaign in DIR must be of this job (edited job files share the name).
    comm::agreed(MPI_COMM_WORLD, [&] {
      if (rank != 0) return;
      const auto c = store::Campaign::open_read(o.out);
      if (c->job_hash() != job.hash)
        throw BadInput(dir + ": holds a campaign of job '" + c->job_name() + "' (hash " + c->job_hash() +
                       "), not of " + job.path + " (hash " + job.hash +
                       "); use --dir ANOTHER_DIR for this job, or --fresh to replace it");
    });
  }
  o.threads = train::thread_option(vm["threads"].as<int>());
  o.quiet = vm.count("quiet") > 0;
  const auto s = train::run_campaign(job, o);
  if (s.interrupted) {
    if (rank == 0)
      std::printf("lrid run: interrupted by %s: %lld runs done, %lld failed, %lld pending (running runs "
                  "checkpointed), not analysed; the same command continues it\n",
                  train::signal_name(s.signal), static_cast<long long>(s.done), static_cast<long long>(s.failed),
                  static_cast<long long>(s.pending));
    return train::kExitInterrupted;
  }
  if (rank == 0)
    std::printf("lrid run: training: %lld runs, %lld done, %lld failed, %lld pending (%.1f s) -> %s\n",
                static_cast<long long>(s.runs), static_cast<long long>(s.done),
                static_cast<long long>(s.failed), static_cast<long long>(s.pending), s.seconds,
                o.out.c_str());
  analyze::AnalysisOptions a;
  a.campaign = o.out;
  a.out_dir = dir + "/results";
  a.quiet = o.quiet;
  a.spec = job.analysis;  // the job is parsed already
  a.policy_differences = config::policy_differences(job);
  return analyze_campaign(a, !vm.count("no-plots"));
}

}  // namespace lrid::cli
