// Cluster module: profiles, script rendering, Slurm output parsing, campaign directory status
// and the choice of shards to resubmit (with a Slurm view given, no Slurm needed).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "lrid/cluster/campaign_dir.hpp"
#include "lrid/cluster/profile.hpp"
#include "lrid/cluster/render.hpp"
#include "lrid/cluster/slurm.hpp"
#include "lrid/config/job.hpp"
#include "lrid/train/campaign.hpp"
#include "lrid/error.hpp"
#include "lrid/store/campaign.hpp"

using namespace lrid;
using namespace lrid::cluster;

namespace {

std::string error_of(const std::string& yaml) {
  try {
    load_profile_text(yaml, "p.yaml");
  } catch (const BadInput& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST(ClusterProfile, DefaultsAndValues) {
  const Profile p = load_profile_text("partition: gpu\nshard: {tasks_per_node: 4, gpus_per_node: 4, time: \"08:00:00\"}\n",
                                      "/x/site.yaml");
  EXPECT_EQ(p.name, "site");
  EXPECT_EQ(p.partition, "gpu");
  EXPECT_EQ(p.shard.nodes, 1);
  EXPECT_EQ(p.shard.tasks_per_node, 4);
  EXPECT_EQ(p.shard.gpus_per_node, 4);
  EXPECT_EQ(p.launcher, "srun --mpi=pmix");
  EXPECT_EQ(p.launcher_program(), "srun");
  EXPECT_TRUE(p.requeue);
  EXPECT_TRUE(p.analyze);
  EXPECT_EQ(p.reduce.time, "08:00:00");  // inherits the shard's limit
  EXPECT_EQ(p.reduce.tasks_per_node, 1);
}

TEST(ClusterProfile, ShippedProfilesLoad) {
  const Profile local = load_profile_file(std::string(LRID_SOURCE_DIR) + "/cluster/local.yaml");
  EXPECT_EQ(local.name, "local");
  EXPECT_EQ(local.shard.gpus_per_node, 0);
  const Profile gpu = load_profile_file(std::string(LRID_SOURCE_DIR) + "/cluster/example-gpu.yaml");
  EXPECT_TRUE(gpu.partition_required);
  EXPECT_EQ(gpu.shard.gpus_per_node, 4);
  EXPECT_EQ(gpu.reduce.partition, "cpu");
}

TEST(ClusterProfile, BadInputNamesFileLineKey) {
  // Each bad profile and the parts its one-line message must contain.
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {"partiton: gpu\n", {"p.yaml:1:1: partiton: unknown key 'partiton' (did you mean 'partition'?)"}},
      {"shard:\n  gpu_per_node: 4\n", {"p.yaml:2:3: shard.gpu_per_node", "did you mean 'gpus_per_node'"}},
      {"shard: {nodes: 0}\n", {"shard.nodes: expected an integer >= 1"}},
      {"shard: {time: \"8 hours\"}\n", {"shard.time: expected a Slurm time limit"}},
      {"partition_required: true\n", {"partition: missing"}},
      {"launcher: srn --mpi=pmix\n", {"launcher:", "did you mean 'srun'"}},
      {"sbatch: [--array=0-3]\n", {"--array is set by lrid submit itself"}},
      {"partition: \"gpu a\"\n", {"partition: 'gpu a' has a character"}},
      {"lrid: build/lrid\n", {"lrid: expected the absolute path"}},
      {"shard: {gpu_type: a100}\n", {"set without gpus_per_node"}},
      {"reduce: {analyze: maybe}\n", {"reduce.analyze: expected true or false"}},
      {"shard: [1, 2\n", {"malformed YAML"}},
      {"modules: [\"lrid/0.1.0; rm -rf /\"]\n", {"p.yaml:1:11: modules[0]: 'lrid/0.1.0; rm -rf /' is not one module name"}},
      {"modules: [lrid, \"\"]\n", {"modules[1]: expected a module name"}},
  };
  for (const auto& [yaml, parts] : cases) {
    const std::string e = error_of(yaml);
    for (const auto& part : parts) EXPECT_TRUE(contains(e, part)) << yaml << " -> " << e;
  }
  EXPECT_THROW(load_profile_file("/nonexistent/x.yaml"), BadInput);
}

TEST(ClusterProfile, SlurmTimes) {
  for (const char* ok : {"30", "30:00", "08:00:00", "1-00", "1-12:00", "2-00:00:00", "infinite"})
    EXPECT_TRUE(valid_slurm_time(ok)) << ok;
  for (const char* bad : {"", "8h", "1:2:3:4", "a-01", "1-", "01:xx"}) EXPECT_FALSE(valid_slurm_time(bad)) << bad;
}

TEST(ClusterRender, ArraySpec) {
  EXPECT_EQ(array_spec({0, 1, 2, 3}, 0), "0-3");
  EXPECT_EQ(array_spec({3, 7, 12}, 0), "3,7,12");
  EXPECT_EQ(array_spec({1, 2}, 0), "1,2");
  EXPECT_EQ(array_spec({0, 1, 2, 5, 9, 10, 11}, 4), "0-2,5,9-11%4");
  EXPECT_EQ(array_spec({4}, 2), "4%2");
}

TEST(ClusterRender, Templates) {
  EXPECT_EQ(render("a {{X}} b {{Y}}", {{"X", "1"}, {"Y", "2"}}, "t"), "a 1 b 2");
  try {
    render("line1\n{{NOPE}}", {{"X", "1"}}, "t.in");
    FAIL();
  } catch (const BadInput& e) {
    EXPECT_TRUE(contains(e.what(), "t.in:2: unknown placeholder {{NOPE}}")) << e.what();
  }
  EXPECT_THROW(render("{{X", {{"X", "1"}}, "t"), BadInput);
  EXPECT_EQ(shell_quote("/a/b-c.h5"), "/a/b-c.h5");
  EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
}

TEST(ClusterRender, ShardAndReduceScripts) {
  Profile p = load_profile_text(
      "partition: gpu\naccount: lab\nshard: {nodes: 2, tasks_per_node: 4, gpus_per_node: 4, gpu_type: a100, "
      "time: \"1-00:00:00\"}\nsetup: [module load cuda]\nsbatch: [--constraint=a100]\n",
      "site.yaml");
  ScriptPlan plan;
  plan.dir = "/scratch/c";
  plan.workdir = "/home/u";
  plan.lrid = "/opt/lrid";
  plan.job_name = "paper";
  plan.job_hash = "abc";
  plan.runs = 1056;
  plan.shards = 64;
  plan.max_concurrent = 8;
  const std::string tmpl = "{{SBATCH}}\n{{SETUP}}\nLRID={{LRID}} DIR={{DIR}}\n{{LAUNCH}}\n";
  const std::string s = render_shard_script(p, plan, tmpl);
  for (const char* line : {"#SBATCH --array=0-63%8", "#SBATCH --partition=gpu", "#SBATCH --account=lab",
                           "#SBATCH --nodes=2", "#SBATCH --ntasks-per-node=4", "#SBATCH --gpus-per-node=a100:4",
                           "#SBATCH --time=1-00:00:00", "#SBATCH --chdir=/home/u",
                           "#SBATCH --output=/scratch/c/logs/shard-%a.out", "#SBATCH --requeue",
                           "#SBATCH --constraint=a100", "module load cuda", "SLURM_LOCALID",
                           "OMPI_COMM_WORLD_LOCAL_RANK", "CUDA_VISIBLE_DEVICES",
                           "--shard \"$SHARD/64\" --resume --out \"$OUT\""})
    EXPECT_TRUE(contains(s, line)) << line << "\n" << s;
  const std::string r = render_reduce_script(p, plan, "{{SBATCH}}\n{{SHARD_FILES}}\n{{ANALYZE}}\n");
  EXPECT_TRUE(contains(r, "shard-{0..63}.h5")) << r;
  EXPECT_TRUE(contains(r, "srun --mpi=pmix \"$LRID\" analyze \"$DIR/campaign.h5\" --out \"$DIR/results/\"")) << r;
  EXPECT_FALSE(contains(r, "--constraint=a100")) << r;  // shard options stay with the shards
  EXPECT_FALSE(contains(r, "--array")) << r;
  plan.analyze = false;
  EXPECT_TRUE(contains(render_reduce_script(p, plan, "{{ANALYZE}}"), "# skipped"));
  p.shard.gpus_per_node = 0;
  EXPECT_FALSE(contains(render_shard_script(p, plan, tmpl), "CUDA_VISIBLE_DEVICES"));
}

// `modules:` loads lrid from an environment module: after the setup lines, with `module` defined
// first when the batch shell lacks it, and the scripts then run the lrid on PATH unless the
// profile names one.
TEST(ClusterRender, ModulesLoadLrid) {
  Profile p = load_profile_text("setup: [module use /opt/lrid/share/lrid/modulefiles]\nmodules: [lrid/0.1.0, openmpi]\n",
                                "m.yaml");
  EXPECT_EQ(p.modules, (std::vector<std::string>{"lrid/0.1.0", "openmpi"}));
  ScriptPlan plan;
  plan.dir = "/scratch/c";
  plan.workdir = "/home/u";
  plan.lrid = "/home/u/build/lrid";
  plan.job_name = "j";
  plan.shards = 2;
  const std::string tmpl = "{{SETUP}}\nLRID={{LRID}}\n";
  for (const std::string& s : {render_shard_script(p, plan, tmpl), render_reduce_script(p, plan, tmpl)}) {
    const size_t init = s.find("/etc/profile.d/lmod.sh"), use = s.find("module use /opt/lrid"),
                 load = s.find("module load lrid/0.1.0 openmpi"), lrid = s.find("\nLRID=lrid\n");
    EXPECT_TRUE(init < use && use < load && load < lrid && lrid != std::string::npos) << s;
    EXPECT_TRUE(contains(s, "|| { echo 'lrid: error: the modules lrid/0.1.0 openmpi put no lrid on PATH (profile m.yaml)'; exit 1; }")) << s;
  }
  p.lrid = "/opt/lrid/bin/lrid";  // the profile's lrid wins
  plan.lrid = p.lrid;
  const std::string s = render_shard_script(p, plan, tmpl);
  EXPECT_TRUE(contains(s, "\nLRID=/opt/lrid/bin/lrid\n")) << s;
  EXPECT_FALSE(contains(s, "put no lrid on PATH")) << s;
  // Without modules nothing changes.
  p.modules.clear();
  EXPECT_FALSE(contains(render_shard_script(p, plan, tmpl), "module load")) << s;
}

TEST(ClusterSlurm, ParseSqueueAndSacct) {
  const TaskStates q = parse_squeue(
      "12|0|COMPLETED|None\n12|1|CANCELLED|None\n12|2|FAILED|NonZeroExitCode\n13|N/A|PENDING|Dependency\n"
      "14|[3-5%2]|PENDING|JobArrayTaskLimit\n");
  EXPECT_EQ(q.at("12_0").state, "COMPLETED");
  EXPECT_EQ(q.at("12_2").reason, "NonZeroExitCode");
  EXPECT_EQ(q.at("13").state, "PENDING");
  EXPECT_EQ(q.at("14_4").state, "PENDING");
  EXPECT_EQ(q.count("14_6"), 0u);
  const TaskStates a = parse_sacct("20_1|CANCELLED by 0|0:15\n20_[2,4-5]|PENDING|0:0\n21|TIMEOUT|0:0\n");
  EXPECT_EQ(a.at("20_1").state, "CANCELLED");
  EXPECT_EQ(a.at("20_5").state, "PENDING");
  EXPECT_EQ(a.at("21").state, "TIMEOUT");
  EXPECT_EQ(expand_indices("1-3,7,10-14:2%3"), (std::vector<long long>{1, 2, 3, 7, 10, 12, 14}));
  EXPECT_TRUE(state_active("PENDING"));
  EXPECT_TRUE(state_active("REQUEUED"));
  EXPECT_FALSE(state_active("NODE_FAIL"));
  EXPECT_TRUE(state_unsuccessful("NODE_FAIL"));
  EXPECT_TRUE(state_unsuccessful("TIMEOUT"));
  EXPECT_FALSE(state_unsuccessful("COMPLETED"));
}

TEST(ClusterSlurm, RunCommand) {
  const CommandResult r = run_command({"sh", "-c", "echo out; echo err >&2; exit 3"});
  EXPECT_EQ(r.status, 3);
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err, "err\n");
  EXPECT_EQ(run_command({"lrid-no-such-program"}).status, -1);
  EXPECT_FALSE(find_in_path("sh").empty());
}

namespace {

const std::string kJob = R"(name: clustertest
grid:
  - learning_rules: [sgdm, adam, fa]
    tasks: [fashion_mnist]
    architectures: [MLP]
    batch_sizes: [8, 16]
observables: {trajectory_points: 3}
distributed: {max_attempts: 2}
)";

store::Layout layout_for(const config::JobSpec& job) {
  store::Layout L;
  L.runs = static_cast<int64_t>(job.runs.size());
  L.layers = 3;
  L.conditions = 1;
  L.points = 3;
  L.statistics = 1;
  L.statistic_names = {"weightraw_mean"};
  L.conditions_meta = {{"ideal", 1.0, 0.0}};
  return L;
}

// A campaign dir of 3 shards over 6 runs (the job's cost-balanced assignment).
struct Fixture {
  config::JobSpec job = config::load_job_text(kJob, "job.yaml");
  CampaignRecord rec;
  std::string dir = "/tmp/lrid_cluster_test_" + std::to_string(getpid());

