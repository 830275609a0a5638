#pragma once
// Linear SVM over liblinear (L2-regularised, squared-hinge (L2) loss, one-vs-rest), optionally
// after PCA fitted on the training data. No torch in this header (PCA's eigen-decomposition is
// computed with torch::linalg::eigh in src/analyze/svm_torch.cpp).
//
// Definition:
//  - liblinear solver L2R_L2LOSS_SVC ("primal", trust-region Newton; default) or
//    L2R_L2LOSS_SVC_DUAL ("dual", coordinate descent, the solver scikit-learn's LinearSVC uses),
//    cost C, one-vs-rest for more than two classes (liblinear's own scheme), stopping tolerance
//    eps (0: liblinear's default, 0.01 primal / 0.1 dual), intercept through liblinear's bias
//    feature (bias 1, as scikit-learn's intercept_scaling=1; < 0: none).
//  - Determinism: the primal solver uses no randomness. The dual solver shuffles with the C
//    library's rand(); fit() calls srand(seed) under a process-wide lock just before training,
//    so it is deterministic as long as nothing else in the process calls rand() concurrently.
//  - decision_function gives the one-vs-rest decision value w_c . x + b_c per class (classes
//    absent from the training labels get -inf; with two classes, +v / -v for the two).
//  - PCA (pca_components = k > 0): centre with the training mean, project on the k
//    eigenvectors of the training covariance (1/(n-1) X^T X) with the largest eigenvalues,
//    each eigenvector's sign fixed so that its largest-magnitude entry is positive;
//    k is capped at min(n, d).
#include <cstdint>
#include <string>
#include <vector>

namespace lrid::analyze {

/// Principal component projection fitted on training data.
class Pca {
 public:
  /// X: n x d row-major. k in [1, min(n, d)] after capping (k > min(n, d) is capped).
  void fit(const double* X, size_t n, size_t d, int k);
  /// n x components() row-major.
  std::vector<double> transform(const double* X, size_t n) const;
  int components() const { return k_; }
  size_t n_features() const { return d_; }
  const std::vector<double>& mean() const { return mean_; }
  /// components() x d row-major, unit vectors, by decreasing eigenvalue.
  const std::vector<double>& axes() const { return axes_; }
  /// The eigenvalues (variances along the axes), decreasing.
  const std::vector<double>& explained_variance() const { return variance_; }

 private:
  int k_ = 0;
  size_t d_ = 0;
  std::vector<double> mean_, axes_, variance_;
};

struct SvmParams {
  double C = 1.0;
  int pca_components = 0;        ///< 0: no PCA
  std::string solver = "primal"; ///< "primal" or "dual"
  double eps = 0;                ///< 0: liblinear's default for the solver
  double bias = 1.0;             ///< < 0: no intercept
  uint64_t seed = 0;             ///< dual solver's shuffling
};

class LinearSvm {
 public:
  explicit LinearSvm(SvmParams params = {});
  /// X: n x d row-major, y in [0, n_classes). Bad parameters or labels: BadInput.
  void fit(const double* X, const int32_t* y, size_t n, size_t d, int n_classes);
  /// n x n_classes decision values.
  std::vector<double> decision_function(const double* X, size_t n) const;
  std::vector<int32_t> predict(const double* X, size_t n) const;

  bool fitted() const { return !w_.empty(); }
  const SvmParams& params() const { return params_; }
  int n_classes() const { return n_classes_; }
  /// n_classes x (dimension + 1) weights, the last column the intercept (input space after PCA).
  const std::vector<double>& weights() const { return w_; }

 private:
  SvmParams params_;
  int n_classes_ = 0;
  size_t d_ = 0, dim_ = 0;  // input features, features after PCA
  Pca pca_;
  std::vector<double> w_;
};

}  // namespace lrid::analyze
