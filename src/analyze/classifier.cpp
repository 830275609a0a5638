#include "lrid/analyze/classifier.hpp"

#include "lrid/analyze/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "lrid/analyze/conv1d.hpp"
#include "lrid/analyze/forest.hpp"
#include "lrid/analyze/svm.hpp"
#include "lrid/util/text.hpp"
#include "lrid/error.hpp"

namespace lrid::analyze {

using nlohmann::json;

std::vector<int32_t> Classifier::predict(const double* X, size_t n) const {
  return argmax_rows(predict_proba(X, n), n, n_classes_);
}

std::string ClassifierSpec::to_string() const {
  std::string s = name + "{";
  bool first = true;
  for (auto it = params.begin(); it != params.end(); ++it) {  // nlohmann::json sorts keys
    if (!first) s += ",";
    first = false;
    s += it.key() + "=" + (it->is_string() ? it->get<std::string>() : it->dump());
  }
  return s + "}";
}

namespace {

// Reads typed hyperparameters out of a JSON object, rejecting unknown keys.
class ParamReader {
 public:
  ParamReader(const std::string& classifier, const json& params,
              std::vector<std::string> known)
      : who_(classifier), params_(params), known_(std::move(known)) {
    if (!params_.is_null() && !params_.is_object())
      throw BadInput(who_ + ": hyperparameters must be an object, got " + params_.dump());
    if (params_.is_object())
      for (auto it = params_.begin(); it != params_.end(); ++it)
        if (std::find(known_.begin(), known_.end(), it.key()) == known_.end())
          throw BadInput(who_ + ": unknown hyperparameter '" + it.key() + "'" +
                         util::did_you_mean(it.key(), known_) + "; known: " +
                         util::join(known_));
  }
  bool has(const std::string& key) const { return params_.is_object() && params_.contains(key); }
  const json& at(const std::string& key) const { return params_.at(key); }

  int64_t integer(const std::string& key, int64_t fallback, int64_t lo, int64_t hi) const {
    if (!has(key)) return fallback;
    const json& v = at(key);
    int64_t r = 0;
    if (v.is_number_integer()) {
      r = v.get<int64_t>();
    } else if (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>() &&
               std::fabs(v.get<double>()) < 9e15) {
      r = static_cast<int64_t>(v.get<double>());
    } else {
      fail(key, "an integer", v);
    }
    if (r < lo || r > hi)
      fail(key, "an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]", v);
    return r;
  }
  uint64_t seed(const std::string& key) const {
    if (!has(key)) return 0;
    const json& v = at(key);
    if (v.is_number_unsigned()) return v.get<uint64_t>();
    if (v.is_number_integer() && v.get<int64_t>() >= 0) return static_cast<uint64_t>(v.get<int64_t>());
    fail(key, "a non-negative integer", v);
  }
  double number(const std::string& key, double fallback) const {
    if (!has(key)) return fallback;
    const json& v = at(key);
    if (!v.is_number()) fail(key, "a number", v);
    return v.get<double>();
  }
  bool boolean(const std::string& key, bool fallback) const {
    if (!has(key)) return fallback;
    const json& v = at(key);
    if (!v.is_boolean()) fail(key, "true or false", v);
    return v.get<bool>();
  }
  std::string text(const std::string& key, const std::string& fallback) const {
    if (!has(key)) return fallback;
    const json& v = at(key);
    if (!v.is_string()) fail(key, "a string", v);
    return v.get<std::string>();
  }
  [[noreturn]] void fail(const std::string& key, const std::string& expected, const json& got) const {
    throw BadInput(who_ + ": hyperparameter '" + key + "' must be " + expected + ", got " +
                   got.dump());
  }

