#pragma once
// The learning-rule registry (torch-free). A learning rule is one definition in one file,
// src/config/rules/<name>.cpp, which defines `RuleDef rule_<name>()`; the build finds every such
// file (CMake's glob) and lists it in the registry, so adding a rule is its file, its test and a
// row in docs/job-file.md (docs/CONVENTIONS.md, "Adding a learning rule"). Everything else reads
// rules from here: job parsing and validation (names, aliases, did-you-mean, rule-only keys and
// their defaults, the shared-policy check, the run hash), nn (what B does), train (the optimiser
// groups), the cost model, `lrid grid --json`, the report and the plots (colours, via results.h5).
//
// What a rule is made of:
//  - how its backward kernel B behaves (FeedbackKind): B is W (backprop), B fixed at its random
//    start (FA), B learned from a layer-local regulariser R (IA, WM, SA), B computed from W at
//    every step (SS: sign(W)), or B receiving W's own update (KP);
//  - R's recipe: the primitives of Kunin et al. (2020) with coefficients, and the inputs it is
//    evaluated on (seeded noise or the layer's own inputs) -- Regulariser below;
//  - the optimiser policy: the shared SGD policy of SGDM/FA/IA (one learning-rate policy for all
//    the rules that differ only in the direction of the update) or its own (Adam);
//  - its rule-only job keys, with defaults, and which of them the run hash covers;
//  - its cost factor (shard balancing, scheduling) and its plot colour.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace lrid::config {

/// How a plastic layer's backward kernel B behaves.
enum class FeedbackKind {
  Exact,       ///< B is W: backprop (native torch ops, no B tensor)
  Fixed,       ///< B drawn at initialisation like W, never changes (a buffer)
  Learned,     ///< B is a parameter moved only by the gradient of its layer-local loss R
  FromWeight,  ///< B = a function of W, recomputed at every forward (no B tensor)
  Tied,        ///< B is a parameter receiving W's own gradient, both decaying (Kolen-Pollack)
};
const char* feedback_kind_name(FeedbackKind k);  ///< "exact", "fixed", "learned", "from_weight", "tied"

/// What R's input-dependent primitives (amp, null) are evaluated on: seeded isotropic Gaussian
/// noise of the layer input's shape, drawn afresh each step (E[x x^T] = s^2 I: the minimiser of
/// IA's and WM's R aligns B with W), or the layer's own inputs (lrid/nn/plastic.hpp).
enum class LocalInputs { Noise, Layer };
const char* local_inputs_name(LocalInputs i);  ///< "noise" / "layer"

/// A layer-local regulariser of B, built from Kunin et al.'s primitives (x the layer's input or
/// noise, f = W x without bias, b = B-projection of x, r = B^T-projection of f; N inputs):
///   R = amp * P_amp + null * P_null + decay * P_decay + self * P_self
///   P_amp   = -(1/N) sum_{n, output units} b * f / D
///   P_null  =  (1/N) sum_{n, input units} r^2 / D
///   P_decay = ||W||^2 + ||B||^2
///   P_self  = -sum(W * B)  (= -tr(B^T W))
/// x and W are constants of R: only B moves (dR/dB is delivered by the layer's backward). D is 1
/// or the product of the layer's output positions (per_position) and the mean of f^2
/// (normalize_output); both are explained in lrid/nn/plastic.hpp. For a Tied rule only `decay`
/// is used, and on both W and B.
struct Regulariser {
  double amp = 0, null = 0, decay = 0, self = 0;
  bool per_position = true;       ///< divide P_amp, P_null by a conv layer's output positions
  bool normalize_output = true;   ///< divide P_amp, P_null by the mean of f^2
  double batch_fraction = 1.0;    ///< in (0, 1]: P_amp, P_null on ceil(this * N) inputs of N
  LocalInputs inputs = LocalInputs::Noise;
  double noise_std = 1.0;         ///< standard deviation of the noise inputs
  /// Whether R depends on the layer's inputs (amp or null), i.e. needs f = W x.
  bool uses_inputs() const { return amp != 0 || null != 0; }
};

/// B = sign(W) times this per-layer scale (FromWeight rules).
enum class SignScale {
  MeanAbs,  ///< mean |W|: the scaled sign pattern closest to W in L2 (backward gain of W's)
  None,     ///< sign(W) as it is (entries +-1)
};
const char* sign_scale_name(SignScale s);  ///< "mean_abs" / "none"

/// Everything nn needs to know about a rule's B (resolved from its definition and job keys).
struct FeedbackSpec {
  FeedbackKind kind = FeedbackKind::Exact;
  Regulariser regulariser;                ///< Learned: R; Tied: its decay
  SignScale sign_scale = SignScale::MeanAbs;  ///< FromWeight
  double learning_rate = 0;               ///< Learned: B's own rate (0: the rule's learning_rate)
  /// B has a tensor of its own (Fixed: a buffer; Learned, Tied: a parameter).
  bool has_tensor() const { return kind == FeedbackKind::Fixed || kind == FeedbackKind::Learned || kind == FeedbackKind::Tied; }
  /// B is a parameter the optimiser updates.
  bool trainable() const { return kind == FeedbackKind::Learned || kind == FeedbackKind::Tied; }
};

