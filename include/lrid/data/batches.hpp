#pragma once
// Seeded training batches and the fixed observation batch.
//
// The training stream is the concatenation of per-epoch permutations of the training set; epoch
// e's permutation comes from a torch CPU generator seeded with derive_seed(seed, kEpochSalt, e).
// Batch k holds stream positions [k*B, (k+1)*B), so every batch is full, each epoch visits every
// example exactly once, and a batch may straddle two epochs. Same seed -> same stream (for a
// given LibTorch build).
#include <torch/torch.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>

#include "lrid/data/dataset.hpp"

namespace lrid::data {

/// Mixes a seed with up to two stream identifiers (splitmix64); distinct purposes use distinct
/// salts so their random streams are independent.
uint64_t derive_seed(uint64_t seed, uint64_t a, uint64_t b = 0);

/// A CPU torch::Generator seeded with `seed`.
torch::Generator make_generator(uint64_t seed);

/// Salts for derive_seed.
inline constexpr uint64_t kEpochSalt = 0x65706f6368ULL;        // "epoch"
inline constexpr uint64_t kAugmentSalt = 0x6175676d656e74ULL;  // "augment"
inline constexpr uint64_t kObserveSalt = 0x6f6273657276ULL;    // "observ"

/// A batch: float32 [B,C,H,W] normalised images and int64 [B] labels. A share that
/// BatchStream::next_shard returns also says where it sits in the stream (a deferred share's
/// images are still uint8: BatchStream::finish needs them).
struct Batch {
  torch::Tensor images;
  torch::Tensor labels;
  int64_t step = -1;        ///< the training step it belongs to (-1: not from a stream)
  int64_t row_offset = 0;   ///< its first row in the whole batch
  int64_t total_rows = 0;   ///< the whole batch's rows
};

/// Rows [rank*B/world, (rank+1)*B/world) of a batch (views, no copy). The caller checks that
/// B is divisible by world; here rank/world out of range -> std::invalid_argument.
Batch shard(const Batch& batch, int rank, int world);

/// What happens to a rank's share of a batch after it is read and normalised (augmentation,
/// SimCLR's two views). The share carries its step, first row and the whole batch's rows, which
/// seed the augmentation per row.
using BatchTransform = std::function<Batch(Batch)>;

class BatchStream {
 public:
  /// batch_size >= 1 and the set non-empty (else BadInput). The set's tensors are shared.
  BatchStream(ImageSet train, Normalization norm, int64_t batch_size, uint64_t seed);
  ~BatchStream();
  BatchStream(const BatchStream&) = delete;
  BatchStream& operator=(const BatchStream&) = delete;

  /// Applied to every batch next_shard returns (by the prefetch thread when it runs).
  void set_transform(BatchTransform transform);
  /// Deferred: next_shard returns the share as read (uint8 images, not yet normalised or
  /// transformed) and the caller finishes it on its device with finish(): a quarter of the
  /// bytes cross to a GPU, normalisation and augmentation run there. `pin`: the share is copied
  /// into page-locked memory where it is read (the prefetch thread when it runs), so the copy
  /// to a CUDA device is asynchronous; needs a CUDA LibTorch. Off by default; set before
  /// start_prefetch.
  void set_deferred(bool deferred, bool pin = false);
  bool deferred() const { return deferred_; }
  /// A share from next_shard on `device`: deferred, moved there (uint8), normalised and
  /// transformed there, the same operations as the stream's own path (bit for bit on the CPU);
  /// otherwise only moved. Labels are moved too.
  Batch finish(Batch share, const torch::Device& device) const;
  /// From now on a background thread reads, normalises and transforms this rank's shares of the
  /// next `depth` batches while the caller trains on the current one; next_shard(rank, world)
  /// then returns them (the same batches, bit for bit). An error reading a batch (bad data) is
  /// thrown by the next_shard that would return it. skip() restarts the thread.
  void start_prefetch(int rank, int world, int depth = 2);

  /// The next full batch.
  Batch next();
  /// This rank's rows of the next full batch (the same rows shard(next(), rank, world) gives),
  /// reading and converting only those rows, then transformed (set_transform). Every rank
  /// advances by one whole batch.
  Batch next_shard(int rank, int world);
  /// Dataset indices (int64 [B]) of the next batch, advancing the stream.
  torch::Tensor next_indices();
  /// Skips n batches in O(1) (plus one permutation when the epoch changes), e.g. to resume.
  void skip(int64_t n_batches);

  int64_t step() const { return step_; }             ///< batches taken so far
  int64_t epoch() const;                             ///< epoch of the next batch's first example
  int64_t batch_size() const { return batch_size_; }
  int64_t batches_per_epoch() const;                 ///< ceil(N / B)
  uint64_t seed() const { return seed_; }
  const ImageSet& set() const { return set_; }

  /// The permutation of epoch e (int64 [N]); the stream uses exactly this.
  torch::Tensor epoch_permutation(int64_t e) const;

 private:
  /// Dataset indices of batch `step` (the permutation cache is the caller's).
  torch::Tensor indices_at(int64_t step, int64_t& cached_epoch, torch::Tensor& cached_perm) const;
  Batch gather(const torch::Tensor& idx) const;
  /// A share as read (uint8) -> normalised, then transformed (the step and rows it carries).
  Batch normalise_and_transform(Batch raw) const;
  Batch make_shard(int64_t step, int rank, int world, int64_t& cached_epoch, torch::Tensor& cached_perm) const;
  void stop_prefetch();
  void prefetch_loop(int64_t from);

  ImageSet set_;
  Normalization norm_;
  int64_t batch_size_;
  uint64_t seed_;
  int64_t step_ = 0;
  int64_t cached_epoch_ = -1;
  torch::Tensor cached_perm_;
  BatchTransform transform_;
  bool deferred_ = false, pin_ = false;

  // The prefetch thread and what it has produced: (step, batch or its error), in step order.
  struct Ready {
    int64_t step;
    Batch batch;
    std::exception_ptr error;
  };
  std::thread worker_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Ready> ready_;
  bool stop_ = false, prefetching_ = false;
  int rank_ = 0, world_ = 1, depth_ = 2;
};

/// The fixed observation batch: n held-out images chosen by the dataset seed (the first n of a
/// seeded permutation, then sorted by index), normalised with `norm`. The same arguments give
/// the same batch every time. n in [1, test.size()] else BadInput.
Batch observation_batch(const ImageSet& test, const Normalization& norm, int64_t n,
                        uint64_t dataset_seed);
/// The same with data.test and data.norm.
Batch observation_batch(const TrainTest& data, int64_t n, uint64_t dataset_seed);

}  // namespace lrid::data
