// Rank 0's view of a campaign's queue (include/lrid/train/queue_monitor.hpp): the progress log
// it writes from the queue's events, its counts, the running runs it reads from the leaders'
// progress files, and its ETA weighted by the cost model.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "lrid/config/job.hpp"
#include "lrid/store/run_files.hpp"
#include "lrid/train/queue_monitor.hpp"
#include "lrid/util/text.hpp"

namespace {

using nlohmann::json;

// Two runs of one rule; run 1 costs twice run 0 (batch 64 vs 32).
const char* kJob = R"(name: q
grid:
  - {learning_rules: [sgdm], tasks: [fashion_mnist], architectures: [MLP], batch_sizes: [32, 64]}
training:
  defaults: {steps: 10}
)";

std::vector<json> lines(const std::string& path) {
  std::vector<json> out;
  std::ifstream in(path);
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) out.push_back(json::parse(l));
  return out;
}

}  // namespace

TEST(QueueMonitor, LogsEveryEventCountsAndEstimatesByCost) {
  const auto job = lrid::config::load_job_text(kJob, "q.yaml");
  ASSERT_EQ(job.runs.size(), 2u);
  EXPECT_DOUBLE_EQ(lrid::config::run_cost(job, job.runs[1]), 2 * lrid::config::run_cost(job, job.runs[0]));
  const std::string dir = ::testing::TempDir() + "/lrid_qm_" + std::to_string(getpid());
  ASSERT_EQ(std::system(("mkdir -p " + dir).c_str()), 0);
  lrid::train::CampaignOptions o;
  o.out = dir + "/c.h5";
  o.quiet = true;
  const std::string log_path = dir + "/log.jsonl";
  {
    lrid::store::ProgressLog log(log_path, true);
    const double t0 = lrid::util::wall_seconds() - 30;  // 30 s ago
    lrid::train::QueueMonitor m(job, o, {1, 0}, "cpu", log, t0);
    EXPECT_TRUE(std::isnan(m.eta_seconds()));  // nothing finished yet
    m.on_event({lrid::comm::TaskEvent::kAssigned, 1, 0, "", 0});
    m.on_event({lrid::comm::TaskEvent::kAssigned, 0, 1, "", 0});
    // Run 0's leader reports half its steps done: the heartbeat reads it.
    ASSERT_EQ(std::system(("mkdir -p " + lrid::store::checkpoint_dir(o.out)).c_str()), 0);
    std::ofstream(lrid::store::progress_file(o.out, 0))
        << json{{"run", 0}, {"step", 5}, {"steps", 10}, {"loss", 1.0}, {"steps_per_second", 2.0}}.dump();
    m.on_event({lrid::comm::TaskEvent::kHeartbeat, -1, -1, "", 0});
    m.on_event({lrid::comm::TaskEvent::kDone, 1, 0,
                json{{"run", 1}, {"status", "done"}, {"final_loss", 0.5}, {"final_metric", 0.8}, {"notes", {"resumed"}}}.dump(),
                12.0});
    EXPECT_EQ(m.done(), 1);
    // 30 s for run 1 (cost 2) and half of run 0 (cost 0.5 of 1): 12 s per unit, 0.5 units left.
    EXPECT_NEAR(m.eta_seconds(), 30.0 / 2.5 * 0.5, 0.5);
    m.on_event({lrid::comm::TaskEvent::kDone, 0, 1,
                json{{"run", 0}, {"status", "failed"}, {"error", "loss diverged at step 3"}}.dump(), 3.0});
    EXPECT_EQ(m.failed(), 1);
    EXPECT_NEAR(m.eta_seconds(), 0.0, 1e-9);
    m.on_event({lrid::comm::TaskEvent::kDone, 0, 1, json{{"run", 0}, {"status", "skipped"}}.dump(), 0.0});
    EXPECT_EQ(m.interrupted_or_skipped(), 1);
  }
  const auto ev = lines(log_path);
  std::vector<std::string> kinds;
  for (const auto& e : ev) kinds.push_back(e.at("event"));
  EXPECT_EQ(kinds, (std::vector<std::string>{"assign", "assign", "heartbeat", "note", "done", "failed"}));
  EXPECT_EQ(ev[0].at("key"), job.runs[1].key());
  EXPECT_EQ(ev[2].at("running"), 2);
  EXPECT_EQ(ev[2].at("pending"), 0);
  ASSERT_EQ(ev[2].at("running_runs").size(), 1u);  // only run 0 has a progress file
  EXPECT_EQ(ev[2].at("running_runs")[0].at("step"), 5);
  EXPECT_EQ(ev[3].at("text"), "resumed");
  EXPECT_EQ(ev[4].at("seconds"), 12.0);
  EXPECT_EQ(ev[5].at("error"), "loss diverged at step 3");
  std::system(("rm -rf " + dir).c_str());
}
