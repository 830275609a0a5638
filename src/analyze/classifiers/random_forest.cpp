// The random forest (analyze/forest.hpp): the paper's main classifier; grid max_features x
// n_estimators (the paper's {sqrt, log2, all} x {20, 50, 100, 500, 1000}).
#include "../classifier_params.hpp"
#include "lrid/analyze/classifiers.hpp"
#include "lrid/analyze/forest.hpp"

namespace lrid::analyze {

namespace {

using detail::json;
using detail::kIntMax;
using detail::ParamReader;

ForestParams forest_params(const json& params) {
  ParamReader r("random_forest", params,
                {"n_estimators", "max_features", "max_depth", "min_samples_leaf", "bootstrap", "seed", "threads"});
  ForestParams p;
  // At most 100000 trees: beyond any useful forest, and a typo there would exhaust memory.
  p.n_estimators = static_cast<int>(r.integer("n_estimators", p.n_estimators, 1, 100000));
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

class ForestClassifier : public detail::ModelClassifier<RandomForest> {
 public:
  using ModelClassifier::ModelClassifier;
  std::vector<double> predict_proba(const double* X, size_t n) const override { return model_.predict_proba(X, n); }
  std::string name() const override { return "random_forest"; }
  json params() const override {
    const ForestParams& p = model_.params();
    json j = {{"n_estimators", p.n_estimators}, {"max_depth", p.max_depth}, {"min_samples_leaf", p.min_samples_leaf},
              {"bootstrap", p.bootstrap},       {"seed", p.seed},           {"threads", p.threads}};
    if (p.max_features.kind == MaxFeatures::Kind::kCount)
      j["max_features"] = static_cast<int64_t>(p.max_features.value);
    else if (p.max_features.kind == MaxFeatures::Kind::kFraction)
      j["max_features"] = p.max_features.value;
    else
      j["max_features"] = p.max_features.to_string();
    return j;
  }
  std::vector<double> feature_importances() const override { return model_.feature_importances(); }
  const RandomForest& forest() const { return model_; }
};

}  // namespace

ForestParams parse_forest_params(const json& params) { return forest_params(params); }

const RandomForest* as_forest(const Classifier& c) {
  const auto* f = dynamic_cast<const ForestClassifier*>(&c);
  return f ? &f->forest() : nullptr;
}

}  // namespace lrid::analyze

LRID_CLASSIFIER(random_forest) {
  using lrid::config::GridKey;
  lrid::analyze::ClassifierDef d;
  d.table.name = "random_forest";
  d.table.title = "random forest";
  d.table.grid = {
      {"max_features", GridKey::Type::Strings, {}, {}, {"sqrt", "log2", "all"},
       "features tried per split: sqrt, log2, all, a count or a fraction"},
      {"n_estimators", GridKey::Type::PositiveIntegers, {}, {20, 50, 100, 500, 1000}, {}, "trees"}};
  d.order = 10;
  d.make = [](const nlohmann::json& p) -> std::unique_ptr<lrid::analyze::Classifier> {
    return std::make_unique<lrid::analyze::ForestClassifier>(lrid::analyze::forest_params(p));
  };
  return d;
}
