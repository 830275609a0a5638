#pragma once
// Data-parallel gradient averaging across the ranks of a worker group (no torch here).
//
// Who talks and how to reduce are separate: the GradientAverager owns the group (its MPI
// communicator for scalars and agreement) and the bucketing; a ReduceBackend only knows how to
// allocate, copy and average one typed buffer on its device:
//   MpiBackend   CPU memory, MPI_Allreduce (sum) then a scale by 1/G;
//   NcclBackend  CUDA memory, ncclAllReduce with ncclAvg on the gradients' stream (one GPU per
//                group rank), no host staging (nccl_backend.hpp).
// Bucketing (written once, here): gradients of one dtype and device are packed, in order, into
// buckets of `bucket_bytes` (a gradient larger than the space left straddles into the next
// bucket), each bucket averaged with one backend call, then unpacked. Zero-size gradients are
// skipped.
#include <mpi.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "lrid/comm/buffers.hpp"

namespace lrid::comm {

/// One piece of a gradient in a bucket: elements [offset, offset + count) of gradient `grad`
/// at element `bucket_offset` of the bucket.
struct Segment {
  size_t grad = 0;
  int64_t offset = 0, count = 0, bucket_offset = 0;
};

struct Bucket {
  DType dtype = DType::F32;
  Device device;
  int64_t count = 0;  ///< elements
  std::vector<Segment> segments;
};

/// The buckets for `grads` (in their order; a new bucket whenever dtype or device change).
[[nodiscard]] std::vector<Bucket> plan_buckets(const std::vector<BufferView>& grads, size_t bucket_bytes);

class ReduceBackend {
 public:
  virtual ~ReduceBackend() = default;
  virtual const char* name() const = 0;
  /// Whether the backend reduces memory on this device.
  virtual bool accepts(const Device& d) const = 0;
  /// A scratch buffer of `bytes` on the device (kept by the backend for reuse).
  virtual void* scratch(size_t bytes, const Device& d) = 0;
  /// dst <- src on the device (ordered after the device's earlier work).
  virtual void copy(void* dst, const void* src, size_t bytes, const Device& d) = 0;
  /// In place: the buffer's mean over the group.
  virtual void allreduce_mean(const BufferView& buffer) = 0;
  /// Waits for this backend's work on the device to finish.
  virtual void synchronize(const Device& d) = 0;
};

/// CPU memory over an MPI communicator.
std::unique_ptr<ReduceBackend> make_mpi_backend(MPI_Comm group);

class GradientAverager {
 public:
  /// Collective-free. `group` is this rank's worker group.
  GradientAverager(MPI_Comm group, std::unique_ptr<ReduceBackend> backend,
                   size_t bucket_bytes = size_t(16) << 20);
  int rank() const { return rank_; }
  int size() const { return size_; }
  const ReduceBackend& backend() const { return *backend_; }

  /// Replaces each gradient by its mean over the group, in place (collective over the group;
  /// nothing to do for a group of one).
  void average(const std::vector<BufferView>& grads);
  /// The bucketed path itself, whatever the group's size: pack, backend allreduce_mean per
  /// bucket, unpack, synchronize (tests drive it with a backend of their own).
  void reduce(const std::vector<BufferView>& grads);
  /// The mean of a scalar over the group (e.g. the step's loss).
  [[nodiscard]] double mean(double value);
  /// The minimum of an integer over the group.
  [[nodiscard]] int64_t min(int64_t value);
  /// What the ranks of a group agree on at a step boundary.
  struct Agreement {
    std::string error;  ///< the lowest failing rank's error, "rank R: ...", or "" when none
    unsigned flags = 0;  ///< the bitwise or of every rank's flags
  };
  /// Every rank passes its error ("" for none) and flags (e.g. "checkpoint now", "stop");
  /// every rank gets the same Agreement. Collective over the group (one allreduce, and one
  /// broadcast only when a rank failed).
  [[nodiscard]] Agreement agree(const std::string& error, unsigned flags = 0);

 private:
  MPI_Comm comm_;
  int rank_ = 0, size_ = 1;
  std::unique_ptr<ReduceBackend> backend_;
  size_t bucket_bytes_;
};

}  // namespace lrid::comm
