#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "lrid/config/job.hpp"
#include "lrid/error.hpp"

using lrid::BadInput;
using lrid::config::JobSpec;
using lrid::config::load_job_file;
using lrid::config::load_job_text;

namespace {

const std::string kBase = R"(name: t
grid:
  - learning_rules: [sgdm, adam]
    tasks: [fashion_mnist]
    architectures: [MLP, KNet4]
    batch_sizes: [32, 64]
    model_seeds: [unfixed, 0]
    dataset_seeds: [0]
)";

JobSpec load(const std::string& text) { return load_job_text(text, "job.yaml"); }

// The message of the BadInput that loading `text` throws ("" if none).
std::string error_of(const std::string& text) {
  try {
    load(text);
  } catch (const BadInput& e) {
    return e.what();
  }
  return "";
}

void expect_error(const std::string& text, const std::string& where, const std::string& part) {
  const std::string msg = error_of(text);
  ASSERT_FALSE(msg.empty()) << "expected an error for:\n" << text;
  EXPECT_EQ(msg.rfind(where, 0), 0u) << "message: " << msg << "\nshould start with " << where;
  EXPECT_NE(msg.find(part), std::string::npos) << "message: " << msg << "\nshould contain " << part;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << "one line: " << msg;
}

}  // namespace

TEST(Grid, CountsAndCanonicalOrder) {
  const JobSpec job = load(kBase);
  ASSERT_EQ(job.runs.size(), 2u * 2 * 2 * 2);
  // Canonical order: block, task, architecture, batch size, model seed, dataset seed, rule.
  EXPECT_EQ(job.runs[0].key(), "sgdm/fashion_mnist/MLP/bs32/munfixed/d0");
  EXPECT_EQ(job.runs[1].key(), "adam/fashion_mnist/MLP/bs32/munfixed/d0");
  EXPECT_EQ(job.runs[2].key(), "sgdm/fashion_mnist/MLP/bs32/m0/d0");
  EXPECT_EQ(job.runs[4].key(), "sgdm/fashion_mnist/MLP/bs64/munfixed/d0");
  EXPECT_EQ(job.runs[8].key(), "sgdm/fashion_mnist/KNet4/bs32/munfixed/d0");
  for (size_t i = 0; i < job.runs.size(); ++i) EXPECT_EQ(job.runs[i].id, static_cast<int64_t>(i));
}

TEST(Grid, UnionOfBlocksAndExcludes) {
  const JobSpec job = load(kBase + R"(  - learning_rules: [fa, ia]
    tasks: [fashion_mnist_simclr]
    architectures: [mlp]
    batch_sizes: [16]
exclude:
  - {learning_rule: adam, architecture: KNet4}
  - {task: fashion_mnist_simclr, learning_rule: ia}
)");
  // 16 - 4 (adam KNet4) + 2 (fa, ia) - 1 (ia simclr) = 13
  ASSERT_EQ(job.runs.size(), 13u);
  for (const auto& r : job.runs) {
    EXPECT_FALSE(r.rule == "adam" && r.arch == "KNet4");
    EXPECT_FALSE(r.rule == "ia" && r.task == "fashion_mnist_simclr");
  }
  EXPECT_EQ(job.runs.back().key(), "fa/fashion_mnist_simclr/MLP/bs16/m0/d0");
  EXPECT_EQ(job.runs.back().block, 1);
}

TEST(Grid, UnfixedSeedsDifferPerRunAndAreStable) {
  const JobSpec a = load(kBase), b = load(kBase);
  std::set<uint64_t> unfixed;
  for (size_t i = 0; i < a.runs.size(); ++i) {
    EXPECT_EQ(a.runs[i].model_seed_value, b.runs[i].model_seed_value);
    if (a.runs[i].model_seed.fixed)
      EXPECT_EQ(a.runs[i].model_seed_value, 0u);
    else
      unfixed.insert(a.runs[i].model_seed_value);
  }
  EXPECT_EQ(unfixed.size(), 8u);
}

