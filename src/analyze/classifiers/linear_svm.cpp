// The linear SVM (analyze/svm.hpp, liblinear): the paper's linear baseline; grid C (the paper's
// {1, 50, 500, 5e3, 5e4, 5e5, 5e6}).
#include "../classifier_params.hpp"
#include "lrid/analyze/classifiers.hpp"
#include "lrid/analyze/svm.hpp"

namespace lrid::analyze {

namespace {

using detail::json;
using detail::kIntMax;
using detail::ParamReader;

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

class SvmClassifier : public detail::ModelClassifier<LinearSvm> {
 public:
  using ModelClassifier::ModelClassifier;
  std::vector<double> predict_proba(const double* X, size_t n) const override {
    return detail::softmax_rows(model_.decision_function(X, n), n, static_cast<size_t>(n_classes_));
  }
  std::vector<int32_t> predict(const double* X, size_t n) const override { return model_.predict(X, n); }
  std::string name() const override { return "linear_svm"; }
  json params() const override {
    const SvmParams& p = model_.params();
    return {{"C", p.C},     {"pca_components", p.pca_components}, {"solver", p.solver},
            {"eps", p.eps}, {"bias", p.bias},                     {"seed", p.seed}};
  }
};

}  // namespace

}  // namespace lrid::analyze

LRID_CLASSIFIER(linear_svm) {
  using lrid::config::GridKey;
  lrid::analyze::ClassifierDef d;
  d.table.name = "linear_svm";
  d.table.title = "linear SVM";
  d.table.grid = {{"C", GridKey::Type::PositiveReals, {}, {1, 50, 500, 5e3, 5e4, 5e5, 5e6}, {}, "the SVM's C"}};
  d.order = 20;
  d.make = [](const nlohmann::json& p) -> std::unique_ptr<lrid::analyze::Classifier> {
    return std::make_unique<lrid::analyze::SvmClassifier>(lrid::analyze::svm_params(p));
  };
  return d;
}
