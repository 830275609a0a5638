// Rank 0's view of a campaign's work queue (include/lrid/train/queue_monitor.hpp).
#include "lrid/train/queue_monitor.hpp"

#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "lrid/comm/mpi.hpp"
#include "lrid/store/run_files.hpp"

namespace lrid::train {

using nlohmann::json;
using store::progress_file;

json running_runs(const std::string& campaign, const std::map<int64_t, std::string>& assigned) {
  json out = json::array();
  for (const auto& [run, device] : assigned) {
    std::ifstream in(progress_file(campaign, run));
    if (!in) continue;
    try {
      json j = json::parse(in);
      j["device"] = device;
      out.push_back(j);
    } catch (const json::exception&) {
    }
  }
  return out;
}

// Whether a launcher started this process, even for one rank (mpirun -np 1 | tee log: the rank's
// stdout is mpirun's pty, a terminal). Read before main: a singleton MPI_Init sets OMPI_* itself.
const bool g_started_by_launcher =
    std::getenv("OMPI_COMM_WORLD_SIZE") || std::getenv("PMI_SIZE") || std::getenv("PMIX_RANK");

// The live progress line: LRID_PROGRESS=live or plain; unset (auto): when stdout is a
// terminal, except under an MPI launcher, whose forwarding gives every rank a terminal for
// stdout whatever mpirun's own output is (tools/run.sh sets live when its output is one).
bool live_progress() {
  const char* v = std::getenv("LRID_PROGRESS");
  const std::string mode = v ? v : "auto";
  if (mode == "live") return true;
  if (mode == "plain") return false;
  return !g_started_by_launcher && isatty(1) != 0;
}

}  // namespace lrid::train
