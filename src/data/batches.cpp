// Seeded batch stream, sharding and the fixed observation batch.
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include "lrid/data/batches.hpp"

#include <ATen/Parallel.h>
#include <dlfcn.h>
#include "lrid/error.hpp"

namespace lrid::data {
namespace {

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

uint64_t derive_seed(uint64_t seed, uint64_t a, uint64_t b) {
  return splitmix64(splitmix64(splitmix64(seed) ^ a) ^ b);
}

torch::Generator make_generator(uint64_t seed) {
  // LibTorch's CPU generator (mt19937) keeps 32 bits of the seed: fold the high half in.
  return at::detail::createCPUGenerator(seed ^ (seed >> 32));
}

Batch shard(const Batch& batch, int rank, int world) {
  if (world < 1 || rank < 0 || rank >= world)
    throw std::invalid_argument("data::shard: rank " + std::to_string(rank) + " of " +
                                std::to_string(world));
  const int64_t b = batch.images.size(0);
  const int64_t lo = rank * b / world, hi = (rank + 1) * b / world;
  return {batch.images.slice(0, lo, hi), batch.labels.slice(0, lo, hi)};
}

BatchStream::BatchStream(ImageSet train, Normalization norm, int64_t batch_size, uint64_t seed)
    : set_(std::move(train)), norm_(std::move(norm)), batch_size_(batch_size), seed_(seed) {
  if (batch_size_ < 1)
    throw BadInput("batch size " + std::to_string(batch_size_) + ", expected >= 1");
  if (set_.size() < 1) throw BadInput(set_.source + ": empty training set, expected images");
  if (int64_t(norm_.mean.size()) != set_.channels())
    throw BadInput(set_.source + ": normalisation for " + std::to_string(norm_.mean.size()) +
                   " channels, expected " + std::to_string(set_.channels()));
}

torch::Tensor BatchStream::epoch_permutation(int64_t e) const {
  auto gen = make_generator(derive_seed(seed_, kEpochSalt, uint64_t(e)));
  return torch::randperm(set_.size(), gen, torch::kLong);  // host: the data order indexes host data
}

int64_t BatchStream::epoch() const { return step_ * batch_size_ / set_.size(); }

int64_t BatchStream::batches_per_epoch() const {
  return (set_.size() + batch_size_ - 1) / batch_size_;
}

torch::Tensor BatchStream::indices_at(int64_t step, int64_t& cached_epoch, torch::Tensor& cached_perm) const {
  const int64_t n = set_.size();
  int64_t pos = step * batch_size_;
  int64_t need = batch_size_;
  std::vector<torch::Tensor> parts;
  while (need > 0) {
    const int64_t e = pos / n, off = pos % n;
    const int64_t take = std::min(need, n - off);
    if (e != cached_epoch) {
      cached_perm = epoch_permutation(e);
      cached_epoch = e;
    }
    parts.push_back(cached_perm.narrow(0, off, take));
    pos += take;
    need -= take;
  }
  return parts.size() == 1 ? parts[0].clone() : torch::cat(parts);
}

torch::Tensor BatchStream::next_indices() {
  if (prefetching_) throw std::logic_error("BatchStream::next_indices while prefetching");
  return indices_at(step_++, cached_epoch_, cached_perm_);
}

void BatchStream::skip(int64_t n_batches) {
  if (n_batches < 0) throw std::invalid_argument("BatchStream::skip: negative count");
  const bool was = prefetching_;
  if (was) stop_prefetch();
  step_ += n_batches;
  if (was) start_prefetch(rank_, world_, depth_);
}

Batch BatchStream::gather(const torch::Tensor& idx) const {
  return {norm_.apply(set_.gather(idx)), set_.labels.index_select(0, idx)};
}

Batch BatchStream::next() { return gather(next_indices()); }

Batch BatchStream::make_shard(int64_t step, int rank, int world, int64_t& cached_epoch,
                              torch::Tensor& cached_perm) const {
  const int64_t lo = rank * batch_size_ / world, hi = (rank + 1) * batch_size_ / world;
  const auto idx = indices_at(step, cached_epoch, cached_perm).slice(0, lo, hi);
  Batch raw{set_.gather(idx), set_.labels.index_select(0, idx), step, lo, batch_size_};
  if (!deferred_) return normalise_and_transform(std::move(raw));
  if (pin_) {
    raw.images = raw.images.pin_memory();
    raw.labels = raw.labels.pin_memory();
  }
  return raw;
}

Batch BatchStream::normalise_and_transform(Batch raw) const {
  raw.images = norm_.apply(raw.images);
  return transform_ ? transform_(std::move(raw)) : raw;
}

Batch BatchStream::finish(Batch share, const torch::Device& device) const {
  const bool async = device.is_cuda() && share.images.is_pinned();
  share.labels = share.labels.to(device, async);
  if (deferred_ && (share.images.scalar_type() != torch::kByte || share.step < 0))
    throw std::logic_error("BatchStream::finish: not a deferred share of this stream");
  share.images = share.images.to(device, async);
  return deferred_ ? normalise_and_transform(std::move(share)) : share;
}

void BatchStream::set_deferred(bool deferred, bool pin) {
  if (prefetching_) throw std::logic_error("BatchStream::set_deferred while prefetching");
  deferred_ = deferred;
  pin_ = deferred && pin;
}

Batch BatchStream::next_shard(int rank, int world) {
  if (world < 1 || rank < 0 || rank >= world)
    throw std::invalid_argument("BatchStream::next_shard: rank " + std::to_string(rank) +
                                " of " + std::to_string(world));
  if (!prefetching_) return make_shard(step_++, rank, world, cached_epoch_, cached_perm_);
  if (rank != rank_ || world != world_)
    throw std::invalid_argument("BatchStream::next_shard: prefetching for another rank");
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return !ready_.empty(); });
  Ready r = std::move(ready_.front());
  ready_.pop_front();
  lock.unlock();
  cv_.notify_all();
  if (r.step != step_) throw std::logic_error("BatchStream: prefetched step " + std::to_string(r.step) + ", expected " +
                                              std::to_string(step_));
  ++step_;
  if (r.error) std::rethrow_exception(r.error);
  return r.batch;
}

