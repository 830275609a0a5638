#pragma once
// MPI start-up, shutdown and the small collectives every module shares (no torch here).
#include <mpi.h>

#include <string>

namespace lrid::comm {

/// Initialises MPI (MPI_THREAD_MULTIPLE when available) if not already; idempotent.
/// Returns true when running under an MPI launcher with more than one rank.
bool init_mpi(int* argc, char*** argv);
/// MPI_Finalize if init_mpi initialised it.
void finalize_mpi();
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
