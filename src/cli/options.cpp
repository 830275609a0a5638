#include "lrid/cli/options.hpp"

#include <iostream>

#include "lrid/config/job.hpp"
#include "lrid/error.hpp"

namespace lrid::cli {

std::optional<po::variables_map> parse_options(int argc, char** argv, const std::string& name,
                                               const std::string& usage, const std::string& about,
                                               po::options_description options,
                                               const po::positional_options_description& positional,
                                               const po::options_description& hidden) {
  options.add_options()("help,h", "show this help and exit");
  po::options_description all;
  all.add(options).add(hidden);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(all).positional(positional).run(), vm);
    if (vm.count("help")) {
      std::cout << "usage: lrid " << usage << "\n\n" << about << "\n\n" << options << std::flush;
      return std::nullopt;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    throw BadInput(std::string(e.what()) + " (see 'lrid " + name + " --help')");
  }
  return vm;
}

void add_job_args(po::options_description& hidden, po::positional_options_description& pos) {
  hidden.add_options()("args", po::value<std::vector<std::string>>(), "JOB.yaml and key.path=value overrides");
  pos.add("args", -1);
}

JobArgs job_args(const po::variables_map& vm) {
  JobArgs a;
  if (!vm.count("args")) return a;
  for (const auto& x : vm["args"].as<std::vector<std::string>>()) {
    if (config::is_override(x)) {
      a.overrides.push_back(x);
    } else if (a.job.empty()) {
      a.job = x;
    } else {
      throw BadInput("unexpected argument '" + x + "' after the job file " + a.job +
                     " (an override is key.path=value, e.g. training.defaults.steps=50)");
    }
  }
  return a;
}

}  // namespace lrid::cli
