// Job file parsing and validation. Every problem becomes one lrid::BadInput line:
// "FILE:LINE:COL: KEY: what was expected".
#include "lrid/config/job.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "lrid/util/text.hpp"
#include "lrid/config/yaml_reader.hpp"
#include "lrid/error.hpp"

namespace lrid::config {

using util::did_you_mean;
using util::join;

const std::vector<std::string>& analysis_sweep_names() {
  static const std::vector<std::string> names = {"observable_class", "networks",    "holdout",    "trajectory",
                                                 "measurement",      "importance",  "permutation", "identifiability"};
  return names;
}

namespace {

// Bounds no real job reaches; beyond them a typo would hang or exhaust memory (issue 26).
constexpr int64_t kMaxSteps = 1000000000;          // 10^9 steps
constexpr int64_t kMaxBatch = 1 << 20;             // images per step
constexpr int64_t kMaxTrajectoryPoints = 10000;    // recorded points per run
constexpr int64_t kMaxThreads = 4096;              // intra-op threads per rank
constexpr int64_t kMaxSplits = 10000;              // train/test splits of an analysis

}  // namespace

namespace {

std::string fmt_double(double v) {
  std::ostringstream s;
  s.precision(17);
  s << v;
  return s.str();
}

// ---------------------------------------------------------------------------------------------
// Built-in defaults.

}  // namespace

AugmentSpec default_augment(const std::string& objective) {
  AugmentSpec a;
  if (objective == "simclr") {
    a.crop = "resized";
    a.flip = 0.5;
    a.noise = 0.1;
  }
  return a;
}

namespace {

// A rule's built-in settings: the shared defaults (cosine schedule, 300 steps, the task gradient
// clipped to 1), its first optimizer at that optimizer's default rate (sgd: 0.01 with momentum
// 0.9, the shared SGD policy; adam: 1e-3), then its own defaults (RuleDef::defaults). FA and IA
// need the gradient clip to train at the rate SGDM uses: their misaligned hidden-layer updates act
// as noise that inflates the activations until the logits explode (docs/science.md, "Why FA and IA
// diverged").
RuleSettings builtin_rule(const RuleDef& def) {
  RuleSettings r;
  r.schedule = "cosine";
  r.steps = 300;
  r.gradient_clip = 1.0;
  r.optimizer = def.optimizers.front();
  if (r.optimizer == "adam") {
    r.learning_rate = 1e-3;
  } else {
    r.learning_rate = 0.01;
    r.momentum = 0.9;
  }
  r.feedback.kind = def.feedback;
  if (def.defaults) def.defaults(r);
  return r;
}

void add_builtin_tasks(JobSpec& job) {
  auto add = [&](const std::string& name, const std::string& objective, const std::string& format,
                 const std::string& path, bool coarse, TaskSize size) {
    TaskSpec t;
    t.name = name;
    t.objective = objective;
    t.dataset = DatasetSpec{format, path};
    if (coarse) t.label_map = {0, 2, 0, 2, 0, 1, 0, 1, 2, 1};
    t.size = size;
    t.augment = default_augment(objective);
    job.tasks[name] = t;
  };
  const std::string fm = "/usr/share/datasets/fashion-mnist";
  const TaskSize fashion{60000, 1, 28, 28, 10}, cifar{50000, 3, 32, 32, 10}, imagenet{1281167, 3, 224, 224, 1000};
  // Word-Speaker-Noise cochleagrams (Feather et al.): a nominal size for the cost model.
  const TaskSize wsn{230356, 1, 203, 400, 794};
  add("fashion_mnist", "supervised", "idx", fm, false, fashion);
  add("fashion_mnist_coarse", "supervised", "idx", fm, true, {60000, 1, 28, 28, 3});
  add("fashion_mnist_simclr", "simclr", "idx", fm, false, fashion);
  add("cifar10", "supervised", "cifar10", "${data_root}/cifar-10-batches-bin", false, cifar);
  add("cifar10_simclr", "simclr", "cifar10", "${data_root}/cifar-10-batches-bin", false, cifar);
  add("imagenet", "supervised", "hdf5", "${data_root}/imagenet.h5", false, imagenet);
  add("imagenet_simclr", "simclr", "hdf5", "${data_root}/imagenet.h5", false, imagenet);
  add("wsn", "supervised", "hdf5", "${data_root}/word_speaker_noise.h5", false, wsn);
}

// ---------------------------------------------------------------------------------------------
// Sections.

// A rule-only key's value, checked as its type says (config/rules.hpp).
RuleKey::Value rule_key_value(const YamlReader& c, const YAML::Node& v, const std::string& key, const RuleKey& k) {
  RuleKey::Value out;
  switch (k.type) {
    case RuleKey::Type::Real: out.number = c.real(v, key); break;
    case RuleKey::Type::NonNegative: out.number = c.non_negative_real(v, key); break;
    case RuleKey::Type::Positive: out.number = c.positive_real(v, key); break;
    case RuleKey::Type::Fraction:
      out.number = c.positive_real(v, key);
      if (out.number > 1.0) c.fail(v, key, "expected a fraction of the batch in (0, 1]");
      break;
    case RuleKey::Type::Bool: out.flag = c.boolean(v, key); break;
    case RuleKey::Type::Choice: out.text = c.choice(v, key, k.choices, "value"); break;
  }
  return out;
}

void parse_rule_settings(const YamlReader& c, const YAML::Node& n, const std::string& key, const RuleDef* rule,
                         RuleSettings& r) {
  // `defaults` (rule nullptr) holds what every rule shares; the optimiser and the rule-only keys
  // (config/rules.hpp) belong to a rule.
  std::vector<std::string> keys;
  for (const auto& k : shared_training_keys()) keys.push_back(k.path);
  // The rule's keys below it: "feedback_learning_rate", or the first part of "ia.alpha".
  std::map<std::string, std::vector<std::string>> groups;
  if (rule) {
    keys.push_back("optimizer");
    for (const auto& k : rule->keys) {
      const auto dot = k.path.find('.');
      const std::string top = k.path.substr(0, dot);
      if (std::find(keys.begin(), keys.end(), top) == keys.end()) keys.push_back(top);
      if (dot != std::string::npos) groups[top].push_back(k.path.substr(dot + 1));
    }
  }
  c.check_keys(n, key, keys);
  if (n["steps"] && n["epochs"])
    c.fail(n["epochs"], key + ".epochs", "give either steps or epochs, not both");
  if (auto v = n["optimizer"]) {
    r.optimizer = c.choice(v, key + ".optimizer", {"sgd", "adam"}, "optimizer");
    if (std::find(rule->optimizers.begin(), rule->optimizers.end(), r.optimizer) == rule->optimizers.end())
      c.fail(v, key + ".optimizer",
             "rule " + rule->name + " (" + rule->title + ") uses " + util::join(rule->optimizers, " or ") +
                 "; expected '" + rule->optimizers.front() + "'");
  }
  if (auto v = n["learning_rate"]) r.learning_rate = c.positive_real(v, key + ".learning_rate");
  if (auto v = n["momentum"]) {
    r.momentum = c.non_negative_real(v, key + ".momentum");
    if (r.momentum >= 1) c.fail(v, key + ".momentum", "expected a value in [0, 1)");
  }
  if (auto v = n["beta1"]) r.beta1 = c.non_negative_real(v, key + ".beta1");
  if (auto v = n["beta2"]) r.beta2 = c.non_negative_real(v, key + ".beta2");
  if (r.beta1 >= 1 || r.beta2 >= 1) c.fail(n, key, "adam betas must be in [0, 1)");
  if (auto v = n["eps"]) r.eps = c.positive_real(v, key + ".eps");
  if (auto v = n["weight_decay"]) r.weight_decay = c.non_negative_real(v, key + ".weight_decay");
  if (auto v = n["schedule"])
    r.schedule = c.choice(v, key + ".schedule", {"constant", "cosine", "step"}, "schedule");
  if (auto v = n["warmup_steps"]) r.warmup_steps = c.non_negative(v, key + ".warmup_steps");
  if (auto v = n["step_gamma"]) r.step_gamma = c.positive_real(v, key + ".step_gamma");
  if (auto v = n["step_milestones"]) {
    r.step_milestones = c.reals(v, key + ".step_milestones");
    for (double m : r.step_milestones)
      if (m <= 0 || m >= 1)
        c.fail(v, key + ".step_milestones", "expected fractions of training in (0, 1)");
  }
  if (auto v = n["steps"]) {
    r.steps = c.positive(v, key + ".steps"), r.epochs = 0;
    if (r.steps > kMaxSteps)
      c.fail(v, key + ".steps", "expected at most " + std::to_string(kMaxSteps) + " steps, got " + std::to_string(r.steps));
  }
  if (auto v = n["epochs"]) r.epochs = c.positive_real(v, key + ".epochs"), r.steps = 0;
  if (auto v = n["gradient_clip"]) r.gradient_clip = c.non_negative_real(v, key + ".gradient_clip");
  if (auto v = n["max_loss"]) r.max_loss = c.positive_real(v, key + ".max_loss");
  if (auto v = n["divergence_factor"]) {
    r.divergence_factor = c.non_negative_real(v, key + ".divergence_factor");
    if (r.divergence_factor != 0 && r.divergence_factor <= 1)
      c.fail(v, key + ".divergence_factor", "expected 0 (off) or a factor > 1 of the initial loss");
  }
  if (r.steps > 0 && r.warmup_steps > r.steps)
    c.fail(n["warmup_steps"] ? n["warmup_steps"] : n, key + ".warmup_steps",
           "warm-up of " + std::to_string(r.warmup_steps) + " steps is longer than training (" +
               std::to_string(r.steps) + " steps); expected at most the steps");
  if (!rule) return;
  for (const auto& [top, leaves] : groups)
    if (auto g = n[top]) c.check_keys(g, key + "." + top, leaves);
  for (const auto& k : rule->keys) {
    // (No assignment between YAML::Node handles: yaml-cpp's operator= writes into the tree.)
    const auto dot = k.path.find('.');
    const YAML::Node top = n[k.path.substr(0, dot)];
    const auto value = [&]() -> YAML::Node {
      if (!top || dot == std::string::npos) return top;
      return top[k.path.substr(dot + 1)];
    };
    if (const YAML::Node v = value()) k.set(r, rule_key_value(c, v, key + "." + k.path, k));
  }
}

void parse_training(const YamlReader& c, const YAML::Node& n, JobSpec& job) {
  for (const auto& def : rule_defs()) job.training[def.name] = builtin_rule(def);
  if (!n) return;
  // A rule's settings under its name or one of its aliases (once).
  std::vector<std::string> keys = {"defaults"};
  for (const auto& def : rule_defs()) {
    keys.push_back(def.name);
    for (const auto& a : def.aliases) keys.push_back(a);
  }
  c.check_keys(n, "training", keys);
  std::map<std::string, std::pair<std::string, YAML::Node>> given;  // rule -> (key as written, node)
  for (const auto& kv : n) {
    const std::string k = kv.first.as<std::string>();
    if (k == "defaults") continue;
    const RuleDef& def = *find_rule(k);
    if (given.count(def.name))
      c.fail(kv.first, "training." + k,
             "rule " + def.name + "'s settings are given twice (as '" + given[def.name].first + "' and '" + k + "')");
    given[def.name] = {k, kv.second};
  }
  for (const auto& def : rule_defs()) {
    if (auto d = n["defaults"]) parse_rule_settings(c, d, "training.defaults", nullptr, job.training[def.name]);
    auto it = given.find(def.name);
    if (it != given.end())
      parse_rule_settings(c, it->second.second, "training." + it->second.first, &def, job.training[def.name]);
  }
}

void parse_augment(const YamlReader& c, const YAML::Node& a, const std::string& key, AugmentSpec& g) {
  c.check_keys(a, key, {"crop", "pad", "flip", "min_scale", "noise", "size"});
  if (auto v = a["crop"]) g.crop = c.choice(v, key + ".crop", {"none", "pad", "resized"}, "crop");
  if (auto v = a["pad"]) g.pad = c.non_negative(v, key + ".pad");
  if (auto v = a["flip"]) {
    g.flip = c.non_negative_real(v, key + ".flip");
    if (g.flip > 1) c.fail(v, key + ".flip", "expected a probability in [0, 1]");
  }
  if (auto v = a["min_scale"]) {
    g.min_scale = c.positive_real(v, key + ".min_scale");
    if (g.min_scale > 1) c.fail(v, key + ".min_scale", "expected an area fraction in (0, 1]");
  }
  if (auto v = a["noise"]) g.noise = c.non_negative_real(v, key + ".noise");
  if (auto v = a["size"]) {
    const auto hw = c.integers(v, key + ".size");
    if (hw.size() != 2 || hw[0] < 1 || hw[1] < 1)
      c.fail(v, key + ".size", "expected [height, width] of the images trained on, each >= 1");
    g.height = hw[0], g.width = hw[1];
  }
}

void parse_tasks(const YamlReader& c, const YAML::Node& n, JobSpec& job) {
  if (!n) return;
  c.require_map(n, "tasks");
  for (const auto& kv : n) {
    const std::string name = kv.first.as<std::string>();
    const std::string key = "tasks." + name;
    const YAML::Node& t = kv.second;
    c.check_keys(t, key, {"objective", "dataset", "label_map", "simclr", "size", "augment"});
    TaskSpec spec;
    auto it = job.tasks.find(name);
    if (it != job.tasks.end()) spec = it->second;  // override a built-in
    spec.name = name;
    if (auto sz = t["size"]) {
      c.check_keys(sz, key + ".size", {"examples", "input", "classes"});
      if (auto v = sz["examples"]) spec.size.examples = c.positive(v, key + ".size.examples");
      if (auto v = sz["classes"]) spec.size.classes = c.positive(v, key + ".size.classes");
      if (auto v = sz["input"]) {
        const auto in = c.integers(v, key + ".size.input");
        if (in.size() != 3 || *std::min_element(in.begin(), in.end()) < 1)
          c.fail(v, key + ".size.input", "expected [channels, height, width], each >= 1");
        spec.size.channels = in[0], spec.size.height = in[1], spec.size.width = in[2];
      }
    }
    const std::string objective_before = spec.objective;
    if (auto v = t["objective"])
      spec.objective = c.choice(v, key + ".objective", {"supervised", "simclr"}, "objective");
    else if (spec.objective.empty())
      c.fail(t, key, "missing key 'objective' (supervised or simclr)");
    if (spec.objective != objective_before) spec.augment = default_augment(spec.objective);
    if (auto a = t["augment"]) parse_augment(c, a, key + ".augment", spec.augment);
    if (auto d = t["dataset"]) {
      c.check_keys(d, key + ".dataset", {"format", "path"});
      if (!d["format"] || !d["path"]) c.fail(d, key + ".dataset", "expected both 'format' and 'path'");
      spec.dataset.format = c.choice(d["format"], key + ".dataset.format",
                                     {"idx", "cifar10", "hdf5"}, "dataset format");
      spec.dataset.path = c.str(d["path"], key + ".dataset.path");
    } else if (spec.dataset.format.empty()) {
      c.fail(t, key, "missing key 'dataset' ({format: idx|cifar10|hdf5, path: ...})");
    }
    if (auto v = t["label_map"]) {
      if (v.IsScalar()) {
        const std::string name = c.choice(v, key + ".label_map", {"fashion_mnist_coarse3", "identity"}, "label map");
        spec.label_map = name == "identity" ? std::vector<int64_t>{} : std::vector<int64_t>{0, 2, 0, 2, 0, 1, 0, 1, 2, 1};
      } else {
        spec.label_map = c.integers(v, key + ".label_map");
        for (int64_t x : spec.label_map)
          if (x < 0) c.fail(v, key + ".label_map", "expected labels >= 0");
      }
    }
    if (auto s = t["simclr"]) {
      c.check_keys(s, key + ".simclr", {"temperature", "head_hidden", "head_dim"});
      if (auto v = s["temperature"]) spec.simclr_temperature = c.positive_real(v, key + ".simclr.temperature");
      if (auto v = s["head_hidden"]) spec.simclr_head_hidden = c.positive(v, key + ".simclr.head_hidden");
      if (auto v = s["head_dim"]) spec.simclr_head_dim = c.positive(v, key + ".simclr.head_dim");
    }
    job.tasks[name] = spec;
  }
}

template <class T>
void no_repeats(const YamlReader& c, const YAML::Node& n, const std::string& key, const std::vector<T>& v);

void parse_observables(const YamlReader& c, const YAML::Node& n, ObservablesSpec& o) {
  if (!n) return;
  c.check_keys(n, "observables",
               {"trajectory_points", "observation_batch", "statistics", "conditions"});
  if (auto v = n["trajectory_points"]) {
    o.trajectory_points = c.positive(v, "observables.trajectory_points");
    if (o.trajectory_points < 2)
      c.fail(v, "observables.trajectory_points", "expected at least 2 (start and end of training)");
    if (o.trajectory_points > kMaxTrajectoryPoints)
      c.fail(v, "observables.trajectory_points",
             "expected at most " + std::to_string(kMaxTrajectoryPoints) + " points, got " + std::to_string(o.trajectory_points));
  }
  if (auto v = n["observation_batch"]) {
    o.observation_batch = c.positive(v, "observables.observation_batch");
    if (o.observation_batch > kMaxBatch)
      c.fail(v, "observables.observation_batch",
             "expected 1.." + std::to_string(kMaxBatch) + " images, got " + std::to_string(o.observation_batch));
  }
  if (auto v = n["statistics"]) o.statistics = c.strings(v, "observables.statistics");
  if (auto m = n["conditions"]) {
    c.check_keys(m, "observables.conditions", {"unit_fractions", "unit_counts", "noise_levels", "seed"});
    if (auto v = m["unit_counts"]) {
      o.conditions.unit_counts = c.integers(v, "observables.conditions.unit_counts");
      for (int64_t k : o.conditions.unit_counts)
        if (k < 1)
          c.fail(v, "observables.conditions.unit_counts", "expected unit counts >= 1, got " + std::to_string(k));
      no_repeats(c, v, "observables.conditions.unit_counts", o.conditions.unit_counts);
    }
    if (auto v = m["unit_fractions"]) {
      o.conditions.unit_fractions = c.reals(v, "observables.conditions.unit_fractions");
      for (double f : o.conditions.unit_fractions)
        if (!(f > 0 && f <= 1))
          c.fail(v, "observables.conditions.unit_fractions",
                 "expected fractions in (0, 1], got " + fmt_double(f));
    }
    if (auto v = m["noise_levels"]) {
      o.conditions.noise_levels = c.reals(v, "observables.conditions.noise_levels");
      for (double s : o.conditions.noise_levels)
        if (s < 0)
          c.fail(v, "observables.conditions.noise_levels",
                 "expected noise standard deviations >= 0, got " + fmt_double(s));
    }
    if (auto v = m["seed"]) o.conditions.seed = c.integer(v, "observables.conditions.seed");
  }
}

void parse_distributed(const YamlReader& c, const YAML::Node& n, DistributedSpec& d) {
  if (!n) return;
  c.check_keys(n, "distributed", {"ranks_per_run", "gradient_backend", "device", "threads_per_rank", "blas_threads", "max_attempts",
                                  "checkpoint_seconds", "data_memory_mb", "allow_tf32"});
  if (auto v = n["allow_tf32"]) d.allow_tf32 = c.boolean(v, "distributed.allow_tf32");
  if (auto v = n["checkpoint_seconds"]) d.checkpoint_seconds = c.non_negative_real(v, "distributed.checkpoint_seconds");
  if (auto v = n["data_memory_mb"]) d.data_memory_mb = c.real(v, "distributed.data_memory_mb");
  if (auto v = n["ranks_per_run"]) d.ranks_per_run = c.positive(v, "distributed.ranks_per_run");
  if (auto v = n["gradient_backend"])
    d.gradient_backend = c.choice(v, "distributed.gradient_backend", {"auto", "mpi", "nccl"}, "gradient backend");
  if (auto v = n["device"]) d.device = c.choice(v, "distributed.device", {"auto", "cpu", "cuda"}, "device");
  if (auto v = n["threads_per_rank"]) {
    d.threads_per_rank = c.non_negative(v, "distributed.threads_per_rank");
    if (d.threads_per_rank > kMaxThreads)
      c.fail(v, "distributed.threads_per_rank",
             "expected 0 (automatic) to " + std::to_string(kMaxThreads) + " threads, got " + std::to_string(d.threads_per_rank));
  }
  if (auto v = n["blas_threads"]) d.blas_threads = c.non_negative(v, "distributed.blas_threads");
  if (auto v = n["max_attempts"]) d.max_attempts = c.positive(v, "distributed.max_attempts");
}

// analysis.<classifier>: the classifier's grid keys (config/classifiers.hpp), each a list.
void parse_classifier_grid(const YamlReader& c, const YAML::Node& n, const ClassifierTable& t, AnalysisSpec& a) {
  const std::string key = "analysis." + t.name;
  std::vector<std::string> names;
  for (const auto& g : t.grid) names.push_back(g.name);
  c.check_keys(n, key, names);
  for (const auto& g : t.grid) {
    const YAML::Node v = n[g.name];
    if (!v) continue;
    const std::string k = key + "." + g.name;
    GridValues out;
    switch (g.type) {
      case GridKey::Type::PositiveIntegers:
        for (int64_t x : c.positive_integers(v, k)) out.numbers.push_back(static_cast<double>(x));
        break;
      case GridKey::Type::PositiveReals: out.numbers = c.positive_reals(v, k); break;
      case GridKey::Type::Fractions:
        out.numbers = c.reals(v, k);
        for (double x : out.numbers)
          if (!(x > 0 && x <= 1)) c.fail(v, k, "expected fractions in (0, 1]");
        break;
      case GridKey::Type::Strings: out.texts = c.strings(v, k); break;
      case GridKey::Type::Choices: out.texts = c.choices(v, k, g.choices, g.name); break;
    }
    a.grids[t.name][g.name] = out;
  }
}

void parse_analysis(const YamlReader& c, const YAML::Node& n, AnalysisSpec& a) {
  if (!n) return;
  std::vector<std::string> keys = {"splits", "test_fraction", "cv_folds", "seed", "statistics", "classifiers",
                                   "sweeps", "sweep_splits", "sweep_forest", "random_draws"};
  for (const auto& t : classifier_tables()) keys.push_back(t.name);
  c.check_keys(n, "analysis", keys);
  if (auto v = n["sweep_splits"]) a.sweep_splits = c.positive(v, "analysis.sweep_splits");
  if (a.sweep_splits > kMaxSplits)
    c.fail(n["sweep_splits"], "analysis.sweep_splits", "expected at most " + std::to_string(kMaxSplits) + " splits");
  if (auto v = n["random_draws"]) a.random_draws = c.non_negative(v, "analysis.random_draws");
  if (auto f = n["sweep_forest"]) {
    c.check_keys(f, "analysis.sweep_forest", {"n_estimators", "max_features"});
    if (auto v = f["n_estimators"]) a.sweep_n_estimators = c.positive(v, "analysis.sweep_forest.n_estimators");
    if (auto v = f["max_features"]) a.sweep_max_features = c.str(v, "analysis.sweep_forest.max_features");
  }
  for (const auto& t : classifier_tables())
    if (auto g = n[t.name]) parse_classifier_grid(c, g, t, a);
  if (auto v = n["splits"]) a.splits = c.positive(v, "analysis.splits");
  if (a.splits > kMaxSplits) c.fail(n["splits"], "analysis.splits", "expected at most " + std::to_string(kMaxSplits) + " splits");
  if (auto v = n["test_fraction"]) {
    a.test_fraction = c.real(v, "analysis.test_fraction");
    if (!(a.test_fraction > 0 && a.test_fraction < 1))
      c.fail(v, "analysis.test_fraction", "expected a fraction in (0, 1)");
  }
  if (auto v = n["cv_folds"]) {
    a.cv_folds = c.positive(v, "analysis.cv_folds");
    if (a.cv_folds < 2) c.fail(v, "analysis.cv_folds", "expected at least 2 folds");
  }
  if (auto v = n["seed"]) a.seed = c.integer(v, "analysis.seed");
  if (auto v = n["statistics"]) a.statistics = c.strings(v, "analysis.statistics");
  if (auto v = n["classifiers"]) a.classifiers = c.choices(v, "analysis.classifiers", classifier_names(), "classifier");
  if (auto v = n["sweeps"]) a.sweeps = c.choices(v, "analysis.sweeps", analysis_sweep_names(), "sweep");
}

// ---------------------------------------------------------------------------------------------
// Grid expansion.

// A learning rule by name or alias (config/rules.hpp), as its canonical name.
std::string rule_choice(const YamlReader& c, const YAML::Node& n, const std::string& key) {
  const std::string v = c.str(n, key);
  const RuleDef* def = find_rule(v);
  if (!def)
    c.fail(n, key, "unknown learning rule '" + v + "'" + did_you_mean(v, rule_names()) + "; expected one of " +
                       join(rule_names()));
  return def->name;
}

struct Block {
  std::vector<std::string> rules, tasks, archs;
  std::vector<int64_t> batch_sizes;
  std::vector<Seed> model_seeds, dataset_seeds;
  YAML::Node node;
};

std::vector<Seed> parse_seeds(const YamlReader& c, const YAML::Node& n, const std::string& key) {
  std::vector<Seed> out;
  const auto xs = c.items(n, key);
  for (size_t i = 0; i < xs.size(); ++i) {
    const std::string k = key + "[" + std::to_string(i) + "]";
    if (!xs[i].IsScalar()) c.fail(xs[i], k, "expected an integer seed or 'unfixed'");
    const std::string s = xs[i].as<std::string>();
    Seed seed;
    if (s == "unfixed") {
      seed.fixed = false;
    } else {
      try {
        seed.value = xs[i].as<int64_t>();
      } catch (const YAML::Exception&) {
        c.fail(xs[i], k, "expected an integer seed or 'unfixed', got '" + s + "'");
      }
      if (seed.value < 0) c.fail(xs[i], k, "expected a seed >= 0");
      seed.fixed = true;
    }
    for (const auto& prev : out)
      if (prev == seed) c.fail(xs[i], k, "seed '" + s + "' is listed twice");
    out.push_back(seed);
  }
  return out;
}

template <class T>
void no_repeats(const YamlReader& c, const YAML::Node& n, const std::string& key, const std::vector<T>& v) {
  for (size_t i = 0; i < v.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (v[i] == v[j]) {
        std::ostringstream s;
        s << v[i];
        c.fail(n, key, "value '" + s.str() + "' is listed twice");
      }
}

Block parse_block(const YamlReader& c, const YAML::Node& n, const std::string& key, const JobSpec& job) {
  c.check_keys(n, key, {"learning_rules", "tasks", "architectures", "batch_sizes", "model_seeds",
                        "dataset_seeds"});
  Block b;
  b.node = n;
  for (const char* k : {"learning_rules", "tasks", "architectures", "batch_sizes"})
    if (!n[k]) c.fail(n, key, std::string("missing key '") + k + "'");
  const auto rules = c.items(n["learning_rules"], key + ".learning_rules");
  for (size_t i = 0; i < rules.size(); ++i)
    b.rules.push_back(rule_choice(c, rules[i], key + ".learning_rules[" + std::to_string(i) + "]"));
  std::vector<std::string> task_names;
  for (const auto& kv : job.tasks) task_names.push_back(kv.first);
  const auto tasks = c.items(n["tasks"], key + ".tasks");
  for (size_t i = 0; i < tasks.size(); ++i)
    b.tasks.push_back(c.choice(tasks[i], key + ".tasks[" + std::to_string(i) + "]", task_names,
                               "task (define it under 'tasks:')"));
  const auto archs = c.items(n["architectures"], key + ".architectures");
  for (size_t i = 0; i < archs.size(); ++i) {
    const std::string k = key + ".architectures[" + std::to_string(i) + "]";
    const std::string given = c.str(archs[i], k);
    const std::string canon = canonical_architecture(given);
    if (canon.empty())
      c.fail(archs[i], k, "unknown architecture '" + given + "'" +
                              did_you_mean(given, architecture_names()) + "; expected one of " +
                              join(architecture_names()));
    b.archs.push_back(canon);
  }
  b.batch_sizes = c.integers(n["batch_sizes"], key + ".batch_sizes");
  for (auto bs : b.batch_sizes)
    if (bs <= 0 || bs > kMaxBatch)
      c.fail(n["batch_sizes"], key + ".batch_sizes",
             "expected batch sizes 1.." + std::to_string(kMaxBatch) + ", got " + std::to_string(bs));
  b.model_seeds = n["model_seeds"] ? parse_seeds(c, n["model_seeds"], key + ".model_seeds")
                                   : std::vector<Seed>{Seed{true, 0}};
  b.dataset_seeds = n["dataset_seeds"] ? parse_seeds(c, n["dataset_seeds"], key + ".dataset_seeds")
                                       : std::vector<Seed>{Seed{true, 0}};
  no_repeats(c, n["learning_rules"], key + ".learning_rules", b.rules);
  no_repeats(c, n["tasks"], key + ".tasks", b.tasks);
  no_repeats(c, n["architectures"], key + ".architectures", b.archs);
  no_repeats(c, n["batch_sizes"], key + ".batch_sizes", b.batch_sizes);
  return b;
}

// An exclude entry matches runs on every factor it names.
struct Exclude {
  std::optional<std::string> rule, task, arch;
  std::optional<int64_t> batch_size;
  std::optional<Seed> model_seed, dataset_seed;
  YAML::Node node;
  bool used = false;
  bool matches(const RunSpec& r) const {
    return (!rule || *rule == r.rule) && (!task || *task == r.task) && (!arch || *arch == r.arch) &&
           (!batch_size || *batch_size == r.batch_size) &&
           (!model_seed || *model_seed == r.model_seed) &&
           (!dataset_seed || *dataset_seed == r.dataset_seed);
  }
};

std::vector<Exclude> parse_excludes(const YamlReader& c, const YAML::Node& n, const JobSpec& job) {
  std::vector<Exclude> out;
  if (!n) return out;
  if (!n.IsSequence()) c.fail(n, "exclude", "expected a list of {learning_rule, task, ...} entries");
  for (size_t i = 0; i < n.size(); ++i) {
    const YAML::Node e = n[i];
    const std::string key = "exclude[" + std::to_string(i) + "]";
    c.check_keys(e, key, {"learning_rule", "task", "architecture", "batch_size", "model_seed",
                          "dataset_seed"});
    if (e.size() == 0) c.fail(e, key, "an empty exclude would remove every run");
    Exclude x;
    x.node = e;
    if (auto v = e["learning_rule"]) x.rule = rule_choice(c, v, key + ".learning_rule");
    if (auto v = e["task"]) {
      std::vector<std::string> names;
      for (const auto& kv : job.tasks) names.push_back(kv.first);
      x.task = c.choice(v, key + ".task", names, "task");
    }
    if (auto v = e["architecture"]) {
      const std::string canon = canonical_architecture(c.str(v, key + ".architecture"));
      if (canon.empty())
        c.fail(v, key + ".architecture", "unknown architecture '" + v.as<std::string>() + "'" +
                                             did_you_mean(v.as<std::string>(), architecture_names()));
      x.arch = canon;
    }
    if (auto v = e["batch_size"]) x.batch_size = c.positive(v, key + ".batch_size");
    if (auto v = e["model_seed"]) x.model_seed = parse_seeds(c, v, key + ".model_seed").at(0);
    if (auto v = e["dataset_seed"]) x.dataset_seed = parse_seeds(c, v, key + ".dataset_seed").at(0);
    out.push_back(x);
  }
  return out;
}

uint64_t hash64(const std::string& s) {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a
  for (unsigned char ch : s) {
    h ^= ch;
    h *= 1099511628211ULL;
  }
  // splitmix64 finaliser for avalanche
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return h;
}

std::string hex16(uint64_t v) {
  static const char* d = "0123456789abcdef";
  std::string s(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4) s[i] = d[v & 15];
  return s;
}

uint64_t resolve_seed(const Seed& s, const RunSpec& r, const char* what) {
  if (s.fixed) return static_cast<uint64_t>(s.value);
  // "unfixed": a different seed for every run, derived from the run's factors (not its id), so
  // a rerun of the same run reproduces it whatever else the job contains.
  return hash64(std::string(what) + "|" + r.key()) >> 1;  // keep it in int64 range
}

// Everything that affects a run's training and its recorded observables, in one string.
std::string run_fingerprint(const RunSpec& r, const JobSpec& job) {
  const TaskSpec& t = job.tasks.at(r.task);
  const RuleSettings& s = job.training.at(r.rule);
  const ObservablesSpec& o = job.observables;
  std::ostringstream f;
  f << "lrid-run-v2|rule=" << r.rule << "|arch=" << r.arch << "|batch=" << r.batch_size
    << "|model_seed=" << r.model_seed_value << "|dataset_seed=" << r.dataset_seed_value;
  f << "|task.objective=" << t.objective << "|task.format=" << t.dataset.format << "|task.labels=";
  for (auto x : t.label_map) f << x << ",";
  if (t.objective == "simclr")
    f << "|simclr=" << fmt_double(t.simclr_temperature) << "," << t.simclr_head_hidden << ","
      << t.simclr_head_dim;
  if (!(t.augment == default_augment(t.objective)))  // (absent at the defaults: hashes stay as they were)
    f << "|augment=" << t.augment.crop << "," << t.augment.pad << "," << fmt_double(t.augment.flip) << ","
      << fmt_double(t.augment.min_scale) << "," << fmt_double(t.augment.noise) << "," << t.augment.height << "x"
      << t.augment.width;
  f << "|opt=" << s.optimizer << "|lr=" << fmt_double(s.learning_rate)
    << "|mom=" << fmt_double(s.momentum) << "|adam=" << fmt_double(s.beta1) << ","
    << fmt_double(s.beta2) << "," << fmt_double(s.eps) << "|wd=" << fmt_double(s.weight_decay)
    << "|sched=" << s.schedule << "," << s.warmup_steps << "," << fmt_double(s.step_gamma);
  for (double m : s.step_milestones) f << "," << fmt_double(m);
  f << "|steps=" << s.steps << "|epochs=" << fmt_double(s.epochs)
    << "|clip=" << fmt_double(s.gradient_clip) << "|maxloss=" << fmt_double(s.max_loss)
    << "|divergence=" << fmt_double(s.divergence_factor);
  f << rule_key_fingerprint(rule_def(r.rule), s);  // its own keys (RuleDef::hash)
  f << "|obs.points=" << o.trajectory_points << "|obs.batch=" << o.observation_batch
    << "|obs.stats=";
  for (const auto& x : o.statistics) f << x << ",";
  f << "|obs.fractions=";
  for (double x : o.conditions.unit_fractions) f << fmt_double(x) << ",";
  f << "|obs.counts=";
  for (int64_t x : o.conditions.unit_counts) f << x << ",";
  f << "|obs.noise=";
  for (double x : o.conditions.noise_levels) f << fmt_double(x) << ",";
  f << "|obs.seed=" << o.conditions.seed;
  return f.str();
}

void expand(const YamlReader& c, const YAML::Node& root, JobSpec& job) {
  const YAML::Node grid = root["grid"];
  if (!grid) c.fail(root, "grid", "missing key 'grid' (a list of blocks of factors)");
  if (!grid.IsSequence() || grid.size() == 0)
    c.fail(grid, "grid", "expected a non-empty list of blocks");
  std::vector<Block> blocks;
  for (size_t i = 0; i < grid.size(); ++i)
    blocks.push_back(parse_block(c, grid[i], "grid[" + std::to_string(i) + "]", job));
  std::vector<Exclude> excludes = parse_excludes(c, root["exclude"], job);

  std::map<std::string, int> seen;  // run key -> block
  for (size_t bi = 0; bi < blocks.size(); ++bi) {
    const Block& b = blocks[bi];
    for (const auto& task : b.tasks)
      for (const auto& arch : b.archs)
        for (auto bs : b.batch_sizes)
          for (const auto& ms : b.model_seeds)
            for (const auto& ds : b.dataset_seeds)
              for (const auto& rule : b.rules) {
                RunSpec r;
                r.rule = rule, r.task = task, r.arch = arch, r.batch_size = bs;
                r.model_seed = ms, r.dataset_seed = ds, r.block = static_cast<int>(bi);
                bool excluded = false;
                for (auto& x : excludes)
                  if (x.matches(r)) excluded = x.used = true;
                if (excluded) continue;
                const std::string key = r.key();
                auto it = seen.find(key);
                if (it != seen.end())
                  c.fail(b.node, "grid[" + std::to_string(bi) + "]",
                         "duplicate run " + key + " (also produced by grid[" +
                             std::to_string(it->second) + "]); each run may appear once");
                seen[key] = static_cast<int>(bi);
                r.id = static_cast<int64_t>(job.runs.size());
                r.model_seed_value = resolve_seed(ms, r, "model");
                r.dataset_seed_value = resolve_seed(ds, r, "dataset");
                r.hash = hex16(hash64(run_fingerprint(r, job)));
                job.runs.push_back(r);
              }
  }
  for (const auto& x : excludes)
    if (!x.used) c.fail(x.node, "exclude", "this entry matches no run of the grid");
  if (job.runs.empty()) c.fail(grid, "grid", "the grid is empty after excludes");

  std::string all = "lrid-job-v1|" + job.name;
  for (const auto& r : job.runs) all += "|" + std::to_string(r.id) + ":" + r.hash;
  job.hash = hex16(hash64(all));
}

void expand_paths(JobSpec& job) {
  for (auto& [name, t] : job.tasks) {
    std::string& p = t.dataset.path;
    for (size_t pos; (pos = p.find("${data_root}")) != std::string::npos;)
      p.replace(pos, 12, job.data_root);
  }
}

void check_tasks_and_rules(const YamlReader& c, const YAML::Node& root, const JobSpec& job) {
  for (const auto& r : job.runs) {
    const RuleSettings& s = job.training.at(r.rule);
    if (s.steps == 0 && s.epochs == 0)
      c.fail(root["training"] ? root["training"] : root, "training." + r.rule,
             "no training length: give 'steps' or 'epochs'");
  }
  if (job.distributed.gradient_backend == "nccl" && job.distributed.device == "cpu")
    c.fail(root["distributed"], "distributed.gradient_backend",
           "nccl needs device cuda or auto, not cpu");
}

}  // namespace

std::string RunSpec::key() const {
  return rule + "/" + task + "/" + arch + "/bs" + std::to_string(batch_size) + "/m" +
         model_seed.str() + "/d" + dataset_seed.str();
}

std::vector<std::string> policy_differences(const JobSpec& job) {
  std::vector<std::string> rules;
  for (const auto& def : rule_defs())
    if (def.policy == Policy::Shared &&
        std::any_of(job.runs.begin(), job.runs.end(), [&](const RunSpec& run) { return run.rule == def.name; }))
      rules.push_back(def.name);
  std::vector<std::string> out;
  if (rules.size() < 2) return out;
  using Get = std::string (*)(const RuleSettings&);
  const std::vector<std::pair<const char*, Get>> keys = {
      {"learning_rate", [](const RuleSettings& s) { return util::shortest(s.learning_rate); }},
      {"schedule", [](const RuleSettings& s) {
         std::string v = s.schedule;
         if (s.schedule == "step") {
           v += " x" + util::shortest(s.step_gamma) + " at";
           for (double m : s.step_milestones) v += " " + util::shortest(m);
         }
         return v;
       }},
      {"momentum", [](const RuleSettings& s) { return util::shortest(s.momentum); }},
      {"weight_decay", [](const RuleSettings& s) { return util::shortest(s.weight_decay); }},
      {"warmup_steps", [](const RuleSettings& s) { return std::to_string(s.warmup_steps); }},
      {"gradient_clip", [](const RuleSettings& s) { return util::shortest(s.gradient_clip); }},
      {"length", [](const RuleSettings& s) {
         return s.steps > 0 ? std::to_string(s.steps) + " steps" : util::shortest(s.epochs) + " epochs";
       }},
      {"optimizer", [](const RuleSettings& s) { return s.optimizer; }}};
  for (const auto& [key, get] : keys) {
    bool differ = false;
    std::string line = std::string(key) + ":";
    for (const auto& r : rules) {
      const std::string v = get(job.rule(r));
      differ = differ || v != get(job.rule(rules.front()));
      line += " " + r + " " + v + (&r == &rules.back() ? "" : ",");
    }
    if (differ) out.push_back(line);
  }
  return out;
}

double run_cost(const JobSpec& job, const RunSpec& r) {
  const auto& s = job.rule(r.rule);
  const TaskSpec& t = job.task(r.task);
  const bool simclr = t.objective == "simclr";
  // Images processed: steps x batch, or epochs x the task's size (independent of the batch).
  const double images = s.steps > 0 ? static_cast<double>(s.steps) * static_cast<double>(r.batch_size)
                                    : s.epochs * static_cast<double>(t.size.examples);
  double c = images * forward_macs(r.arch, t.size.channels, t.size.height, t.size.width, t.size.classes, simclr,
                                   t.simclr_head_hidden, t.simclr_head_dim);
  if (simclr) c *= 2;             // two views of every image
  c *= rule_def(r.rule).cost_factor;
  return c;
}

std::vector<std::vector<int64_t>> shard_assignment(const JobSpec& job, int64_t count) {
  const int64_t n = static_cast<int64_t>(job.runs.size());
  if (count < 1 || count > n)
    throw BadInput(job.path + ": " + std::to_string(count) + " shards for " + std::to_string(n) +
                   " runs: expected 1 <= shards <= runs");
  std::vector<std::pair<double, int64_t>> order;
  for (const auto& r : job.runs) order.push_back({run_cost(job, r), r.id});
  std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  });
  std::vector<std::vector<int64_t>> shards(static_cast<size_t>(count));
  std::vector<double> load(static_cast<size_t>(count), 0.0);
  for (const auto& [cost, id] : order) {
    const size_t k = static_cast<size_t>(std::min_element(load.begin(), load.end()) - load.begin());
    shards[k].push_back(id);
    load[k] += cost;
  }
  for (auto& s : shards) std::sort(s.begin(), s.end());
  return shards;
}

