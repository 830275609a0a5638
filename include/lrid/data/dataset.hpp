#pragma once
// Image data sets, in memory or streamed: readers for IDX (MNIST / Fashion-MNIST, gzip or
// plain), CIFAR-10 binary batches and lrid's HDF5 layout (docs/data.md), a cached `load()` by
// data source, per-channel normalisation and task label maps. An HDF5 split larger than the
// memory budget stays in its file and is read by rows (ImageSet::gather).
//
// Every reader checks what it reads; a missing, truncated or inconsistent file throws
// lrid::BadInput whose one-line message names the file and what was expected.
#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace lrid::data {

/// Reads rows of an HDF5 images dataset on demand (src/data/hdf5.cpp; thread-safe: every HDF5
/// call of the data module holds one mutex).
class RowReader;

/// A labelled image set: in memory, or streamed (its images stay in the HDF5 file; the labels
/// are always in memory).
struct ImageSet {
  torch::Tensor images;     ///< uint8 [N, C, H, W], contiguous, CPU; undefined when streamed
  torch::Tensor labels;     ///< int64 [N], values in [0, num_classes)
  int64_t num_classes = 0;
  std::string source;       ///< file(s) it came from (for messages)
  std::shared_ptr<const RowReader> reader;  ///< streamed: the file's rows
  torch::Tensor rows;       ///< streamed: the file row of each example (undefined: row i)

  int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
  int64_t channels() const;
  int64_t height() const;
  int64_t width() const;
  bool streamed() const { return !images.defined() && reader != nullptr; }
  /// uint8 [k, C, H, W]: the images of examples `indices` (int64 [k]) in that order; from
  /// memory, or read from the file (a failed read: BadInput naming the file and the row).
  torch::Tensor gather(const torch::Tensor& indices) const;
};

/// Per-channel affine normalisation of uint8 pixels: x = (p / 255 - mean[c]) / stddev[c].
struct Normalization {
  std::vector<float> mean;  ///< per channel, on the [0, 1] pixel scale
  std::vector<float> stddev;  ///< per channel, > 0

  /// Exact per-channel mean and (population) std of `images` (uint8 [N,C,H,W]) on the [0,1]
  /// scale, computed from 256-bin histograms (no float copy of the data set).
  /// A constant channel gets std 1.
  static Normalization from_images(const torch::Tensor& images);
  /// The same for any set: from memory, or in one pass over a streamed set's rows in blocks
  /// (the same histogram, so the same values as from_images of the whole set).
  static Normalization from_set(const ImageSet& set);
  /// The same mean and std for every channel (e.g. 0.5 / 0.5 maps [0,1] to [-1,1]).
  static Normalization fixed(int64_t channels, float mean = 0.5f, float stddev = 0.5f);

  /// uint8 [B,C,H,W] -> float32 [B,C,H,W], normalised.
  torch::Tensor apply(const torch::Tensor& images_u8) const;
};

/// A training set, its held-out test set, and the normalisation computed from the training set.
struct TrainTest {
  ImageSet train;
  ImageSet test;
  Normalization norm;  ///< Normalization::from_images(train.images) of the source's full train set
};

// --- readers ---------------------------------------------------------------------------------

/// IDX images (magic 0x00000803, uint8 [N,H,W]); gzip or plain (zlib reads both).
/// Returns uint8 [N,1,H,W].
torch::Tensor read_idx_images(const std::string& path);
/// IDX labels (magic 0x00000801, uint8 [N]). Returns int64 [N].
torch::Tensor read_idx_labels(const std::string& path);
/// An IDX image file and its label file. `num_classes` > 0: labels must lie in [0, num_classes);
/// 0: num_classes = max label + 1.
ImageSet read_idx(const std::string& images_path, const std::string& labels_path,
                  int64_t num_classes = 0);
/// A directory with the four MNIST-style files train-images-idx3-ubyte[.gz],
/// train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz].
/// `num_classes` as for read_idx, applied to both splits (0: max label + 1 over both).
TrainTest read_idx_dir(const std::string& dir, int64_t num_classes = 0);

/// CIFAR-10 binary batch files (records of 1 label byte + 3072 bytes R,G,B 32x32 planes),
/// concatenated in the given order. 10 classes.
ImageSet read_cifar10_batches(const std::vector<std::string>& files);
/// A directory with data_batch_1.bin .. data_batch_5.bin (train) and test_batch.bin (test).
TrainTest read_cifar10_dir(const std::string& dir);

/// lrid's HDF5 layout (docs/data.md): /train/images uint8 [N,H,W,C] (or [N,H,W] for one
/// channel), /train/labels integer [N], the same under /test, optional integer attribute
/// `num_classes` on the root group (default: max label + 1 over both splits). Images are read in
/// blocks of about `block_bytes` and transposed to [N,C,H,W] block by block. A split whose
/// images take more than `stream_bytes` (< 0: never) is streamed: only its labels are read.
TrainTest read_hdf5(const std::string& path, int64_t block_bytes = int64_t(32) << 20, int64_t stream_bytes = -1);

// --- data sources and the cache ---------------------------------------------------------------

/// Where a data set lives. format: "idx" (directory of MNIST-style IDX files), "cifar10"
/// (directory of CIFAR-10 binary batches) or "hdf5" (one file in lrid's layout).
struct DataSource {
  std::string format;
  std::string path;
};

/// Reads the source, or returns the copy cached by an earlier call with the same format and
/// (canonical) path and budget. Thread-safe. The returned tensors share storage with the cache:
/// treat them as read-only (every function in lrid::data does). An HDF5 split whose images
/// exceed `memory_budget_bytes` (< 0: no limit) is streamed from the file. Unknown format ->
/// BadInput.
TrainTest load(const DataSource& source, int64_t memory_budget_bytes = -1);
/// Drops every cached data set (memory is freed once no caller holds its tensors).
void clear_cache();
/// Number of data sets in the cache.
size_t cache_size();

// --- labels for tasks -------------------------------------------------------------------------

/// old label -> new label; a new label of -1 drops the example.
using LabelMap = std::vector<int64_t>;

/// Fashion-MNIST coarse 3-way task: tops {0 T-shirt, 2 pullover, 4 coat, 6 shirt} -> 0,
/// footwear {5 sandal, 7 sneaker, 9 ankle boot} -> 1, other {1 trouser, 3 dress, 8 bag} -> 2.
inline const LabelMap kFashionMnistCoarse3 = {0, 2, 0, 2, 0, 1, 0, 1, 2, 1};

/// A named map: "fashion_mnist_coarse3". Unknown name -> BadInput listing the known names.
const LabelMap& named_label_map(const std::string& name);

/// Relabels `set`: map.size() must equal set.num_classes, entries are -1 (drop) or >= 0; the
/// result has num_classes = max entry + 1. Images are shared, not copied, unless examples are
/// dropped. A malformed map -> BadInput.
ImageSet apply_label_map(const ImageSet& set, const LabelMap& map);
/// Both splits; the normalisation is kept (it describes the source's training images).
TrainTest apply_label_map(const TrainTest& data, const LabelMap& map);

}  // namespace lrid::data
