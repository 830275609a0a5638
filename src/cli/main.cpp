// lrid: identify learning rules from neural network observables.
// Dispatches `lrid <command> [options]` and maps errors to exit codes
// (0 ok, 2 bad input, 1 internal failure).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <thread>
#include <vector>

#include "lrid/build_info.hpp"
#include "lrid/cli/commands.hpp"
#include "lrid/comm/mpi.hpp"
#include "lrid/error.hpp"
#include "lrid/train/signals.hpp"
#include "lrid/util/paths.hpp"
#include "lrid/util/text.hpp"

namespace {

void print_usage(std::FILE* out) {
  std::fprintf(out,
               "lrid %s: identify learning rules from neural network observables\n\n"
               "usage: lrid <command> [options]   (lrid <command> --help for its options)\n\n"
               "commands:\n",
               lrid::kVersion);
  for (const auto& c : lrid::cli::commands()) std::fprintf(out, "  %-10s %s\n", c.name, c.summary);
  std::fprintf(out, "\nexit codes: 0 success, 2 bad input, 1 internal failure\n");
}

}  // namespace

// Under MPI only rank 0 reports a user error (every rank finds the same one). Most user errors
// (a bad job file, a bad option) are found before MPI starts, so the rank the launcher gave the
// process in its environment counts too (OpenMPI, PMIx, MPICH/Intel MPI's PMI, srun).
bool quiet_rank() {
  int init = 0, fin = 0, rank = lrid::comm::launcher_rank_from_env();
  MPI_Initialized(&init);
  MPI_Finalized(&fin);
  if (init && !fin) MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank != 0;
}

// A user error found before MPI starts is found by every rank at once. Rank 0 reports it, but
// a launcher (mpirun) tears the job down as soon as any rank exits non-zero, and a quiet rank
// that exits first can take rank 0 with it before its line is printed. So a quiet rank gives
// rank 0 a few seconds to report and exit (which ends the job, and this rank, at once).
// Under MPI the ranks leave together through MPI_Finalize, after rank 0 printed.
void let_rank0_report_first() {
  int init = 0;
  MPI_Initialized(&init);
  if (init || lrid::comm::launcher_size_from_env() < 2 || !quiet_rank()) return;
  // lrid train and lrid run catch SIGTERM (to checkpoint); the launcher's teardown ends the wait.
  for (int i = 0; i < 60 && !lrid::train::stop_requested(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
}

int run_command(const lrid::cli::Command& c, int argc, char** argv) {
  try {
    return c.run(argc, argv);
  } catch (const lrid::BadInput& e) {
    if (!quiet_rank()) std::fprintf(stderr, "lrid %s: error: %s\n", c.name, e.what());
    let_rank0_report_first();
    return 2;
  } catch (const std::exception& e) {
    // Torch's messages carry a C++ backtrace after the first line; LRID_DEBUG=1 shows it.
    std::string msg = e.what();
    const char* debug = std::getenv("LRID_DEBUG");
    if (!(debug && *debug == '1') && msg.find('\n') != std::string::npos)
      msg = msg.substr(0, msg.find('\n')) + " (LRID_DEBUG=1 for details)";
    std::fprintf(stderr, "lrid %s: internal error: %s\n", c.name, msg.c_str());
    return 1;
  } catch (...) {
    std::fprintf(stderr, "lrid %s: internal error (unknown exception)\n", c.name);
    return 1;
  }
}

int main(int argc, char** argv) {
  // Campaign files are read (lrid status) while a job writes them; HDF5's flock-based file
  // locking would refuse that. lrid's writes never touch metadata after creation.
  setenv("HDF5_USE_FILE_LOCKING", "FALSE", 0);
  if (argc < 2) {
    print_usage(stderr);
    return 2;
  }
  const std::string name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    print_usage(stdout);
    return 0;
  }
  if (name == "--version") {
    const lrid::util::DataDir d = lrid::util::data_dir();
    std::printf("lrid %s\ndata directory: %s (%s)\n", lrid::kVersion, d.path.c_str(),
                d.origin == "installed" ? "installed beside the executable"
                : d.origin == "LRID_HOME" ? "from LRID_HOME"
                                          : "the source tree of this build");
    return 0;
  }
  for (const auto& c : lrid::cli::commands()) {
    if (name != c.name) continue;
    const int code = run_command(c, argc - 1, argv + 1);
    lrid::comm::finalize_mpi();
    return code;
  }
  std::vector<std::string> names;
  for (const auto& c : lrid::cli::commands()) names.push_back(c.name);
  if (!quiet_rank())
    std::fprintf(stderr, "lrid: error: unknown command '%s'%s (run 'lrid --help' for the list)\n", name.c_str(),
                 lrid::util::did_you_mean(name, names).c_str());
  let_rank0_report_first();
  return 2;
}
