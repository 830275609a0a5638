#pragma once
// The rank-0 dynamic work queue, shared by training (a task = one run) and analysis
// (a task = one classifier fit). No torch here.
//
// Rank 0 runs a scheduler thread that hands out task ids, in the given order, to worker groups
// as they free up; rank 0's main thread is itself the leader of worker group 0, so no core sits
// idle. The leader of each group asks for a task, broadcasts it to its group, the whole group
// calls `work(task)`, and the leader reports the result string back. Waiting ranks poll with
// MPI_Test and sleep between polls (OpenMPI would otherwise busy-poll a core).
// With one rank (or MPI not initialised) tasks simply run in order in this process.
#include <mpi.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace lrid::dist {

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

/// Splits `world` into consecutive groups of `group_size` ranks (the last rank count must be a
/// multiple, else BadInput). Returns this rank's group communicator.
struct Groups {
  MPI_Comm group = MPI_COMM_NULL;  ///< this rank's group (MPI_COMM_SELF when size 1)
  int group_index = 0, group_count = 1;
  int group_rank = 0, group_size = 1;
  bool leader() const { return group_rank == 0; }
};
Groups split_groups(MPI_Comm world, int group_size);
void free_groups(Groups& g);

struct TaskEvent {
  enum Kind { kAssigned, kDone, kHeartbeat } kind = kAssigned;
  int64_t task = -1;
  int group = -1;       ///< worker group index
  std::string result;   ///< kDone: what work() returned on the group leader
  double seconds = 0;   ///< kDone: wall time of the task
};

struct QueueOptions {
  /// Called on rank 0 (from the scheduler thread, one event at a time) for every event.
  std::function<void(const TaskEvent&)> on_event;
  /// Seconds between kHeartbeat events (0: none).
  double heartbeat_seconds = 5.0;
};

/// Runs every task of `order` once across the groups of `world` (collective over world).
/// `work(task)` is called on every rank of the group that takes the task; the group leader's
/// return value is the task's result. Returns, on rank 0, the results indexed by task id (the
/// size is max id + 1; other ranks get an empty vector). An exception thrown by work() on a
/// rank propagates (aborting the job); catch expected failures inside work().
std::vector<std::string> run_queue(MPI_Comm world, const Groups& groups,
                                   const std::vector<int64_t>& order,
                                   const std::function<std::string(int64_t)>& work,
                                   const QueueOptions& options = {});

}  // namespace lrid::dist