 private:
  std::string who_;
  const json& params_;
  std::vector<std::string> known_;
};

constexpr int64_t kIntMax = std::numeric_limits<int>::max();

ForestParams forest_params(const json& params) {
  ParamReader r("random_forest", params,
                {"n_estimators", "max_features", "max_depth", "min_samples_leaf", "bootstrap",
                 "seed", "threads"});
  ForestParams p;
  p.n_estimators = static_cast<int>(r.integer("n_estimators", p.n_estimators, 1, kIntMax));
  if (r.has("max_features")) {
    const json& v = r.at("max_features");
    if (v.is_string()) {
      p.max_features = MaxFeatures::parse(v.get<std::string>(), "random_forest: max_features");
    } else if (v.is_null()) {
      p.max_features.kind = MaxFeatures::Kind::kAll;
    } else if (v.is_number_integer()) {
      const int64_t k = v.get<int64_t>();
      if (k < 1 || k > kIntMax) r.fail("max_features", "a count >= 1", v);
      p.max_features = MaxFeatures::count(static_cast<int>(k));
    } else if (v.is_number_float()) {
      const double f = v.get<double>();
      if (!(f > 0 && f <= 1)) r.fail("max_features", "a fraction in (0, 1]", v);
      p.max_features = MaxFeatures::fraction(f);
    } else {
      r.fail("max_features", "sqrt, log2, all, a count or a fraction", v);
    }
  }
  p.max_depth = static_cast<int>(r.integer("max_depth", 0, 0, kIntMax));
  p.min_samples_leaf = static_cast<int>(r.integer("min_samples_leaf", 1, 1, kIntMax));
  p.bootstrap = r.boolean("bootstrap", true);
  p.seed = r.seed("seed");
  p.threads = static_cast<int>(r.integer("threads", 1, 0, 4096));
  return p;
}

SvmParams svm_params(const json& params) {
  ParamReader r("linear_svm", params, {"C", "pca_components", "solver", "eps", "bias", "seed"});
  SvmParams p;
  p.C = r.number("C", p.C);
  if (!(p.C > 0) || !std::isfinite(p.C)) r.fail("C", "a positive number", r.at("C"));
  p.pca_components = static_cast<int>(r.integer("pca_components", 0, 0, kIntMax));
  p.solver = r.text("solver", p.solver);
  if (p.solver != "primal" && p.solver != "dual")
    throw BadInput("linear_svm: solver must be primal or dual, got '" + p.solver + "'" +
                   util::did_you_mean(p.solver, {"primal", "dual"}));
  p.eps = r.number("eps", 0);
  if (p.eps < 0) r.fail("eps", "a number >= 0", r.at("eps"));
  p.bias = r.number("bias", 1.0);
  p.seed = r.seed("seed");
  return p;
}

Conv1dParams conv1d_params(const json& params) {
  ParamReader r("conv1d", params,
                {"points", "extra_features", "kernel_fraction", "kernel_size", "stride", "filters",
                 "pooling", "epochs", "batch_size", "lr", "weight_decay", "seed"});
  Conv1dParams p;
  p.points = static_cast<int>(r.integer("points", p.points, 1, kIntMax));
  p.extra_features = static_cast<int>(r.integer("extra_features", p.extra_features, 0, kIntMax));
  p.kernel_fraction = r.number("kernel_fraction", p.kernel_fraction);
  if (!(p.kernel_fraction > 0 && p.kernel_fraction <= 1))
    r.fail("kernel_fraction", "a number in (0, 1]", r.at("kernel_fraction"));
  p.kernel_size = static_cast<int>(r.integer("kernel_size", 0, 0, kIntMax));
  p.stride = static_cast<int>(r.integer("stride", p.stride, 1, kIntMax));
  p.filters = static_cast<int>(r.integer("filters", p.filters, 1, kIntMax));
  p.pooling = r.text("pooling", p.pooling);
  if (p.pooling != "none" && p.pooling != "max" && p.pooling != "avg")
    throw BadInput("conv1d: pooling must be none, max or avg, got '" + p.pooling + "'" +
                   util::did_you_mean(p.pooling, {"none", "max", "avg"}));
  p.epochs = static_cast<int>(r.integer("epochs", p.epochs, 0, kIntMax));
  p.batch_size = static_cast<int>(r.integer("batch_size", p.batch_size, 1, kIntMax));
  p.lr = r.number("lr", p.lr);
  if (!(p.lr > 0)) r.fail("lr", "a number > 0", r.at("lr"));
  p.weight_decay = r.number("weight_decay", 0);
  if (p.weight_decay < 0) r.fail("weight_decay", "a number >= 0", r.at("weight_decay"));
  p.seed = r.seed("seed");
  return p;
}

// A Classifier around a model with fit(X, y, n, d, n_classes): fit records the sizes; each
// subclass says how it predicts and describes its parameters.
template <class Model>
class ModelClassifier : public Classifier {
 public:
  template <class Params>
  explicit ModelClassifier(const Params& p) : model_(p) {}
  void fit(const double* X, const int32_t* y, size_t n, size_t d, int n_classes) override {
    model_.fit(X, y, n, d, n_classes);
    n_classes_ = n_classes;
    n_features_ = d;
  }