  Fixture() {
    std::system(("rm -rf " + dir + " && mkdir -p " + dir + "/shards " + dir + "/logs").c_str());
    rec.dir = dir;
    rec.job_name = job.name;
    rec.job_hash = job.hash;
    rec.runs = static_cast<int64_t>(job.runs.size());
    rec.shards = 3;
    rec.layout = config::shard_assignment(job, 3);
    rec.max_attempts = 2;
    Submission s;
    s.kind = "submit";
    s.shards = {0, 1, 2};
    s.array = "0-2";
    s.array_job = "12";
    s.reduce_job = "13";
    rec.submissions.push_back(s);
    write_record(rec);
  }
  ~Fixture() { std::system(("rm -rf " + dir).c_str()); }

  void shard(int64_t i, const std::vector<std::pair<uint8_t, int32_t>>& states) {
    const auto ids = rec.shard_runs(i);
    std::vector<std::vector<store::LayerMeta>> layers(ids.size(), {{"fc1", 0}, {"fc2", 1}, {"fc3", 2}});
    store::Shard sh{i, 3, ids};
    const std::string f = rec.shard_file(i);
    auto L = layout_for(job);
    L.runs = static_cast<int64_t>(ids.size());
    store::Campaign::create(f, lrid::train::describe(job), layers, L, sh, false);
    auto c = store::Campaign::open(f, lrid::train::describe(job), MPI_COMM_NULL, true);
    for (size_t k = 0; k < ids.size() && k < states.size(); ++k)
      c->set_status(ids[k], states[k].first, states[k].second, states[k].first == store::kFailed ? "diverged" : "");
  }
};

SlurmView view(const std::map<std::string, std::string>& states) {
  SlurmView v;
  v.available = true;
  for (const auto& [k, s] : states) v.tasks[k] = {s, "", "squeue"};
  return v;
}

}  // namespace

