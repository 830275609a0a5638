#pragma once
// The paper's "Conv1D MLP": one 1-D convolution over the trajectory axis, then a linear
// read-out. The model is LibTorch (src/analyze/conv1d_torch.cpp); this header does not include
// torch.
//
// Input layout: a feature vector of d = S x T + E values, statistic-major (all T trajectory
// points of statistic 0, then statistic 1, ...) followed by E extra features (the depth one-hot).
// The S x T block is read as a [channels = S, length = T] signal.
//
// Model: Conv1d(S -> filters, kernel k, stride) -> ReLU -> pooling (none; max or avg with
// window 2 and stride 2, skipped when the conv output has length 1) -> flatten -> concatenate
// the E extra features -> Linear(-> n_classes). Softmax cross-entropy, Adam (lr, weight_decay),
// `epochs` passes over the training data in minibatches of batch_size, shuffled per epoch.
// k = kernel_size when > 0, else ceil(kernel_fraction x T) (the paper's grid: f in
// {0.003, 0.007, 0.05, 0.25, 0.5, 1}), capped to [1, T].
//
// Determinism: initial weights (PyTorch's default ranges, U(-1/sqrt(fan_in), 1/sqrt(fan_in)))
// and the minibatch order come from counter-based generators seeded with `seed`, never from
// torch's global generator, so a fit is a pure function of (data, parameters) for a given
// intra-op thread count (fits run in float32 on the CPU).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace lrid::analyze {

struct Conv1dParams {
  int points = 21;               ///< T: trajectory points per statistic
  int extra_features = 3;        ///< E: trailing features appended after the convolution
  double kernel_fraction = 0.25; ///< used when kernel_size == 0
  int kernel_size = 0;
  int stride = 1;
  int filters = 20;
  std::string pooling = "none";  ///< none | max | avg
  int epochs = 100;
  int batch_size = 32;
  double lr = 1e-3;
  double weight_decay = 0;
  uint64_t seed = 0;
};

class Conv1dClassifier {
 public:
  explicit Conv1dClassifier(Conv1dParams params = {});
  ~Conv1dClassifier();
  Conv1dClassifier(Conv1dClassifier&&) noexcept;
  Conv1dClassifier& operator=(Conv1dClassifier&&) noexcept;

  /// X: n x d row-major with d = S x points + extra_features (S >= 1), else BadInput.
  void fit(const double* X, const int32_t* y, size_t n, size_t d, int n_classes);
  /// n x n_classes softmax probabilities.
  std::vector<double> predict_proba(const double* X, size_t n) const;
  std::vector<int32_t> predict(const double* X, size_t n) const;

  const Conv1dParams& params() const { return params_; }
  /// The kernel size used (resolved from kernel_fraction when kernel_size is 0).
  int resolved_kernel_size() const;
  bool fitted() const { return impl_ != nullptr; }

 private:
  struct Impl;
  Conv1dParams params_;
  std::unique_ptr<Impl> impl_;
  int n_classes_ = 0;
  size_t d_ = 0;
};

}  // namespace lrid::analyze
