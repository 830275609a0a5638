// lrid fit campaign.h5 --out MODEL.h5: a learning-rule model for one measurement setting (under
// mpirun like analyze: the protocol's fits go to the rank-0 work queue, the final forest's
// trees are spread over the ranks).
#include <mpi.h>

#include <cstdio>
#include <string>
#include <vector>

#include "lrid/analyze/classifier.hpp"
#include "lrid/analyze/features.hpp"
#include "lrid/analyze/model.hpp"
#include "lrid/cli/commands.hpp"
#include "lrid/cli/options.hpp"
#include "lrid/config/job.hpp"
#include "lrid/comm/mpi.hpp"
#include "lrid/error.hpp"
#include "lrid/store/h5.hpp"
#include "lrid/util/text.hpp"

namespace lrid::cli {

namespace {

std::vector<int64_t> int_list(const std::string& s, const std::string& option) {
  std::vector<int64_t> out;
  if (split_list(s).empty()) throw BadInput(option + ": expected comma-separated non-negative integers, got an empty list");
  for (const auto& part : split_list(s)) {
    size_t used = 0;
    int64_t v = -1;
    try {
      v = std::stoll(part, &used);
    } catch (...) {
      used = 0;
    }
    if (used != part.size() || v < 0)
      throw BadInput(option + ": expected comma-separated non-negative integers, got '" + part + "'");
    out.push_back(v);
  }
  return out;
}

}  // namespace

int cmd_fit(int argc, char** argv) {
  po::options_description opts("options");
  opts.add_options()
      ("out", po::value<std::string>(), "the model file to write (HDF5)")
      ("observable", po::value<std::string>()->default_value("act"), "observable class: act, weight, gradavg or all")
      ("condition", po::value<std::string>()->default_value("ideal"),
       "measurement condition, e.g. f0.25_s0.5 or n300_s0 (the nearest recorded one is used, with a note)")
      ("points", po::value<std::string>(), "trajectory point indices available, e.g. 0,5,10,15,20 (default: all)")
      ("spread", po::value<int>(), "instead of --points: this many points spread evenly over training")
      ("statistics", po::value<std::string>(), "comma-separated statistics or sets (default: the admissible ones of the class)")
      ("exclude-runs", po::value<std::string>(), "comma-separated job run ids to leave out (e.g. to classify them later)")
      ("n-estimators", po::value<int>(), "fix the forest's trees (with --max-features: no grid search)")
      ("max-features", po::value<std::string>(), "fix the forest's max_features (sqrt, log2, all, a count or fraction)")
      ("splits", po::value<int>(), "train/test splits of the cross-validated accuracy (default: the job's analysis.splits)")
      ("seed", po::value<uint64_t>(), "seed of the splits and the forest (default: the job's analysis.seed)")
      ("force", "overwrite an existing model file")
      ("quiet,q", "no progress lines");
  const auto cmd = parse_job_command(argc, argv, "fit", opts, "campaign file");
  if (!cmd) return 0;
  const auto& [vm, args] = *cmd;
  if (!vm.count("out")) throw BadInput("missing --out MODEL.h5 (see 'lrid fit --help')");
  const std::string out = vm["out"].as<std::string>();
  require_analysis_overrides(args);
  if (!vm.count("force")) {
    if (std::FILE* f = std::fopen(out.c_str(), "r")) {
      std::fclose(f);
      throw BadInput(out + ": exists (use --force to overwrite it, or another --out)");
    }
  }
  // --force replaces an earlier model only: never the campaign read, nor a file of another kind.
  store::h5::check_output(out, "--out", "lrid-model-", {args.job}, true);

  const analyze::CampaignData c = analyze::read_campaign(args.job);
  analyze::FitOptions o;
  o.analysis = config::load_job_text(c.job_yaml, args.job + ":/job_yaml", args.overrides).analysis;
  o.observable_class = vm["observable"].as<std::string>();
  o.condition = vm["condition"].as<std::string>();
  if (vm.count("points") && vm.count("spread")) throw BadInput("--points and --spread: give one of them");
  if (vm.count("points")) o.points = int_list(vm["points"].as<std::string>(), "--points");
  if (vm.count("spread")) {
    o.spread = vm["spread"].as<int>();
    if (o.spread < 1) throw BadInput("--spread: expected a number of points >= 1");
  }
  if (vm.count("statistics")) o.statistics = {vm["statistics"].as<std::string>()};
  if (vm.count("exclude-runs")) o.exclude_runs = int_list(vm["exclude-runs"].as<std::string>(), "--exclude-runs");
  if (vm.count("n-estimators") || vm.count("max-features")) {
    o.fixed_params = nlohmann::json::object();
    if (vm.count("n-estimators") && (vm["n-estimators"].as<int>() < 1 || vm["n-estimators"].as<int>() > 100000))
      throw BadInput("--n-estimators " + std::to_string(vm["n-estimators"].as<int>()) + ": expected 1..100000 trees");
    o.fixed_params["n_estimators"] = vm.count("n-estimators") ? vm["n-estimators"].as<int>() : 100;
    o.fixed_params["max_features"] = vm.count("max-features") ? vm["max-features"].as<std::string>() : "sqrt";
    analyze::parse_forest_params(o.fixed_params);  // bad values: exit 2 before any work
  }
  if (vm.count("splits")) o.analysis.splits = vm["splits"].as<int>();
  if (o.analysis.splits < 1) throw BadInput("--splits: expected >= 1");
  if (vm.count("seed")) o.analysis.seed = static_cast<int64_t>(vm["seed"].as<uint64_t>());
  o.quiet = vm.count("quiet") > 0;

  comm::init_mpi(nullptr, nullptr);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const analyze::FitOutcome r = analyze::fit_model(c, o);
  if (rank != 0) return 0;
  analyze::save_model(r.model, out);
  const auto& m = r.model;
  for (const auto& n : r.notes) std::printf("lrid fit: note: %s\n", n.c_str());
  std::printf("lrid fit: %s statistics (%zu) at %zu of %lld points, condition %s, %lld samples (%s)\n",
              m.observable_class.c_str(), m.statistics.size(), m.points.size(),
              static_cast<long long>(m.campaign_points), m.condition.c_str(), static_cast<long long>(m.samples),
              util::join(m.classes).c_str());
  std::printf("lrid fit: cross-validated accuracy %.3f +- %.3f over %zu splits (chance %.3f); final forest %s\n",
              m.cv_accuracy.mean, m.cv_accuracy.sem, m.cv_accuracy.count, 1.0 / static_cast<double>(m.classes.size()),
              m.params.dump().c_str());
  std::printf("lrid fit: %lld fits on %d rank%s in %.1f s -> %s\n", static_cast<long long>(r.fits), size,
              size == 1 ? "" : "s", r.seconds, out.c_str());
  return 0;
}

}  // namespace lrid::cli
