#pragma once
// MPI start-up, shutdown and the small collectives every module shares (no torch here).
#include <mpi.h>

#include <exception>
#include <string>
#include <type_traits>

namespace lrid::comm {

/// Initialises MPI (MPI_THREAD_MULTIPLE when available) if not already; idempotent.
/// Returns true when running under an MPI launcher with more than one rank.
bool init_mpi(int* argc, char*** argv);
/// MPI_Finalize if init_mpi initialised it (and skip_finalize was not called).
void finalize_mpi();
/// Makes finalize_mpi do nothing: for a process that ends without its libraries' clean-up
/// (HDF5's, run by MPI_Finalize, crashes on a file it failed to close on a full disk).
void skip_finalize();
/// A duplicate of MPI_COMM_WORLD made by init_mpi that only end_command uses.
MPI_Comm exit_comm();
/// Whether the MPI library granted MPI_THREAD_MULTIPLE.
bool thread_multiple();

/// Waits for a request without spinning a core: MPI_Test, then sleeps of growing length
/// (from 20 us up to `max_sleep_us`) between tests.
void wait(MPI_Request& request, int max_sleep_us = 2000);
/// A barrier that does not spin (MPI_Ibarrier + wait).
void quiet_barrier(MPI_Comm comm);

/// Broadcasts a string from `root` (collective over comm).
void bcast_string(std::string& s, int root, MPI_Comm comm);

/// An error the ranks of a communicator agreed on: the lowest failing rank and its message.
struct AgreedError {
  int rank = -1;  ///< -1: no rank failed
  std::string message;
  explicit operator bool() const { return rank >= 0; }
};
/// Every rank passes its own error ("" for none) and gets the same AgreedError, so that no rank
/// goes on to a collective the others have left. Collective over `comm` (one allreduce, and a
/// broadcast only when a rank failed).
AgreedError agree_on_error(const std::string& error, MPI_Comm comm);

/// Every rank passes the exception it caught (null for none); when any rank failed, every rank
/// throws the lowest failing rank's error: a BadInput stays a BadInput, anything else becomes a
/// std::runtime_error with its message. Collective over `comm` (as agree_on_error).
void throw_agreed(std::exception_ptr error, MPI_Comm comm);

/// Runs `what` on every rank of `comm` and agrees on its outcome: a check that one rank makes
/// (rank 0 creating a directory, opening a file) is learnt by every rank, so that none goes on to
/// a collective the failing rank has left. Returns `what`'s value (default-constructible).
template <class F>
auto agreed(MPI_Comm comm, F&& what) -> decltype(what()) {
  std::exception_ptr error;
  if constexpr (std::is_void_v<decltype(what())>) {
    try {
      what();
    } catch (...) {
      error = std::current_exception();
    }
    throw_agreed(error, comm);
  } else {
    decltype(what()) value{};
    try {
      value = what();
    } catch (...) {
      error = std::current_exception();
    }
    throw_agreed(error, comm);
    return value;
  }
}

/// How a command ends under MPI (main): every rank passes its exit code (0, 1, 2, ...) and
/// whether it printed its error line already. When every rank gets here, the ranks agree: the
/// lowest failing rank's code is every rank's and only that rank reports (`report` is called on
/// it), then MPI_Finalize. A failing rank whose peers do not arrive within `wait_s` seconds (they
/// wait in a collective it left: a check only it made) reports and ends the job with MPI_Abort,
/// so an error never leaves an allocation hanging. Returns the exit code.
int end_command(int code, double wait_s, void (*report)(void*), void* arg);

/// Consecutive groups of `group_size` ranks of `world` (the rank count must be a multiple,
/// else BadInput).
struct Groups {
  MPI_Comm group = MPI_COMM_NULL;  ///< this rank's group (a communicator of group_size ranks)
  int group_index = 0, group_count = 1;
  int group_rank = 0, group_size = 1;
  bool leader() const { return group_rank == 0; }
};
Groups split_groups(MPI_Comm world, int group_size);
void free_groups(Groups& g);

/// The rank's node-local rank: OMPI_COMM_WORLD_LOCAL_RANK (mpirun), else SLURM_LOCALID (srun),
/// else -1.
int local_rank_from_env();
/// What the launcher put in this process's environment before MPI starts (user errors are
/// mostly found then): the world rank (OMPI_COMM_WORLD_RANK, PMIX_RANK, PMI_RANK, SLURM_PROCID;
/// 0 when none is set) and the world size (OMPI_COMM_WORLD_SIZE, PMI_SIZE; 1 when none is set,
/// as for an MPI singleton started without a launcher).
int launcher_rank_from_env();
int launcher_size_from_env();
/// The rank among the ranks of `comm` that share this node (collective over comm).
int node_rank(MPI_Comm comm);
/// The number of ranks of `comm` on this node (collective over comm).
int ranks_on_node(MPI_Comm comm);

}  // namespace lrid::comm
