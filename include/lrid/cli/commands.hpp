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

int cmd_grid(int argc, char** argv);
int cmd_train(int argc, char** argv);
int cmd_status(int argc, char** argv);
int cmd_merge(int argc, char** argv);
int cmd_run(int argc, char** argv);
int cmd_analyze(int argc, char** argv);
int cmd_stats(int argc, char** argv);
int cmd_submit(int argc, char** argv);
int cmd_resume(int argc, char** argv);
int cmd_fit(int argc, char** argv);
int cmd_classify(int argc, char** argv);
int cmd_completion(int argc, char** argv);

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