TEST(ClusterCampaignDir, RecordRoundTrip) {
  Fixture f;
  const CampaignRecord r = read_record(f.dir + "/");
  EXPECT_EQ(r.job_hash, f.job.hash);
  EXPECT_EQ(r.shards, 3);
  EXPECT_EQ(r.shard_runs(1), config::shard_assignment(f.job, 3)[1]);  // as stored at submission
  ASSERT_EQ(r.submissions.size(), 1u);
  EXPECT_EQ(r.submissions[0].array_job, "12");
  EXPECT_EQ(campaign_job_ids(r), (std::vector<std::string>{"12", "13"}));
  EXPECT_TRUE(is_campaign_dir(f.dir));
  EXPECT_FALSE(is_campaign_dir(f.dir + "/shards"));
  EXPECT_THROW(read_record(f.dir + "/shards"), BadInput);
  {
    DirLock lock(f.dir);
    EXPECT_THROW(DirLock again(f.dir), BadInput);
  }
  DirLock after(f.dir);  // released with the first
}

TEST(ClusterCampaignDir, StatusAndResubmitChoice) {
  Fixture f;
  f.shard(0, {{store::kDone, 1}, {store::kDone, 1}});        // complete
  f.shard(1, {{store::kDone, 1}, {store::kRunning, 1}});     // cancelled mid-run: one interrupted
  // shard 2: no file (its task failed before creating it)
  auto s = read_dir_status(f.dir, 1e9, view({{"12_0", "COMPLETED"}, {"12_1", "CANCELLED"}, {"12_2", "FAILED"},
                                             {"13", "FAILED"}}));
  ASSERT_EQ(s.shards.size(), 3u);
  EXPECT_TRUE(s.shards[0].complete);
  EXPECT_FALSE(s.shards[1].complete);
  EXPECT_EQ(s.shards[1].done, 1);
  EXPECT_EQ(s.shards[1].interrupted, 1);
  EXPECT_EQ(s.shards[1].slurm_state, "CANCELLED");
  EXPECT_EQ(s.shards[2].file_state, "missing");
  EXPECT_EQ(s.shards[2].pending, 2);
  EXPECT_EQ(s.done, 3);
  EXPECT_FALSE(s.complete);
  EXPECT_FALSE(s.active);
  EXPECT_EQ(s.reduce_state, "FAILED");
  EXPECT_EQ(shards_to_resubmit(s), (std::vector<int64_t>{1, 2}));
  const auto j = to_json(s);
  EXPECT_EQ(j["to_resubmit"], nlohmann::json({1, 2}));
  EXPECT_EQ(j["shard_status"][1]["slurm_state"], "CANCELLED");
  EXPECT_TRUE(contains(format_dir_status(s), "to resubmit: shards 1,2"));

  // A shard Slurm still runs (or has pending after a requeue) is never resubmitted.
  s = read_dir_status(f.dir, 1e9, view({{"12_0", "COMPLETED"}, {"12_1", "RUNNING"}, {"12_2", "PENDING"}}));
  EXPECT_TRUE(shards_to_resubmit(s).empty());
  EXPECT_TRUE(s.active);
  EXPECT_EQ(s.shards[1].running + s.shards[1].interrupted, 1);

  // Unknown to Slurm (purged, no accounting), no live log: judged by the files alone.
  s = read_dir_status(f.dir, 1e9, view({}));
  EXPECT_EQ(shards_to_resubmit(s), (std::vector<int64_t>{1, 2}));
}

