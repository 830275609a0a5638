// Adam: backprop (B is W) with its own learning-rate policy.
#include "lrid/config/job.hpp"  // RuleSettings, and the registry (config/rules.hpp)

LRID_RULE(adam) {
  lrid::config::RuleDef r;
  r.name = "adam";
  r.title = "Adam";
  r.reference = "Nayebi et al. 2020 (the paper's Adam)";
  r.paper = true;
  r.order = 20;
  r.feedback = lrid::config::FeedbackKind::Exact;
  r.policy = lrid::config::Policy::Own;
  r.optimizers = {"adam"};
  r.color = "tab:orange";
  return r;
}
