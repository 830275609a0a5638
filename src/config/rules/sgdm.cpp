// SGD with momentum: backprop (B is W) under the shared SGD policy.
#include "lrid/config/job.hpp"  // RuleSettings, and the registry (config/rules.hpp)

LRID_RULE(sgdm) {
  lrid::config::RuleDef r;
  r.name = "sgdm";
  r.aliases = {"sgd", "backprop"};
  r.title = "SGD + momentum";
  r.reference = "Nayebi et al. 2020 (the paper's SGDM)";
  r.paper = true;
  r.order = 10;
  r.feedback = lrid::config::FeedbackKind::Exact;
  r.policy = lrid::config::Policy::Shared;
  r.optimizers = {"sgd"};
  r.color = "tab:blue";
  return r;
}