TEST(Hash, StableAndSensitive) {
  const JobSpec a = load(kBase);
  EXPECT_EQ(a.hash, load(kBase).hash);
  EXPECT_EQ(a.hash.size(), 16u);
  std::set<std::string> hashes;
  for (const auto& r : a.runs) hashes.insert(r.hash);
  EXPECT_EQ(hashes.size(), a.runs.size());

  // Comments, key order and the analysis section do not change what is trained.
  const JobSpec same = load("# a comment\n" + kBase + "analysis: {splits: 3}\n");
  EXPECT_EQ(same.hash, a.hash);

  // A training setting changes exactly the runs of that rule.
  const JobSpec lr = load(kBase + "training:\n  adam: {learning_rate: 0.002}\n");
  EXPECT_NE(lr.hash, a.hash);
  for (size_t i = 0; i < a.runs.size(); ++i)
    EXPECT_EQ(lr.runs[i].hash == a.runs[i].hash, a.runs[i].rule != "adam") << a.runs[i].key();

  // Observables settings change every run.
  const JobSpec obs = load(kBase + "observables: {trajectory_points: 11}\n");
  for (size_t i = 0; i < a.runs.size(); ++i) EXPECT_NE(obs.runs[i].hash, a.runs[i].hash);

  // A fixed seed value changes the runs that use it.
  std::string s = kBase;
  s.replace(s.find("[unfixed, 0]"), 12, "[unfixed, 1]");
  const JobSpec seed = load(s);
  for (size_t i = 0; i < a.runs.size(); ++i)
    EXPECT_EQ(seed.runs[i].hash == a.runs[i].hash, !a.runs[i].model_seed.fixed);
}

TEST(Hash, RunHashDoesNotDependOnItsId) {
  // Prepending a block shifts ids but not the content hash of the same run.
  const JobSpec a = load(kBase);
  const JobSpec b = load(R"(name: t
grid:
  - learning_rules: [fa]
    tasks: [fashion_mnist]
    architectures: [MLP]
    batch_sizes: [8]
)" + kBase.substr(kBase.find("  - learning_rules")));
  ASSERT_EQ(b.runs.size(), a.runs.size() + 1);
  for (size_t i = 0; i < a.runs.size(); ++i) {
    EXPECT_EQ(b.runs[i + 1].key(), a.runs[i].key());
    EXPECT_EQ(b.runs[i + 1].hash, a.runs[i].hash);
  }
  EXPECT_NE(a.hash, b.hash);
}

TEST(Validation, MalformedYaml) {
  expect_error("name: t\ngrid: [\n", "job.yaml:3:1", "malformed YAML");
  expect_error("name: t\n  bad indent: 1\n", "job.yaml:2:", "malformed YAML");
}

TEST(Validation, EmptyAndWrongTop) {
  expect_error("", "job.yaml", "empty");
  expect_error("- 1\n- 2\n", "job.yaml:1:1", "mapping");
}

TEST(Validation, UnknownKeysSuggest) {
  std::string s = kBase;
  s.replace(s.find("learning_rules"), 14, "leaning_rules");
  expect_error(s, "job.yaml:3:5", "did you mean 'learning_rules'");
  expect_error(kBase + "obsevables: {}\n", "job.yaml:9:1", "did you mean 'observables'");
  expect_error(kBase + "training:\n  sgdm: {learning_rat: 0.1}\n", "job.yaml:10:10",
               "training.sgdm.learning_rat: unknown key");
}

TEST(Validation, UnknownNames) {
  std::string s = kBase;
  s.replace(s.find("[sgdm, adam]"), 12, "[sgdm, adma]");
  expect_error(s, "job.yaml:3:28", "unknown learning rule 'adma' (did you mean 'adam'?)");
  s = kBase;
  s.replace(s.find("[MLP, KNet4]"), 12, "[MLP, KNet6]");
  expect_error(s, "job.yaml:5:26", "unknown architecture 'KNet6'");
  s = kBase;
  s.replace(s.find("[fashion_mnist]"), 15, "[fashion_mnsit]");
  expect_error(s, "job.yaml:4:13", "did you mean 'fashion_mnist'");
}

