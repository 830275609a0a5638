#pragma once
// The rank-0 dynamic work queue, shared by training (a task = one run) and analysis
// (a task = one classifier fit). No torch here.
//
// The protocol. Rank 0 runs a scheduler thread next to its own work (rank 0's main thread is the
// leader of worker group 0, so no core sits idle). Each group leader sends the scheduler a
// request (tag 101: the task it just finished, -1 at first, its wall time and its result
// string); the scheduler records the result, emits kDone, and answers (tag 102) with the next
// task id in `order` (emitting kAssigned), or -1 when none are left, after which that leader
// stops. The leader broadcasts the task to its group; the whole group calls work(task) (a
// data-parallel run needs every rank of the group), and the leader's return value is the
// result. Waiting ranks poll with MPI_Test and sleep between polls (20 us doubling to 2 ms;
// OpenMPI would otherwise busy-poll a core). The scheduler emits kHeartbeat every
// heartbeat_seconds while idle-polling. With one rank (or MPI not initialised) tasks simply run
// in order in this process, with the same events.
#include <mpi.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "lrid/comm/mpi.hpp"

namespace lrid::comm {

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

}  // namespace lrid::comm