bool is_override(const std::string& arg) {
  return !arg.empty() && arg[0] != '-' && arg.find('=') != std::string::npos;
}

namespace {

// Sets root[path] = value, creating maps along the way; numeric parts index sequences.
void set_path(YAML::Node node, const std::vector<std::string>& parts, size_t i, const YAML::Node& value,
              const std::string& text) {
  const std::string& part = parts[i];
  const bool index = !part.empty() && part.find_first_not_of("0123456789") == std::string::npos;
  if (index && part.size() > 9)  // beyond any list (and beyond what std::stoul reads)
    throw BadInput("override " + text + ": list index " + part + " is out of range (the list has " +
                   std::to_string(node.size()) + " items)");
  if (index && !node.IsSequence())
    throw BadInput("override " + text + ": '" + part + "' indexes a list, but that key is not a list");
  if (index && std::stoul(part) >= node.size())
    throw BadInput("override " + text + ": list index " + part + " is out of range (the list has " +
                   std::to_string(node.size()) + " items)");
  if (!index && !node.IsMap() && !node.IsNull())
    throw BadInput("override " + text + ": '" + part + "' is a key below a value that is not a mapping");
  if (i + 1 == parts.size()) {
    if (index) node[std::stoul(part)] = value;
    else node[part] = value;
    return;
  }
  YAML::Node child = index ? node[std::stoul(part)] : node[part];
  if (!child || child.IsNull() || (!child.IsMap() && !child.IsSequence())) {
    if (index) throw BadInput("override " + text + ": list item " + part + " is not a mapping");
    node[part] = YAML::Node(YAML::NodeType::Map);
    child = node[part];
  }
  set_path(child, parts, i + 1, value, text);
}

}  // namespace

