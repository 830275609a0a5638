// Gradient averaging: bucketing once, backends behind one interface (see lrid/comm/averager.hpp).
#include "lrid/comm/averager.hpp"

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "lrid/comm/mpi.hpp"

namespace lrid::comm {

size_t dtype_bytes(DType t) { return t == DType::F32 ? 4 : 8; }

std::vector<Bucket> plan_buckets(const std::vector<BufferView>& grads, size_t bucket_bytes) {
  std::vector<Bucket> out;
  for (size_t g = 0; g < grads.size(); ++g) {
    const BufferView& v = grads[g];
    if (v.count <= 0) continue;
    const int64_t cap = std::max<int64_t>(1, static_cast<int64_t>(bucket_bytes / dtype_bytes(v.dtype)));
    int64_t offset = 0;
    while (offset < v.count) {
      if (out.empty() || out.back().dtype != v.dtype || !(out.back().device == v.device) || out.back().count >= cap)
        out.push_back(Bucket{v.dtype, v.device, 0, {}});
      Bucket& b = out.back();
      const int64_t take = std::min(v.count - offset, cap - b.count);
      b.segments.push_back({g, offset, take, b.count});
      b.count += take;
      offset += take;
    }
  }
  return out;
}

GradientAverager::GradientAverager(MPI_Comm group, std::unique_ptr<ReduceBackend> backend, size_t bucket_bytes)
    : comm_(group), backend_(std::move(backend)), bucket_bytes_(bucket_bytes) {
  MPI_Comm_rank(comm_, &rank_);
  MPI_Comm_size(comm_, &size_);
  if (bucket_bytes_ < 8) throw std::invalid_argument("GradientAverager: bucket_bytes must be >= 8");
}

void GradientAverager::average(const std::vector<BufferView>& grads) {
  if (size_ == 1) return;
  reduce(grads);
}

void GradientAverager::reduce(const std::vector<BufferView>& grads) {
  for (const auto& g : grads)
    if (g.count > 0 && !backend_->accepts(g.device))
      throw std::runtime_error(std::string("gradient backend ") + backend_->name() +
                               " cannot average gradients on this device");
  for (const Bucket& b : plan_buckets(grads, bucket_bytes_)) {
    const size_t width = dtype_bytes(b.dtype);
    // A bucket that is exactly one whole gradient is reduced in place; others are packed.
    const Segment& first = b.segments.front();
    const bool whole = b.segments.size() == 1 && first.offset == 0 && first.count == grads[first.grad].count;
    char* buf = whole ? static_cast<char*>(grads[first.grad].data)
                      : static_cast<char*>(backend_->scratch(static_cast<size_t>(b.count) * width, b.device));
    if (!whole)
      for (const Segment& s : b.segments)
        backend_->copy(buf + static_cast<size_t>(s.bucket_offset) * width,
                       static_cast<const char*>(grads[s.grad].data) + static_cast<size_t>(s.offset) * width,
                       static_cast<size_t>(s.count) * width, b.device);
    backend_->allreduce_mean(BufferView{buf, b.count, b.dtype, b.device});
    if (!whole)
      for (const Segment& s : b.segments)
        backend_->copy(static_cast<char*>(grads[s.grad].data) + static_cast<size_t>(s.offset) * width,
                       buf + static_cast<size_t>(s.bucket_offset) * width, static_cast<size_t>(s.count) * width,
                       b.device);
  }
  // The unpacked gradients must be in place before the optimiser reads them.
  std::vector<Device> seen;
  for (const auto& g : grads)
    if (g.count > 0 && std::find(seen.begin(), seen.end(), g.device) == seen.end()) seen.push_back(g.device);
  for (const auto& d : seen) backend_->synchronize(d);
}

double GradientAverager::mean(double value) {
  if (size_ == 1) return value;
  double sum = 0;
  if (MPI_Allreduce(&value, &sum, 1, MPI_DOUBLE, MPI_SUM, comm_) != MPI_SUCCESS)
    throw std::runtime_error("MPI_Allreduce (mean) failed");
  return sum / size_;
}

int64_t GradientAverager::min(int64_t value) {
  if (size_ == 1) return value;
  int64_t out = value;
  if (MPI_Allreduce(&value, &out, 1, MPI_INT64_T, MPI_MIN, comm_) != MPI_SUCCESS)
    throw std::runtime_error("MPI_Allreduce (min) failed");
  return out;
}

GradientAverager::Agreement GradientAverager::agree(const std::string& error, unsigned flags) {
  Agreement a;
  if (size_ == 1) {
    a.error = error.empty() ? "" : "rank 0: " + error;
    a.flags = flags;
    return a;
  }
  // The flags or-ed, then the lowest failing rank's error (agree_on_error).
  unsigned combined = 0;
  if (MPI_Allreduce(&flags, &combined, 1, MPI_UNSIGNED, MPI_BOR, comm_) != MPI_SUCCESS)
    throw std::runtime_error("MPI_Allreduce (agreement) failed");
  a.flags = combined;
  if (const AgreedError e = agree_on_error(error, comm_)) a.error = "rank " + std::to_string(e.rank) + ": " + e.message;
  return a;
}

namespace {

class MpiBackend : public ReduceBackend {
 public:
  explicit MpiBackend(MPI_Comm comm) : comm_(comm) { MPI_Comm_size(comm_, &size_); }
  ~MpiBackend() override { std::free(scratch_); }
  const char* name() const override { return "mpi"; }
  bool accepts(const Device& d) const override { return d.kind == Device::Kind::CPU; }
  void* scratch(size_t bytes, const Device&) override {
    if (bytes > capacity_) {
      std::free(scratch_);
      scratch_ = std::malloc(bytes);
      if (!scratch_) throw std::bad_alloc();
      capacity_ = bytes;
    }
    return scratch_;
  }
  void copy(void* dst, const void* src, size_t bytes, const Device&) override { std::memcpy(dst, src, bytes); }
  void allreduce_mean(const BufferView& b) override {
    const MPI_Datatype t = b.dtype == DType::F32 ? MPI_FLOAT : MPI_DOUBLE;
    // MPI counts are int: reduce in chunks.
    const int64_t chunk = INT_MAX / 2;
    for (int64_t off = 0; off < b.count; off += chunk) {
      const int n = static_cast<int>(std::min(chunk, b.count - off));
      void* p = static_cast<char*>(b.data) + static_cast<size_t>(off) * dtype_bytes(b.dtype);
      if (MPI_Allreduce(MPI_IN_PLACE, p, n, t, MPI_SUM, comm_) != MPI_SUCCESS)
        throw std::runtime_error("MPI_Allreduce of gradients failed");
    }
    const double scale = 1.0 / size_;
    if (b.dtype == DType::F32) {
      float* x = static_cast<float*>(b.data);
      const float s = static_cast<float>(scale);  // as torch scales a float tensor
      for (int64_t i = 0; i < b.count; ++i) x[i] *= s;
    } else {
      double* x = static_cast<double*>(b.data);
      for (int64_t i = 0; i < b.count; ++i) x[i] *= scale;
    }
  }
  void synchronize(const Device&) override {}

 private:
  MPI_Comm comm_;
  int size_ = 1;
  void* scratch_ = nullptr;
  size_t capacity_ = 0;
};

}  // namespace

std::unique_ptr<ReduceBackend> make_mpi_backend(MPI_Comm group) { return std::make_unique<MpiBackend>(group); }

}  // namespace lrid::comm
