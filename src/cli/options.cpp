#include "lrid/cli/options.hpp"

#include <iostream>

#include "lrid/config/job.hpp"
#include "lrid/error.hpp"
#include "lrid/util/text.hpp"

namespace lrid::cli {

namespace {
std::vector<OptionInfo>* listing = nullptr;  // set while list_options runs a command
}

std::vector<OptionInfo> list_options(int (*command)(int, char**), const char* name) {
  std::vector<OptionInfo> out;
  std::string arg0 = name;
  char* argv[] = {arg0.data(), nullptr};
  listing = &out;
  try {
    command(1, argv);
  } catch (...) {
    listing = nullptr;
    throw;
  }
  listing = nullptr;
  return out;
}

std::optional<po::variables_map> parse_options(int argc, char** argv, const std::string& name,
                                               const std::string& usage, const std::string& about,
                                               po::options_description options,
                                               const po::positional_options_description& positional,
                                               const po::options_description& hidden) {
  options.add_options()("help,h", "show this help and exit");
  if (listing) {
    for (const auto& o : options.options())
      listing->push_back({o->long_name(), o->semantic()->max_tokens() > 0});
    return std::nullopt;
  }
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
  } catch (const po::unknown_option& e) {
    // "--outt" -> did you mean '--out'? (only options that exist are named)
    std::vector<std::string> names;
    for (const auto& o : options.options()) names.push_back("--" + o->long_name());
    const std::string given = e.get_option_name();
    throw BadInput("unrecognised option '" + given + "'" + util::did_you_mean(given, names) + " (see 'lrid " + name +
                   " --help')");
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

JobArgs required_job_args(const po::variables_map& vm, const std::string& command, const std::string& what) {
  JobArgs a = job_args(vm);
  if (a.job.empty()) throw BadInput("missing " + what + " (see 'lrid " + command + " --help')");
  return a;
}

void require_analysis_overrides(const JobArgs& args) {
  for (size_t i = 0; i < args.overrides.size(); ++i)
    if (args.overrides[i].rfind("analysis.", 0) != 0)
      throw BadInput("override " + std::to_string(i + 1) + " (" + args.overrides[i] +
                     "): only analysis.* settings can change for a campaign already trained");
}

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    const size_t end = s.find(',', start);
    const std::string part = s.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (!part.empty()) out.push_back(part);
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

}  // namespace lrid::cli
