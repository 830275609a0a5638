#include "lrid/comm/queue.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <pthread.h>

#include <thread>

#include "lrid/error.hpp"

namespace lrid::comm {

namespace {

constexpr int kTagRequest = 101;  // leader -> scheduler: [int64 done task][double seconds][result]
constexpr int kTagAssign = 102;   // scheduler -> leader: int64 task (-1: no more)

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

void sleep_us(int us) { std::this_thread::sleep_for(std::chrono::microseconds(us)); }

void check(int rc, const char* what) {
  if (rc != MPI_SUCCESS) throw std::runtime_error(std::string(what) + " failed");
}

}  // namespace

namespace {

// Rank 0's scheduler: answers leaders' requests until every leader has been told to stop.
struct Scheduler {
  MPI_Comm comm;
  int group_size;
  const std::vector<int64_t>& order;
  const QueueOptions& options;
  std::vector<std::string>& results;
  std::exception_ptr error;

  void emit(const TaskEvent& e) {
    if (options.on_event) options.on_event(e);
  }

  void run(int leaders) {
    try {
      size_t next = 0;
      int stopped = 0;
      double last_beat = now_seconds();
      int sleep = 20;
      std::vector<char> buf;
      while (stopped < leaders) {
        int flag = 0;
        MPI_Status st;
        check(MPI_Iprobe(MPI_ANY_SOURCE, kTagRequest, comm, &flag, &st), "MPI_Iprobe");
        if (!flag) {
          if (options.heartbeat_seconds > 0 && now_seconds() - last_beat >= options.heartbeat_seconds) {
            last_beat = now_seconds();
            TaskEvent e;
            e.kind = TaskEvent::kHeartbeat;
            emit(e);
          }
          sleep_us(sleep);
          sleep = std::min(2000, sleep * 2);
          continue;
        }
        sleep = 20;
        int count = 0;
        MPI_Get_count(&st, MPI_CHAR, &count);
        buf.resize(static_cast<size_t>(count));
        check(MPI_Recv(buf.data(), count, MPI_CHAR, st.MPI_SOURCE, kTagRequest, comm, MPI_STATUS_IGNORE),
              "MPI_Recv");
        const int group = st.MPI_SOURCE / group_size;
        int64_t done = -1;
        double seconds = 0;
        std::memcpy(&done, buf.data(), sizeof done);
        std::memcpy(&seconds, buf.data() + sizeof done, sizeof seconds);
        if (done >= 0) {
          std::string result(buf.begin() + sizeof done + sizeof seconds, buf.end());
          TaskEvent e;
          e.kind = TaskEvent::kDone;
          e.task = done;
          e.group = group;
          e.seconds = seconds;
          e.result = result;
          emit(e);
          if (static_cast<size_t>(done) >= results.size()) results.resize(static_cast<size_t>(done) + 1);
          results[static_cast<size_t>(done)] = std::move(result);
        }
        int64_t task = -1;
        if (next < order.size()) {
          task = order[next++];
          TaskEvent e;
          e.kind = TaskEvent::kAssigned;
          e.task = task;
          e.group = group;
          emit(e);
        } else {
          ++stopped;
        }
        check(MPI_Send(&task, 1, MPI_INT64_T, st.MPI_SOURCE, kTagAssign, comm), "MPI_Send");
      }
    } catch (...) {
      error = std::current_exception();
    }
  }
};

}  // namespace

std::vector<std::string> run_queue(MPI_Comm world, const Groups& groups,
                                   const std::vector<int64_t>& order,
                                   const std::function<std::string(int64_t)>& work,
                                   const QueueOptions& options) {
  int initialised = 0;
  MPI_Initialized(&initialised);
  int rank = 0, size = 1;
  if (initialised) {
    MPI_Comm_rank(world, &rank);
    MPI_Comm_size(world, &size);
  }
  std::vector<std::string> results;
  if (size == 1) {
    // One rank: run everything here, in order, with the same events.
    for (int64_t task : order) {
      if (options.on_event) options.on_event({TaskEvent::kAssigned, task, 0, "", 0});
      const double t0 = now_seconds();
      std::string r = work(task);
      if (static_cast<size_t>(task) >= results.size()) results.resize(static_cast<size_t>(task) + 1);
      if (options.on_event) options.on_event({TaskEvent::kDone, task, 0, r, now_seconds() - t0});
      results[static_cast<size_t>(task)] = std::move(r);
    }
    return results;
  }
  if (!thread_multiple())
    throw std::runtime_error("the MPI library did not grant MPI_THREAD_MULTIPLE, which lrid's "
                             "rank-0 scheduler needs");

  MPI_Comm comm;
  check(MPI_Comm_dup(world, &comm), "MPI_Comm_dup");
  Scheduler sched{comm, groups.group_size, order, options, results, nullptr};
  std::thread scheduler;
  if (rank == 0)
    scheduler = std::thread([&] {
      pthread_setname_np(pthread_self(), "lrid-scheduler");  // visible in top -H, /proc/*/task
      sched.run(groups.group_count);
    });

  try {
    if (groups.leader()) {
      int64_t last = -1;
      double seconds = 0;
      std::string result;
      for (;;) {
        std::vector<char> msg(sizeof last + sizeof seconds + result.size());
        std::memcpy(msg.data(), &last, sizeof last);
        std::memcpy(msg.data() + sizeof last, &seconds, sizeof seconds);
        std::memcpy(msg.data() + sizeof last + sizeof seconds, result.data(), result.size());
        MPI_Request req;
        check(MPI_Isend(msg.data(), static_cast<int>(msg.size()), MPI_CHAR, 0, kTagRequest, comm, &req),
              "MPI_Isend");
        wait(req);
        int64_t task = -1;
        check(MPI_Irecv(&task, 1, MPI_INT64_T, 0, kTagAssign, comm, &req), "MPI_Irecv");
        wait(req);
        if (groups.group_size > 1) {
          check(MPI_Ibcast(&task, 1, MPI_INT64_T, 0, groups.group, &req), "MPI_Ibcast");
          wait(req);
        }
        if (task < 0) break;
        const double t0 = now_seconds();
        result = work(task);
        seconds = now_seconds() - t0;
        last = task;
      }
    } else {
      for (;;) {
        int64_t task = -1;
        MPI_Request req;
        check(MPI_Ibcast(&task, 1, MPI_INT64_T, 0, groups.group, &req), "MPI_Ibcast");
        wait(req);
        if (task < 0) break;
        work(task);
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lrid: rank %d: %s; aborting the MPI job\n", rank, e.what());
    MPI_Abort(world, 1);
  }
  if (scheduler.joinable()) scheduler.join();
  if (sched.error) std::rethrow_exception(sched.error);
  MPI_Comm_free(&comm);
  return rank == 0 ? results : std::vector<std::string>{};
}

}  // namespace lrid::comm
