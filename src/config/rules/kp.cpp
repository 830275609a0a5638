// Kolen-Pollack: B receives W's own update (tied gradients) and both decay, R = alpha P_decay on
// W and B alike, so W - B shrinks geometrically (Kolen & Pollack 1994; Akrout et al. 2019).
// Neural-Alignment (Kolen_Pollack, tie_grad) publishes alpha = 1e-3 (params.py) as B's decay
// and keeps W's own L2 (1e-4) apart; lrid gives W the same decay as B, so that the two receive
// the same update and their difference decays as the definition says.
#include "lrid/config/job.hpp"  // RuleSettings, and the registry (config/rules.hpp)

LRID_RULE(kp) {
  using namespace lrid::config;
  RuleDef r;
  r.name = "kp";
  r.aliases = {"kolen_pollack", "kolen-pollack"};
  r.title = "Kolen-Pollack";
  r.reference = "Kolen & Pollack 1994; Akrout et al. 2019; Kunin et al. 2020 (Neural-Alignment: Kolen_Pollack, alpha 1e-3)";
  r.order = 60;
  r.feedback = FeedbackKind::Tied;
  r.policy = Policy::Shared;
  r.defaults = [](RuleSettings& s) { s.feedback.regulariser.decay = 1e-3; };
  r.keys = {rule_keys::coefficient("kp.decay", &Regulariser::decay,
                                   "alpha of R = alpha (||W||^2 + ||B||^2), on W and B alike", "0.01")};
  r.hash = {{"kp", {"kp.decay"}}};
  r.cost_factor = 1.05;  // one more gradient copy and two axpys per layer and step
  r.color = "tab:brown";
  return r;
}
