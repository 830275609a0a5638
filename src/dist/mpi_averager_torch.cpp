#include "lrid/dist/mpi_averager.hpp"

#include <stdexcept>

namespace lrid::dist {

MpiAverager::MpiAverager(MPI_Comm group, int64_t bucket_floats)
    : comm_(group), bucket_floats_(bucket_floats) {
  MPI_Comm_rank(comm_, &rank_);
  MPI_Comm_size(comm_, &size_);
}

void MpiAverager::average(const std::vector<torch::Tensor>& grads) {
  if (size_ == 1) return;
  const double scale = 1.0 / size_;
  size_t i = 0;
  while (i < grads.size()) {
    // Pack consecutive gradients into one bucket (a single large gradient is its own bucket).
    size_t j = i;
    int64_t n = 0;
    while (j < grads.size() && (j == i || n + grads[j].numel() <= bucket_floats_)) n += grads[j++].numel();
    if (!buffer_.defined() || buffer_.numel() < n) buffer_ = torch::empty({n}, torch::kFloat32);
    torch::Tensor flat = buffer_.narrow(0, 0, n);
    int64_t off = 0;
    for (size_t k = i; k < j; ++k) {
      const int64_t m = grads[k].numel();
      flat.narrow(0, off, m).copy_(grads[k].reshape({m}));
      off += m;
    }
    if (MPI_Allreduce(MPI_IN_PLACE, flat.data_ptr<float>(), static_cast<int>(n), MPI_FLOAT, MPI_SUM,
                      comm_) != MPI_SUCCESS)
      throw std::runtime_error("MPI_Allreduce of gradients failed");
    flat.mul_(scale);
    off = 0;
    for (size_t k = i; k < j; ++k) {
      const int64_t m = grads[k].numel();
      grads[k].copy_(flat.narrow(0, off, m).view(grads[k].sizes()));
      off += m;
    }
    i = j;
  }
}

double MpiAverager::mean(double value) {
  if (size_ == 1) return value;
  double sum = 0;
  MPI_Allreduce(&value, &sum, 1, MPI_DOUBLE, MPI_SUM, comm_);
  return sum / size_;
}

}  // namespace lrid::dist
