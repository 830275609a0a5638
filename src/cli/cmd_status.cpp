// lrid status campaign.h5 | CAMPAIGN_DIR [--json] [--watch]: progress of a campaign file, or of
// a Slurm campaign directory made by 'lrid submit' (every shard, Slurm states, the reduction).
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <thread>

#include "lrid/cli/commands.hpp"
#include "lrid/cli/options.hpp"
#include "lrid/cluster/campaign_dir.hpp"
#include "lrid/error.hpp"
#include "lrid/store/status.hpp"

namespace lrid::cli {

namespace {

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

bool file_exists(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool is_directory(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace

int cmd_status(int argc, char** argv) {
  po::options_description opts("options");
  opts.add_options()("json", "print the status as JSON (with --watch: one JSON object per line)")(
      "watch", "print the status again every --interval seconds until nothing runs any more")(
      "interval", po::value<double>()->default_value(10.0), "seconds between two reports of --watch")(
      "require-complete",
      "CAMPAIGN_DIR only: exit code 3 unless every shard is complete (used by the reduction job)");
  auto vm = parse_options(argc, argv, "status", opts, {{"campaign", 1, "campaign file or directory"}});
  if (!vm) return 0;
  const std::string target = (*vm)["campaign"].as<std::string>();
  const bool json = vm->count("json") > 0, watch = vm->count("watch") > 0;
  const double interval = (*vm)["interval"].as<double>();
  if (!(interval > 0)) throw BadInput("--interval: expected a number of seconds > 0");
  // A 'lrid run' directory (campaign.h5, results/) reads as its campaign file, plus where its
  // results are; a 'lrid submit' directory (campaign.json) as every shard.
  std::string target_file = target, results_note;
  bool dir = is_directory(target);
  if (dir && !file_exists(target + "/campaign.json")) {
    if (!file_exists(target + "/campaign.h5"))
      throw BadInput(target + ": not an lrid directory (expected campaign.json from 'lrid submit' or campaign.h5 "
                              "from 'lrid run')");
    dir = false;
    target_file = target + "/campaign.h5";
    results_note = file_exists(target + "/results/results.h5")
                       ? "results: " + target + "/results/ (report.md, results.h5, plots)\n"
                       : "results: not yet analyzed (lrid run continues with the analysis once training is done)\n";
  }
  if (!dir && vm->count("require-complete"))
    throw BadInput(target + ": --require-complete applies to a campaign directory made by 'lrid submit'");
  const bool tty = isatty(1) != 0;

  for (int round = 0;; ++round) {
    bool active = false;
    bool complete = true;
    if (dir) {
      const auto s = cluster::read_dir_status(target, now_seconds());
      active = s.active;
      complete = s.complete;
      if (json)
        std::cout << cluster::to_json(s).dump(watch ? -1 : 1) << "\n";
      else
        std::cout << (watch && tty ? "\033[H\033[2J" : "") << (watch ? cluster::utc_now() + "  " : "")
                  << cluster::format_dir_status(s);
    } else {
      const auto s = store::read_status(target_file, now_seconds());
      active = s.active;
      if (json) {
        auto j = store::to_json(s);
        if (target_file != target)
          j["results"] = file_exists(target + "/results/results.h5") ? target + "/results/results.h5" : "";
        std::cout << j.dump(watch ? -1 : 1) << "\n";
      } else {
        std::cout << (watch && tty ? "\033[H\033[2J" : "") << (watch ? cluster::utc_now() + "  " : "")
                  << store::format_status(s) << results_note;
      }
    }
    std::cout << std::flush;
    if (!watch || !active) return vm->count("require-complete") && !complete ? 3 : 0;
    if (!json && !tty) std::cout << "\n";
    std::this_thread::sleep_for(std::chrono::duration<double>(interval));
  }
}

}  // namespace lrid::cli