TEST(Validation, WrongTypes) {
  std::string s = kBase;
  s.replace(s.find("[32, 64]"), 8, "[32, big]");
  expect_error(s, "job.yaml:6:23", "expected an integer, got 'big'");
  expect_error(kBase + "training:\n  defaults: {steps: 2.5}\n", "job.yaml:10:21",
               "expected an integer");
  expect_error(kBase + "observables: {conditions: {noise_levels: {a: 1}}}\n", "job.yaml:9:",
               "expected a list");
  expect_error(kBase + "name2: 1\n", "job.yaml:9:1", "unknown key");
}

TEST(Validation, OutOfRange) {
  expect_error(kBase + "training:\n  defaults: {steps: -5}\n", "job.yaml:10:21",
               "expected a positive integer, got -5");
  expect_error(kBase + "observables: {conditions: {unit_fractions: [1.0, 0]}}\n", "job.yaml:9:",
               "expected fractions in (0, 1]");
  expect_error(kBase + "observables: {conditions: {unit_fractions: [1.5]}}\n", "job.yaml:9:",
               "(0, 1]");
  expect_error(kBase + "observables: {conditions: {noise_levels: [-0.1]}}\n", "job.yaml:9:",
               ">= 0");
  expect_error(kBase + "training:\n  sgdm: {momentum: 1.5}\n", "job.yaml:10:", "[0, 1)");
  expect_error(kBase + "training:\n  sgdm: {steps: 10, epochs: 1}\n", "job.yaml:10:",
               "either steps or epochs");
}

TEST(Validation, EmptyGridsAndDuplicates) {
  expect_error("name: t\ngrid: []\n", "job.yaml:2:7", "non-empty list");
  expect_error("name: t\n", "job.yaml:1:1", "missing key 'grid'");
  std::string s = kBase;
  s.replace(s.find("[32, 64]"), 8, "[]");
  expect_error(s, "job.yaml:6:18", "non-empty list");
  expect_error(kBase + "exclude:\n  - {task: fashion_mnist}\n", "job.yaml:3:3",
               "empty after excludes");
  expect_error(kBase + "exclude:\n  - {learning_rule: fa}\n", "job.yaml:10:5", "matches no run");
  expect_error(kBase + kBase.substr(kBase.find("  - learning_rules")), "job.yaml:9:5",
               "duplicate run sgdm/fashion_mnist/MLP/bs32/munfixed/d0 (also produced by grid[0])");
  s = kBase;
  s.replace(s.find("[32, 64]"), 8, "[32, 32]");
  expect_error(s, "job.yaml:6:18", "listed twice");
}

TEST(Validation, MissingFile) {
  try {
    load_job_file("/nonexistent/job.yaml");
    FAIL();
  } catch (const BadInput& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/job.yaml"), std::string::npos);
  }
}

TEST(Tasks, CustomTaskAndLabelMap) {
  const JobSpec job = load(R"(name: t
tasks:
  mine:
    objective: supervised
    dataset: {format: hdf5, path: "${data_root}/x.h5"}
    label_map: [0, 0, 1]
data_root: /data
grid:
  - learning_rules: [fa]
    tasks: [mine, fashion_mnist_coarse]
    architectures: [MLP]
    batch_sizes: [8]
)");
  EXPECT_EQ(job.task("mine").dataset.path, "/data/x.h5");
  EXPECT_EQ(job.task("mine").label_map, (std::vector<int64_t>{0, 0, 1}));
  EXPECT_EQ(job.task("fashion_mnist_coarse").label_map.size(), 10u);
  expect_error("name: t\ntasks:\n  mine: {objective: supervised}\n", "job.yaml:3:9",
               "missing key 'dataset'");
  expect_error("name: t\ntasks:\n  mine: {objective: unsupervised, dataset: {format: idx, path: x}}\n",
               "job.yaml:3:21", "did you mean 'supervised'");
}

