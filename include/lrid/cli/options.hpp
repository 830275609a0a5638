#pragma once
// Shared option parsing for the subcommands (Boost.Program_options).
#include <boost/program_options.hpp>
#include <optional>
#include <string>
#include <vector>

namespace lrid::cli {

namespace po = boost::program_options;

/// Parses argv for command `name` (usage: a one-line synopsis, about: what it does).
/// Adds --help. Returns nullopt when --help was printed (the command then returns 0).
/// Unknown options, missing values and bad types throw lrid::BadInput naming the option.
std::optional<po::variables_map> parse_options(int argc, char** argv, const std::string& name,
                                               const std::string& usage, const std::string& about,
                                               po::options_description options,
                                               const po::positional_options_description& positional,
                                               const po::options_description& hidden = {});

/// One option as a command's table declares it (what `lrid completion` is generated from).
struct OptionInfo {
  std::string name;  ///< long name, without "--"
  bool takes_value;  ///< --name VALUE
};
/// Runs `command` (a cmd_* function) in listing mode: its parse_options call records the
/// options of its table (with --help) and returns nullopt, so the command returns 0 having done
/// nothing. Every command parses its options before it does anything else.
std::vector<OptionInfo> list_options(int (*command)(int, char**), const char* name);

/// A job file and its command-line overrides (config::load_job_file): the positional "args" of
/// grid, train, run and submit. The first argument that is not key=value is the job file.
struct JobArgs {
  std::string job;                     ///< "" when none was given
  std::vector<std::string> overrides;  ///< key.path=value, in order
};
/// Adds the hidden positional "args" (every positional argument) to a command's options.
void add_job_args(po::options_description& hidden, po::positional_options_description& pos);
/// Splits them; BadInput for a second job file (an override needs '=').
JobArgs job_args(const po::variables_map& vm);
/// job_args, with the first argument required: BadInput "missing WHAT (see 'lrid COMMAND --help')".
JobArgs required_job_args(const po::variables_map& vm, const std::string& command, const std::string& what);
/// For commands on a campaign already trained: BadInput unless every override is analysis.*.
void require_analysis_overrides(const JobArgs& args);

/// "a,b,,c" -> {"a", "b", "c"} (empty parts dropped): the comma-separated option values.
std::vector<std::string> split_list(const std::string& s);

}  // namespace lrid::cli
