#pragma once
// Data-parallel gradient averaging over an MPI communicator (CPU tensors), in buckets.
#include <mpi.h>

#include "lrid/dist/averager.hpp"

namespace lrid::dist {

class MpiAverager : public GradientAverager {
 public:
  /// bucket_floats: gradients are packed into contiguous buckets of about this many floats,
  /// each reduced with one MPI_Allreduce.
  explicit MpiAverager(MPI_Comm group, int64_t bucket_floats = int64_t(1) << 22);
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  void average(const std::vector<torch::Tensor>& grads) override;
  double mean(double value) override;

 private:
  MPI_Comm comm_;
  int rank_ = 0, size_ = 1;
  int64_t bucket_floats_;
  torch::Tensor buffer_;
};

}  // namespace lrid::dist