TEST(ClusterCampaignDir, FailedRunsRetriedUntilMaxAttempts) {
  Fixture f;
  f.shard(0, {{store::kDone, 1}, {store::kFailed, 1}});   // one attempt left: incomplete
  f.shard(1, {{store::kDone, 1}, {store::kFailed, 2}});   // no attempt left: complete
  f.shard(2, {{store::kDone, 1}, {store::kDone, 1}});
  const auto s = read_dir_status(f.dir, 1e9, view({{"12_0", "COMPLETED"}, {"12_1", "COMPLETED"}, {"12_2", "COMPLETED"}}));
  EXPECT_FALSE(s.shards[0].complete);
  EXPECT_TRUE(s.shards[1].complete);
  EXPECT_EQ(s.failed, 2);
  EXPECT_EQ(s.failed_final, 1);
  EXPECT_EQ(shards_to_resubmit(s), (std::vector<int64_t>{0}));
  const std::string text = format_dir_status(s);
  EXPECT_TRUE(contains(text, "failed runs:")) << text;
  EXPECT_TRUE(contains(text, "retried by lrid resume")) << text;
}

TEST(ClusterCampaignDir, ForeignAndUnreadableShardFiles) {
  Fixture f;
  {  // a shard file of another shard count
    const auto ids = config::shard_assignment(f.job, 2)[0];
    std::vector<std::vector<store::LayerMeta>> layers(ids.size(), {{"fc1", 0}});
    auto L = layout_for(f.job);
    L.runs = static_cast<int64_t>(ids.size());
    store::Campaign::create(f.rec.shard_file(0), lrid::train::describe(f.job), layers, L, store::Shard{0, 2, ids}, false);
  }
  mkdir(f.rec.shard_file(1).c_str(), 0755);  // not a file at all
  {
    std::ofstream out(f.dir + "/logs/shard-1.out");
    out << "lrid shard 1/3: old attempt\nlrid train: error: old problem\n"
        << "lrid shard 1/3: Slurm job 12_1\nlrid train: error: " << f.rec.shard_file(1) << ": not an HDF5 file\n"
        << "srun: error: vm: task 0: Exited with exit code 2\n";
  }
  const auto s = read_dir_status(f.dir, 1e9, view({{"12_1", "FAILED"}}));
  EXPECT_EQ(s.shards[0].file_state, "foreign");
  EXPECT_TRUE(contains(s.shards[0].file_error, "shard 0/2")) << s.shards[0].file_error;
  EXPECT_EQ(s.shards[1].file_state, "unreadable");
  EXPECT_TRUE(contains(s.shards[1].output_error, "lrid train: error:") &&
              contains(s.shards[1].output_error, "not an HDF5 file"))
      << s.shards[1].output_error;
}

