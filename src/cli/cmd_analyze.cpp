// lrid analyze campaign.h5 --out results/: classifiers and robustness sweeps, under MPI.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <cstdlib>
#include <string>
#include <vector>

extern char** environ;

#include "lrid/analyze/pipeline.hpp"
#include "lrid/analyze/results.hpp"
#include "lrid/cli/commands.hpp"
#include "lrid/cli/options.hpp"
#include "lrid/config/job.hpp"
#include "lrid/comm/mpi.hpp"
#include "lrid/error.hpp"
#include "lrid/store/campaign.hpp"
#include "lrid/util/paths.hpp"
#include "lrid/util/text.hpp"
#include <algorithm>

namespace lrid::cli {


int run_program(const std::vector<std::string>& argv, bool quiet) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (quiet) {
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  }
  std::fflush(stdout);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return -1;
  int status = 0;
  if (waitpid(pid, &status, 0) < 0) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

namespace {

}  // namespace

/// Runs the analysis (MPI initialised by the caller) and, on rank 0, the plots.
int analyze_campaign(analyze::AnalysisOptions o, bool plots, bool json) {
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (json) o.quiet = true;
  const auto s = analyze::run_analysis(o);
  if (rank != 0) return 0;
  if (json) {
    std::printf("%s\n", analyze::summary_json(s).dump(1).c_str());
  } else {
    std::printf("\nMain table: test accuracy (mean ± s.e.m. over splits)\n%s\nFindings:\n%s\n", s.main_table.c_str(),
                s.findings.c_str());
    std::printf("lrid analyze: %lld fits in %.1f s -> %s, %s\n", static_cast<long long>(s.fits), s.seconds,
                s.results_path.c_str(), s.report_path.c_str());
  }
  if (!plots) return 0;
  // Plots need Debian's python3 with matplotlib and h5py; say so when they are missing. The
  // script runs without a shell (any path is passed as is).
  const std::string py = "/usr/bin/python3";
  if (run_program({py, "-c", "import matplotlib, h5py"}, true) != 0) {
    if (!json)
      std::printf("lrid analyze: plots skipped: %s with matplotlib and h5py not found "
                "(apt-get install python3-matplotlib python3-h5py)\n", py.c_str());
    return 0;
  }
  const char* src = std::getenv("LRID_PLOT_SCRIPT");
  const std::string script = src ? src : util::data_file("tools/plot_results.py");
  if (run_program({py, script, s.results_path, o.out_dir}, json) != 0)
    std::fprintf(stderr, "lrid analyze: plotting failed (%s %s %s %s)\n", py.c_str(), script.c_str(), s.results_path.c_str(),
                o.out_dir.c_str());
  return 0;
}

int cmd_analyze(int argc, char** argv) {
  po::options_description opts("options");
  opts.add_options()
      ("out", po::value<std::string>(), "results directory (results.h5, report.md, plots)")
      ("statistics", po::value<std::string>(), "comma-separated statistics or sets (default: the job's analysis.statistics)")
      ("classifiers", po::value<std::string>(), "comma-separated: random_forest, linear_svm, conv1d")
      ("sweeps", po::value<std::string>(), "comma-separated: observable_class, holdout, trajectory, measurement, importance, permutation")
      ("splits", po::value<int>(), "train/test splits of the main table")
      ("sweep-splits", po::value<int>(), "splits of the robustness sweeps")
      ("seed", po::value<uint64_t>(), "seed of splits and classifiers")
      ("require-complete", "refuse a campaign with runs not done (default: warn and leave them out)")
      ("export-features", po::value<std::string>(), "also write the main dataset (X, y, names, metadata) to this HDF5 file")
      ("no-plots", "do not run tools/plot_results.py")
      ("json", "print the main table and the findings as one JSON object (no progress lines)")
      ("quiet,q", "no progress lines");
  const auto cmd = parse_job_command(argc, argv, "analyze", opts, "campaign file");
  if (!cmd) return 0;
  const auto& [vm, args] = *cmd;
  if (!vm.count("out")) throw BadInput("missing --out DIR (see 'lrid analyze --help')");
  require_analysis_overrides(args);
  analyze::AnalysisOptions o;
  o.campaign = args.job;
  o.out_dir = vm["out"].as<std::string>();
  {
    auto c = store::Campaign::open_read(o.campaign);
    analyze::options_from_job(c->job_yaml(), o.campaign + ":/job_yaml", o, args.overrides);
  }
  auto check_names = [](const std::vector<std::string>& given, const std::vector<std::string>& known,
                        const std::string& option) {
    for (const auto& x : given)
      if (std::find(known.begin(), known.end(), x) == known.end())
        throw BadInput(option + ": unknown name '" + x + "'" + util::did_you_mean(x, known) + "; expected " +
                       util::join(known));
  };
  if (vm.count("statistics")) o.spec.statistics = split_list(vm["statistics"].as<std::string>());
  if (vm.count("classifiers")) {
    o.spec.classifiers = split_list(vm["classifiers"].as<std::string>());
    if (o.spec.classifiers.empty())
      throw BadInput("--classifiers: empty list; expected one or more of " + util::join(config::classifier_names()));
    check_names(o.spec.classifiers, config::classifier_names(), "--classifiers");
  }
  if (vm.count("sweeps")) {
    o.spec.sweeps = split_list(vm["sweeps"].as<std::string>());
    check_names(o.spec.sweeps, config::analysis_sweep_names(), "--sweeps");
  }
  if (vm.count("splits")) o.spec.splits = vm["splits"].as<int>();
  if (vm.count("sweep-splits")) o.spec.sweep_splits = vm["sweep-splits"].as<int>();
  if (o.spec.splits < 1 || o.spec.sweep_splits < 1) throw BadInput("--splits and --sweep-splits must be >= 1");
  constexpr int kMaxSplits = 10000;  // as analysis.splits in a job file (src/config/job.cpp)
  if (o.spec.splits > kMaxSplits || o.spec.sweep_splits > kMaxSplits)
    throw BadInput("--splits " + std::to_string(o.spec.splits) + ", --sweep-splits " + std::to_string(o.spec.sweep_splits) +
                   ": expected at most " + std::to_string(kMaxSplits) + " splits");
  if (vm.count("seed")) o.spec.seed = static_cast<int64_t>(vm["seed"].as<uint64_t>());
  o.require_complete = vm.count("require-complete") > 0;
  if (vm.count("export-features")) o.export_features = vm["export-features"].as<std::string>();
  o.quiet = vm.count("quiet") > 0;
  comm::init_mpi(nullptr, nullptr);
  return analyze_campaign(o, !vm.count("no-plots"), vm.count("json") > 0);
}

}  // namespace lrid::cli
