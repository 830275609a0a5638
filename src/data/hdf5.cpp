// Reader for lrid's HDF5 image layout (docs/data.md):
//   /train/images uint8 [N,H,W,C] or [N,H,W]   /train/labels integer [N]
//   /test/images  ...                           /test/labels  ...
//   optional root attribute num_classes (integer scalar)
#include <hdf5.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "internal.hpp"
#include "lrid/data/dataset.hpp"
#include "lrid/error.hpp"

namespace lrid::data {
namespace {

/// Turns HDF5's automatic error-stack printing off for its lifetime (restores it after).
class QuietHdf5 {
 public:
  QuietHdf5() {
    H5Eget_auto2(H5E_DEFAULT, &func_, &data_);
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  }
  ~QuietHdf5() { H5Eset_auto2(H5E_DEFAULT, func_, data_); }
  QuietHdf5(const QuietHdf5&) = delete;
  QuietHdf5& operator=(const QuietHdf5&) = delete;

 private:
  H5E_auto2_t func_ = nullptr;
  void* data_ = nullptr;
};

/// An hid_t closed with `close` on destruction.
class Handle {
 public:
  Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  ~Handle() {
    if (id_ >= 0) close_(id_);
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  hid_t get() const { return id_; }
  bool ok() const { return id_ >= 0; }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

std::string describe_type(hid_t type) {
  size_t size = H5Tget_size(type);
  switch (H5Tget_class(type)) {
    case H5T_INTEGER:
      return std::string(H5Tget_sign(type) == H5T_SGN_NONE ? "uint" : "int") +
             std::to_string(8 * size);
    case H5T_FLOAT:
      return "float" + std::to_string(8 * size);
    case H5T_STRING:
      return "string";
    case H5T_COMPOUND:
      return "compound";
    default:
      return "a non-numeric type";
  }
}

bool link_exists(hid_t loc, const std::string& name) {
  return H5Lexists(loc, name.c_str(), H5P_DEFAULT) > 0;
}

std::vector<hsize_t> dims_of(hid_t dset) {
  Handle space(H5Dget_space(dset), H5Sclose);
  int rank = H5Sget_simple_extent_ndims(space.get());
  std::vector<hsize_t> d(std::max(rank, 0));
  if (rank > 0) H5Sget_simple_extent_dims(space.get(), d.data(), nullptr);
  return d;
}

struct ImagesInfo {
  int64_t n = 0, h = 0, w = 0, c = 0;
  std::vector<hsize_t> dims;
};

// Checks /split/images and /split/labels exist and images is uint8 [N,H,W(,C)]; returns the
// images' shape. BadInput naming what is wrong.
ImagesInfo check_images(hid_t file, hid_t img, const std::string& path, const std::string& split) {
  const std::string where = path + ":/" + split;
  {
    Handle type(H5Dget_type(img), H5Tclose);
    if (H5Tget_class(type.get()) != H5T_INTEGER || H5Tget_size(type.get()) != 1 ||
        H5Tget_sign(type.get()) != H5T_SGN_NONE)
      throw BadInput(where + "/images: dtype " + describe_type(type.get()) +
                     ", expected uint8 (convert to 0..255, docs/data.md)");
  }
  (void)file;
  ImagesInfo in;
  in.dims = dims_of(img);
  if (in.dims.size() != 3 && in.dims.size() != 4)
    throw BadInput(where + "/images: rank " + std::to_string(in.dims.size()) +
                   ", expected 4 ([N,H,W,C]) or 3 ([N,H,W])");
  in.n = int64_t(in.dims[0]), in.h = int64_t(in.dims[1]), in.w = int64_t(in.dims[2]);
  in.c = in.dims.size() == 4 ? int64_t(in.dims[3]) : 1;
  if (in.n <= 0 || in.h <= 0 || in.w <= 0 || in.c <= 0)
    throw BadInput(where + "/images: shape has a zero dimension, expected N,H,W,C > 0");
  return in;
}

void require_split(hid_t file, const std::string& path, const std::string& split) {
  const std::string where = path + ":/" + split;
  if (!link_exists(file, split))
    throw BadInput(path + ": no group /" + split + ", expected /" + split + "/images and /" +
                   split + "/labels (lrid HDF5 layout, docs/data.md)");
  for (const char* name : {"images", "labels"})
    if (!link_exists(file, split + "/" + name))
      throw BadInput(where + "/" + name + ": dataset missing (lrid HDF5 layout, docs/data.md)");
}

// Rows [first, first + cnt) of an images dataset into dst ([cnt,H,W,C] bytes).
void read_rows(hid_t img, const std::vector<hsize_t>& dims, int64_t first, int64_t cnt, uint8_t* dst,
               const std::string& where) {
  Handle fspace(H5Dget_space(img), H5Sclose);
  std::vector<hsize_t> start(dims.size(), 0), count(dims);
  start[0] = hsize_t(first);
  count[0] = hsize_t(cnt);
  H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr);
  Handle mspace(H5Screate_simple(int(count.size()), count.data(), nullptr), H5Sclose);
  if (H5Dread(img, H5T_NATIVE_UINT8, mspace.get(), fspace.get(), H5P_DEFAULT, dst) < 0)
    throw BadInput(where + "/images: read failed at rows " + std::to_string(first) + ".." +
                   std::to_string(first + cnt - 1) + " (corrupt or truncated file)");
}

ImageSet read_split(hid_t file, const std::string& path, const std::string& split,
                    int64_t block_bytes, int64_t stream_bytes) {
  const std::string where = path + ":/" + split;
  require_split(file, path, split);
  Handle img(H5Dopen2(file, (split + "/images").c_str(), H5P_DEFAULT), H5Dclose);
  if (!img.ok()) throw BadInput(where + "/images: cannot open as a dataset");
  const ImagesInfo in = check_images(file, img.get(), path, split);
  const int64_t n = in.n, h = in.h, w = in.w, c = in.c;

  Handle lab(H5Dopen2(file, (split + "/labels").c_str(), H5P_DEFAULT), H5Dclose);
  if (!lab.ok()) throw BadInput(where + "/labels: cannot open as a dataset");
  {
    Handle type(H5Dget_type(lab.get()), H5Tclose);
    if (H5Tget_class(type.get()) != H5T_INTEGER)
      throw BadInput(where + "/labels: dtype " + describe_type(type.get()) +
                     ", expected an integer type");
  }
  auto ldims = dims_of(lab.get());
  if (ldims.size() != 1)
    throw BadInput(where + "/labels: rank " + std::to_string(ldims.size()) + ", expected 1 ([N])");
  if (int64_t(ldims[0]) != n)
    throw BadInput(where + "/labels: " + std::to_string(ldims[0]) +
                   " labels, expected one per image (" + std::to_string(n) + ")");

  ImageSet s;
  s.source = where;
  s.labels = torch::empty({n}, torch::kLong);  // host: read from the file
  if (H5Dread(lab.get(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT,
              s.labels.data_ptr<int64_t>()) < 0)
    throw BadInput(where + "/labels: read failed (corrupt or truncated file)");

  const int64_t row_bytes = h * w * c;
  if (stream_bytes >= 0 && n * row_bytes > stream_bytes) {
    // Streamed: the rows stay in the file (a RowReader of its own opens it again).
    s.reader = std::make_shared<RowReader>(path, split);
    return s;
  }
  // Images: read blocks of rows [N,H,W,C] and transpose each into the NCHW tensor.
  s.images = detail::alloc_u8({n, c, h, w}, where + "/images");
  const int64_t rows_per_block = std::max<int64_t>(1, block_bytes / row_bytes);
  auto block = detail::alloc_u8({std::min(n, rows_per_block), h, w, c}, where + "/images");
  for (int64_t r0 = 0; r0 < n; r0 += rows_per_block) {
    const int64_t cnt = std::min(rows_per_block, n - r0);
    auto buf = block.narrow(0, 0, cnt);
    read_rows(img.get(), in.dims, r0, cnt, buf.data_ptr<uint8_t>(), where);
    s.images.narrow(0, r0, cnt).copy_(buf.permute({0, 3, 1, 2}));
  }
  return s;
}

int64_t read_num_classes(hid_t file, const std::string& path) {
  if (H5Aexists(file, "num_classes") <= 0) return 0;
  Handle attr(H5Aopen(file, "num_classes", H5P_DEFAULT), H5Aclose);
  if (!attr.ok()) throw BadInput(path + ": attribute num_classes cannot be opened");
  {
    Handle type(H5Aget_type(attr.get()), H5Tclose);
    if (H5Tget_class(type.get()) != H5T_INTEGER)
      throw BadInput(path + ": attribute num_classes has dtype " + describe_type(type.get()) +
                     ", expected an integer");
  }
  Handle space(H5Aget_space(attr.get()), H5Sclose);
  if (H5Sget_simple_extent_npoints(space.get()) != 1)
    throw BadInput(path + ": attribute num_classes has " +
                   std::to_string(H5Sget_simple_extent_npoints(space.get())) +
                   " values, expected one integer");
  int64_t v = 0;
  if (H5Aread(attr.get(), H5T_NATIVE_INT64, &v) < 0)
    throw BadInput(path + ": attribute num_classes cannot be read");
  if (v < 1)
    throw BadInput(path + ": attribute num_classes = " + std::to_string(v) + ", expected >= 1");
  return v;
}

// /train/images attributes mean and std (float, one per channel, on the [0, 1] pixel scale):
// the training set's normalisation, stored so that a large set need not be read through to
// compute it. Absent: empty.
std::vector<double> read_channel_attr(hid_t file, const std::string& path, const char* name, int64_t channels) {
  Handle img(H5Dopen2(file, "train/images", H5P_DEFAULT), H5Dclose);
  if (!img.ok() || H5Aexists(img.get(), name) <= 0) return {};
  const std::string where = path + ":/train/images attribute " + name;
  Handle attr(H5Aopen(img.get(), name, H5P_DEFAULT), H5Aclose);
  Handle space(H5Aget_space(attr.get()), H5Sclose);
  const auto count = H5Sget_simple_extent_npoints(space.get());
  if (count != channels)
    throw BadInput(where + ": " + std::to_string(count) + " values, expected one per channel (" +
                   std::to_string(channels) + ")");
  std::vector<double> v(static_cast<size_t>(count));
  if (H5Aread(attr.get(), H5T_NATIVE_DOUBLE, v.data()) < 0) throw BadInput(where + ": cannot be read as numbers");
  return v;
}

}  // namespace

std::recursive_mutex& detail::hdf5_mutex() {
  // Never destroyed: readers in the load cache lock it from static destructors.
  static std::recursive_mutex* m = new std::recursive_mutex;
  return *m;
}

RowReader::RowReader(const std::string& path, const std::string& split) : where(path + ":/" + split) {
  std::lock_guard<std::recursive_mutex> lock(detail::hdf5_mutex());
  QuietHdf5 quiet;
  file_ = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (file_ < 0) throw BadInput(path + ": cannot open as an HDF5 file");
  try {
    require_split(file_, path, split);
    // Compressed chunks must be read and decoded whole: a chunk cache that holds a few batches'
    // worth of them. Uncompressed ones are read without a cache, so HDF5 reads only the rows
    // asked for (a cached chunk of 64 images would cost 64 rows of I/O per random row).
    dset_ = H5Dopen2(file_, (split + "/images").c_str(), H5P_DEFAULT);
    if (dset_ < 0) throw BadInput(where + "/images: cannot open as a dataset");
    {
      Handle dcpl(H5Dget_create_plist(dset_), H5Pclose);
      const bool filtered = H5Pget_layout(dcpl.get()) == H5D_CHUNKED && H5Pget_nfilters(dcpl.get()) > 0;
      Handle dapl(H5Pcreate(H5P_DATASET_ACCESS), H5Pclose);
      H5Pset_chunk_cache(dapl.get(), filtered ? 12421 : 0, filtered ? size_t(64) << 20 : 0, 0.75);
      H5Dclose(dset_);
      dset_ = H5Dopen2(file_, (split + "/images").c_str(), dapl.get());
      if (dset_ < 0) throw BadInput(where + "/images: cannot open as a dataset");
    }
    const ImagesInfo in = check_images(file_, dset_, path, split);
    n = in.n, h = in.h, w = in.w, c = in.c;
    rank_ = static_cast<int>(in.dims.size());
  } catch (...) {
    if (dset_ >= 0) H5Dclose(dset_);
    H5Fclose(file_);
    throw;
  }
}

RowReader::~RowReader() {
  // A reader in the load cache may outlive the HDF5 library (its atexit shutdown runs before the
  // cache's static destructor): its ids are then stale and must not be closed.
  std::lock_guard<std::recursive_mutex> lock(detail::hdf5_mutex());
  if (dset_ >= 0 && H5Iis_valid(dset_) > 0) H5Dclose(dset_);
  if (file_ >= 0 && H5Iis_valid(file_) > 0) H5Fclose(file_);
}

void RowReader::read_block(int64_t first, int64_t cnt, uint8_t* dst) const {
  if (first < 0 || first + cnt > n)
    throw BadInput(where + "/images: row " + std::to_string(first < 0 ? first : first + cnt - 1) +
                   " out of range (the file has " + std::to_string(n) + ")");
  std::vector<hsize_t> dims = {hsize_t(n), hsize_t(h), hsize_t(w)};
  if (rank_ == 4) dims.push_back(hsize_t(c));
  read_rows(dset_, dims, first, cnt, dst, where);
}

torch::Tensor RowReader::read_range(int64_t first, int64_t cnt) const {
  auto buf = detail::alloc_u8({cnt, h, w, c}, where);
  {
    std::lock_guard<std::recursive_mutex> lock(detail::hdf5_mutex());
    QuietHdf5 quiet;
    read_block(first, cnt, buf.data_ptr<uint8_t>());
  }
  return buf.permute({0, 3, 1, 2}).contiguous();
}

torch::Tensor RowReader::read(const torch::Tensor& rows) const {
  TORCH_CHECK(rows.dim() == 1 && rows.scalar_type() == torch::kLong, "RowReader::read: expected int64 [k]");
  const int64_t k = rows.size(0);
  // The distinct rows in file order, read as runs of consecutive rows; then put in request order.
  auto sorted = std::get<0>(torch::_unique(rows, /*sorted=*/true, /*return_inverse=*/false));
  const int64_t m = sorted.size(0);
  const int64_t* r = sorted.data_ptr<int64_t>();
  auto buf = detail::alloc_u8({m, h, w, c}, where);
  uint8_t* dst = buf.data_ptr<uint8_t>();
  {
    std::lock_guard<std::recursive_mutex> lock(detail::hdf5_mutex());
    QuietHdf5 quiet;
    for (int64_t i = 0; i < m;) {
      int64_t j = i + 1;
      while (j < m && r[j] == r[j - 1] + 1) ++j;
      read_block(r[i], j - i, dst + i * row_bytes());
      i = j;
    }
  }
  auto pos = torch::searchsorted(sorted, rows);
  auto out = buf.index_select(0, pos).permute({0, 3, 1, 2}).contiguous();
  (void)k;
  return out;
}

TrainTest read_hdf5(const std::string& path, int64_t block_bytes, int64_t stream_bytes) {
  detail::require_file(path);
  std::lock_guard<std::recursive_mutex> lock(detail::hdf5_mutex());
  QuietHdf5 quiet;
  Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!file.ok()) throw BadInput(path + ": cannot open as an HDF5 file");
  int64_t num_classes = read_num_classes(file.get(), path);
  auto train = read_split(file.get(), path, "train", block_bytes, stream_bytes);
  auto test = read_split(file.get(), path, "test", block_bytes, stream_bytes);
  const auto mean = read_channel_attr(file.get(), path, "mean", train.channels());
  const auto sd = read_channel_attr(file.get(), path, "std", train.channels());
  if (mean.empty() != sd.empty())
    throw BadInput(path + ":/train/images: attribute " + (mean.empty() ? "std" : "mean") + " without " +
                   (mean.empty() ? "mean" : "std") + ", expected both or neither");
  std::optional<Normalization> stored;
  if (!mean.empty()) {
    Normalization n;
    for (size_t i = 0; i < mean.size(); ++i) {
      if (!(sd[i] > 0) || !(mean[i] >= 0 && mean[i] <= 1))
        throw BadInput(path + ":/train/images: attributes mean/std of channel " + std::to_string(i) +
                       " are " + std::to_string(mean[i]) + "/" + std::to_string(sd[i]) +
                       ", expected a mean in [0, 1] and a std > 0 (the [0, 1] pixel scale)");
      n.mean.push_back(static_cast<float>(mean[i]));
      n.stddev.push_back(static_cast<float>(sd[i]));
    }
    stored = n;
  }
  return detail::finish(std::move(train), std::move(test), num_classes, path, stored);
}

}  // namespace lrid::data
