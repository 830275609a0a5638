// The learning-rule registry (include/lrid/config/rules.hpp): names, aliases, defaults, the keys
// each rule adds to the job file, and the run hash's coverage of every training key.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>

#include "lrid/config/job.hpp"
#include "lrid/error.hpp"

using lrid::BadInput;
using lrid::config::JobSpec;
using lrid::config::load_job_text;
using lrid::config::RuleDef;

namespace {

std::string job_of(const std::string& rule) {
  return "name: t\ngrid:\n  - learning_rules: [" + rule +
         "]\n    tasks: [fashion_mnist]\n    architectures: [MLP]\n    batch_sizes: [32]\n";
}

std::string error_of(const std::string& text, const std::vector<std::string>& overrides = {}) {
  try {
    load_job_text(text, "job.yaml", overrides);
  } catch (const BadInput& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Rules, RegistryHoldsThePapersRulesFirstInCanonicalOrder) {
  const auto& names = lrid::config::rule_names();
  ASSERT_GE(names.size(), 4u);
  EXPECT_EQ(std::vector<std::string>(names.begin(), names.begin() + 4),
            (std::vector<std::string>{"sgdm", "adam", "fa", "ia"}));
  std::set<std::string> colors;
  for (const auto& r : lrid::config::rule_defs()) {
    SCOPED_TRACE(r.name);
    EXPECT_EQ(lrid::config::find_rule(r.name), &r);
    for (const auto& a : r.aliases) EXPECT_EQ(lrid::config::find_rule(a), &r) << a;
    EXPECT_TRUE(colors.insert(r.color).second) << "plot colour shared: " << r.color;
    EXPECT_GT(r.cost_factor, 0);
  }
  EXPECT_EQ(lrid::config::find_rule("SGDM")->name, "sgdm");
  EXPECT_EQ(lrid::config::find_rule("Information_Alignment")->name, "ia");
  EXPECT_EQ(lrid::config::find_rule("bogus"), nullptr);
  try {
    lrid::config::rule_def("adma");
    FAIL() << "no error";
  } catch (const BadInput& e) {
    EXPECT_NE(std::string(e.what()).find("unknown learning rule 'adma' (did you mean 'adam'?)"), std::string::npos)
        << e.what();
  }
}

TEST(Rules, FeedbackKindsAndPoliciesOfThePapersRules) {
  using lrid::config::FeedbackKind;
  using lrid::config::Policy;
  EXPECT_EQ(lrid::config::rule_def("sgdm").feedback, FeedbackKind::Exact);
  EXPECT_EQ(lrid::config::rule_def("adam").feedback, FeedbackKind::Exact);
  EXPECT_EQ(lrid::config::rule_def("fa").feedback, FeedbackKind::Fixed);
  EXPECT_EQ(lrid::config::rule_def("ia").feedback, FeedbackKind::Learned);
  EXPECT_EQ(lrid::config::rule_def("adam").policy, Policy::Own);
  for (const char* r : {"sgdm", "fa", "ia"}) EXPECT_EQ(lrid::config::rule_def(r).policy, Policy::Shared) << r;
  // The defaults the job's settings start from.
  const JobSpec j = load_job_text(job_of("ia"), "job.yaml");
  EXPECT_EQ(j.rule("adam").optimizer, "adam");
  EXPECT_DOUBLE_EQ(j.rule("adam").learning_rate, 1e-3);
  EXPECT_EQ(j.rule("sgdm").optimizer, "sgd");
  EXPECT_DOUBLE_EQ(j.rule("sgdm").momentum, 0.9);
  const auto& r = j.rule("ia").feedback.regulariser;
  EXPECT_DOUBLE_EQ(r.amp, 8e-3);
  EXPECT_DOUBLE_EQ(r.null, 1e-3);
  EXPECT_DOUBLE_EQ(r.decay, 1e-3);
  EXPECT_DOUBLE_EQ(j.rule("ia").feedback.learning_rate, 1.0);
  EXPECT_EQ(j.rule("fa").feedback.kind, FeedbackKind::Fixed);
}

TEST(Rules, AliasesAreAcceptedAsTheCanonicalName) {
  const JobSpec a = load_job_text(job_of("information_alignment") + "training:\n  infoalign: {learning_rate: 0.02}\n",
                                  "job.yaml");
  const JobSpec b = load_job_text(job_of("ia") + "training:\n  ia: {learning_rate: 0.02}\n", "job.yaml");
  ASSERT_EQ(a.runs.size(), 1u);
  EXPECT_EQ(a.runs[0].rule, "ia");
  EXPECT_EQ(a.runs[0].hash, b.runs[0].hash);
  EXPECT_DOUBLE_EQ(a.rule("ia").learning_rate, 0.02);
  const std::string twice = error_of(job_of("ia") + "training:\n  ia: {learning_rate: 0.02}\n  infoalign: {steps: 5}\n");
  EXPECT_NE(twice.find("given twice"), std::string::npos) << twice;
}

TEST(Rules, UnknownRuleNamesAreOneLineWithDidYouMeanEverywhere) {
  const std::string grid = error_of(job_of("kolen"));
  EXPECT_NE(grid.find("unknown learning rule 'kolen'"), std::string::npos) << grid;
  EXPECT_EQ(grid.find('\n'), std::string::npos);
  const std::string training = error_of(job_of("sgdm") + "training:\n  adm: {steps: 5}\n");
  EXPECT_NE(training.find("did you mean 'adam'"), std::string::npos) << training;
  const std::string over = error_of(job_of("sgdm"), {"grid.0.learning_rules=[adma]"});
  EXPECT_NE(over.find("unknown learning rule 'adma' (did you mean 'adam'?)"), std::string::npos) << over;
  EXPECT_NE(over.find("override 1"), std::string::npos) << over;
  const std::string exclude = error_of(job_of("sgdm") + "exclude:\n  - {learning_rule: fb}\n");
  EXPECT_NE(exclude.find("unknown learning rule 'fb' (did you mean 'fa'?)"), std::string::npos) << exclude;
}

TEST(Rules, RuleOnlyKeysBelongToTheirRule) {
  // Every rule's own keys are refused under training.defaults and under every other rule.
  for (const auto& r : lrid::config::rule_defs())
    for (const auto& k : r.keys) {
      const std::string top = k.path.substr(0, k.path.find('.'));
      SCOPED_TRACE(r.name + " " + k.path);
      EXPECT_NE(error_of(job_of(r.name), {"training.defaults." + k.path + "=" + k.sample}).find("unknown key"),
                std::string::npos);
      for (const auto& other : lrid::config::rule_defs()) {
        const bool shares = std::any_of(other.keys.begin(), other.keys.end(), [&](const lrid::config::RuleKey& o) {
          return o.path.substr(0, o.path.find('.')) == top;
        });
        if (shares) continue;
        EXPECT_NE(error_of(job_of(other.name), {"training." + other.name + "." + k.path + "=" + k.sample})
                      .find("unknown key"),
                  std::string::npos)
            << other.name;
      }
    }
}

TEST(Rules, RunHashCoversEveryTrainingKeyOfEveryRule) {
  // Derived from the registry and the key tables: a key added to a rule or to the shared
  // settings that the run's fingerprint forgets fails here.
  for (const auto& r : lrid::config::rule_defs()) {
    const std::string base = load_job_text(job_of(r.name), "job.yaml").runs.at(0).hash;
    std::vector<std::pair<std::string, std::string>> keys;
    for (const auto& k : lrid::config::shared_training_keys()) keys.push_back({k.path, k.sample});
    for (const auto& k : r.keys) keys.push_back({k.path, k.sample});
    for (const auto& o : r.optimizers)
      if (o != r.optimizers.front()) keys.push_back({"optimizer", o});
    for (const auto& [path, sample] : keys) {
      SCOPED_TRACE(r.name + ": training." + r.name + "." + path + "=" + sample);
      const JobSpec changed = load_job_text(job_of(r.name), "job.yaml", {"training." + r.name + "." + path + "=" + sample});
      EXPECT_NE(changed.runs.at(0).hash, base);
      // ... and through training.defaults for the shared keys.
    }
    for (const auto& k : lrid::config::shared_training_keys()) {
      SCOPED_TRACE(r.name + ": training.defaults." + k.path + "=" + k.sample);
      EXPECT_NE(load_job_text(job_of(r.name), "job.yaml", {"training.defaults." + k.path + "=" + k.sample}).runs.at(0).hash,
                base);
    }
  }
}

TEST(Rules, ThePapersRulesKeepTheirRunHashes) {
  // Machine-independent golden values: the shipped jobs' hashes before the registry (lrid 0.1.0 at
  // ffd042b). A campaign file is bound to its job hash, so a change here would orphan every
  // campaign of the four rules.
  const std::string root = LRID_SOURCE_DIR;
  EXPECT_EQ(lrid::config::load_job_file(root + "/jobs/quickstart.yaml").hash, "796a3ebaefb2b876");
  EXPECT_EQ(lrid::config::load_job_file(root + "/jobs/smoke.yaml").hash, "e37af9f39a73c49e");
  EXPECT_EQ(lrid::config::load_job_file(root + "/jobs/laptop.yaml").hash, "fff32e18997bce37");
  EXPECT_EQ(lrid::config::load_job_file(root + "/jobs/paper.yaml").hash, "333a12fca8de6933");
  // Every IA key in the hash, in its old order.
  const JobSpec ia = load_job_text(job_of("ia") + R"(training:
  ia: {feedback_learning_rate: 0.5, ia: {alpha: 0.01, beta: 0.002, gamma: 0.003, per_position: false,
       normalize_output: false, batch_fraction: 0.5, inputs: layer, noise_std: 2}}
)",
                                   "job.yaml");
  EXPECT_EQ(ia.runs.at(0).hash, "b095907aae6a462f");
}
