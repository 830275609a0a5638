// lrid status campaign.h5 [--json]: progress of a campaign.
#include <chrono>
#include <cstdio>
#include <iostream>

#include "lrid/cli/commands.hpp"
#include "lrid/cli/options.hpp"
#include "lrid/error.hpp"
#include "lrid/store/status.hpp"

namespace lrid::cli {

int cmd_status(int argc, char** argv) {
  po::options_description opts("options");
  opts.add_options()("json", "print the status as JSON");
  po::options_description hidden;
  hidden.add_options()("campaign", po::value<std::string>(), "campaign file");
  po::positional_options_description pos;
  pos.add("campaign", 1);
  auto vm = parse_options(
      argc, argv, "status", "status campaign.h5 [--json]",
      "Progress of a campaign: runs done, failed, running (or interrupted by a crash) and "
      "pending, from the file's status table; throughput and ETA from the rank-0 log "
      "(campaign.h5.log.jsonl); the slowest runs and every failed run with its error. Safe to "
      "run while the job writes the file.",
      opts, pos, hidden);
  if (!vm) return 0;
  if (!vm->count("campaign")) throw BadInput("missing campaign file (see 'lrid status --help')");
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  const auto s = store::read_status((*vm)["campaign"].as<std::string>(), now);
  if (vm->count("json"))
    std::cout << store::to_json(s).dump(1) << "\n";
  else
    std::cout << store::format_status(s);
  return 0;
}

}  // namespace lrid::cli
