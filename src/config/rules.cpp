// The learning-rule registry (include/lrid/config/rules.hpp): the rule files the build found,
// checked once and kept in canonical order.
#include "lrid/config/rules.hpp"

#include <algorithm>
#include <cctype>
#include <set>
#include <sstream>
#include <stdexcept>

#include "lrid/config/job.hpp"
#include "lrid/error.hpp"
#include "lrid/util/text.hpp"

// Every src/config/rules/<name>.cpp, as CMake's glob found them: LRID_RULE_FILE(<name>) lines.
#define LRID_RULE_FILE(name) ::lrid::config::RuleDef lrid_rule_##name();
#include "lrid/generated/rule_files.inc"
#undef LRID_RULE_FILE

namespace lrid::config {

const char* feedback_kind_name(FeedbackKind k) {
  switch (k) {
    case FeedbackKind::Exact: return "exact";
    case FeedbackKind::Fixed: return "fixed";
    case FeedbackKind::Learned: return "learned";
    case FeedbackKind::FromWeight: return "from_weight";
    case FeedbackKind::Tied: return "tied";
  }
  return "?";
}

const char* local_inputs_name(LocalInputs i) { return i == LocalInputs::Noise ? "noise" : "layer"; }
const char* sign_scale_name(SignScale s) { return s == SignScale::MeanAbs ? "mean_abs" : "none"; }

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// A definition the rest of lrid can rely on: fails loudly (at the first use of the registry, in
// every test) when a rule file breaks the registry's rules.
void check(const std::vector<RuleDef>& defs) {
  std::set<std::string> names;
  std::set<int> orders;
  for (const auto& r : defs) {
    auto bad = [&](const std::string& what) {
      throw std::logic_error("learning-rule registry: rule '" + r.name + "': " + what);
    };
    if (r.name.empty() || r.name != lower(r.name) ||
        r.name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") != std::string::npos)
      bad("the name must be lower-case letters, digits or '_'");
    if (r.title.empty() || r.color.empty()) bad("needs a title and a plot colour");
    if (!orders.insert(r.order).second) bad("its order " + std::to_string(r.order) + " is taken");
    if (r.optimizers.empty()) bad("needs at least one optimizer");
    if (r.cost_factor <= 0) bad("its cost factor must be > 0");
    std::vector<std::string> all = r.aliases;
    all.push_back(r.name);
    for (const auto& a : all)
      if (!names.insert(lower(a)).second) bad("the name or alias '" + a + "' is taken");
    std::set<std::string> paths;
    for (const auto& k : r.keys) {
      if (!paths.insert(k.path).second) bad("key '" + k.path + "' is declared twice");
      if (!k.set || !k.get) bad("key '" + k.path + "' needs set and get");
      if (k.sample.empty()) bad("key '" + k.path + "' needs a sample value (the run-hash test sets it)");
    }
    for (const auto& g : r.hash)
      for (const auto& k : g.keys)
        if (!paths.count(k)) bad("hash group '" + g.tag + "' names the undeclared key '" + k + "'");
  }
}

}  // namespace

const std::vector<RuleDef>& rule_defs() {
  static const std::vector<RuleDef> defs = [] {
    std::vector<RuleDef> v;
#define LRID_RULE_FILE(name) v.push_back(lrid_rule_##name());
#include "lrid/generated/rule_files.inc"
#undef LRID_RULE_FILE
    std::stable_sort(v.begin(), v.end(), [](const RuleDef& a, const RuleDef& b) { return a.order < b.order; });
    check(v);
    return v;
  }();
  return defs;
}

const std::vector<std::string>& rule_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const auto& r : rule_defs()) v.push_back(r.name);
    return v;
  }();
  return names;
}

const RuleDef* find_rule(const std::string& name) {
  const std::string n = lower(name);
  for (const auto& r : rule_defs()) {
    if (r.name == n) return &r;
    for (const auto& a : r.aliases)
      if (lower(a) == n) return &r;
  }
  return nullptr;
}

const RuleDef& rule_def(const std::string& name) {
  if (const RuleDef* r = find_rule(name)) return *r;
  throw BadInput("unknown learning rule '" + name + "'" + util::did_you_mean(name, rule_names()) +
                 "; expected one of " + util::join(rule_names()));
}

const std::vector<SharedKey>& shared_training_keys() {
  // Every key of training.defaults (and of training.<rule>), with another valid value.
  static const std::vector<SharedKey> keys = {
      {"learning_rate", "0.123"}, {"momentum", "0.5"},        {"beta1", "0.8"},
      {"beta2", "0.99"},          {"eps", "1.0e-7"},          {"weight_decay", "1.0e-4"},
      {"schedule", "step"},       {"warmup_steps", "7"},      {"step_gamma", "0.5"},
      {"step_milestones", "[0.5]"}, {"steps", "17"},          {"epochs", "2"},
      {"gradient_clip", "0.3"},   {"max_loss", "1000"},       {"divergence_factor", "3"}};
  return keys;
}

