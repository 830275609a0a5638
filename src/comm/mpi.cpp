// MPI start-up, shutdown and shared collectives (see include/lrid/comm/mpi.hpp).
#include "lrid/comm/mpi.hpp"

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include "lrid/error.hpp"

namespace lrid::comm {

namespace {

bool g_we_initialised = false;
bool g_thread_multiple = false;
MPI_Comm g_exit_comm = MPI_COMM_NULL;

void check(int rc, const char* what) {
  if (rc != MPI_SUCCESS) throw std::runtime_error(std::string(what) + " failed");
}

int env_int(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return -1;
  char* end = nullptr;
  const long x = std::strtol(v, &end, 10);
  return (*end == '\0' && x >= 0 && x < INT_MAX) ? static_cast<int>(x) : -1;
}

}  // namespace

bool init_mpi(int* argc, char*** argv) {
  int initialised = 0;
  MPI_Initialized(&initialised);
  if (!initialised) {
    int provided = MPI_THREAD_SINGLE;
    check(MPI_Init_thread(argc, argv, MPI_THREAD_MULTIPLE, &provided), "MPI_Init_thread");
    g_thread_multiple = provided >= MPI_THREAD_MULTIPLE;
    g_we_initialised = true;
  }
  if (g_exit_comm == MPI_COMM_NULL) MPI_Comm_dup(MPI_COMM_WORLD, &g_exit_comm);
  int size = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  return size > 1;
}

bool g_skip_finalize = false;

void skip_finalize() { g_skip_finalize = true; }

void finalize_mpi() {
  if (g_skip_finalize) return;
  int finalized = 0;
  MPI_Finalized(&finalized);
  g_exit_comm = MPI_COMM_NULL;  // MPI_Finalize frees it
  if (g_we_initialised && !finalized) MPI_Finalize();
  g_we_initialised = false;
}

bool thread_multiple() { return g_thread_multiple; }

MPI_Comm exit_comm() { return g_exit_comm; }

void wait(MPI_Request& request, int max_sleep_us) {
  int sleep = 20;
  for (;;) {
    int done = 0;
    check(MPI_Test(&request, &done, MPI_STATUS_IGNORE), "MPI_Test");
    if (done) return;
    std::this_thread::sleep_for(std::chrono::microseconds(sleep));
    sleep = std::min(max_sleep_us, sleep * 2);
  }
}

void quiet_barrier(MPI_Comm comm) {
  MPI_Request r;
  check(MPI_Ibarrier(comm, &r), "MPI_Ibarrier");
  wait(r);
}

void bcast_string(std::string& s, int root, MPI_Comm comm) {
  int64_t n = static_cast<int64_t>(s.size());
  check(MPI_Bcast(&n, 1, MPI_INT64_T, root, comm), "MPI_Bcast");
  s.resize(static_cast<size_t>(n));
  if (n) check(MPI_Bcast(s.data(), static_cast<int>(n), MPI_CHAR, root, comm), "MPI_Bcast");
}

AgreedError agree_on_error(const std::string& error, MPI_Comm comm) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  int failing = error.empty() ? INT_MAX : rank;
  check(MPI_Allreduce(MPI_IN_PLACE, &failing, 1, MPI_INT, MPI_MIN, comm), "MPI_Allreduce (agreement)");
  AgreedError out;
  if (failing == INT_MAX) return out;
  out.rank = failing;
  out.message = rank == failing ? error : std::string();
  bcast_string(out.message, failing, comm);
  return out;
}

void throw_agreed(std::exception_ptr error, MPI_Comm comm) {
  std::string message;  // "B" + message for a BadInput, "I" + message for anything else
  if (error) {
    try {
      std::rethrow_exception(error);
    } catch (const BadInput& e) {
      message = std::string("B") + e.what();
    } catch (const std::exception& e) {
      message = std::string("I") + e.what();
    } catch (...) {
      message = "Iunknown exception";
    }
  }
  const AgreedError e = agree_on_error(message, comm);
  if (!e) return;
  if (!e.message.empty() && e.message[0] == 'B') throw BadInput(e.message.substr(1));
  throw std::runtime_error(e.message.empty() ? std::string("unknown error") : e.message.substr(1));
}

