// Information alignment: B learned from R = alpha P_amp + beta P_null + gamma P_decay, by default
// on seeded noise inputs (Kunin et al. 2020; lrid's normalisation and defaults are explained in
// lrid/nn/plastic.hpp and docs/science.md). The reference's own defaults (Neural-Alignment
// params.py: alpha 2e-3, beta 1e-3, gamma 1e-3, on the layer's inputs, sums over units and
// positions) are for its normalisation; lrid's are measured for its own.
#include "lrid/config/job.hpp"  // RuleSettings, and the registry (config/rules.hpp)

LRID_RULE(ia) {
  using namespace lrid::config;
  using lrid::config::Regulariser;
  RuleDef r;
  r.name = "ia";
  r.aliases = {"information_alignment", "infoalign"};
  r.title = "Information alignment";
  r.reference = "Kunin et al. 2020 (Neural-Alignment: Information)";
  r.paper = true;
  r.order = 40;
  r.feedback = FeedbackKind::Learned;
  r.policy = Policy::Shared;
  r.defaults = [](RuleSettings& s) {
    Regulariser& g = s.feedback.regulariser;
    g.amp = 8e-3;
    g.null = 1e-3;
    g.decay = 1e-3;
    // B's own rate (Neural-Alignment's alignment_learning_rate): at 1.0 B aligns with W within a
    // few hundred steps (W-B angle ~20 deg on KNet4 and the MLP after 1000); at 0.01 it hardly
    // leaves its random start (~80 deg) and IA trains like FA (docs/science.md).
    s.feedback.learning_rate = 1.0;
  };
  r.keys = {rule_keys::coefficient("ia.alpha", &Regulariser::amp, "weight of P_amp", "0.02"),
            rule_keys::coefficient("ia.beta", &Regulariser::null, "weight of P_null", "0.002"),
            rule_keys::coefficient("ia.gamma", &Regulariser::decay, "weight of P_decay", "0.002"),
            rule_keys::flag("ia.per_position", &Regulariser::per_position,
                            "divide P_amp, P_null by a conv layer's output positions", "false"),
            rule_keys::flag("ia.normalize_output", &Regulariser::normalize_output,
                            "divide P_amp, P_null by the mean of f^2", "false"),
            rule_keys::batch_fraction("ia.batch_fraction"),
            rule_keys::inputs("ia.inputs"),
            rule_keys::noise_std("ia.noise_std"),
            rule_keys::feedback_learning_rate()};
  r.hash = {{"ia",
             {"ia.alpha", "ia.beta", "ia.gamma", "ia.per_position", "ia.normalize_output", "ia.batch_fraction",
              "ia.inputs", "ia.noise_std"}},
            {"fblr", {"feedback_learning_rate"}}};
  // IA's step time over SGDM's, as measured (README: KNet4 1.46, ResNet-18 1.64 for R on the
  // layer's inputs; noise inputs add one conv-sized product per layer).
  r.cost_factor = 1.7;
  r.color = "tab:red";
  return r;
}
