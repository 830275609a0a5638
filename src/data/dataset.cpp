// Normalisation, the data-source cache and task label maps.
#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "internal.hpp"
#include "lrid/data/dataset.hpp"
#include "lrid/error.hpp"

namespace fs = std::filesystem;

namespace lrid::data {

// --- normalisation --------------------------------------------------------------------------

void detail::ChannelHistogram::add(const torch::Tensor& images) {
  TORCH_CHECK(images.dim() == 4 && images.scalar_type() == torch::kUInt8 &&
                  images.size(1) == static_cast<int64_t>(hist.size()),
              "ChannelHistogram::add: expected uint8 [N,", hist.size(), ",H,W]");
  auto x = images.contiguous();
  const int64_t n = x.size(0), c = x.size(1), hw = x.size(2) * x.size(3);
  const uint8_t* p = x.data_ptr<uint8_t>();
  // Four interleaved histograms per channel break the store-to-load chain on repeated values.
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t ch = 0; ch < c; ++ch) {
      const uint8_t* q = p + (i * c + ch) * hw;
      auto& h = hist[size_t(ch)];
      int64_t j = 0;
      for (; j + 4 <= hw; j += 4) {
        ++h[0][q[j]];
        ++h[1][q[j + 1]];
        ++h[2][q[j + 2]];
        ++h[3][q[j + 3]];
      }
      for (; j < hw; ++j) ++h[0][q[j]];
    }
  }
}

Normalization detail::ChannelHistogram::result() const {
  Normalization out;
  for (const auto& h4 : hist) {
    uint64_t cnt = 0, s1 = 0, s2 = 0;
    for (int v = 0; v < 256; ++v) {
      uint64_t k = 0;
      for (const auto& h : h4) k += h[size_t(v)];
      cnt += k;
      s1 += k * uint64_t(v);
      s2 += k * uint64_t(v) * uint64_t(v);
    }
    long double mean = cnt ? (long double)s1 / cnt : 0.0L;
    long double var = cnt ? (long double)s2 / cnt - mean * mean : 0.0L;
    if (var < 0) var = 0;
    long double sd = std::sqrt(var);
    out.mean.push_back(float(mean / 255.0L));
    out.stddev.push_back(sd < 1e-3L ? 1.0f : float(sd / 255.0L));
  }
  return out;
}

Normalization Normalization::from_images(const torch::Tensor& images) {
  TORCH_CHECK(images.dim() == 4 && images.scalar_type() == torch::kUInt8,
              "Normalization::from_images: expected uint8 [N,C,H,W]");
  detail::ChannelHistogram h(images.size(1));
  h.add(images);
  return h.result();
}

Normalization Normalization::from_set(const ImageSet& set) {
  if (!set.streamed()) return from_images(set.images);
  // Whole-file blocks of ~32 MiB; only the set's own rows (a label map may have dropped some).
  const RowReader& r = *set.reader;
  detail::ChannelHistogram h(r.c);
  const int64_t block = std::max<int64_t>(1, (int64_t(32) << 20) / std::max<int64_t>(1, r.row_bytes()));
  if (!set.rows.defined()) {
    for (int64_t first = 0; first < r.n; first += block) h.add(r.read_range(first, std::min(block, r.n - first)));
  } else {
    for (int64_t first = 0; first < set.size(); first += block)
      h.add(r.read(set.rows.narrow(0, first, std::min(block, set.size() - first))));
  }
  return h.result();
}

// --- image sets -----------------------------------------------------------------------------

int64_t ImageSet::channels() const { return images.defined() ? images.size(1) : reader ? reader->c : 0; }
int64_t ImageSet::height() const { return images.defined() ? images.size(2) : reader ? reader->h : 0; }
int64_t ImageSet::width() const { return images.defined() ? images.size(3) : reader ? reader->w : 0; }

torch::Tensor ImageSet::gather(const torch::Tensor& indices) const {
  if (images.defined()) return images.index_select(0, indices);
  if (!reader) throw BadInput(source + ": an image set without images");
  return reader->read(rows.defined() ? rows.index_select(0, indices) : indices);
}

Normalization Normalization::fixed(int64_t channels, float mean, float stddev) {
  TORCH_CHECK(channels > 0 && stddev > 0, "Normalization::fixed: channels and std must be > 0");
  Normalization out;
  out.mean.assign(size_t(channels), mean);
  out.stddev.assign(size_t(channels), stddev);
  return out;
}

