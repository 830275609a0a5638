#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>

#include "lrid/config/job.hpp"
#include "lrid/train/campaign.hpp"
#include "lrid/error.hpp"
#include "lrid/store/campaign.hpp"

using namespace lrid;

namespace {

const std::string kJob = R"(name: storetest
grid:
  - learning_rules: [sgdm, fa]
    tasks: [fashion_mnist]
    architectures: [MLP, KNet4]
    batch_sizes: [8]
observables: {trajectory_points: 3}
)";

std::string temp_path(const std::string& name) {
  return "/tmp/lrid_store_test_" + std::to_string(getpid()) + "_" + name + ".h5";
}

store::Layout layout_for(const config::JobSpec& job) {
  store::Layout L;
  L.runs = static_cast<int64_t>(job.runs.size());
  L.layers = 4;
  L.conditions = 2;
  L.points = 3;
  L.statistics = 2;
  L.statistic_names = {"weightraw_mean", "actraw_mean"};
  L.conditions_meta = {{"f1_s0", 1.0, 0.0}, {"f0.5_s0", 0.5, 0.0}};
  return L;
}

std::vector<std::vector<store::LayerMeta>> layers_for(const config::JobSpec& job) {
  std::vector<std::vector<store::LayerMeta>> out;
  for (const auto& r : job.runs) {
    if (r.arch == "MLP")
      out.push_back({{"fc1", 0}, {"fc2", 1}, {"fc3", 2}});
    else
      out.push_back({{"conv1", 0}, {"conv2", 1}, {"conv3", 2}, {"fc", 2}});
  }
  return out;
}

std::vector<uint8_t> statuses(const store::Campaign& c) {
  std::vector<uint8_t> out;
  for (const auto& r : c.records()) out.push_back(r.status);
  return out;
}

}  // namespace

TEST(Campaign, RoundTripAndNaNPadding) {
  const auto job = config::load_job_text(kJob, "job.yaml");
  const std::string path = temp_path("rt");
  std::remove(path.c_str());
  store::Campaign::create(path, lrid::train::describe(job), layers_for(job), layout_for(job), {}, false);
  auto c = store::Campaign::open(path, lrid::train::describe(job), MPI_COMM_NULL, true);
  ASSERT_EQ(c->layout().runs, 4);
  EXPECT_EQ(c->layout().statistic_names[1], "actraw_mean");
  EXPECT_EQ(statuses(*c), std::vector<uint8_t>(4, store::kPending));
  // run 0 is an MLP (3 layers): write 3 x 2 x 3 x 2 values
  store::RunResult r;
  r.run_id = 0;
  r.layer_count = 3;
  for (int i = 0; i < 36; ++i) r.values.push_back(0.5f * i);
  r.steps = {0, 5, 10};
  r.loss = {2.3, 1.0, 0.5};
  r.wall_seconds = 1.5;
  r.final_loss = 0.5;
  r.final_metric = 0.8;
  r.metric_chance = 0.1;
  for (int i = 0; i < 9; ++i) r.wb_angle.push_back(90.f - i), r.grad_angle.push_back(45.f + i);
  c->write_run(r);
  c->set_status(1, store::kFailed, 2, "loss diverged");
  c.reset();

  auto d = store::Campaign::open_read(path);
  EXPECT_EQ(statuses(*d), (std::vector<uint8_t>{store::kDone, store::kFailed, 0, 0}));
  EXPECT_EQ(d->values(0), r.values);
  const auto layers = d->layers(0);
  ASSERT_EQ(layers.size(), 3u);
  EXPECT_EQ(layers[2].name, "fc3");
  EXPECT_EQ(d->layers(2).size(), 4u);
  const auto rec = d->record(1);
  EXPECT_EQ(rec.error, "loss diverged");
  EXPECT_EQ(rec.attempts, 2);
  EXPECT_DOUBLE_EQ(d->record(0).final_metric, 0.8);
  EXPECT_DOUBLE_EQ(d->record(0).metric_chance, 0.1);
  EXPECT_EQ(d->record(0).device, "cpu");
  EXPECT_EQ(d->diagnostic(0, "wb_angle"), r.wb_angle);
  EXPECT_EQ(d->diagnostic(0, "grad_angle"), r.grad_angle);
  EXPECT_EQ(d->steps(0), r.steps);
  EXPECT_EQ(d->losses(0), r.loss);
  for (float v : d->diagnostic(2, "wb_angle")) EXPECT_TRUE(std::isnan(v));
  // a pending run reads as NaN
  for (float v : d->values(2)) EXPECT_TRUE(std::isnan(v));
  const auto runs = d->runs();
  ASSERT_EQ(runs.size(), 4u);
  for (size_t i = 0; i < runs.size(); ++i) {
    EXPECT_EQ(runs[i].key(), job.runs[i].key());
    EXPECT_EQ(runs[i].hash, job.runs[i].hash);
    EXPECT_EQ(runs[i].model_seed_value, job.runs[i].model_seed_value);
  }
  std::remove(path.c_str());
}