JobSpec load_job_text(const std::string& text, const std::string& origin, const std::vector<std::string>& overrides) {
  YamlReader c{origin};
  YAML::Node root = parse_yaml(text, origin, "job file");
  if (!root.IsMap()) c.fail(root, "", "expected a mapping with keys name, grid, ...");

  std::string effective = text;
  if (!overrides.empty()) {
    std::string listed;
    for (size_t i = 0; i < overrides.size(); ++i) {
      const std::string& o = overrides[i];
      const std::string label = std::to_string(i + 1) + " (" + o + ")";
      const auto eq = o.find('=');
      if (eq == std::string::npos || eq == 0)
        throw BadInput("override " + label + ": expected key.path=value, e.g. training.defaults.steps=50");
      const std::string path = o.substr(0, eq), value_text = o.substr(eq + 1);
      std::vector<std::string> parts;
      std::string key;
      for (size_t pos = 0; pos <= path.size();) {
        size_t end = path.find('.', pos);
        if (end == std::string::npos) end = path.size();
        const std::string part = path.substr(pos, end - pos);
        if (part.empty()) throw BadInput("override " + label + ": empty key in '" + path + "'");
        parts.push_back(part);
        const bool index = part.find_first_not_of("0123456789") == std::string::npos;
        key += index ? "[" + part + "]" : (key.empty() ? "" : ".") + part;
        pos = end + 1;
      }
      YAML::Node value;
      try {
        value = YAML::Load(value_text);
      } catch (const YAML::ParserException& e) {
        throw BadInput("override " + label + ": malformed YAML value '" + value_text + "': " + e.msg);
      }
      set_path(root, parts, 0, value, label);
      c.overrides.push_back({key, o});
      listed += (listed.empty() ? "" : " ") + o;
    }
    YAML::Emitter em;
    em << root;
    effective = "# the effective job: " + origin + " with overrides: " + listed + "\n" + em.c_str() + "\n";
  }

  JobSpec job;
  job.path = origin;
  job.yaml_text = effective;
  try {
    c.check_keys(root, "", {"name", "description", "data_root", "grid", "exclude", "tasks",
                            "training", "observables", "distributed", "analysis"});
    if (!root["name"]) c.fail(root, "name", "missing key 'name' (the campaign's name)");
    job.name = c.str(root["name"], "name");
    if (job.name.empty() ||
        job.name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
            std::string::npos)
      c.fail(root["name"], "name", "expected letters, digits, '_', '.' or '-' only");
    if (auto v = root["description"]) job.description = c.str(v, "description");
    if (auto v = root["data_root"]) {
      job.data_root = c.str(v, "data_root");
    } else {
      const char* env = std::getenv("LRID_DATA");
      job.data_root = env && *env ? env : "data";
    }
    add_builtin_tasks(job);
    parse_tasks(c, root["tasks"], job);
    parse_training(c, root["training"], job);
    parse_observables(c, root["observables"], job.observables);
    parse_distributed(c, root["distributed"], job.distributed);
    parse_analysis(c, root["analysis"], job.analysis);
    expand(c, root, job);
    check_tasks_and_rules(c, root, job);
    expand_paths(job);
  } catch (const YAML::Exception& e) {
    // Anything yaml-cpp still objects to (e.g. a non-scalar key) is the user's file.
    throw BadInput(origin + ":" + std::to_string(e.mark.line + 1) + ":" +
                   std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  return job;
}

JobSpec load_job_file(const std::string& path, const std::vector<std::string>& overrides) {
  return load_job_text(read_text_file(path, "the job file"), path, overrides);
}

}  // namespace lrid::config