void BatchStream::set_transform(BatchTransform transform) {
  if (prefetching_) throw std::logic_error("BatchStream::set_transform while prefetching");
  transform_ = std::move(transform);
}

void BatchStream::start_prefetch(int rank, int world, int depth) {
  if (world < 1 || rank < 0 || rank >= world || depth < 1)
    throw std::invalid_argument("BatchStream::start_prefetch: rank " + std::to_string(rank) + " of " +
                                std::to_string(world) + ", depth " + std::to_string(depth));
  stop_prefetch();
  rank_ = rank, world_ = world, depth_ = depth;
  stop_ = false;
  ready_.clear();
  prefetching_ = true;
  worker_ = std::thread([this, from = step_] { prefetch_loop(from); });
}

void BatchStream::prefetch_loop(int64_t from) {
  // One intra-op thread here: the training step owns the cores (a new thread would otherwise
  // get a full OpenMP team and compete with it). ATen's per-thread set-up first, so that it does
  // not reset the count at the first parallel op. Elementwise conversion and augmentation give
  // the same values for any thread count.
  at::internal::lazy_init_num_threads();
  using SetThreads = void (*)(int);
  if (auto f = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "omp_set_num_threads"))) f(1);
  int64_t cached_epoch = -1;
  torch::Tensor cached_perm;
  for (int64_t s = from;; ++s) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stop_ || static_cast<int>(ready_.size()) < depth_; });
      if (stop_) return;
    }
    Ready r{s, {}, nullptr};
    try {
      r.batch = make_shard(s, rank_, world_, cached_epoch, cached_perm);
    } catch (...) {
      r.error = std::current_exception();
    }
    const bool failed = r.error != nullptr;
    {
      std::lock_guard<std::mutex> lock(mu_);
      ready_.push_back(std::move(r));
    }
    cv_.notify_all();
    if (failed) {
      // Nothing after a bad batch: wait to be stopped.
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stop_; });
      return;
    }
  }
}

void BatchStream::stop_prefetch() {
  if (!prefetching_) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
  ready_.clear();
  prefetching_ = false;
}

BatchStream::~BatchStream() { stop_prefetch(); }

Batch observation_batch(const ImageSet& test, const Normalization& norm, int64_t n,
                        uint64_t dataset_seed) {
  if (n < 1 || n > test.size())
    throw BadInput("observation batch of " + std::to_string(n) + " images from " + test.source +
                   ", expected 1.." + std::to_string(test.size()));
  auto gen = make_generator(derive_seed(dataset_seed, kObserveSalt));
  // host: indices into the host copy of the test set
  auto idx = std::get<0>(torch::randperm(test.size(), gen, torch::kLong).narrow(0, 0, n).sort());
  return {norm.apply(test.gather(idx)), test.labels.index_select(0, idx)};
}

Batch observation_batch(const TrainTest& data, int64_t n, uint64_t dataset_seed) {
  return observation_batch(data.test, data.norm, n, dataset_seed);
}

}  // namespace lrid::data
