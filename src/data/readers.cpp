// IDX (gzip or plain) and CIFAR-10 binary readers.
#include <zlib.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "internal.hpp"
#include "lrid/data/dataset.hpp"
#include "lrid/error.hpp"

namespace fs = std::filesystem;

namespace lrid::data {
namespace detail {

void require_file(const std::string& path) {
  std::error_code ec;
  auto st = fs::status(path, ec);
  if (ec || !fs::exists(st)) throw BadInput(path + ": file does not exist");
  if (!fs::is_regular_file(st)) throw BadInput(path + ": not a regular file");
}

torch::Tensor alloc_u8(at::IntArrayRef sizes, const std::string& what) {
  try {
    return torch::empty(sizes, torch::kUInt8);  // host: read from the file
  } catch (const std::exception&) {
    std::string s;
    for (auto v : sizes) s += (s.empty() ? "" : "x") + std::to_string(v);
    throw BadInput(what + ": cannot allocate " + s + " bytes of images");
  }
}

void check_labels(const torch::Tensor& labels, int64_t num_classes, const std::string& where) {
  if (labels.numel() == 0) return;
  auto bad = (labels < 0).logical_or(labels >= num_classes);
  if (!bad.any().item<bool>()) return;
  int64_t i = bad.nonzero().index({0, 0}).item<int64_t>();
  throw BadInput(where + ": label " + std::to_string(labels[i].item<int64_t>()) + " at index " +
                 std::to_string(i) + ", expected labels in [0, " + std::to_string(num_classes) +
                 ")");
}

int64_t infer_num_classes(const ImageSet& a, const ImageSet& b) {
  int64_t m = -1;
  if (a.labels.numel()) m = std::max(m, a.labels.max().item<int64_t>());
  if (b.labels.numel()) m = std::max(m, b.labels.max().item<int64_t>());
  return m + 1;
}

TrainTest finish(ImageSet train, ImageSet test, int64_t num_classes, const std::string& where,
                 const std::optional<Normalization>& stored) {
  if (num_classes <= 0) num_classes = infer_num_classes(train, test);
  if (num_classes <= 0) throw BadInput(where + ": no labels, expected at least one class");
  train.num_classes = test.num_classes = num_classes;
  check_labels(train.labels, num_classes, train.source);
  check_labels(test.labels, num_classes, test.source);
  auto shape = [](const ImageSet& s) {
    return std::to_string(s.channels()) + "x" + std::to_string(s.height()) + "x" + std::to_string(s.width());
  };
  if (shape(train) != shape(test))
    throw BadInput(where + ": test images are " + shape(test) + " (CxHxW), expected the training shape " + shape(train));
  TrainTest out;
  out.norm = stored ? *stored : Normalization::from_set(train);
  out.train = std::move(train);
  out.test = std::move(test);
  return out;
}

}  // namespace detail

namespace {

// --- IDX -------------------------------------------------------------------------------------

class GzReader {
 public:
  explicit GzReader(const std::string& path) : path_(path) {
    detail::require_file(path);
    f_ = gzopen(path.c_str(), "rb");
    if (!f_) throw BadInput(path + ": cannot open for reading");
    gzbuffer(f_, 1 << 20);
  }
  ~GzReader() {
    if (f_) gzclose(f_);
  }
  GzReader(const GzReader&) = delete;
  GzReader& operator=(const GzReader&) = delete;

  /// Reads up to n bytes; returns the count read (< n only at the end of the data).
  size_t read_some(void* dst, size_t n) {
    auto* p = static_cast<unsigned char*>(dst);
    size_t done = 0;
    while (done < n) {
      unsigned chunk = static_cast<unsigned>(std::min<size_t>(n - done, 1u << 30));
      int got = gzread(f_, p + done, chunk);
      if (got < 0) {
        int errnum = 0;
        const char* msg = gzerror(f_, &errnum);
        throw BadInput(path_ + ": read error (" + std::string(msg ? msg : "zlib error") +
                       "), the file is corrupt or truncated");
      }
      if (got == 0) break;
      done += static_cast<size_t>(got);
    }
    return done;
  }

