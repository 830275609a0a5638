#pragma once
// Shared option parsing for the subcommands (Boost.Program_options).
#include <boost/program_options.hpp>

#include "lrid/config/job.hpp"
#include <optional>
#include <string>
#include <vector>

namespace lrid::cli {

namespace po = boost::program_options;

/// A command's help: its synopsis (after "lrid "), what it does, and examples that run as
/// written from the repository root (tests/scripts/help_examples.sh runs every one of them).
struct Help {
  std::string usage;
  std::string about;
  std::vector<std::string> examples;
};

/// A positional argument: its key in the variables map (a string; a vector of strings for
/// count -1, all the rest), and what to call it when it is missing ("" when it is optional).
struct Positional {
  std::string name;
  int count = 1;
  std::string missing;
};

/// Parses argv for command `name`. Adds --help (prints the command's Help from the table in
/// commands.cpp: usage, about, examples, and then the options;
/// returns nullopt, and the command returns 0). Unknown options (with "did you mean"), missing
/// values, bad types and a missing required positional throw lrid::BadInput naming it.
/// `hidden`: options --help does not list.
std::optional<po::variables_map> parse_options(int argc, char** argv, const std::string& name,
                                               po::options_description options,
                                               const std::vector<Positional>& positional = {},
                                               po::options_description hidden = po::options_description());

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
/// The parsed command line of a command whose positional arguments are a file and its
/// key.path=value overrides (grid, train, run, submit: the job; analyze, fit: the campaign).
struct JobCommand {
  po::variables_map vm;
  JobArgs args;
};
/// parse_options for such a command. `required`: what the file is ("JOB.yaml"), BadInput
/// "missing JOB.yaml" without it; nullptr when it is optional. BadInput for a second file.
std::optional<JobCommand> parse_job_command(int argc, char** argv, const std::string& name,
                                            po::options_description options, const char* required);
/// The job file of a command (with its overrides), its statistic names checked too (config knows
/// no statistic: observe resolves them): BadInput "JOB: observables.statistics: unknown ...".
config::JobSpec load_job(const JobArgs& args);
/// The statistic-name check of load_job, for a job loaded otherwise.
void check_statistic_names(const config::JobSpec& job);

/// For commands on a campaign already trained: BadInput unless every override is analysis.*.
void require_analysis_overrides(const JobArgs& args);

/// "a,b,,c" -> {"a", "b", "c"} (empty parts dropped): the comma-separated option values.
std::vector<std::string> split_list(const std::string& s);

}  // namespace lrid::cli
