// Reader for lrid's HDF5 image layout (docs/data.md):
//   /train/images uint8 [N,H,W,C] or [N,H,W]   /train/labels integer [N]
//   /test/images  ...                           /test/labels  ...
//   optional root attribute num_classes (integer scalar)
#include <hdf5.h>

#include <algorithm>
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

ImageSet read_split(hid_t file, const std::string& path, const std::string& split,
                    int64_t block_bytes) {
  const std::string where = path + ":/" + split;
  if (!link_exists(file, split))
    throw BadInput(path + ": no group /" + split + ", expected /" + split + "/images and /" +
                   split + "/labels (lrid HDF5 layout, docs/data.md)");
  for (const char* name : {"images", "labels"})
    if (!link_exists(file, split + "/" + name))
      throw BadInput(where + "/" + name + ": dataset missing (lrid HDF5 layout, docs/data.md)");

  Handle img(H5Dopen2(file, (split + "/images").c_str(), H5P_DEFAULT), H5Dclose);
  if (!img.ok()) throw BadInput(where + "/images: cannot open as a dataset");
  {
    Handle type(H5Dget_type(img.get()), H5Tclose);
    if (H5Tget_class(type.get()) != H5T_INTEGER || H5Tget_size(type.get()) != 1 ||
        H5Tget_sign(type.get()) != H5T_SGN_NONE)
      throw BadInput(where + "/images: dtype " + describe_type(type.get()) +
                     ", expected uint8 (convert to 0..255, docs/data.md)");
  }
  auto idims = dims_of(img.get());
  if (idims.size() != 3 && idims.size() != 4)
    throw BadInput(where + "/images: rank " + std::to_string(idims.size()) +
                   ", expected 4 ([N,H,W,C]) or 3 ([N,H,W])");
  const int64_t n = int64_t(idims[0]), h = int64_t(idims[1]), w = int64_t(idims[2]);
  const int64_t c = idims.size() == 4 ? int64_t(idims[3]) : 1;
  if (n <= 0 || h <= 0 || w <= 0 || c <= 0)
    throw BadInput(where + "/images: shape has a zero dimension, expected N,H,W,C > 0");

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
  s.labels = torch::empty({n}, torch::kLong);
  if (H5Dread(lab.get(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT,
              s.labels.data_ptr<int64_t>()) < 0)
    throw BadInput(where + "/labels: read failed (corrupt or truncated file)");

  // Images: read blocks of rows [N,H,W,C] and transpose each into the NCHW tensor.
  s.images = detail::alloc_u8({n, c, h, w}, where + "/images");
  const int64_t row_bytes = h * w * c;
  const int64_t rows_per_block = std::max<int64_t>(1, block_bytes / row_bytes);
  auto block = detail::alloc_u8({std::min(n, rows_per_block), h, w, c}, where + "/images");
  Handle fspace(H5Dget_space(img.get()), H5Sclose);
  for (int64_t r0 = 0; r0 < n; r0 += rows_per_block) {
    const int64_t cnt = std::min(rows_per_block, n - r0);
    std::vector<hsize_t> start(idims.size(), 0), count(idims);
    start[0] = hsize_t(r0);
    count[0] = hsize_t(cnt);
    H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(),
                        nullptr);
    Handle mspace(H5Screate_simple(int(count.size()), count.data(), nullptr), H5Sclose);
    auto buf = block.narrow(0, 0, cnt);
    if (H5Dread(img.get(), H5T_NATIVE_UINT8, mspace.get(), fspace.get(), H5P_DEFAULT,
                buf.data_ptr<uint8_t>()) < 0)
      throw BadInput(where + "/images: read failed at rows " + std::to_string(r0) + ".." +
                     std::to_string(r0 + cnt - 1) + " (corrupt or truncated file)");
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

}  // namespace

TrainTest read_hdf5(const std::string& path, int64_t block_bytes) {
  detail::require_file(path);
  QuietHdf5 quiet;
  Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!file.ok()) throw BadInput(path + ": cannot open as an HDF5 file");
  int64_t num_classes = read_num_classes(file.get(), path);
  auto train = read_split(file.get(), path, "train", block_bytes);
  auto test = read_split(file.get(), path, "test", block_bytes);
  return detail::finish(std::move(train), std::move(test), num_classes, path);
}

}  // namespace lrid::data
