// Sign symmetry: B = sign(W), recomputed from the current W at every step, never learned
// (Liao, Leibo & Poggio 2016; Xiao et al. 2018). Neural-Alignment does not implement it, so no
// reference scaling exists: lrid scales sign(W) by mean |W| per layer (ss.scale: mean_abs), the
// sign pattern closest to W in L2, so that the backward pass keeps W's gain; ss.scale: none is
// sign(W) as it is (entries +-1, a backward gain of ~1 / mean |W| per layer).
#include "lrid/config/job.hpp"  // RuleSettings, and the registry (config/rules.hpp)

LRID_RULE(ss) {
  using namespace lrid::config;
  RuleDef r;
  r.name = "ss";
  r.aliases = {"sign_symmetry"};
  r.title = "Sign symmetry";
  r.reference = "Liao, Leibo & Poggio 2016; Xiao et al. 2018 (not in Neural-Alignment: lrid's scaling, mean |W|)";
  r.order = 50;
  r.feedback = FeedbackKind::FromWeight;
  r.policy = Policy::Shared;
  r.keys = {rule_keys::sign_scale("ss.scale")};
  r.hash = {{"ss", {"ss.scale"}}};
  r.cost_factor = 1.05;  // sign and mean |W| per layer and step
  r.color = "tab:purple";
  return r;
}
