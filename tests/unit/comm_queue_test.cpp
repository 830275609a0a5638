// The rank-0 work queue. Alone these run in one process; tests/scripts/comm_queue.sh runs them
// under real mpirun (3 ranks in groups of one, 4 ranks in groups of two).
#include <gtest/gtest.h>
#include <mpi.h>

#include <atomic>
#include <map>
#include <numeric>
#include <string>
#include <vector>

#include "lrid/comm/mpi.hpp"
#include "lrid/comm/queue.hpp"

using namespace lrid::comm;

namespace {

void ensure_mpi() {
  int init = 0;
  MPI_Initialized(&init);
  if (!init) {
    init_mpi(nullptr, nullptr);
    std::atexit([] { finalize_mpi(); });
  }
}

}  // namespace

TEST(CommQueue, EveryTaskRunsOnceAndItsResultComesBack) {
  ensure_mpi();
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const int group_size = size % 2 == 0 ? 2 : 1;
  Groups g = split_groups(MPI_COMM_WORLD, group_size);
  std::vector<int64_t> order = {5, 2, 7, 0, 9, 1, 3};
  std::map<int64_t, int> runs_here;  // task -> times this rank ran it
  std::atomic<int> assigned{0}, done{0};
  QueueOptions qo;
  qo.heartbeat_seconds = 0;
  qo.on_event = [&](const TaskEvent& e) {
    if (e.kind == TaskEvent::kAssigned) ++assigned;
    if (e.kind == TaskEvent::kDone) ++done;
  };
  const auto results = run_queue(MPI_COMM_WORLD, g, order, [&](int64_t t) {
    ++runs_here[t];
    return "t" + std::to_string(t) + "@" + std::to_string(g.group_index);
  }, qo);
  // Each task once per group rank that took it: in total, once per rank of one group.
  int mine = 0;
  for (const auto& [t, n] : runs_here) {
    EXPECT_EQ(n, 1) << "task " << t << " ran twice on rank " << rank;
    mine += n;
  }
  int total = 0;
  MPI_Allreduce(&mine, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  EXPECT_EQ(total, static_cast<int>(order.size()) * group_size);
  if (rank == 0) {
    EXPECT_EQ(assigned.load(), static_cast<int>(order.size()));
    EXPECT_EQ(done.load(), static_cast<int>(order.size()));
    ASSERT_EQ(results.size(), 10u);
    for (int64_t t : order) EXPECT_EQ(results[static_cast<size_t>(t)].rfind("t" + std::to_string(t) + "@", 0), 0u);
    EXPECT_TRUE(results[4].empty());  // not a task
  } else {
    EXPECT_TRUE(results.empty());
  }
  // A group's ranks ran the same tasks.
  std::vector<int64_t> tasks;
  for (const auto& [t, n] : runs_here) tasks.push_back(t);
  if (group_size == 2) {
    int64_t n = static_cast<int64_t>(tasks.size()), other = -1;
    MPI_Allreduce(&n, &other, 1, MPI_INT64_T, MPI_MAX, g.group);
    EXPECT_EQ(n, other);
  }
  free_groups(g);
}

TEST(CommQueue, EmptyOrderAndStringBroadcast) {
  ensure_mpi();
  Groups g = split_groups(MPI_COMM_WORLD, 1);
  const auto results = run_queue(MPI_COMM_WORLD, g, {}, [](int64_t) { return std::string("x"); });
  EXPECT_TRUE(results.empty());
  free_groups(g);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  std::string s = rank == 0 ? std::string(100000, 'q') : std::string();
  bcast_string(s, 0, MPI_COMM_WORLD);
  EXPECT_EQ(s, std::string(100000, 'q'));
}
