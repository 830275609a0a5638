#pragma once
// The common interface of the paper's classifiers and the factory that makes one from a name
// and hyperparameters (no torch here; the Conv1D model lives in a _torch.cpp file).
//
// Names and hyperparameters (JSON object; unknown keys and bad values: lrid::BadInput):
//   random_forest  n_estimators (100), max_features ("sqrt" | "log2" | "all" | count | fraction),
//                  max_depth (0 = unlimited), min_samples_leaf (1), bootstrap (true), seed (0),
//                  threads (1; does not change the model)            -> forest.hpp
//   linear_svm     C (1), pca_components (0 = no PCA), solver ("primal" | "dual"), eps (0: the
//                  solver's default), bias (1; < 0: no intercept), seed (0; dual solver only)
//                                                                      -> svm.hpp
//   conv1d         points (21), extra_features (3), kernel_fraction (0.25) or kernel_size,
//                  stride (1), filters (20), pooling ("none" | "max" | "avg"), epochs (100),
//                  batch_size (32), lr (1e-3), weight_decay (0), seed (0) -> conv1d.hpp
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace lrid::analyze {

class Classifier {
 public:
  virtual ~Classifier() = default;
  /// X: n x d row-major; y: labels in [0, n_classes). May be called again (refits from scratch).
  virtual void fit(const double* X, const int32_t* y, size_t n, size_t d, int n_classes) = 0;
  /// n x n_classes row-major. The forest: averaged leaf frequencies; the Conv1D model: softmax
  /// of its logits; the linear SVM: softmax of the one-vs-rest decision values (a monotone
  /// score, not a calibrated probability).
  virtual std::vector<double> predict_proba(const double* X, size_t n) const = 0;
  /// The class with the highest predict_proba score (the lowest index on ties).
  virtual std::vector<int32_t> predict(const double* X, size_t n) const;
  virtual std::string name() const = 0;
  /// Every hyperparameter, defaults filled in.
  virtual nlohmann::json params() const = 0;
  /// Features' importances when the model has them (the forest), else empty.
  virtual std::vector<double> feature_importances() const { return {}; }
  int n_classes() const { return n_classes_; }
  size_t n_features() const { return n_features_; }

 protected:
  int n_classes_ = 0;
  size_t n_features_ = 0;
};

/// A classifier name with its hyperparameters, e.g. {"random_forest", {{"n_estimators", 100}}}.
struct ClassifierSpec {
  std::string name;
  nlohmann::json params = nlohmann::json::object();
  /// "random_forest{max_features=sqrt,n_estimators=100}" (keys sorted).
  std::string to_string() const;
};

/// A registered classifier (analyze/classifiers.hpp; config::classifier_names() lists them).
/// Unknown name or hyperparameter (with did-you-mean), or a bad value: lrid::BadInput.
std::unique_ptr<Classifier> make_classifier(const std::string& name,
                                            const nlohmann::json& params = nlohmann::json::object());
inline std::unique_ptr<Classifier> make_classifier(const ClassifierSpec& spec) {
  return make_classifier(spec.name, spec.params);
}

class RandomForest;
struct ForestParams;
/// A random_forest's hyperparameters (the names above) as ForestParams; BadInput as the factory.
ForestParams parse_forest_params(const nlohmann::json& params);
/// The forest inside a random_forest classifier (to save it, or to score a prefix of its
/// trees), else nullptr.
const RandomForest* as_forest(const Classifier& c);

/// argmax_rows (the argmax per row of an n x C score matrix): analyze/metrics.hpp.

}  // namespace lrid::analyze
