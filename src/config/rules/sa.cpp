// Symmetric alignment: B learned from R = alpha P_decay + beta P_self, P_self = -sum(W * B); R
// does not depend on the layer's inputs, and its minimiser is B = beta / (2 alpha) W = W at the
// defaults alpha = 1e-3, beta = 2e-3 of Neural-Alignment's Symmetric (params.py). B's rate is IA's
// (feedback_learning_rate 1.0: B converges within ~100 steps of a 1000-step run).
#include "lrid/config/job.hpp"  // RuleSettings, and the registry (config/rules.hpp)

LRID_RULE(sa) {
  using namespace lrid::config;
  RuleDef r;
  r.name = "sa";
  r.aliases = {"symmetric_alignment", "symmetric"};
  r.title = "Symmetric alignment";
  r.reference = "Kunin et al. 2020 (Neural-Alignment: Symmetric, alpha 1e-3, beta 2e-3)";
  r.order = 80;
  r.feedback = FeedbackKind::Learned;
  r.policy = Policy::Shared;
  r.defaults = [](RuleSettings& s) {
    s.feedback.regulariser.decay = 1e-3;
    s.feedback.regulariser.self = 2e-3;
    s.feedback.learning_rate = 1.0;
  };
  r.keys = {rule_keys::coefficient("sa.alpha", &Regulariser::decay, "weight of P_decay", "0.002"),
            rule_keys::coefficient("sa.beta", &Regulariser::self, "weight of P_self", "0.001"),
            rule_keys::feedback_learning_rate()};
  r.hash = {{"sa", {"sa.alpha", "sa.beta"}}, {"fblr", {"feedback_learning_rate"}}};
  r.cost_factor = 1.05;  // two axpys per layer and step
  r.color = "tab:olive";
  return r;
}
