#pragma once
// Helpers shared by the data module's sources (not installed).
#include <torch/torch.h>

#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "lrid/data/dataset.hpp"
#include "lrid/error.hpp"

namespace lrid::data {

/// Rows of one HDF5 images dataset ([N,H,W,C] or [N,H,W] uint8), read on demand and returned as
/// [k,C,H,W]. Keeps the file open. Thread-safe (detail::hdf5_mutex).
class RowReader {
 public:
  /// Opens path's /split/images (checked as read_hdf5 checks it); BadInput naming what is wrong.
  RowReader(const std::string& path, const std::string& split);
  ~RowReader();
  RowReader(const RowReader&) = delete;
  RowReader& operator=(const RowReader&) = delete;

  /// uint8 [k,C,H,W] of file rows `rows` (int64 [k], any order, repeats allowed). Consecutive
  /// rows are read with one hyperslab each; a failed read -> BadInput naming the row.
  torch::Tensor read(const torch::Tensor& rows) const;
  /// uint8 [cnt,C,H,W] of rows [first, first + cnt).
  torch::Tensor read_range(int64_t first, int64_t cnt) const;

  int64_t n = 0, c = 0, h = 0, w = 0;
  int64_t row_bytes() const { return c * h * w; }
  std::string where;  ///< "path:/split/images"

 private:
  void read_block(int64_t first, int64_t cnt, uint8_t* dst) const;  // [cnt,H,W,C], mutex held
  int64_t file_ = -1, dset_ = -1;
  int rank_ = 4;
};

}  // namespace lrid::data

namespace lrid::data::detail {

/// Every HDF5 call of the data module holds this (the parallel HDF5 build is not thread-safe,
/// and a prefetch thread reads while the training thread may read the test split). Recursive:
/// read_hdf5 holds it while it computes a streamed set's normalisation through a RowReader.
std::recursive_mutex& hdf5_mutex();

/// Per-channel 256-bin pixel histograms: Normalization's exact statistics, accumulated block by
/// block (the result does not depend on the blocks).
struct ChannelHistogram {
  explicit ChannelHistogram(int64_t channels) : hist(static_cast<size_t>(channels)) {
    for (auto& h4 : hist)
      for (auto& h : h4) h.fill(0);
  }
  /// Adds uint8 [N,C,H,W] images.
  void add(const torch::Tensor& images);
  Normalization result() const;
  std::vector<std::array<std::array<uint64_t, 256>, 4>> hist;
};

/// Throws BadInput "<path>: does not exist" / "is not a regular file".
void require_file(const std::string& path);

/// Allocates a uint8 tensor, turning an allocation failure into BadInput naming `what`.
torch::Tensor alloc_u8(at::IntArrayRef sizes, const std::string& what);

/// Checks labels lie in [0, num_classes) -> BadInput naming `where` and the first offender.
void check_labels(const torch::Tensor& labels, int64_t num_classes, const std::string& where);

/// Max label + 1 over both splits (labels assumed >= 0 checked later).
int64_t infer_num_classes(const ImageSet& a, const ImageSet& b);

/// Sets num_classes (0: inferred), checks labels and that both splits share C,H,W, computes
/// the normalisation from the training set (or takes `stored`, the file's own).
TrainTest finish(ImageSet train, ImageSet test, int64_t num_classes, const std::string& where,
                 const std::optional<Normalization>& stored = std::nullopt);

}  // namespace lrid::data::detail
