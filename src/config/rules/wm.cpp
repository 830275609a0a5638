// Weight mirror: B learned from R = alpha P_decay + beta P_amp on seeded noise inputs (Akrout et
// al. 2019; Kunin et al. 2020). Neural-Alignment's Mirror publishes alpha = beta = 1e-3
// (params.py) for its R, which sums P_amp over every output unit and position of a layer; lrid
// keeps those values and divides P_amp by a conv layer's output positions (per_position), as for
// IA, so that conv and fc layers move at the same rate, without normalize_output: R's curvature
// in B is 2 alpha whatever the layer's scale. On noise inputs of variance s^2 the minimiser is
// B = beta s^2 / (2 alpha) W = W / 2 at the defaults: aligned with W, at half its gain. B's rate
// is IA's (feedback_learning_rate 1.0): Neural-Alignment trains B at its task rate over 90 ImageNet
// epochs, lrid's runs are ~1000 steps.
#include "lrid/config/job.hpp"  // RuleSettings, and the registry (config/rules.hpp)

LRID_RULE(wm) {
  using namespace lrid::config;
  RuleDef r;
  r.name = "wm";
  r.aliases = {"weight_mirror", "mirror"};
  r.title = "Weight mirror";
  r.reference = "Akrout et al. 2019; Kunin et al. 2020 (Neural-Alignment: Mirror, alpha 1e-3, beta 1e-3)";
  r.order = 70;
  r.feedback = FeedbackKind::Learned;
  r.policy = Policy::Shared;
  r.defaults = [](RuleSettings& s) {
    Regulariser& g = s.feedback.regulariser;
    g.decay = 1e-3;
    g.amp = 1e-3;
    g.inputs = LocalInputs::Noise;
    g.per_position = true;
    g.normalize_output = false;
    s.feedback.learning_rate = 1.0;
  };
  r.keys = {rule_keys::coefficient("wm.alpha", &Regulariser::decay, "weight of P_decay", "0.002"),
            rule_keys::coefficient("wm.beta", &Regulariser::amp, "weight of P_amp", "0.002"),
            rule_keys::flag("wm.per_position", &Regulariser::per_position,
                            "divide P_amp by a conv layer's output positions", "false"),
            rule_keys::flag("wm.normalize_output", &Regulariser::normalize_output, "divide P_amp by the mean of f^2",
                            "true"),
            rule_keys::batch_fraction("wm.batch_fraction"),
            rule_keys::inputs("wm.inputs"),
            rule_keys::noise_std("wm.noise_std"),
            rule_keys::feedback_learning_rate()};
  r.hash = {{"wm",
             {"wm.alpha", "wm.beta", "wm.per_position", "wm.normalize_output", "wm.batch_fraction", "wm.inputs",
              "wm.noise_std"}},
            {"fblr", {"feedback_learning_rate"}}};
  r.cost_factor = 1.5;  // f = W x on the noise and P_amp's weight gradient: two conv-sized products
  r.color = "tab:pink";
  return r;
}
