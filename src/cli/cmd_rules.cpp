// lrid rules [--json]: the learning rules this lrid knows (its registry, config/rules.hpp), with
// what each one's backward kernel does, its policy, its own job keys and their defaults; then the
// classifiers (analyze/classifiers.hpp) with their default grids.
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "lrid/analyze/classifiers.hpp"
#include "lrid/analyze/plan.hpp"
#include "lrid/cli/commands.hpp"
#include "lrid/cli/options.hpp"
#include "lrid/config/job.hpp"
#include "lrid/util/text.hpp"

namespace lrid::cli {

namespace {

nlohmann::json value_json(const config::RuleKey& k, const config::RuleKey::Value& v) {
  switch (k.type) {
    case config::RuleKey::Type::Bool: return v.flag;
    case config::RuleKey::Type::Choice: return v.text;
    default: return v.number;
  }
}

// A rule's built-in settings, as a job without a training section resolves them.
config::RuleSettings builtin(const std::string& rule) {
  static const config::JobSpec job = config::load_job_text(
      "name: rules\ngrid:\n  - {learning_rules: [sgdm], tasks: [fashion_mnist], architectures: [MLP], batch_sizes: [8]}\n",
      "<lrid rules>");
  return job.rule(rule);
}

}  // namespace

int cmd_rules(int argc, char** argv) {
  po::options_description opts("options");
  opts.add_options()("json", "every rule and key as one JSON object");
  auto vm = parse_options(argc, argv, "rules", opts, {});
  if (!vm) return 0;
  nlohmann::json out = {{"rules", nlohmann::json::array()}, {"training_keys", nlohmann::json::array()}};
  for (const auto& k : config::shared_training_keys()) out["training_keys"].push_back(k.path);
  for (const auto& r : config::rule_defs()) {
    const config::RuleSettings s = builtin(r.name);
    nlohmann::json keys = nlohmann::json::array();
    for (const auto& k : r.keys)
      keys.push_back({{"key", k.path}, {"default", value_json(k, k.get(s))}, {"doc", k.doc}});
    out["rules"].push_back({{"name", r.name},
                            {"aliases", r.aliases},
                            {"title", r.title},
                            {"feedback", config::feedback_kind_name(r.feedback)},
                            {"policy", r.policy == config::Policy::Shared ? "shared" : "own"},
                            {"optimizers", r.optimizers},
                            {"learning_rate", s.learning_rate},
                            {"paper", r.paper},
                            {"cost_factor", r.cost_factor},
                            {"color", r.color},
                            {"reference", r.reference},
                            {"keys", keys}});
  }
  out["classifiers"] = nlohmann::json::array();
  for (const auto& d : analyze::classifier_defs())
    out["classifiers"].push_back({{"name", d.table.name},
                                  {"title", d.table.title},
                                  {"grid", analyze::grid_lists(config::AnalysisSpec{}, d.table.name)}});
  if (vm->count("json")) {
    std::cout << out.dump(1) << "\n";
    return 0;
  }
  std::printf("%-6s %-26s %-12s %-7s %s\n", "rule", "title", "B", "policy", "own keys (default)");
  for (const auto& r : out["rules"]) {
    std::string keys;
    for (const auto& k : r["keys"]) {
      const auto& d = k["default"];
      keys += (keys.empty() ? "" : ", ") + k["key"].get<std::string>() + " (" +
              (d.is_number() ? util::shortest(d.get<double>()) : d.is_boolean() ? (d.get<bool>() ? "true" : "false") : d.get<std::string>()) +
              ")";
    }
    std::printf("%-6s %-26s %-12s %-7s %s\n", r["name"].get<std::string>().c_str(), r["title"].get<std::string>().c_str(),
                r["feedback"].get<std::string>().c_str(), r["policy"].get<std::string>().c_str(),
                keys.empty() ? "-" : keys.c_str());
  }
  std::printf("\nB: exact = backprop (B is W), fixed = random at initialisation, learned = trained by a "
              "layer-local regulariser, from_weight = computed from W at every step, tied = receives W's update.\n"
              "Keys go under training.<rule> in a job file (docs/job-file.md, \"Learning rules\"); policy shared: "
              "the rule follows the shared SGD policy of the rules that differ only in their update's direction.\n");
  std::printf("\n%-14s %-14s %s\n", "classifier", "title", "model-selection grid (analysis.<classifier>; defaults)");
  for (const auto& c : out["classifiers"])
    std::printf("%-14s %-14s %s\n", c["name"].get<std::string>().c_str(), c["title"].get<std::string>().c_str(),
                c["grid"].dump().c_str());
  return 0;
}

}  // namespace lrid::cli
