// Feedback alignment: B drawn at initialisation like W and never changed.
#include "lrid/config/job.hpp"  // RuleSettings, and the registry (config/rules.hpp)

LRID_RULE(fa) {
  lrid::config::RuleDef r;
  r.name = "fa";
  r.aliases = {"feedback_alignment", "fixed"};
  r.title = "Feedback alignment";
  r.reference = "Lillicrap et al. 2016; Nayebi et al. 2020";
  r.paper = true;
  r.order = 30;
  r.feedback = lrid::config::FeedbackKind::Fixed;
  r.policy = lrid::config::Policy::Shared;
  r.color = "tab:green";
  return r;
}