  void read_exact(void* dst, size_t n, const std::string& what) {
    size_t got = read_some(dst, n);
    if (got != n)
      throw BadInput(path_ + ": truncated, expected " + std::to_string(n) + " bytes of " + what +
                     ", got " + std::to_string(got));
  }

  void expect_end(const std::string& what) {
    unsigned char b;
    if (read_some(&b, 1) != 0)
      throw BadInput(path_ + ": unexpected data after " + what + ", expected the end of the file");
  }

 private:
  std::string path_;
  gzFile f_ = nullptr;
};

std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

uint32_t be32(const unsigned char* b) {
  return (uint32_t(b[0]) << 24) | (uint32_t(b[1]) << 16) | (uint32_t(b[2]) << 8) | uint32_t(b[3]);
}

/// Reads an IDX header with ubyte data and `ndim` dimensions; returns the dimensions.
std::vector<int64_t> read_idx_header(GzReader& in, const std::string& path, int ndim,
                                     const char* kind) {
  unsigned char m[4];
  in.read_exact(m, 4, "IDX magic number");
  uint32_t expected = 0x00000800u | uint32_t(ndim);
  uint32_t magic = be32(m);
  if (magic != expected)
    throw BadInput(path + ": magic number " + hex32(magic) + ", expected " + hex32(expected) +
                   " (IDX " + kind + " file)");
  std::vector<int64_t> dims(ndim);
  for (int i = 0; i < ndim; ++i) {
    unsigned char b[4];
    in.read_exact(b, 4, "IDX header");
    dims[i] = be32(b);
    if (dims[i] <= 0)
      throw BadInput(path + ": dimension " + std::to_string(i) + " is 0, expected > 0");
  }
  return dims;
}

/// Reads `count` bytes into a uint8 tensor of `sizes`, allocating in 64 MiB pieces as the data
/// arrives, so a header that overstates the size gives a truncation error, not a huge allocation.
torch::Tensor read_payload(GzReader& in, const std::string& path, std::vector<int64_t> sizes,
                           const std::string& what) {
  int64_t count = 1;
  for (auto s : sizes) {
    if (s > (int64_t(1) << 40) / std::max<int64_t>(count, 1))
      throw BadInput(path + ": header claims an implausible size, expected a real IDX file");
    count *= s;
  }
  const int64_t piece = int64_t(64) << 20;
  std::vector<torch::Tensor> parts;
  int64_t done = 0;
  while (done < count) {
    int64_t n = std::min(piece, count - done);
    auto t = detail::alloc_u8({n}, path);
    size_t got = in.read_some(t.data_ptr<uint8_t>(), size_t(n));
    done += int64_t(got);
    if (int64_t(got) != n)
      throw BadInput(path + ": truncated, expected " + std::to_string(count) + " bytes of " +
                     what + ", got " + std::to_string(done));
    parts.push_back(std::move(t));
  }
  in.expect_end(what);
  auto flat = parts.size() == 1 ? parts[0] : torch::cat(parts);
  return flat.view(sizes);
}

std::string find_idx_file(const std::string& dir, const std::string& base) {
  for (const char* ext : {".gz", ""}) {
    fs::path p = fs::path(dir) / (base + ext);
    std::error_code ec;
    if (fs::is_regular_file(p, ec)) return p.string();
  }
  throw BadInput((fs::path(dir) / base).string() +
                 "[.gz]: file does not exist, expected an IDX file there");
}

// --- CIFAR-10 -----------------------------------------------------------------------------------

constexpr int64_t kCifarRecord = 1 + 3 * 32 * 32;

}  // namespace

torch::Tensor read_idx_images(const std::string& path) {
  GzReader in(path);
  auto dims = read_idx_header(in, path, 3, "images");
  auto t = read_payload(in, path, {dims[0], 1, dims[1], dims[2]},
                        std::to_string(dims[0]) + " images of " + std::to_string(dims[1]) + "x" +
                            std::to_string(dims[2]));
  return t;
}

torch::Tensor read_idx_labels(const std::string& path) {
  GzReader in(path);
  auto dims = read_idx_header(in, path, 1, "labels");
  auto t = read_payload(in, path, {dims[0]}, std::to_string(dims[0]) + " labels");
  return t.to(torch::kLong);
}

ImageSet read_idx(const std::string& images_path, const std::string& labels_path,
                  int64_t num_classes) {
  ImageSet s;
  s.images = read_idx_images(images_path);
  s.labels = read_idx_labels(labels_path);
  s.source = images_path;
  if (s.images.size(0) != s.labels.size(0))
    throw BadInput(labels_path + ": " + std::to_string(s.labels.size(0)) +
                   " labels, expected one per image of " + images_path + " (" +
                   std::to_string(s.images.size(0)) + ")");
  if (num_classes > 0) {
    detail::check_labels(s.labels, num_classes, labels_path);
    s.num_classes = num_classes;
  } else {
    s.num_classes = s.labels.max().item<int64_t>() + 1;
  }
  return s;
}

TrainTest read_idx_dir(const std::string& dir, int64_t num_classes) {
  // Sequenced explicitly: the first missing file in this order is the one reported.
  const auto train_images = find_idx_file(dir, "train-images-idx3-ubyte");
  const auto train_labels = find_idx_file(dir, "train-labels-idx1-ubyte");
  const auto test_images = find_idx_file(dir, "t10k-images-idx3-ubyte");
  const auto test_labels = find_idx_file(dir, "t10k-labels-idx1-ubyte");
  auto train = read_idx(train_images, train_labels, num_classes);
  auto test = read_idx(test_images, test_labels, num_classes);
  return detail::finish(std::move(train), std::move(test), num_classes, dir);
}


ImageSet read_cifar10_batches(const std::vector<std::string>& files) {
  if (files.empty()) throw BadInput("CIFAR-10: no batch files given");
  std::vector<int64_t> counts;
  int64_t total = 0;
  for (const auto& f : files) {
    detail::require_file(f);
    std::error_code ec;
    auto size = static_cast<int64_t>(fs::file_size(f, ec));
    if (ec) throw BadInput(f + ": cannot read the file size");
    if (size <= 0 || size % kCifarRecord != 0)
      throw BadInput(f + ": " + std::to_string(size) +
                     " bytes, expected a positive multiple of 3073 (CIFAR-10 binary records of "
                     "1 label byte + 3072 pixel bytes)");
    counts.push_back(size / kCifarRecord);
    total += size / kCifarRecord;
  }
  ImageSet s;
  s.images = detail::alloc_u8({total, 3, 32, 32}, files[0]);
  s.labels = torch::empty({total}, torch::kLong);  // host: read from the file
  s.num_classes = 10;
  s.source = files.size() == 1 ? files[0] : files[0] + " (+" + std::to_string(files.size() - 1) + " more)";
  auto* img = s.images.data_ptr<uint8_t>();
  auto* lab = s.labels.data_ptr<int64_t>();
  std::vector<unsigned char> buf;
  int64_t row = 0;
  for (size_t k = 0; k < files.size(); ++k) {
    const auto& f = files[k];
    std::ifstream in(f, std::ios::binary);
    if (!in) throw BadInput(f + ": cannot open for reading");
    buf.resize(size_t(counts[k] * kCifarRecord));
    in.read(reinterpret_cast<char*>(buf.data()), std::streamsize(buf.size()));
    if (in.gcount() != std::streamsize(buf.size()))
      throw BadInput(f + ": short read, expected " + std::to_string(buf.size()) + " bytes");
    for (int64_t i = 0; i < counts[k]; ++i, ++row) {
      const unsigned char* rec = buf.data() + i * kCifarRecord;
      if (rec[0] > 9)
        throw BadInput(f + ": record " + std::to_string(i) + " has label " +
                       std::to_string(int(rec[0])) + ", expected 0..9 (CIFAR-10)");
      lab[row] = rec[0];
      std::copy(rec + 1, rec + kCifarRecord, img + row * (kCifarRecord - 1));
    }
  }
  return s;
}

TrainTest read_cifar10_dir(const std::string& dir) {
  std::vector<std::string> train_files;
  for (int i = 1; i <= 5; ++i)
    train_files.push_back((fs::path(dir) / ("data_batch_" + std::to_string(i) + ".bin")).string());
  auto train = read_cifar10_batches(train_files);
  auto test = read_cifar10_batches({(fs::path(dir) / "test_batch.bin").string()});
  return detail::finish(std::move(train), std::move(test), 10, dir);
}

}  // namespace lrid::data