TEST(Training, DefaultsMergeIntoRules) {
  const JobSpec job = load(kBase + "training:\n  defaults: {steps: 50, schedule: cosine}\n"
                                   "  adam: {learning_rate: 0.002, steps: 70}\n");
  EXPECT_EQ(job.rule("sgdm").steps, 50);
  EXPECT_EQ(job.rule("sgdm").schedule, "cosine");
  EXPECT_EQ(job.rule("sgdm").optimizer, "sgd");
  EXPECT_EQ(job.rule("adam").steps, 70);
  EXPECT_EQ(job.rule("adam").optimizer, "adam");
  EXPECT_DOUBLE_EQ(job.rule("adam").learning_rate, 0.002);
  EXPECT_GT(job.rule("ia").feedback.regulariser.amp, 0);
  expect_error(kBase + "training:\n  sgdm: {optimizer: adam}\n", "job.yaml:10:", "expected 'sgd'");
  expect_error(kBase + "training:\n  fa: {ia: {alpha: 1}}\n", "job.yaml:10:", "unknown key 'ia'");
}

TEST(Training, IaBatchFraction) {
  const std::string grid = R"(name: t
grid:
  - learning_rules: [ia]
    tasks: [fashion_mnist]
    architectures: [MLP]
    batch_sizes: [8]
)";
  const JobSpec exact = load(grid);
  EXPECT_DOUBLE_EQ(exact.rule("ia").feedback.regulariser.batch_fraction, 1.0);
  const JobSpec same = load(grid + "training:\n  ia: {ia: {batch_fraction: 1}}\n");
  EXPECT_EQ(same.runs[0].hash, exact.runs[0].hash);  // the default spelled out changes nothing
  const JobSpec half = load(grid + "training:\n  ia: {ia: {batch_fraction: 0.5}}\n");
  EXPECT_DOUBLE_EQ(half.rule("ia").feedback.regulariser.batch_fraction, 0.5);
  EXPECT_NE(half.runs[0].hash, exact.runs[0].hash);
  expect_error(grid + "training:\n  ia: {ia: {batch_fraction: 1.5}}\n", "job.yaml:8:",
               "ia.batch_fraction: expected a fraction of the batch in (0, 1]");
  expect_error(grid + "training:\n  ia: {ia: {batch_fraction: 0}}\n", "job.yaml:8:",
               "ia.batch_fraction");
}

TEST(ShippedJobs, PaperGridHas1056Runs) {
  const JobSpec job = load_job_file(std::string(LRID_SOURCE_DIR) + "/jobs/paper.yaml");
  EXPECT_EQ(job.runs.size(), 1056u);
  std::set<std::pair<std::string, std::string>> pairs;
  for (const auto& r : job.runs) pairs.insert({r.task, r.arch});
  EXPECT_EQ(pairs.size(), 22u);
  EXPECT_EQ(job.runs.size() / pairs.size(), 48u);
}

TEST(ShippedJobs, QuickstartAndSmokeLoad) {
  for (const char* name : {"quickstart", "smoke"}) {
    const JobSpec job = load_job_file(std::string(LRID_SOURCE_DIR) + "/jobs/" + name + ".yaml");
    EXPECT_EQ(job.name, name);
    std::set<std::string> rules;
    for (const auto& r : job.runs) rules.insert(r.rule);
    EXPECT_EQ(rules.size(), 4u) << name;
  }
}

TEST(ShippedJobs, OneLearningRatePolicyInEveryShippedJob) {
  for (const char* name : {"quickstart", "laptop", "paper", "smoke"}) {
    const JobSpec job = load_job_file(std::string(LRID_SOURCE_DIR) + "/jobs/" + name + ".yaml");
    const auto diff = lrid::config::policy_differences(job);
    EXPECT_TRUE(diff.empty()) << name << ": " << (diff.empty() ? "" : diff[0]);
    EXPECT_EQ(job.rule("ia").feedback.regulariser.inputs, lrid::config::LocalInputs::Noise) << name;
  }
}

