#pragma once
// Gradient averaging across the ranks of a data-parallel worker group.
#include <torch/torch.h>

#include <vector>

namespace lrid::dist {

class GradientAverager {
 public:
  virtual ~GradientAverager() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  /// Replaces each gradient by its mean over the group, in place.
  virtual void average(const std::vector<torch::Tensor>& grads) = 0;
  /// Mean of a scalar over the group (e.g. the step's loss).
  virtual double mean(double value) = 0;
};

}  // namespace lrid::dist