// The latest attempt starts at the "lrid shard I/N:" header; the shard script's own
// "lrid shard I: ..." lines inside an attempt keep what came before them.
TEST(ClusterCampaignDir, OutputErrorOfTheLatestAttempt) {
  Fixture f;
  {
    std::ofstream out(f.dir + "/logs/shard-0.out");
    out << "lrid shard 0/3: Slurm job 12_0 (job id 12, restart 0)\nlrid train: error: old problem\n"
        << "lrid shard 0/3: Slurm job 12_0 (job id 12, restart 1)\n"
        << "lrid train: error: /x/shard-0.h5: disk full\n"
        << "lrid shard 0: the warning came while the ranks were starting (killed by SIGUSR1, nothing lost)\n";
    std::ofstream out2(f.dir + "/logs/shard-2.out");
    out2 << "lrid shard 2/3: Slurm job 12_2 (job id 14, restart 0)\n"
         << "srun: error: task 0 launch failed: Unspecified error\n"
         << "lrid shard 2: error: the launcher exited 0 but lrid train never finished\n";
  }
  const auto s = read_dir_status(f.dir, 1e9, view({{"12_0", "FAILED"}, {"12_2", "FAILED"}}));
  EXPECT_EQ(s.shards[0].output_error, "lrid train: error: /x/shard-0.h5: disk full");
  EXPECT_EQ(s.shards[2].output_error, "lrid shard 2: error: the launcher exited 0 but lrid train never finished");
}
