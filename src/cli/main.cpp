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
#include "lrid/store/h5.hpp"
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

// User text inside a message (an override, a path) may hold control characters: escaped, so
// that an error stays one line.
std::string one_line(const std::string& s) {
  std::string out;
  for (const char ch : s) {
    const auto u = static_cast<unsigned char>(ch);
    if (ch == '\n') out += "\\n";
    else if (ch == '\r') out += "\\r";
    else if (u < 0x20 || u == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    } else out += ch;
  }
  return out;
}

// Runs the command; an error's line goes to `line` (printed by main, by one rank only).
int run_command(const lrid::cli::Command& c, int argc, char** argv, std::string& line) {
  try {
    return c.run(argc, argv);
  } catch (const lrid::BadInput& e) {
    line = std::string("lrid ") + c.name + ": error: " + one_line(e.what()) + "\n";
    return 2;
  } catch (const std::exception& e) {
    // Torch's messages carry a C++ backtrace after the first line; LRID_DEBUG=1 shows it.
    std::string msg = e.what();
    const char* debug = std::getenv("LRID_DEBUG");
    if (!(debug && *debug == '1') && msg.find('\n') != std::string::npos)
      msg = msg.substr(0, msg.find('\n')) + " (LRID_DEBUG=1 for details)";
    else if (!(debug && *debug == '1'))
      msg = one_line(msg);
    line = std::string("lrid ") + c.name + ": internal error: " + msg + "\n";
    return 1;
  } catch (...) {
    line = std::string("lrid ") + c.name + ": internal error (unknown exception)\n";
    return 1;
  }
}

// A file HDF5 could not close (a full disk) stays in its tables, and HDF5's clean-up at exit
// would crash on it: the error is reported and the partial file removed by then, so the process
// ends without that clean-up.
int end_process(int code) {
  if (lrid::store::h5::close_failures() > 0) {
    std::fflush(stdout);
    std::fflush(stderr);
    std::_Exit(code);
  }
  return code;
}

void print_line(void* line) { std::fputs(static_cast<std::string*>(line)->c_str(), stderr); }

// How a command ends. Before MPI starts, every rank finds the same error and rank 0 reports it.
// Under MPI the ranks agree on the outcome (lrid::comm::end_command): the lowest failing rank
// reports, every rank exits with its code; a rank that failed alone (its peers wait in a
// collective) reports and aborts the job after a few seconds instead of hanging it.
int end_command(int code, std::string& line) {
  int init = 0, fin = 0;
  MPI_Initialized(&init);
  MPI_Finalized(&fin);
  if (!init || fin) {
    if (code != 0 && !line.empty() && !quiet_rank()) print_line(&line);
    if (code == 2) let_rank0_report_first();
    return end_process(code);
  }
  if (lrid::store::h5::close_failures() > 0) lrid::comm::skip_finalize();  // see end_process
  return end_process(lrid::comm::end_command(code, 5.0, line.empty() ? nullptr : print_line, &line));
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
    std::string line;
    const int code = run_command(c, argc - 1, argv + 1, line);
    return end_command(code, line);
  }
  std::vector<std::string> names;
  for (const auto& c : lrid::cli::commands()) names.push_back(c.name);
  if (!quiet_rank())
    std::fprintf(stderr, "lrid: error: unknown command '%s'%s (run 'lrid --help' for the list)\n", name.c_str(),
                 lrid::util::did_you_mean(name, names).c_str());
  let_rank0_report_first();
  return 2;
}
