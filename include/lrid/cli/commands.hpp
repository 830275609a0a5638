#pragma once
// One function per subcommand, each in src/cli/cmd_<name>.cpp. argv[0] is the command name.
// A command returns its exit code; it may throw lrid::BadInput (exit 2) or anything else (exit 1).
#include <string>
#include <vector>

#include "lrid/cli/options.hpp"

namespace lrid::cli {

struct Command {
  const char* name;
  const char* summary;
  int (*run)(int argc, char** argv);
  Help help;  ///< what `lrid <name> --help` prints
};

/// The commands `lrid --help` lists, in that order.
const std::vector<Command>& commands();

// The subcommands, one per src/cli/cmd_<name>.cpp (argv[0] is the command's name).
int cmd_run(int, char**), cmd_grid(int, char**), cmd_train(int, char**), cmd_analyze(int, char**),
    cmd_status(int, char**), cmd_merge(int, char**), cmd_submit(int, char**), cmd_resume(int, char**),
    cmd_stats(int, char**), cmd_fit(int, char**), cmd_classify(int, char**), cmd_completion(int, char**), cmd_rules(int, char**);

}  // namespace lrid::cli

namespace lrid::analyze {
struct AnalysisOptions;
}
namespace lrid::cli {
/// The analysis of `lrid analyze` and `lrid run` (MPI initialised by the caller).
int analyze_campaign(analyze::AnalysisOptions options, bool plots, bool json = false);
/// Runs a program (argv[0] an absolute path) without a shell and waits; its exit code, or -1 when
/// it could not start or died of a signal. quiet: its stdout and stderr go to /dev/null.
int run_program(const std::vector<std::string>& argv, bool quiet);
}  // namespace lrid::cli
