#pragma once
// Synthetic data sets shared by the classifier unit tests (forest, SVM, Conv1D): a sample
// matrix with its labels, Gaussian clusters, XOR, and the accuracy of a prediction.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "lrid/rng.hpp"

namespace lrid::testdata {

struct Set {
  size_t n = 0, d = 0;
  std::vector<double> X;  // n x d, row-major
  std::vector<int32_t> y;
};

// Gaussian clusters: class c (sample i has class i % C) has mean `sep` on its informative
// feature c (the first C features); the other features are noise N(0, 1).
inline Set clusters(size_t n, size_t d, int C, double sep, uint64_t seed) {
  Set s{n, d, {}, {}};
  for (size_t i = 0; i < n; ++i) {
    const int c = static_cast<int>(i % static_cast<size_t>(C));
    s.y.push_back(c);
    for (size_t j = 0; j < d; ++j)
      s.X.push_back(rng::counter_normal(seed, i * d + j) + (static_cast<int>(j) == c ? sep : 0.0));
  }
  return s;
}

// XOR of the signs of features 0 and 1 (uniform in [-1, 1]); the others are noise.
inline Set xor_set(size_t n, size_t d, uint64_t seed) {
  Set s{n, d, {}, {}};
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < d; ++j) s.X.push_back(2.0 * rng::counter_uniform(seed, i * d + j) - 1.0);
    s.y.push_back((s.X[i * d] > 0) != (s.X[i * d + 1] > 0));
  }
  return s;
}

// The share of predictions equal to the labels y[0, pred.size()).
inline double accuracy(const std::vector<int32_t>& pred, const int32_t* y) {
  size_t ok = 0;
  for (size_t i = 0; i < pred.size(); ++i) ok += pred[i] == y[i];
  return static_cast<double>(ok) / static_cast<double>(pred.size());
}
inline double accuracy(const std::vector<int32_t>& pred, const std::vector<int32_t>& y) {
  return accuracy(pred, y.data());
}

}  // namespace lrid::testdata
