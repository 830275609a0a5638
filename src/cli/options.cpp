#include "lrid/cli/options.hpp"

#include <cstdint>
#include <iostream>
#include <string>
#include <typeinfo>
#include <vector>

#include "lrid/cli/commands.hpp"
#include "lrid/config/job.hpp"
#include "lrid/error.hpp"
#include "lrid/observe/stats.hpp"
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

namespace {

void print_help(const std::string& name, const po::options_description& options) {
  const Help* found = nullptr;
  for (const auto& c : commands())
    if (name == c.name) found = &c.help;
  if (!found) throw std::logic_error("no help for command '" + name + "'");
  const Help& help = *found;
  std::cout << "usage: lrid " << help.usage << "\n\n" << help.about << "\n";
  if (!help.examples.empty()) {
    std::cout << "\nExamples (run from the repository root):\n";
    for (const auto& e : help.examples) std::cout << "  " << e << "\n";
  }
  std::cout << "\n" << options << std::flush;
}

}  // namespace

std::optional<po::variables_map> parse_options(int argc, char** argv, const std::string& name,
                                               po::options_description options,
                                               const std::vector<Positional>& positional,
                                               po::options_description hidden) {
  options.add_options()("help,h", "show this help and exit");
  if (listing) {
    for (const auto& o : options.options())
      listing->push_back({o->long_name(), o->semantic()->max_tokens() > 0});
    return std::nullopt;
  }
  po::positional_options_description pos;
  for (const auto& p : positional) {
    if (p.count < 0)
      hidden.add_options()(p.name.c_str(), po::value<std::vector<std::string>>(), "");
    else
      hidden.add_options()(p.name.c_str(), po::value<std::string>(), "");
    pos.add(p.name.c_str(), p.count);
  }
  po::options_description all;
  all.add(options).add(hidden);
  po::variables_map vm;
  try {
    const po::parsed_options parsed = po::command_line_parser(argc, argv).options(all).positional(pos).run();
    po::store(parsed, vm);
    // Boost reads "-5" for an unsigned option as 2^64 - 5: a negative value is refused here.
    for (const auto& o : parsed.options) {
      if (o.string_key.empty() || !vm.count(o.string_key) || o.value.empty()) continue;
      const auto& type = vm[o.string_key].value().type();
      const bool is_unsigned = type == typeid(uint64_t) || type == typeid(unsigned) || type == typeid(unsigned long) ||
                               type == typeid(std::vector<uint64_t>);
      for (const auto& v : o.value)
        if (is_unsigned && v.find('-') != std::string::npos)
          throw BadInput("--" + o.string_key + " " + v + ": expected a non-negative integer (see 'lrid " + name +
                         " --help')");
    }
    if (vm.count("help")) {
      print_help(name, options);
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
  for (const auto& p : positional)
    if (!p.missing.empty() && !vm.count(p.name))
      throw BadInput("missing " + p.missing + " (see 'lrid " + name + " --help')");
  return vm;
}

void check_statistic_names(const config::JobSpec& job) {
  const std::pair<const char*, const std::vector<std::string>*> lists[] = {
      {"observables.statistics", &job.observables.statistics}, {"analysis.statistics", &job.analysis.statistics}};
  for (const auto& [key, names] : lists) {
    try {
      observe::resolve_statistics(*names);
    } catch (const BadInput& e) {
      throw BadInput(job.path + ": " + key + ": " + e.what());
    }
  }
}

config::JobSpec load_job(const JobArgs& args) {
  config::JobSpec job = config::load_job_file(args.job, args.overrides);
  check_statistic_names(job);
  return job;
}

namespace {

// The positional "args": the first that is not key=value is the file, the rest overrides.
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

}  // namespace

std::optional<JobCommand> parse_job_command(int argc, char** argv, const std::string& name,
                                            po::options_description options, const char* required) {
  auto vm = parse_options(argc, argv, name, std::move(options), {{"args", -1, ""}});
  if (!vm) return std::nullopt;
  JobCommand c{std::move(*vm), {}};
  c.args = job_args(c.vm);
  if (required && c.args.job.empty()) throw BadInput(std::string("missing ") + required + " (see 'lrid " + name + " --help')");
  return c;
}

void require_analysis_overrides(const JobArgs& args) {
  for (size_t i = 0; i < args.overrides.size(); ++i)
    if (args.overrides[i].rfind("analysis.", 0) != 0)
      throw BadInput("override " + std::to_string(i + 1) + " (" + args.overrides[i] +
                     "): only analysis.* settings can change for a campaign already trained");
}

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  for (auto& part : util::split(s, ','))
    if (!part.empty()) out.push_back(std::move(part));
  return out;
}

}  // namespace lrid::cli