TEST(Campaign, RefusesForeignJobAndExistingFile) {
  const auto job = config::load_job_text(kJob, "job.yaml");
  const std::string path = temp_path("foreign");
  std::remove(path.c_str());
  store::Campaign::create(path, lrid::train::describe(job), layers_for(job), layout_for(job), {}, false);
  EXPECT_THROW(store::Campaign::create(path, lrid::train::describe(job), layers_for(job), layout_for(job), {}, false),
               BadInput);
  std::string changed = kJob + "training: {fa: {learning_rate: 0.5}}\n";
  const auto other = config::load_job_text(changed, "other.yaml");
  try {
    store::Campaign::open(path, lrid::train::describe(other), MPI_COMM_NULL, true);
    FAIL() << "a changed job must be refused";
  } catch (const BadInput& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("runs that would change: 1,3"), std::string::npos) << msg;
  }
  // The file is untouched and still belongs to the original job.
  EXPECT_NO_THROW(store::Campaign::open(path, lrid::train::describe(job), MPI_COMM_NULL, false));
  std::remove(path.c_str());
}

TEST(Campaign, RejectsNonCampaignFiles) {
  const std::string path = temp_path("junk");
  {
    std::ofstream f(path);
    f << "not hdf5";
  }
  EXPECT_THROW(store::Campaign::open_read(path), BadInput);
  EXPECT_THROW(store::Campaign::open_read(path + ".missing"), BadInput);
  std::remove(path.c_str());
}

TEST(Campaign, ShardFileHoldsOnlyItsRuns) {
  const auto job = config::load_job_text(kJob, "job.yaml");
  const std::string path = temp_path("shard");
  std::remove(path.c_str());
  store::Shard shard{1, 2, {1, 3}};
  auto layers = layers_for(job);
  std::vector<std::vector<store::LayerMeta>> mine = {layers[1], layers[3]};
  auto L = layout_for(job);
  L.runs = 2;
  store::Campaign::create(path, lrid::train::describe(job), mine, L, shard, false);
  auto c = store::Campaign::open(path, lrid::train::describe(job), MPI_COMM_NULL, true);
  EXPECT_EQ(c->run_ids(), (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(c->layout().runs, 2);
  EXPECT_EQ(c->job_runs(), 4);
  EXPECT_TRUE(c->shard().contains(3));
  EXPECT_FALSE(c->shard().contains(2));
  EXPECT_EQ(c->shard().name(), "1/2");
  c->set_status(3, store::kFailed, 1, "x");
  EXPECT_EQ(c->record(3).status, store::kFailed);
  EXPECT_EQ(c->record(1).status, store::kPending);
  // A run of another shard is refused with one line.
  EXPECT_THROW(c->record(0), BadInput);
  EXPECT_EQ(c->runs().at(1).id, 3);
  std::remove(path.c_str());
}

TEST(Campaign, NamesAtFullLength) {
  // Task, architecture and layer names are stored whole (variable-length strings), whatever
  // their length.
  std::string job_text = kJob;
  const std::string task(90, 't');
  job_text.replace(job_text.find("tasks: [fashion_mnist]"), 22, "tasks: [" + task + "]");
  job_text += "tasks:\n  " + task + ": {objective: supervised, dataset: {format: idx, path: /x}}\n";
  const auto job = config::load_job_text(job_text, "job.yaml");
  const std::string path = temp_path("names");
  std::remove(path.c_str());
  auto layers = layers_for(job);
  layers[0][0].name = std::string(70, 'n') + ".conv";
  store::Campaign::create(path, lrid::train::describe(job), layers, layout_for(job), {}, false);
  auto c = store::Campaign::open_read(path);
  EXPECT_EQ(c->runs()[0].task, task);
  EXPECT_EQ(c->layers(0)[0].name, layers[0][0].name);
  std::remove(path.c_str());
}