TEST(Training, OneLearningRatePolicyForSgdmFaIa) {
  const std::string all = R"(name: t
grid:
  - learning_rules: [sgdm, adam, fa, ia]
    tasks: [fashion_mnist]
    architectures: [MLP]
    batch_sizes: [32]
)";
  const JobSpec j = load(all);
  for (const char* rule : {"sgdm", "fa", "ia"}) {
    const auto& s = j.rule(rule);
    EXPECT_EQ(s.optimizer, "sgd") << rule;
    EXPECT_EQ(s.learning_rate, j.rule("sgdm").learning_rate) << rule;
    EXPECT_EQ(s.momentum, 0.9) << rule;
    EXPECT_EQ(s.schedule, "cosine") << rule;
    EXPECT_GT(s.gradient_clip, 0) << rule;
  }
  EXPECT_EQ(j.rule("adam").optimizer, "adam");
  EXPECT_EQ(j.rule("ia").feedback.regulariser.inputs, lrid::config::LocalInputs::Noise);
  EXPECT_TRUE(lrid::config::policy_differences(j).empty());
  // Any difference is named, with every rule's value.
  const JobSpec d = load(all + "training:\n  fa: {learning_rate: 5.0e-4}\n  ia: {gradient_clip: 0}\n");
  const auto diff = lrid::config::policy_differences(d);
  ASSERT_EQ(diff.size(), 2u);
  EXPECT_EQ(diff[0].rfind("learning_rate: sgdm 0.01, fa 0.0005, ia 0.01", 0), 0u) << diff[0];
  EXPECT_EQ(diff[1].rfind("gradient_clip:", 0), 0u) << diff[1];
  // Adam's own rate is not a difference.
  EXPECT_TRUE(lrid::config::policy_differences(load(all + "training:\n  adam: {learning_rate: 0.01}\n")).empty());
}

TEST(Training, IaInputsDivergenceAndUnitCounts) {
  const JobSpec j = load(kBase + "training:\n  defaults: {divergence_factor: 3}\nobservables: {conditions: "
                                 "{unit_counts: [100, 300], noise_levels: [0, 0.5]}}\n");
  EXPECT_EQ(j.rule("sgdm").divergence_factor, 3.0);
  EXPECT_EQ(j.observables.conditions.unit_counts, (std::vector<int64_t>{100, 300}));
  expect_error(kBase + "training:\n  defaults: {divergence_factor: 0.5}\n", "job.yaml:10:", "factor > 1");
  expect_error(kBase + "observables: {conditions: {unit_counts: [0]}}\n", "job.yaml:9:", "unit counts >= 1");
  const std::string ia = R"(name: t
grid:
  - learning_rules: [ia]
    tasks: [fashion_mnist]
    architectures: [MLP]
    batch_sizes: [32]
)";
  const JobSpec layer = load(ia + "training:\n  ia: {ia: {inputs: layer}}\n");
  EXPECT_EQ(layer.rule("ia").feedback.regulariser.inputs, lrid::config::LocalInputs::Layer);
  EXPECT_NE(layer.runs[0].hash, load(ia).runs[0].hash);  // part of the run's hash
  expect_error(ia + "training:\n  ia: {ia: {inputs: nosie}}\n", "job.yaml:8:", "did you mean 'noise'");
}

TEST(Shards, CostBalancedAssignment) {
  const JobSpec paper = load_job_file(std::string(LRID_SOURCE_DIR) + "/jobs/paper.yaml");
  for (int64_t n : {1, 16, 64, 256}) {
    const auto shards = lrid::config::shard_assignment(paper, n);
    ASSERT_EQ(static_cast<int64_t>(shards.size()), n);
    std::set<int64_t> seen;
    double max = 0, sum = 0, largest = 0;
    for (const auto& s : shards) {
      EXPECT_FALSE(s.empty());
      EXPECT_TRUE(std::is_sorted(s.begin(), s.end()));
      double cost = 0;
      for (int64_t id : s) {
        const double c = lrid::config::run_cost(paper, paper.runs[static_cast<size_t>(id)]);
        seen.insert(id), cost += c, largest = std::max(largest, c);
      }
      max = std::max(max, cost), sum += cost;
    }
    EXPECT_EQ(seen.size(), paper.runs.size()) << n << " shards must partition the runs";
    // Runs are not split: no shard can cost less than the largest run. Within 5% of the bound.
    const double mean = sum / static_cast<double>(n), bound = std::max(mean, largest);
    EXPECT_LE(max / bound, 1.05) << n << " shards: max/mean " << max / mean << ", largest run/mean " << largest / mean;
    if (n <= 64) EXPECT_LE(max / mean, 1.05) << n << " shards";
    EXPECT_EQ(shards, lrid::config::shard_assignment(paper, n));  // deterministic
  }
  // Not id % N: the four rules of a setting do not all land in one shard.
  const auto four = lrid::config::shard_assignment(paper, 4);
  std::set<std::string> rules;
  for (int64_t id : four[0]) rules.insert(paper.runs[static_cast<size_t>(id)].rule);
  EXPECT_EQ(rules.size(), 4u);
  EXPECT_THROW(lrid::config::shard_assignment(paper, 0), BadInput);
  EXPECT_THROW(lrid::config::shard_assignment(paper, 2000), BadInput);
}