torch::Tensor Normalization::apply(const torch::Tensor& images_u8) const {
  TORCH_CHECK(images_u8.dim() == 4 && images_u8.size(1) == int64_t(mean.size()),
              "Normalization::apply: expected [B,", mean.size(), ",H,W], got ",
              images_u8.sizes());
  const int64_t c = int64_t(mean.size());
  std::vector<float> scale(static_cast<size_t>(c)), shift(static_cast<size_t>(c));
  for (int64_t i = 0; i < c; ++i) {
    scale[size_t(i)] = 1.0f / (255.0f * stddev[size_t(i)]);
    shift[size_t(i)] = -mean[size_t(i)] / stddev[size_t(i)];
  }
  auto opts = torch::TensorOptions().dtype(torch::kFloat);
  auto sc = torch::tensor(scale, opts).view({1, c, 1, 1}).to(images_u8.device());
  auto sh = torch::tensor(shift, opts).view({1, c, 1, 1}).to(images_u8.device());
  return images_u8.to(torch::kFloat).mul_(sc).add_(sh);
}

// --- data sources and the cache -------------------------------------------------------------

namespace {

std::mutex g_cache_mutex;
std::map<std::string, TrainTest>& cache() {
  static std::map<std::string, TrainTest> c;
  return c;
}

std::string canonical_or_raw(const std::string& path) {
  std::error_code ec;
  auto p = fs::weakly_canonical(fs::path(path), ec);
  return ec ? path : p.string();
}

}  // namespace

TrainTest load(const DataSource& source, int64_t memory_budget_bytes) {
  if (source.format != "idx" && source.format != "cifar10" && source.format != "hdf5")
    throw BadInput("data source format '" + source.format +
                   "', expected one of idx, cifar10, hdf5 (path " + source.path + ")");
  if (source.path.empty())
    throw BadInput("data source (" + source.format + "): empty path, expected a " +
                   (source.format == "hdf5" ? "file" : "directory"));
  // The budget only matters for HDF5 (IDX and CIFAR-10 are read whole).
  const std::string key = source.format + '\n' + canonical_or_raw(source.path) + '\n' +
                          (source.format == "hdf5" ? std::to_string(memory_budget_bytes) : std::string("-"));
  std::lock_guard<std::mutex> lock(g_cache_mutex);
  auto it = cache().find(key);
  if (it != cache().end()) return it->second;
  TrainTest tt;
  if (source.format == "idx") {
    tt = read_idx_dir(source.path);
  } else if (source.format == "cifar10") {
    tt = read_cifar10_dir(source.path);
  } else {
    tt = read_hdf5(source.path, int64_t(32) << 20, memory_budget_bytes);
  }
  cache().emplace(key, tt);
  return tt;
}

void clear_cache() {
  std::lock_guard<std::mutex> lock(g_cache_mutex);
  cache().clear();
}

size_t cache_size() {
  std::lock_guard<std::mutex> lock(g_cache_mutex);
  return cache().size();
}

// --- label maps -----------------------------------------------------------------------------

const LabelMap& named_label_map(const std::string& name) {
  static const std::map<std::string, const LabelMap*> known = {
      {"fashion_mnist_coarse3", &kFashionMnistCoarse3},
  };
  auto it = known.find(name);
  if (it == known.end()) {
    std::string names;
    for (const auto& [k, v] : known) names += (names.empty() ? "" : ", ") + k;
    throw BadInput("label map '" + name + "' is unknown, expected one of: " + names);
  }
  return *it->second;
}

ImageSet apply_label_map(const ImageSet& set, const LabelMap& map) {
  if (int64_t(map.size()) != set.num_classes)
    throw BadInput("label map with " + std::to_string(map.size()) + " entries for " +
                   set.source + ", expected one per class (" + std::to_string(set.num_classes) +
                   ")");
  int64_t max_new = -1;
  for (size_t i = 0; i < map.size(); ++i) {
    if (map[i] < -1)
      throw BadInput("label map entry " + std::to_string(i) + " = " + std::to_string(map[i]) +
                     ", expected -1 (drop) or a class >= 0");
    max_new = std::max(max_new, map[i]);
  }
  if (max_new < 0) throw BadInput("label map drops every class, expected at least one kept");
  auto lut = torch::tensor(std::vector<int64_t>(map), torch::kLong);  // host: labels are mapped on the host
  ImageSet out;
  out.num_classes = max_new + 1;
  out.source = set.source;
  auto mapped = lut.index_select(0, set.labels);
  out.reader = set.reader;
  if (std::find(map.begin(), map.end(), int64_t(-1)) == map.end()) {
    out.images = set.images;
    out.rows = set.rows;
    out.labels = mapped;
  } else {
    auto keep = (mapped >= 0).nonzero().squeeze(1);
    if (set.streamed())  // the kept examples' file rows; the images stay in the file
      out.rows = set.rows.defined() ? set.rows.index_select(0, keep) : keep;
    else
      out.images = set.images.index_select(0, keep);
    out.labels = mapped.index_select(0, keep);
  }
  return out;
}

TrainTest apply_label_map(const TrainTest& data, const LabelMap& map) {
  TrainTest out;
  out.train = apply_label_map(data.train, map);
  out.test = apply_label_map(data.test, map);
  out.norm = data.norm;
  return out;
}

}  // namespace lrid::data