std::string format_rule_value(const RuleKey& key, const RuleKey::Value& value) {
  switch (key.type) {
    case RuleKey::Type::Bool: return value.flag ? "1" : "0";
    case RuleKey::Type::Choice: return value.text;
    default: {
      std::ostringstream s;
      s.precision(17);
      s << value.number;
      return s.str();
    }
  }
}

std::string rule_key_fingerprint(const RuleDef& rule, const RuleSettings& settings) {
  std::string out;
  for (const auto& g : rule.hash) {
    out += "|" + g.tag + "=";
    for (size_t i = 0; i < g.keys.size(); ++i) {
      const auto it = std::find_if(rule.keys.begin(), rule.keys.end(), [&](const RuleKey& k) { return k.path == g.keys[i]; });
      out += (i ? "," : "") + format_rule_value(*it, it->get(settings));
    }
  }
  return out;
}

namespace rule_keys {

using Type = RuleKey::Type;
using Value = RuleKey::Value;

RuleKey coefficient(const std::string& path, double Regulariser::*field, const std::string& doc,
                    const std::string& sample) {
  RuleKey k;
  k.path = path;
  k.type = Type::NonNegative;
  k.doc = doc;
  k.sample = sample;
  k.set = [field](RuleSettings& s, const Value& v) { s.feedback.regulariser.*field = v.number; };
  k.get = [field](const RuleSettings& s) { Value v; v.number = s.feedback.regulariser.*field; return v; };
  return k;
}

RuleKey flag(const std::string& path, bool Regulariser::*field, const std::string& doc, const std::string& sample) {
  RuleKey k;
  k.path = path;
  k.type = Type::Bool;
  k.doc = doc;
  k.sample = sample;
  k.set = [field](RuleSettings& s, const Value& v) { s.feedback.regulariser.*field = v.flag; };
  k.get = [field](const RuleSettings& s) { Value v; v.flag = s.feedback.regulariser.*field; return v; };
  return k;
}

RuleKey batch_fraction(const std::string& path) {
  RuleKey k;
  k.path = path;
  k.type = Type::Fraction;
  k.doc = "the fraction of each batch R's input terms are evaluated on";
  k.sample = "0.5";
  k.set = [](RuleSettings& s, const Value& v) { s.feedback.regulariser.batch_fraction = v.number; };
  k.get = [](const RuleSettings& s) { Value v; v.number = s.feedback.regulariser.batch_fraction; return v; };
  return k;
}

RuleKey inputs(const std::string& path) {
  RuleKey k;
  k.path = path;
  k.type = Type::Choice;
  k.choices = {"noise", "layer"};
  k.doc = "what R's input terms are evaluated on: seeded noise or the layer's own inputs";
  k.sample = "layer";
  k.set = [](RuleSettings& s, const Value& v) {
    s.feedback.regulariser.inputs = v.text == "noise" ? LocalInputs::Noise : LocalInputs::Layer;
  };
  k.get = [](const RuleSettings& s) { Value v; v.text = local_inputs_name(s.feedback.regulariser.inputs); return v; };
  return k;
}

RuleKey noise_std(const std::string& path) {
  RuleKey k;
  k.path = path;
  k.type = Type::Positive;
  k.doc = "the standard deviation of the noise inputs";
  k.sample = "0.5";
  k.set = [](RuleSettings& s, const Value& v) { s.feedback.regulariser.noise_std = v.number; };
  k.get = [](const RuleSettings& s) { Value v; v.number = s.feedback.regulariser.noise_std; return v; };
  return k;
}

RuleKey sign_scale(const std::string& path) {
  RuleKey k;
  k.path = path;
  k.type = Type::Choice;
  k.choices = {"mean_abs", "none"};
  k.doc = "B = sign(W) times mean |W| (mean_abs) or as it is (none)";
  k.sample = "none";
  k.set = [](RuleSettings& s, const Value& v) {
    s.feedback.sign_scale = v.text == "none" ? SignScale::None : SignScale::MeanAbs;
  };
  k.get = [](const RuleSettings& s) { Value v; v.text = sign_scale_name(s.feedback.sign_scale); return v; };
  return k;
}

RuleKey feedback_learning_rate() {
  RuleKey k;
  k.path = "feedback_learning_rate";
  k.type = Type::Positive;
  k.doc = "B's own learning rate (the schedule applies to it too)";
  k.sample = "0.37";
  k.set = [](RuleSettings& s, const Value& v) { s.feedback.learning_rate = v.number; };
  k.get = [](const RuleSettings& s) { Value v; v.number = s.feedback.learning_rate; return v; };
  return k;
}

}  // namespace rule_keys

}  // namespace lrid::config