TEST(Overrides, SetNestedKeysAndListItems) {
  const JobSpec base = load(kBase);
  const JobSpec job = load_job_text(kBase, "job.yaml",
                                    {"training.defaults.steps=7", "grid.0.batch_sizes=[16]", "name=other"});
  EXPECT_EQ(job.name, "other");
  EXPECT_EQ(job.rule("sgdm").steps, 7);
  EXPECT_EQ(job.runs.size() * 2, base.runs.size());
  for (const auto& r : job.runs) EXPECT_EQ(r.batch_size, 16);
  EXPECT_NE(job.hash, base.hash);
  // The stored text is the effective job: loading it again gives the same runs.
  EXPECT_EQ(job.yaml_text.rfind("# the effective job: job.yaml with overrides:", 0), 0u);
  EXPECT_EQ(load(job.yaml_text).hash, job.hash);
  EXPECT_EQ(base.yaml_text, std::string(kBase));
  EXPECT_TRUE(lrid::config::is_override("a.b=1"));
  EXPECT_FALSE(lrid::config::is_override("--x=1"));
  EXPECT_FALSE(lrid::config::is_override("job.yaml"));
}

TEST(Overrides, BadOverridesNameTheOverrideAndKey) {
  auto error = [](const std::vector<std::string>& o) {
    try {
      load_job_text(kBase, "job.yaml", o);
    } catch (const BadInput& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  std::string msg = error({"name=x", "training.defaults.steps=-3"});
  EXPECT_EQ(msg.rfind("override 2 (training.defaults.steps=-3): training.defaults.steps", 0), 0u) << msg;
  msg = error({"training.defaults.stepz=3"});
  EXPECT_EQ(msg.rfind("override 1 (training.defaults.stepz=3)", 0), 0u) << msg;
  EXPECT_NE(msg.find("steps"), std::string::npos) << msg;  // did-you-mean
  msg = error({"grid.5.batch_sizes=[1]"});
  EXPECT_NE(msg.find("out of range"), std::string::npos) << msg;
  msg = error({"=3"});
  EXPECT_NE(msg.find("expected key.path=value"), std::string::npos) << msg;
  msg = error({"training.defaults.steps=[1"});
  EXPECT_NE(msg.find("malformed YAML value"), std::string::npos) << msg;
  for (const auto& m : {error({"name=x", "training.defaults.steps=-3"}), error({"grid.5.batch_sizes=[1]"})})
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
}

TEST(Tasks, AugmentationAndDataBudget) {
  const std::string t = R"(name: t
tasks:
  cif:
    objective: supervised
    dataset: {format: cifar10, path: /x}
    augment: {crop: pad, pad: 4, flip: 0.5, size: [28, 28]}
  sim:
    objective: simclr
    dataset: {format: cifar10, path: /x}
grid:
  - learning_rules: [sgdm]
    tasks: [cif, sim, fashion_mnist]
    architectures: [MLP]
    batch_sizes: [8]
distributed: {data_memory_mb: 64}
)";
  const JobSpec j = load(t);
  const auto& a = j.task("cif").augment;
  EXPECT_EQ(a.crop, "pad");
  EXPECT_EQ(a.pad, 4);
  EXPECT_EQ(a.flip, 0.5);
  EXPECT_EQ(a.height, 28);
  EXPECT_EQ(a.width, 28);
  EXPECT_TRUE(j.task("sim").augment == lrid::config::default_augment("simclr"));
  EXPECT_EQ(j.task("sim").augment.crop, "resized");
  EXPECT_EQ(j.task("fashion_mnist").augment.crop, "none");
  EXPECT_EQ(j.distributed.data_memory_mb, 64);
  EXPECT_EQ(load(kBase).distributed.data_memory_mb, 512);
  EXPECT_EQ(load(kBase).distributed.blas_threads, 1);
  EXPECT_EQ(load(kBase + "distributed: {blas_threads: 0}\n").distributed.blas_threads, 0);
  expect_error(kBase + "distributed: {blas_threads: -1}\n", "job.yaml:9:", "distributed.blas_threads");
  // Augmentation is part of what a run trains: the hash changes, but not at the defaults.
  const std::string plain = R"(name: t
grid:
  - {learning_rules: [sgdm], tasks: [fashion_mnist], architectures: [MLP], batch_sizes: [8]}
)";
  const JobSpec p0 = load(plain);
  const JobSpec p1 = load(plain + "tasks:\n  fashion_mnist: {augment: {flip: 0.5}}\n");
  const JobSpec p2 = load(plain + "tasks:\n  fashion_mnist: {augment: {crop: none}}\n");
  EXPECT_NE(p0.runs[0].hash, p1.runs[0].hash);
  EXPECT_EQ(p0.runs[0].hash, p2.runs[0].hash);
  expect_error(plain + "tasks:\n  fashion_mnist: {augment: {flip: 1.5}}\n", "job.yaml:5:", "probability in [0, 1]");
  expect_error(plain + "tasks:\n  fashion_mnist: {augment: {size: [0, 3]}}\n", "job.yaml:5:", "[height, width]");
  expect_error(plain + "tasks:\n  fashion_mnist: {augment: {crop: random}}\n", "job.yaml:5:", "expected one of none, pad, resized");
  expect_error(plain + "tasks:\n  fashion_mnist: {augment: {flips: 1}}\n", "job.yaml:5:", "unknown key 'flips'");
}