int end_command(int code, double wait_s, void (*report)(void*), void* arg) {
  int initialised = 0, finalized = 0;
  MPI_Initialized(&initialised);
  MPI_Finalized(&finalized);
  int size = 1, rank = 0;
  if (initialised && !finalized) {
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  }
  if (size < 2) {
    if (code != 0 && report) report(arg);
    finalize_mpi();
    return code;
  }
  // On a communicator of its own (duplicated by init_mpi), so that this agreement never matches
  // a collective of the command that another rank still waits in.
  MPI_Comm comm = exit_comm();
  std::vector<int> codes(static_cast<size_t>(size), 0);
  MPI_Request r;
  MPI_Iallgather(&code, 1, MPI_INT, codes.data(), 1, MPI_INT, comm, &r);
  const auto start = std::chrono::steady_clock::now();
  int done = 0, sleep = 20;
  for (;;) {
    MPI_Test(&r, &done, MPI_STATUS_IGNORE);
    if (done) break;
    if (code != 0 && std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() > wait_s) {
      if (report) report(arg);
      std::fflush(stdout);
      std::fflush(stderr);
      MPI_Abort(MPI_COMM_WORLD, code);
      std::_Exit(code);
    }
    std::this_thread::sleep_for(std::chrono::microseconds(sleep));
    sleep = std::min(20000, sleep * 2);
  }
  int agreed = 0, reporter = -1;
  for (int i = 0; i < size && reporter < 0; ++i)
    if (codes[static_cast<size_t>(i)] != 0) {
      agreed = codes[static_cast<size_t>(i)];
      reporter = i;
    }
  if (reporter == rank && report) report(arg);
  std::fflush(stderr);
  finalize_mpi();
  return agreed;
}

Groups split_groups(MPI_Comm world, int group_size) {
  int rank = 0, size = 1;
  MPI_Comm_rank(world, &rank);
  MPI_Comm_size(world, &size);
  if (group_size < 1 || size % group_size != 0)
    throw BadInput("distributed.ranks_per_run is " + std::to_string(group_size) + " but the job has " +
                   std::to_string(size) + " MPI ranks; the rank count must be a multiple of it");
  Groups g;
  g.group_size = group_size;
  g.group_count = size / group_size;
  g.group_index = rank / group_size;
  g.group_rank = rank % group_size;
  check(MPI_Comm_split(world, g.group_index, g.group_rank, &g.group), "MPI_Comm_split");
  return g;
}

void free_groups(Groups& g) {
  if (g.group != MPI_COMM_NULL) MPI_Comm_free(&g.group);
  g.group = MPI_COMM_NULL;
}

int local_rank_from_env() {
  const int ompi = env_int("OMPI_COMM_WORLD_LOCAL_RANK");
  return ompi >= 0 ? ompi : env_int("SLURM_LOCALID");
}

int launcher_rank_from_env() {
  for (const char* var : {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID"})
    if (const int r = env_int(var); r >= 0) return r;
  return 0;
}

int launcher_size_from_env() {
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"})
    if (const int n = env_int(var); n >= 1) return n;
  return 1;
}

namespace {
// This rank's rank among, and the number of, the ranks of `comm` on its node.
std::pair<int, int> on_node(MPI_Comm comm) {
  int rank = 0, local = 0, n = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm node;
  check(MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &node), "MPI_Comm_split_type");
  MPI_Comm_rank(node, &local);
  MPI_Comm_size(node, &n);
  MPI_Comm_free(&node);
  return {local, n};
}
}  // namespace

int node_rank(MPI_Comm comm) { return on_node(comm).first; }
int ranks_on_node(MPI_Comm comm) { return on_node(comm).second; }

}  // namespace lrid::comm