struct RuleSettings;  // lrid/config/job.hpp

/// A rule-only job key (below training.<rule>), e.g. "ia.alpha" or "feedback_learning_rate".
struct RuleKey {
  enum class Type { Real, NonNegative, Positive, Fraction, Bool, Choice };
  /// A parsed value: `number` for the numeric types, `flag` for Bool, `text` for Choice.
  struct Value {
    double number = 0;
    bool flag = false;
    std::string text;
  };
  std::string path;                  ///< dotted, below training.<rule>
  Type type = Type::Real;
  std::vector<std::string> choices;  ///< Choice
  std::string doc;                   ///< one line for docs and messages
  /// A valid value other than the default (YAML text): tests set it to check that the run hash
  /// covers the key.
  std::string sample;
  std::function<void(RuleSettings&, const Value&)> set;
  std::function<Value(const RuleSettings&)> get;
};

/// A group of keys written into the run's fingerprint as "|tag=v1,v2,...".
struct HashGroup {
  std::string tag;
  std::vector<std::string> keys;  ///< RuleKey paths
};

enum class Policy {
  Shared,  ///< the shared SGD policy of the rules that differ only in direction (SGDM, FA, IA, ...)
  Own,     ///< its own learning-rate policy (Adam)
};

struct RuleDef {
  std::string name;                   ///< canonical, lower case: what campaigns and results store
  std::vector<std::string> aliases;   ///< also accepted in job files (any case)
  std::string title;                  ///< "Kolen-Pollack"
  std::string reference;              ///< where the rule and its defaults come from
  int order = 0;                      ///< canonical order (registry, tables, plots)
  FeedbackKind feedback = FeedbackKind::Exact;
  Policy policy = Policy::Shared;
  std::vector<std::string> optimizers{"sgd", "adam"};  ///< the optimizers it may use
  /// Sets the rule's defaults on top of the shared ones (optimizer, rates, B's settings).
  std::function<void(RuleSettings&)> defaults;
  std::vector<RuleKey> keys;          ///< rule-only keys
  std::vector<HashGroup> hash;        ///< the fingerprint of its keys, after the shared ones
  /// One of the four rules of Nayebi et al. (2020), whose findings the report judges (finding 3
  /// compares their pairs).
  bool paper = false;
  double cost_factor = 1.0;           ///< step time over SGDM's (config::run_cost)
  std::string color;                  ///< matplotlib colour of its curves and bars
};

/// Every rule, in canonical order (the registry is checked once: unique names and aliases, every
/// hashed key declared). Order: sgdm, adam, fa, ia, then the alignment family.
const std::vector<RuleDef>& rule_defs();
/// The canonical names, in canonical order.
const std::vector<std::string>& rule_names();
/// A rule by canonical name or alias (any case); nullptr when unknown.
const RuleDef* find_rule(const std::string& name);
/// The same; unknown: lrid::BadInput "learning rule 'X': expected one of ... (did you mean ...)".
const RuleDef& rule_def(const std::string& name);

/// The shared training keys (below training.defaults and training.<rule>), with a sample value
/// each (RuleKey::sample): what every rule's run hash must cover besides its own keys.
struct SharedKey {
  std::string path, sample;
};
const std::vector<SharedKey>& shared_training_keys();

/// The fingerprint of a rule's own keys ("|tag=v1,v2|tag2=..."), as the run hash takes it.
std::string rule_key_fingerprint(const RuleDef& rule, const RuleSettings& settings);
/// A key's value as text: numbers with 17 significant digits, booleans 1/0, choices as they are.
std::string format_rule_value(const RuleKey& key, const RuleKey::Value& value);

/// Builders of the usual rule-only keys, for rule files. `path` is below training.<rule>.
namespace rule_keys {
/// A coefficient of R (>= 0): amp, null, decay or self.
RuleKey coefficient(const std::string& path, double Regulariser::*field, const std::string& doc,
                    const std::string& sample);
/// A switch of R: per_position or normalize_output (sample: the YAML of the other value).
RuleKey flag(const std::string& path, bool Regulariser::*field, const std::string& doc, const std::string& sample);
RuleKey batch_fraction(const std::string& path);  ///< Regulariser::batch_fraction, in (0, 1]
RuleKey inputs(const std::string& path);          ///< Regulariser::inputs, noise | layer
RuleKey noise_std(const std::string& path);       ///< Regulariser::noise_std, > 0
RuleKey sign_scale(const std::string& path);      ///< FeedbackSpec::sign_scale, mean_abs | none
/// "feedback_learning_rate": B's own rate (FeedbackSpec::learning_rate; its default 0 follows
/// the rule's learning_rate).
RuleKey feedback_learning_rate();
}  // namespace rule_keys

}  // namespace lrid::config

/// Defines the rule of a file src/config/rules/<name>.cpp: `LRID_RULE(ss) { RuleDef r; ...; return r; }`.
#define LRID_RULE(name) ::lrid::config::RuleDef lrid_rule_##name()