// Issue 26: what yaml-cpp accepts in silence, and values beyond any real job.
TEST(Validation, DuplicateKeysAndSecondDocumentsAreRefused) {
  expect_error("name: t\nname: u\n", "job.yaml:2:1", "given twice");
  expect_error(kBase + "training:\n  defaults: {steps: 10, steps: 20}\n", "job.yaml:10:", "given twice");
  expect_error(kBase + "---\nname: other\n", "job.yaml", "YAML documents");
}

TEST(Validation, LimitsThatFollowFromTheJob) {
  expect_error(kBase + "training:\n  defaults: {steps: 10, warmup_steps: 50}\n", "job.yaml:10:",
               "training.defaults.warmup_steps");
  expect_error(kBase + "training:\n  defaults: {steps: 1000000000000000}\n", "job.yaml:10:", "at most");
  expect_error(kBase + "observables: {trajectory_points: 100000}\n", "job.yaml:9:", "observables.trajectory_points");
  expect_error(kBase + "observables: {observation_batch: 1000000000}\n", "job.yaml:9:", "observables.observation_batch");
  expect_error(kBase + "distributed: {threads_per_rank: 100000}\n", "job.yaml:9:", "distributed.threads_per_rank");
  expect_error(kBase + "analysis: {splits: 1000000000}\n", "job.yaml:9:", "analysis.splits");
  EXPECT_EQ(error_of(kBase + "training:\n  defaults: {steps: 10, warmup_steps: 10}\n"), "");
}

TEST(Overrides, HugeListIndexIsOutOfRange) {
  try {
    load_job_text(kBase, "job.yaml", {"grid.99999999999999999999.batch_sizes=[1]"});
    FAIL() << "expected BadInput";
  } catch (const BadInput& e) {
    EXPECT_NE(std::string(e.what()).find("out of range"), std::string::npos) << e.what();
  }
}
