// PCA's eigen-decomposition (the rest of the linear SVM is in svm.cpp, torch-free).
#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "lrid/analyze/svm.hpp"
#include "lrid/error.hpp"

namespace lrid::analyze {

void Pca::fit(const double* X, size_t n, size_t d, int k) {
  if (k < 1) throw BadInput("pca: components must be >= 1, got " + std::to_string(k));
  if (n == 0 || d == 0) throw BadInput("pca: no samples or no features");
  k_ = static_cast<int>(std::min<size_t>(static_cast<size_t>(k), std::min(n, d)));
  d_ = d;
  mean_.assign(d, 0.0);
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < d; ++j) mean_[j] += X[i * d + j];
  for (auto& m : mean_) m /= static_cast<double>(n);
  torch::NoGradGuard no_grad;
  auto opts = torch::TensorOptions().dtype(torch::kFloat64);
  torch::Tensor A = torch::empty({static_cast<int64_t>(n), static_cast<int64_t>(d)}, opts);
  double* a = A.data_ptr<double>();
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < d; ++j) a[i * d + j] = X[i * d + j] - mean_[j];
  const double denom = n > 1 ? static_cast<double>(n - 1) : 1.0;
  torch::Tensor cov = torch::matmul(A.t(), A) / denom;
  cov = (cov + cov.t()) * 0.5;  // exactly symmetric
  auto [values, vectors] = torch::linalg::eigh(cov, "L");  // ascending eigenvalues
  values = values.contiguous();
  vectors = vectors.t().contiguous();  // rows = eigenvectors
  const double* ev = values.data_ptr<double>();
  const double* vv = vectors.data_ptr<double>();
  axes_.assign(static_cast<size_t>(k_) * d, 0.0);
  variance_.assign(static_cast<size_t>(k_), 0.0);
  for (int c = 0; c < k_; ++c) {
    const size_t src = d - 1 - static_cast<size_t>(c);
    variance_[static_cast<size_t>(c)] = std::max(0.0, ev[src]);
    const double* v = vv + src * d;
    size_t arg = 0;
    for (size_t j = 1; j < d; ++j)
      if (std::fabs(v[j]) > std::fabs(v[arg])) arg = j;
    const double sign = v[arg] < 0 ? -1.0 : 1.0;
    for (size_t j = 0; j < d; ++j) axes_[static_cast<size_t>(c) * d + j] = sign * v[j];
  }
}

}  // namespace lrid::analyze