 protected:
  Model model_;
};

class ForestClassifier : public ModelClassifier<RandomForest> {
 public:
  using ModelClassifier::ModelClassifier;
  std::vector<double> predict_proba(const double* X, size_t n) const override {
    return model_.predict_proba(X, n);
  }
  std::string name() const override { return "random_forest"; }
  json params() const override {
    const ForestParams& p = model_.params();
    json j = {{"n_estimators", p.n_estimators}, {"max_depth", p.max_depth},
              {"min_samples_leaf", p.min_samples_leaf}, {"bootstrap", p.bootstrap},
              {"seed", p.seed}, {"threads", p.threads}};
    if (p.max_features.kind == MaxFeatures::Kind::kCount)
      j["max_features"] = static_cast<int64_t>(p.max_features.value);
    else if (p.max_features.kind == MaxFeatures::Kind::kFraction)
      j["max_features"] = p.max_features.value;
    else
      j["max_features"] = p.max_features.to_string();
    return j;
  }
  std::vector<double> feature_importances() const override {
    return model_.feature_importances();
  }
  const RandomForest& forest() const { return model_; }
};

std::vector<double> softmax_rows(const std::vector<double>& v, size_t n, size_t C) {
  std::vector<double> out(v.size());
  for (size_t i = 0; i < n; ++i) {
    const double* r = &v[i * C];
    double mx = -std::numeric_limits<double>::infinity();
    for (size_t c = 0; c < C; ++c) mx = std::max(mx, r[c]);
    double s = 0;
    for (size_t c = 0; c < C; ++c) s += out[i * C + c] = std::isinf(r[c]) && r[c] < 0 ? 0.0 : std::exp(r[c] - mx);
    for (size_t c = 0; c < C; ++c) out[i * C + c] /= s;
  }
  return out;
}

class SvmClassifier : public ModelClassifier<LinearSvm> {
 public:
  using ModelClassifier::ModelClassifier;
  std::vector<double> predict_proba(const double* X, size_t n) const override {
    return softmax_rows(model_.decision_function(X, n), n, static_cast<size_t>(n_classes_));
  }
  std::vector<int32_t> predict(const double* X, size_t n) const override {
    return model_.predict(X, n);
  }
  std::string name() const override { return "linear_svm"; }
  json params() const override {
    const SvmParams& p = model_.params();
    return {{"C", p.C},     {"pca_components", p.pca_components}, {"solver", p.solver},
            {"eps", p.eps}, {"bias", p.bias},                     {"seed", p.seed}};
  }
};

class Conv1dWrapper : public ModelClassifier<Conv1dClassifier> {
 public:
  using ModelClassifier::ModelClassifier;
  std::vector<double> predict_proba(const double* X, size_t n) const override {
    return model_.predict_proba(X, n);
  }
  std::string name() const override { return "conv1d"; }
  json params() const override {
    const Conv1dParams& p = model_.params();
    return {{"points", p.points},   {"extra_features", p.extra_features},
            {"kernel_fraction", p.kernel_fraction}, {"kernel_size", p.kernel_size},
            {"stride", p.stride},   {"filters", p.filters},
            {"pooling", p.pooling}, {"epochs", p.epochs},
            {"batch_size", p.batch_size}, {"lr", p.lr},
            {"weight_decay", p.weight_decay}, {"seed", p.seed}};
  }
};

}  // namespace

const std::vector<std::string>& classifier_names() {
  static const std::vector<std::string> names = {"random_forest", "linear_svm", "conv1d"};
  return names;
}

std::unique_ptr<Classifier> make_classifier(const std::string& name, const json& params) {
  if (name == "random_forest") return std::make_unique<ForestClassifier>(forest_params(params));
  if (name == "linear_svm") return std::make_unique<SvmClassifier>(svm_params(params));
  if (name == "conv1d") return std::make_unique<Conv1dWrapper>(conv1d_params(params));
  throw BadInput("unknown classifier '" + name + "'" +
                 util::did_you_mean(name, classifier_names()) +
                 "; known: " + util::join(classifier_names()));
}

ForestParams parse_forest_params(const json& params) { return forest_params(params); }

const RandomForest* as_forest(const Classifier& c) {
  const auto* f = dynamic_cast<const ForestClassifier*>(&c);
  return f ? &f->forest() : nullptr;
}

}  // namespace lrid::analyze
