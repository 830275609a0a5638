// lrid grid JOB.yaml [--json]: validate a job file and list its expanded runs.
#include <cstdio>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "lrid/cli/commands.hpp"
#include "lrid/cli/options.hpp"
#include "lrid/config/job.hpp"
#include "lrid/error.hpp"
#include "lrid/util/text.hpp"
#include <algorithm>

namespace lrid::cli {

namespace {

// A rule-only key's value as JSON (its type says which).
nlohmann::json key_json(const config::RuleKey& k, const config::RuleKey::Value& v) {
  switch (k.type) {
    case config::RuleKey::Type::Bool: return v.flag;
    case config::RuleKey::Type::Choice: return v.text;
    default: return v.number;
  }
}

nlohmann::json training_json(const config::RuleSettings& s, const std::string& rule) {
  nlohmann::json j = {{"optimizer", s.optimizer},
                      {"learning_rate", s.learning_rate},
                      {"schedule", s.schedule},
                      {"warmup_steps", s.warmup_steps},
                      {"weight_decay", s.weight_decay},
                      {"gradient_clip", s.gradient_clip},
                      {"divergence_factor", s.divergence_factor},
                      {"max_loss", s.max_loss}};
  if (s.optimizer == "sgd") j["momentum"] = s.momentum;
  if (s.optimizer == "adam") j["betas"] = {s.beta1, s.beta2}, j["eps"] = s.eps;
  if (s.schedule == "step") j["step_milestones"] = s.step_milestones, j["step_gamma"] = s.step_gamma;
  if (s.steps > 0) j["steps"] = s.steps; else j["epochs"] = s.epochs;
  // What B does, and the rule's own keys at their paths (training.ia.ia.alpha -> "ia": {"alpha"}).
  j["feedback"] = config::feedback_kind_name(s.feedback.kind);
  for (const auto& k : config::rule_def(rule).keys) {
    nlohmann::json v = key_json(k, k.get(s));
    if (k.path == "feedback_learning_rate" && s.feedback.learning_rate <= 0) v = s.learning_rate;  // 0: the rule's
    j[nlohmann::json::json_pointer("/" + util::join(util::split(k.path, '.'), "/"))] = v;
  }
  return j;
}

nlohmann::json run_json(const config::JobSpec& job, const config::RunSpec& r) {
  return {{"id", r.id},
          {"rule", r.rule},
          {"task", r.task},
          {"architecture", r.arch},
          {"batch_size", r.batch_size},
          {"model_seed", r.model_seed.fixed ? nlohmann::json(r.model_seed.value) : "unfixed"},
          {"dataset_seed", r.dataset_seed.fixed ? nlohmann::json(r.dataset_seed.value) : "unfixed"},
          {"model_seed_value", r.model_seed_value},
          {"dataset_seed_value", r.dataset_seed_value},
          {"block", r.block},
          {"hash", r.hash},
          {"cost", config::run_cost(job, r)},
          {"training", training_json(job.rule(r.rule), r.rule)}};
}

// factor -> value -> count, in first-appearance order of values
std::vector<std::pair<std::string, std::vector<std::pair<std::string, int>>>> factor_counts(
    const config::JobSpec& job) {
  std::vector<std::pair<std::string, std::vector<std::pair<std::string, int>>>> out = {
      {"learning_rule", {}}, {"task", {}},        {"architecture", {}},
      {"batch_size", {}},    {"model_seed", {}}, {"dataset_seed", {}}};
  auto bump = [](std::vector<std::pair<std::string, int>>& v, const std::string& k) {
    for (auto& [name, n] : v)
      if (name == k) return void(++n);
    v.emplace_back(k, 1);
  };
  for (const auto& r : job.runs) {
    bump(out[0].second, r.rule);
    bump(out[1].second, r.task);
    bump(out[2].second, r.arch);
    bump(out[3].second, std::to_string(r.batch_size));
    bump(out[4].second, r.model_seed.str());
    bump(out[5].second, r.dataset_seed.str());
  }
  return out;
}

}  // namespace

int cmd_grid(int argc, char** argv) {
  po::options_description opts("options");
  opts.add_options()("json", "print the runs and counts as JSON")(
      "print-job", "print the effective job (the file with the overrides applied) and exit");
  const auto cmd = parse_job_command(argc, argv, "grid", opts, "JOB.yaml");
  if (!cmd) return 0;
  const auto& [vm, args] = *cmd;
  const config::JobSpec job = load_job(args);
  if (vm.count("print-job")) {
    std::cout << job.yaml_text;
    if (!job.yaml_text.empty() && job.yaml_text.back() != '\n') std::cout << "\n";
    return 0;
  }
  const auto counts = factor_counts(job);

  if (vm.count("json")) {
    nlohmann::json j;
    j["job"] = job.name;
    j["file"] = job.path;
    j["job_hash"] = job.hash;
    j["n_runs"] = job.runs.size();
    nlohmann::json c = nlohmann::json::object();
    for (const auto& [factor, values] : counts)
      for (const auto& [v, n] : values) c[factor][v] = n;
    j["counts"] = c;
    j["policy_differences"] = config::policy_differences(job);
    j["runs"] = nlohmann::json::array();
    for (const auto& r : job.runs) j["runs"].push_back(run_json(job, r));
    std::cout << j.dump(1) << "\n";
    return 0;
  }

  std::printf("%6s  %-5s %-22s %-12s %6s %8s %8s  %s\n", "id", "rule", "task", "architecture",
              "batch", "m_seed", "d_seed", "hash");
  for (const auto& r : job.runs)
    std::printf("%6lld  %-5s %-22s %-12s %6lld %8s %8s  %s\n", static_cast<long long>(r.id),
                r.rule.c_str(), r.task.c_str(), r.arch.c_str(),
                static_cast<long long>(r.batch_size), r.model_seed.str().c_str(),
                r.dataset_seed.str().c_str(), r.hash.c_str());
  std::printf("\njob '%s' (%s): %zu runs, job hash %s\n", job.name.c_str(), job.path.c_str(),
              job.runs.size(), job.hash.c_str());
  for (const auto& [factor, values] : counts) {
    std::printf("  %-14s", factor.c_str());
    for (const auto& [v, n] : values) std::printf(" %s:%d", v.c_str(), n);
    std::printf("\n");
  }
  std::printf("training (resolved; 'lrid grid --json' has every setting per run):\n");
  for (const auto& rule : config::rule_names()) {
    if (counts[0].second.end() == std::find_if(counts[0].second.begin(), counts[0].second.end(),
                                               [&](const auto& p) { return p.first == rule; }))
      continue;
    const auto& s = job.rule(rule);
    std::printf("  %-5s %s lr %s", rule.c_str(), s.optimizer.c_str(), util::shortest(s.learning_rate).c_str());
    if (s.optimizer == "sgd") std::printf(" momentum %s", util::shortest(s.momentum).c_str());
    std::printf(", %s", s.schedule.c_str());
    if (s.warmup_steps) std::printf(" (warm-up %lld)", static_cast<long long>(s.warmup_steps));
    if (s.weight_decay > 0) std::printf(", weight decay %s", util::shortest(s.weight_decay).c_str());
    if (s.gradient_clip > 0) std::printf(", clip %s", util::shortest(s.gradient_clip).c_str());
    if (s.steps > 0) std::printf(", %lld steps", static_cast<long long>(s.steps));
    else std::printf(", %s epochs", util::shortest(s.epochs).c_str());
    const auto& fb = s.feedback;
    if (fb.kind == config::FeedbackKind::Learned) {
      std::printf("; B learned: lr %s", util::shortest(fb.learning_rate > 0 ? fb.learning_rate : s.learning_rate).c_str());
      if (fb.regulariser.uses_inputs()) std::printf(", R on %s inputs", config::local_inputs_name(fb.regulariser.inputs));
    } else if (fb.kind != config::FeedbackKind::Exact) {
      std::printf("; B %s", config::feedback_kind_name(fb.kind));
    }
    std::printf("\n");
  }
  const auto diff = config::policy_differences(job);
  if (!diff.empty()) {
    std::printf("warning: the rules of the shared SGD policy differ in their learning-rate policy, so a classifier "
                "can tell them apart by their step sizes, not only by their update direction:\n");
    for (const auto& d : diff) std::printf("  %s\n", d.c_str());
  }
  return 0;
}

}  // namespace lrid::cli
