// Tests of lrid::data: readers (IDX, CIFAR-10, HDF5), label maps, batches, augmentation and the
// observation batch.
#include <deque>
#include <gtest/gtest.h>
#include <hdf5.h>
#include <torch/torch.h>
#include <zlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "lrid/data/data.hpp"
#include "lrid/error.hpp"

namespace fs = std::filesystem;
using namespace lrid::data;

namespace {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "lrid_data_test_XXXXXX").string();
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (!mkdtemp(buf.data())) throw std::runtime_error("mkdtemp failed");
    path_ = buf.data();
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string operator/(const std::string& name) const { return (fs::path(path_) / name).string(); }
  const std::string& str() const { return path_; }

 private:
  std::string path_;
};

void write_bytes(const std::string& path, const std::vector<unsigned char>& bytes, bool gz) {
  if (gz) {
    gzFile f = gzopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    if (!bytes.empty()) gzwrite(f, bytes.data(), unsigned(bytes.size()));
    gzclose(f);
  } else {
    std::ofstream f(path, std::ios::binary);
    f.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  }
}

std::vector<unsigned char> read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

void put_be32(std::vector<unsigned char>& v, uint32_t x) {
  for (int s = 24; s >= 0; s -= 8) v.push_back((unsigned char)(x >> s));
}

std::vector<unsigned char> idx_images(uint32_t n, uint32_t h, uint32_t w,
                                      uint32_t magic = 0x00000803) {
  std::vector<unsigned char> v;
  put_be32(v, magic);
  put_be32(v, n);
  put_be32(v, h);
  put_be32(v, w);
  for (uint32_t i = 0; i < n * h * w; ++i) v.push_back((unsigned char)((i * 7 + 3) % 256));
  return v;
}

std::vector<unsigned char> idx_labels(const std::vector<int>& labels,
                                      uint32_t magic = 0x00000801) {
  std::vector<unsigned char> v;
  put_be32(v, magic);
  put_be32(v, uint32_t(labels.size()));
  for (int l : labels) v.push_back((unsigned char)l);
  return v;
}

/// Runs f, expects BadInput whose one-line message contains every needle.
void expect_bad_input(const std::function<void()>& f, const std::vector<std::string>& needles) {
  try {
    f();
    ADD_FAILURE() << "expected lrid::BadInput";
  } catch (const lrid::BadInput& e) {
    std::string msg = e.what();
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    for (const auto& n : needles) EXPECT_NE(msg.find(n), std::string::npos) << "'" << n << "' not in: " << msg;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected lrid::BadInput, got " << e.what();
  }
}

std::string fashion_dir() {
  const char* env = std::getenv("LRID_FASHION_MNIST_DIR");
  return env ? env : "/usr/share/datasets/fashion-mnist";
}

class DataTest : public ::testing::Test {
 protected:
  void SetUp() override { torch::set_num_threads(1); }
};

// --- Fashion-MNIST ------------------------------------------------------------------------

class FashionMnist : public DataTest {
 protected:
  void SetUp() override {
    DataTest::SetUp();
    if (!fs::exists(fs::path(fashion_dir()) / "train-images-idx3-ubyte.gz"))
      GTEST_SKIP() << "Fashion-MNIST not found in " << fashion_dir();
  }
};

TEST_F(FashionMnist, LoadsShapesLabelsAndStatistics) {
  auto tt = load({"idx", fashion_dir()});
  EXPECT_EQ(tt.train.images.sizes(), (std::vector<int64_t>{60000, 1, 28, 28}));
  EXPECT_EQ(tt.test.images.sizes(), (std::vector<int64_t>{10000, 1, 28, 28}));
  EXPECT_EQ(tt.train.images.scalar_type(), torch::kUInt8);
  EXPECT_EQ(tt.train.labels.scalar_type(), torch::kLong);
  EXPECT_EQ(tt.train.num_classes, 10);
  EXPECT_EQ(tt.train.labels.min().item<int64_t>(), 0);
  EXPECT_EQ(tt.train.labels.max().item<int64_t>(), 9);
  // Known values (checked with Python's gzip + numpy): first labels, pixel sums.
  EXPECT_EQ(tt.train.labels[0].item<int64_t>(), 9);  // ankle boot
  EXPECT_EQ(tt.train.labels[3].item<int64_t>(), 3);
  EXPECT_EQ(tt.test.labels[1].item<int64_t>(), 2);
  EXPECT_EQ(tt.train.images[0].sum().item<int64_t>(), 76247);
  EXPECT_EQ(tt.test.images[0].sum().item<int64_t>(), 33456);
  EXPECT_EQ(tt.train.images.sum().item<int64_t>(), 3431114169LL);
  auto counts = torch::bincount(tt.train.labels);
  EXPECT_TRUE(counts.eq(6000).all().item<bool>()) << counts;
  EXPECT_TRUE(torch::bincount(tt.test.labels).eq(1000).all().item<bool>());
  ASSERT_EQ(tt.norm.mean.size(), 1u);
  EXPECT_NEAR(tt.norm.mean[0], 0.2860406, 1e-5);
  EXPECT_NEAR(tt.norm.stddev[0], 0.3530242, 1e-5);

  // Cached: the second load shares storage and does not grow the cache.
  auto n = cache_size();
  auto again = load({"idx", fashion_dir() + "/"});
  EXPECT_EQ(again.train.images.data_ptr(), tt.train.images.data_ptr());
  EXPECT_EQ(cache_size(), n);
}

TEST_F(FashionMnist, CoarseThreeWayMap) {
  auto tt = apply_label_map(load({"idx", fashion_dir()}), kFashionMnistCoarse3);
  EXPECT_EQ(tt.train.num_classes, 3);
  EXPECT_EQ(tt.test.num_classes, 3);
  auto c = torch::bincount(tt.train.labels);
  ASSERT_EQ(c.size(0), 3);
  EXPECT_EQ(c[0].item<int64_t>(), 4 * 6000);  // tops
  EXPECT_EQ(c[1].item<int64_t>(), 3 * 6000);  // footwear
  EXPECT_EQ(c[2].item<int64_t>(), 3 * 6000);  // other
  auto ct = torch::bincount(tt.test.labels);
  EXPECT_EQ(ct[0].item<int64_t>(), 4000);
  EXPECT_EQ(tt.train.labels[0].item<int64_t>(), 1);  // ankle boot -> footwear
  EXPECT_EQ(tt.train.labels[3].item<int64_t>(), 2);  // dress -> other
  EXPECT_EQ(tt.train.images.size(0), 60000);
  EXPECT_EQ(&named_label_map("fashion_mnist_coarse3"), &kFashionMnistCoarse3);
}

// --- label maps on a synthetic set ---------------------------------------------------------

ImageSet synthetic_set(int64_t n, int64_t c, int64_t h, int64_t w, int64_t num_classes) {
  ImageSet s;
  s.images = (torch::arange(n * c * h * w, torch::kLong) * 37 % 251).to(torch::kUInt8)
                 .view({n, c, h, w});
  s.labels = torch::arange(n, torch::kLong) % num_classes;
  s.num_classes = num_classes;
  s.source = "synthetic";
  return s;
}

TEST_F(DataTest, LabelMapRelabelsDropsAndRejects) {
  auto s = synthetic_set(12, 1, 2, 2, 4);  // labels 0 1 2 3 0 1 2 3 ...
  auto m = apply_label_map(s, {1, 0, 1, 0});
  EXPECT_EQ(m.num_classes, 2);
  EXPECT_TRUE(m.labels.equal(torch::tensor({1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0}, torch::kLong)));
  EXPECT_EQ(m.images.data_ptr(), s.images.data_ptr());

  auto d = apply_label_map(s, {0, -1, 1, -1});
  EXPECT_EQ(d.labels.size(0), 6);
  EXPECT_EQ(d.images.size(0), 6);
  EXPECT_TRUE(d.labels.equal(torch::tensor({0, 1, 0, 1, 0, 1}, torch::kLong)));
  EXPECT_TRUE(d.images[1].equal(s.images[2]));

  expect_bad_input([&] { apply_label_map(s, {0, 1, 2}); }, {"3 entries", "synthetic", "4"});
  expect_bad_input([&] { apply_label_map(s, {0, 1, -2, 0}); }, {"entry 2"});
  expect_bad_input([&] { apply_label_map(s, {-1, -1, -1, -1}); }, {"drops every class"});
  expect_bad_input([&] { named_label_map("nope"); }, {"nope", "fashion_mnist_coarse3"});
}

// --- IDX -----------------------------------------------------------------------------------

TEST_F(DataTest, IdxRoundTripGzipAndPlain) {
  TempDir dir;
  for (bool gz : {true, false}) {
    std::string ip = dir / (gz ? "i.gz" : "i"), lp = dir / (gz ? "l.gz" : "l");
    write_bytes(ip, idx_images(5, 3, 4), gz);
    write_bytes(lp, idx_labels({4, 0, 2, 2, 1}), gz);
    auto s = read_idx(ip, lp);
    ASSERT_EQ(s.images.sizes(), (std::vector<int64_t>{5, 1, 3, 4}));
    EXPECT_EQ(s.num_classes, 5);
    EXPECT_TRUE(s.labels.equal(torch::tensor({4, 0, 2, 2, 1}, torch::kLong)));
    // Pixel k (row-major over n, h, w) is (7k + 3) % 256.
    EXPECT_EQ(s.images[2][0][1][3].item<int>(), ((2 * 12 + 1 * 4 + 3) * 7 + 3) % 256);
  }
}

TEST_F(DataTest, IdxDirectoryPlainFiles) {
  TempDir dir;
  write_bytes(dir / "train-images-idx3-ubyte", idx_images(6, 2, 2), false);
  write_bytes(dir / "train-labels-idx1-ubyte", idx_labels({0, 1, 2, 0, 1, 2}), false);
  write_bytes(dir / "t10k-images-idx3-ubyte.gz", idx_images(2, 2, 2), true);
  write_bytes(dir / "t10k-labels-idx1-ubyte.gz", idx_labels({1, 1}), true);
  auto tt = load({"idx", dir.str()});
  EXPECT_EQ(tt.train.size(), 6);
  EXPECT_EQ(tt.test.size(), 2);
  EXPECT_EQ(tt.train.num_classes, 3);
  EXPECT_EQ(tt.test.num_classes, 3);
  clear_cache();
  EXPECT_EQ(cache_size(), 0u);
}

TEST_F(DataTest, IdxBadFiles) {
  TempDir dir;
  // Missing.
  expect_bad_input([&] { read_idx_images(dir / "missing.gz"); }, {dir / "missing.gz", "does not exist"});
  // Truncated gzip: the first half of a valid .gz file.
  write_bytes(dir / "full.gz", idx_images(200, 28, 28), true);
  auto gz = read_bytes(dir / "full.gz");
  ASSERT_GT(gz.size(), 100u);
  write_bytes(dir / "half.gz", std::vector<unsigned char>(gz.begin(), gz.begin() + gz.size() / 2), false);
  expect_bad_input([&] { read_idx_images(dir / "half.gz"); }, {dir / "half.gz"});
  EXPECT_EQ(read_idx_images(dir / "full.gz").size(0), 200);
  // Truncated plain payload.
  auto raw = idx_images(10, 4, 4);
  raw.resize(raw.size() - 5);
  write_bytes(dir / "short", raw, false);
  expect_bad_input([&] { read_idx_images(dir / "short"); }, {dir / "short", "truncated", "160 bytes"});
  // Truncated header.
  write_bytes(dir / "hdr", {0, 0, 8, 3, 0, 0}, false);
  expect_bad_input([&] { read_idx_images(dir / "hdr"); }, {dir / "hdr", "truncated"});
  // Wrong magic: a label file where images are expected, and vice versa.
  write_bytes(dir / "labels.gz", idx_labels({1, 2, 3}), true);
  expect_bad_input([&] { read_idx_images(dir / "labels.gz"); },
                   {dir / "labels.gz", "0x00000801", "expected 0x00000803"});
  write_bytes(dir / "images.gz", idx_images(3, 2, 2), true);
  expect_bad_input([&] { read_idx_labels(dir / "images.gz"); },
                   {dir / "images.gz", "expected 0x00000801"});
  // Label count mismatch.
  write_bytes(dir / "nine.gz", idx_labels({0, 1, 2, 3, 4, 5, 6, 7, 8}), true);
  write_bytes(dir / "ten.gz", idx_images(10, 2, 2), true);
  expect_bad_input([&] { read_idx(dir / "ten.gz", dir / "nine.gz"); },
                   {dir / "nine.gz", "9 labels", "(10)"});
  // Labels out of range.
  write_bytes(dir / "ten_l.gz", idx_labels({0, 1, 2, 3, 4, 5, 6, 7, 8, 12}), true);
  expect_bad_input([&] { read_idx(dir / "ten.gz", dir / "ten_l.gz", 10); },
                   {dir / "ten_l.gz", "label 12", "index 9", "[0, 10)"});
  // Data after the declared end.
  auto extra = idx_labels({1, 2});
  extra.push_back(7);
  write_bytes(dir / "extra", extra, false);
  expect_bad_input([&] { read_idx_labels(dir / "extra"); }, {dir / "extra", "end of the file"});
  // A header that claims far more data than the file holds: a truncation error, no huge alloc.
  auto liar = idx_images(2, 2, 2);
  liar[4] = 0x7f;  // n = 0x7f000002
  write_bytes(dir / "liar.gz", liar, true);
  expect_bad_input([&] { read_idx_images(dir / "liar.gz"); }, {dir / "liar.gz", "truncated"});
  // Directory missing a file.
  expect_bad_input([&] { read_idx_dir(dir.str()); }, {"train-images-idx3-ubyte"});
}

// --- CIFAR-10 ------------------------------------------------------------------------------

std::vector<unsigned char> cifar_records(int n, int label_base) {
  std::vector<unsigned char> v;
  for (int i = 0; i < n; ++i) {
    v.push_back((unsigned char)((label_base + i) % 10));
    for (int k = 0; k < 3072; ++k) v.push_back((unsigned char)((k * 13 + i * 101 + label_base) % 256));
  }
  return v;
}

void write_cifar_dir(const TempDir& dir) {
  for (int b = 1; b <= 5; ++b)
    write_bytes(dir / ("data_batch_" + std::to_string(b) + ".bin"), cifar_records(b, b), false);
  write_bytes(dir / "test_batch.bin", cifar_records(4, 7), false);
}

TEST_F(DataTest, Cifar10SyntheticBatches) {
  TempDir dir;
  write_cifar_dir(dir);
  auto tt = load({"cifar10", dir.str()});
  ASSERT_EQ(tt.train.images.sizes(), (std::vector<int64_t>{15, 3, 32, 32}));
  ASSERT_EQ(tt.test.images.sizes(), (std::vector<int64_t>{4, 3, 32, 32}));
  EXPECT_EQ(tt.train.num_classes, 10);
  // Record i=1 of data_batch_3 (label base 3) is training row 1+2+1 = 4.
  EXPECT_EQ(tt.train.labels[4].item<int64_t>(), 4);
  const int c = 2, y = 5, x = 17, k = c * 1024 + y * 32 + x;
  EXPECT_EQ(tt.train.images[4][c][y][x].item<int>(), (k * 13 + 1 * 101 + 3) % 256);
  EXPECT_EQ(tt.test.labels[3].item<int64_t>(), 0);  // (7 + 3) % 10
  EXPECT_EQ(tt.norm.mean.size(), 3u);
  auto again = load({"cifar10", dir.str()});
  EXPECT_EQ(again.test.images.data_ptr(), tt.test.images.data_ptr());
}

TEST_F(DataTest, Cifar10BadFiles) {
  TempDir dir;
  write_cifar_dir(dir);
  auto rec = cifar_records(2, 0);
  rec.resize(rec.size() - 100);
  write_bytes(dir / "short.bin", rec, false);
  expect_bad_input([&] { read_cifar10_batches({dir / "short.bin"}); }, {dir / "short.bin", "3073"});
  rec = cifar_records(3, 0);
  rec[3073] = 10;
  write_bytes(dir / "label.bin", rec, false);
  expect_bad_input([&] { read_cifar10_batches({dir / "label.bin"}); },
                   {dir / "label.bin", "record 1", "label 10"});
  fs::remove(dir / "test_batch.bin");
  expect_bad_input([&] { read_cifar10_dir(dir.str()); }, {dir / "test_batch.bin", "does not exist"});
  expect_bad_input([&] { load({"cifar", dir.str()}); }, {"'cifar'", "idx, cifar10, hdf5"});
}

// --- HDF5 (written with the C API) -----------------------------------------------------------

struct H5Split {
  std::vector<hsize_t> image_dims;  // [N,H,W,C] or [N,H,W]
  hid_t image_type = H5T_NATIVE_UINT8;
  std::vector<int32_t> labels;
  bool write_images = true;
};

uint8_t pattern(hsize_t n, hsize_t y, hsize_t x, hsize_t c) {
  return uint8_t((n * 31 + y * 7 + x * 3 + c * 101) % 256);
}

void write_h5(const std::string& path, const std::vector<std::pair<std::string, H5Split>>& splits,
              int64_t num_classes_attr = 0) {
  hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  for (const auto& [name, s] : splits) {
    hid_t g = H5Gcreate2(f, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (s.write_images) {
      const auto& d = s.image_dims;
      std::vector<float> fbuf;
      std::vector<uint8_t> ubuf;
      // [N,H,W,C] or [N,H,W]: pattern(n, y, x, c); other ranks: pattern of the flat index.
      hsize_t total = 1;
      for (auto v : d) total *= v;
      const bool image_rank = d.size() == 3 || d.size() == 4;
      const hsize_t c = d.size() == 4 ? d[3] : 1;
      for (hsize_t j = 0; j < total; ++j) {
        uint8_t v = image_rank ? pattern(j / (d[1] * d[2] * c), (j / (d[2] * c)) % d[1],
                                         (j / c) % d[2], j % c)
                               : uint8_t(j % 256);
        ubuf.push_back(v);
        fbuf.push_back(float(v));
      }
      hid_t sp = H5Screate_simple(int(d.size()), d.data(), nullptr);
      hid_t ds = H5Dcreate2(g, "images", s.image_type, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
      if (s.image_type == H5T_NATIVE_UINT8)
        H5Dwrite(ds, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, ubuf.data());
      else
        H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, fbuf.data());
      H5Dclose(ds);
      H5Sclose(sp);
    }
    hsize_t ln = s.labels.size();
    hid_t sp = H5Screate_simple(1, &ln, nullptr);
    hid_t ds = H5Dcreate2(g, "labels", H5T_STD_I32LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(ds, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, s.labels.data());
    H5Dclose(ds);
    H5Sclose(sp);
    H5Gclose(g);
  }
  if (num_classes_attr > 0) {
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(f, "num_classes", H5T_STD_I64LE, sp, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, H5T_NATIVE_INT64, &num_classes_attr);
    H5Aclose(a);
    H5Sclose(sp);
  }
  H5Fclose(f);
}

// A synthetic uint8 set written to `path` (train: n images h x w x c, label of image i
// (i * mult) % classes; test: the first n_test of them), read twice: loaded into memory, and
// streamed from its file (a budget of 100 bytes).
struct MemAndStreamed {
  TrainTest mem, str;
};
MemAndStreamed write_mem_and_streamed(const std::string& path, hsize_t n, hsize_t n_test, hsize_t h, hsize_t w,
                                      hsize_t c, int mult, int classes) {
  std::vector<int32_t> labels;
  for (hsize_t i = 0; i < n; ++i) labels.push_back(int32_t((i * hsize_t(mult)) % hsize_t(classes)));
  write_h5(path, {{"train", {{n, h, w, c}, H5T_NATIVE_UINT8, labels}},
                  {"test", {{n_test, h, w, c}, H5T_NATIVE_UINT8,
                            std::vector<int32_t>(labels.begin(), labels.begin() + std::ptrdiff_t(n_test))}}});
  return {read_hdf5(path), read_hdf5(path, int64_t(32) << 20, /*stream_bytes=*/100)};
}

TEST_F(DataTest, Hdf5RoundTrip) {
  TempDir dir;
  H5Split train{{7, 5, 4, 3}, H5T_NATIVE_UINT8, {0, 1, 2, 3, 4, 0, 1}};
  H5Split test{{3, 5, 4, 3}, H5T_NATIVE_UINT8, {2, 2, 1}};
  write_h5(dir / "d.h5", {{"train", train}, {"test", test}}, 6);
  for (int64_t block : {int64_t(32) << 20, int64_t(1)}) {  // one block; one row per block
    auto tt = read_hdf5(dir / "d.h5", block);
    ASSERT_EQ(tt.train.images.sizes(), (std::vector<int64_t>{7, 3, 5, 4}));
    ASSERT_EQ(tt.test.images.sizes(), (std::vector<int64_t>{3, 3, 5, 4}));
    EXPECT_EQ(tt.train.num_classes, 6);  // from the attribute, not max label + 1
    EXPECT_TRUE(tt.test.labels.equal(torch::tensor({2, 2, 1}, torch::kLong)));
    bool all = true;
    for (int n = 0; n < 7; ++n)
      for (int c = 0; c < 3; ++c)
        for (int y = 0; y < 5; ++y)
          for (int x = 0; x < 4; ++x)
            all &= tt.train.images[n][c][y][x].item<int>() == pattern(n, y, x, c);
    EXPECT_TRUE(all);
    EXPECT_EQ(tt.test.images[2][1][4][3].item<int>(), pattern(2, 4, 3, 1));
  }
  // Rank 3 = one channel; num_classes inferred.
  write_h5(dir / "g.h5", {{"train", {{4, 6, 5}, H5T_NATIVE_UINT8, {0, 3, 1, 1}}},
                          {"test", {{2, 6, 5}, H5T_NATIVE_UINT8, {0, 1}}}});
  auto g = load({"hdf5", dir / "g.h5"});
  EXPECT_EQ(g.train.images.sizes(), (std::vector<int64_t>{4, 1, 6, 5}));
  EXPECT_EQ(g.train.num_classes, 4);
  EXPECT_EQ(g.train.images[3][0][5][4].item<int>(), pattern(3, 5, 4, 0));
}

TEST_F(DataTest, Hdf5BadFiles) {
  TempDir dir;
  H5Split ok_train{{4, 2, 2, 1}, H5T_NATIVE_UINT8, {0, 1, 0, 1}};
  H5Split ok_test{{2, 2, 2, 1}, H5T_NATIVE_UINT8, {0, 1}};
  testing::internal::CaptureStderr();
  expect_bad_input([&] { read_hdf5(dir / "none.h5"); }, {dir / "none.h5", "does not exist"});
  write_bytes(dir / "text.h5", {'h', 'e', 'l', 'l', 'o'}, false);
  expect_bad_input([&] { read_hdf5(dir / "text.h5"); }, {dir / "text.h5", "HDF5"});

  write_h5(dir / "float.h5", {{"train", {{4, 2, 2, 1}, H5T_NATIVE_FLOAT, {0, 1, 0, 1}}}, {"test", ok_test}});
  expect_bad_input([&] { read_hdf5(dir / "float.h5"); }, {dir / "float.h5", "/train/images", "float32", "uint8"});

  write_h5(dir / "rank.h5", {{"train", {{4, 2}, H5T_NATIVE_UINT8, {0, 1, 0, 1}}}, {"test", ok_test}});
  expect_bad_input([&] { read_hdf5(dir / "rank.h5"); }, {dir / "rank.h5", "rank 2"});

  write_h5(dir / "count.h5", {{"train", {{4, 2, 2, 1}, H5T_NATIVE_UINT8, {0, 1, 0}}}, {"test", ok_test}});
  expect_bad_input([&] { read_hdf5(dir / "count.h5"); }, {dir / "count.h5", "/train/labels", "3 labels", "(4)"});

  write_h5(dir / "notest.h5", {{"train", ok_train}});
  expect_bad_input([&] { read_hdf5(dir / "notest.h5"); }, {dir / "notest.h5", "/test"});

  write_h5(dir / "noimg.h5", {{"train", ok_train}, {"test", {{2, 2, 2, 1}, H5T_NATIVE_UINT8, {0, 1}, false}}});
  expect_bad_input([&] { read_hdf5(dir / "noimg.h5"); }, {dir / "noimg.h5", "/test/images", "missing"});

  write_h5(dir / "range.h5", {{"train", ok_train}, {"test", {{2, 2, 2, 1}, H5T_NATIVE_UINT8, {0, 5}}}}, 3);
  expect_bad_input([&] { read_hdf5(dir / "range.h5"); }, {dir / "range.h5", "/test", "label 5", "[0, 3)"});

  write_h5(dir / "shape.h5", {{"train", ok_train}, {"test", {{2, 3, 2, 1}, H5T_NATIVE_UINT8, {0, 1}}}});
  expect_bad_input([&] { read_hdf5(dir / "shape.h5"); }, {dir / "shape.h5", "1x3x2", "1x2x2"});

  write_h5(dir / "neg.h5", {{"train", {{4, 2, 2, 1}, H5T_NATIVE_UINT8, {0, -1, 0, 1}}}, {"test", ok_test}});
  expect_bad_input([&] { read_hdf5(dir / "neg.h5"); }, {dir / "neg.h5", "label -1"});
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(err, "") << "HDF5 printed its error stack";
}

// --- normalisation ---------------------------------------------------------------------------

TEST_F(DataTest, NormalizationMatchesDirectComputation) {
  auto s = synthetic_set(9, 3, 5, 7, 2);
  s.images.select(1, 2).fill_(17);  // constant channel
  auto n = Normalization::from_images(s.images);
  auto f = s.images.to(torch::kDouble) / 255.0;
  for (int c = 0; c < 2; ++c) {
    auto ch = f.select(1, c);
    EXPECT_NEAR(n.mean[c], ch.mean().item<double>(), 1e-6);
    EXPECT_NEAR(n.stddev[c], ch.std(/*unbiased=*/false).item<double>(), 1e-6);
  }
  EXPECT_NEAR(n.mean[2], 17 / 255.0, 1e-6);
  EXPECT_EQ(n.stddev[2], 1.0f);
  auto x = n.apply(s.images);
  EXPECT_EQ(x.scalar_type(), torch::kFloat);
  auto expect0 = (f.select(1, 0) - n.mean[0]) / n.stddev[0];
  EXPECT_TRUE(torch::allclose(x.select(1, 0).to(torch::kDouble), expect0, 1e-5, 1e-5));
  EXPECT_NEAR(x.select(1, 1).mean().item<double>(), 0.0, 1e-5);
  EXPECT_NEAR(x.select(1, 1).std(false).item<double>(), 1.0, 1e-5);
  auto h = Normalization::fixed(3).apply(s.images);
  EXPECT_NEAR(h.min().item<double>(), (s.images.min().item<int>() / 255.0 - 0.5) / 0.5, 1e-6);
}

// --- batches ---------------------------------------------------------------------------------

ImageSet indexed_set(int64_t n) {
  auto s = synthetic_set(n, 1, 3, 3, 1);
  s.labels = torch::arange(n, torch::kLong);  // label = example index
  s.num_classes = n;
  s.images = (torch::arange(n, torch::kLong) % 251).to(torch::kUInt8).view({n, 1, 1, 1})
                 .expand({n, 1, 3, 3}).contiguous();
  return s;
}

TEST_F(DataTest, BatchStreamDeterministicAndSeeded) {
  auto s = indexed_set(103);
  auto norm = Normalization::from_images(s.images);
  BatchStream a(s, norm, 10, 42), b(s, norm, 10, 42), c(s, norm, 10, 43);
  bool any_diff = false;
  for (int i = 0; i < 25; ++i) {
    auto x = a.next(), y = b.next(), z = c.next();
    ASSERT_EQ(x.images.sizes(), (std::vector<int64_t>{10, 1, 3, 3}));
    EXPECT_EQ(x.images.scalar_type(), torch::kFloat);
    EXPECT_EQ(x.labels.scalar_type(), torch::kLong);
    EXPECT_TRUE(x.images.equal(y.images));
    EXPECT_TRUE(x.labels.equal(y.labels));
    any_diff |= !x.labels.equal(z.labels);
    // Images are the normalised images of the labelled examples.
    EXPECT_TRUE(x.images.equal(norm.apply(s.images.index_select(0, x.labels))));
  }
  EXPECT_TRUE(any_diff);
  EXPECT_EQ(a.step(), 25);
  EXPECT_EQ(a.epoch(), 2);  // 250 positions / 103
  EXPECT_EQ(a.batches_per_epoch(), 11);
}

TEST_F(DataTest, BatchStreamEpochsCoverEveryExampleOnce) {
  const int64_t n = 103, bs = 10;
  auto s = indexed_set(n);
  BatchStream st(s, Normalization::fixed(1), bs, 7);
  std::vector<torch::Tensor> labels;
  for (int i = 0; i < 31; ++i) labels.push_back(st.next().labels);  // 310 positions >= 3 epochs
  auto all = torch::cat(labels);
  for (int e = 0; e < 3; ++e) {
    auto ep = all.narrow(0, e * n, n);
    EXPECT_TRUE(std::get<0>(ep.sort()).equal(torch::arange(n, torch::kLong))) << "epoch " << e;
    EXPECT_TRUE(ep.equal(st.epoch_permutation(e)));
  }
  EXPECT_FALSE(all.narrow(0, 0, n).equal(all.narrow(0, n, n)));
  EXPECT_FALSE(all.narrow(0, 0, n).equal(torch::arange(n, torch::kLong)));
}

TEST_F(DataTest, BatchStreamSkipAndShard) {
  auto s = indexed_set(50);
  auto norm = Normalization::fixed(1);
  BatchStream a(s, norm, 12, 5);
  std::vector<Batch> seq;
  for (int i = 0; i < 9; ++i) seq.push_back(a.next());
  for (int k : {0, 3, 4, 8}) {  // 4 and 8 cross epoch boundaries
    BatchStream b(s, norm, 12, 5);
    b.skip(k);
    EXPECT_EQ(b.step(), k);
    auto x = b.next();
    EXPECT_TRUE(x.labels.equal(seq[k].labels)) << k;
    EXPECT_TRUE(x.images.equal(seq[k].images)) << k;
  }
  // Sharding across 4 ranks: rank r gets rows [3r, 3r+3), together the whole batch.
  std::deque<BatchStream> ranks;  // not movable (it may own a prefetch thread)
  for (int r = 0; r < 4; ++r) ranks.emplace_back(s, norm, 12, 5);
  for (int i = 0; i < 5; ++i) {
    std::vector<torch::Tensor> parts, img;
    for (int r = 0; r < 4; ++r) {
      auto sh = ranks[r].next_shard(r, 4);
      EXPECT_EQ(sh.labels.size(0), 3);
      EXPECT_TRUE(sh.labels.equal(shard(seq[i], r, 4).labels));
      parts.push_back(sh.labels);
      img.push_back(sh.images);
    }
    EXPECT_TRUE(torch::cat(parts).equal(seq[i].labels));
    EXPECT_TRUE(torch::cat(img).equal(seq[i].images));
  }
  EXPECT_THROW(shard(seq[0], 4, 4), std::invalid_argument);
  expect_bad_input([&] { BatchStream(s, norm, 0, 1); }, {"batch size 0"});
}

// --- augmentation ----------------------------------------------------------------------------

torch::Tensor random_batch(int64_t b, int64_t c, int64_t h, int64_t w) {
  auto g = make_generator(99);
  return torch::randn({b, c, h, w}, g, torch::kFloat);
}

TEST_F(DataTest, AugmentDeterministicShapes) {
  auto x = random_batch(16, 3, 12, 12);
  for (auto mode : {CropMode::kResizedCrop, CropMode::kPadCrop, CropMode::kNone}) {
    AugmentOptions o;
    o.crop = mode;
    auto v = two_views(x, 3, 10, o), w = two_views(x, 3, 10, o), u = two_views(x, 3, 11, o);
    auto d = two_views(x, 4, 10, o);
    EXPECT_EQ(v.first.sizes(), x.sizes());
    EXPECT_EQ(v.second.sizes(), x.sizes());
    EXPECT_EQ(v.first.scalar_type(), torch::kFloat);
    EXPECT_TRUE(v.first.equal(w.first)) << to_string(mode);
    EXPECT_TRUE(v.second.equal(w.second));
    EXPECT_FALSE(v.first.equal(v.second));
    EXPECT_FALSE(v.first.equal(u.first));
    EXPECT_FALSE(v.first.equal(d.first));
    EXPECT_FALSE(v.first.equal(x));
    EXPECT_FALSE(v.first.requires_grad());
  }
}

TEST_F(DataTest, AugmentIdentityFlipAndNoise) {
  auto x = random_batch(64, 3, 16, 16);
  AugmentOptions id;
  id.crop = CropMode::kNone;
  id.flip_prob = 0;
  id.noise_std = 0;
  EXPECT_TRUE(augment(x, 1, id).equal(x));
  // Resized crop with scale 1 and ratio 1 is the identity (up to float rounding).
  AugmentOptions full = id;
  full.crop = CropMode::kResizedCrop;
  full.min_scale = full.max_scale = 1.0;
  full.min_ratio = full.max_ratio = 1.0;
  EXPECT_TRUE(torch::allclose(augment(x, 1, full), x, 1e-5, 1e-5));
  full.flip_prob = 1;
  EXPECT_TRUE(torch::allclose(augment(x, 1, full), x.flip({3}), 1e-5, 1e-5));
  AugmentOptions pad0 = id;
  pad0.crop = CropMode::kPadCrop;
  pad0.pad = 0;
  pad0.flip_prob = 1;
  EXPECT_TRUE(augment(x, 1, pad0).equal(x.flip({3})));
  // Noise std in normalised units.
  AugmentOptions noisy = id;
  noisy.noise_std = 0.1;
  auto diff = augment(x, 2, noisy) - x;
  EXPECT_NEAR(diff.std().item<double>(), 0.1, 0.003);
  EXPECT_NEAR(diff.mean().item<double>(), 0.0, 0.003);
  // Resized crops actually zoom: a smaller area changes the image.
  AugmentOptions small = id;
  small.crop = CropMode::kResizedCrop;
  small.min_scale = small.max_scale = 0.25;
  EXPECT_FALSE(torch::allclose(augment(x, 1, small), x, 1e-3, 1e-3));
}

TEST_F(DataTest, AugmentPadCropIsAShiftedWindow) {
  auto x = random_batch(12, 2, 8, 8);
  AugmentOptions o;
  o.crop = CropMode::kPadCrop;
  o.pad = 2;
  o.noise_std = 0;
  auto y = augment(x, 5, o);
  auto xp = torch::constant_pad_nd(x, {2, 2, 2, 2}, 0.0);
  int flipped = 0;
  for (int i = 0; i < 12; ++i) {
    bool found = false;
    for (int dy = 0; dy <= 4 && !found; ++dy)
      for (int dx = 0; dx <= 4 && !found; ++dx) {
        auto win = xp[i].narrow(1, dy, 8).narrow(2, dx, 8);
        if (y[i].equal(win)) found = true;
        else if (y[i].equal(win.flip({2}))) found = true, ++flipped;
      }
    EXPECT_TRUE(found) << "row " << i;
  }
  EXPECT_GT(flipped, 0);
  EXPECT_LT(flipped, 12);
}

TEST_F(DataTest, AugmentShardEqualsRowsOfWholeBatch) {
  auto x = random_batch(32, 3, 10, 10);
  for (auto mode : {CropMode::kResizedCrop, CropMode::kPadCrop}) {
    AugmentOptions o;
    o.crop = mode;
    auto whole = two_views(x, 8, 123, o);
    auto part = two_views(x.narrow(0, 8, 8), 8, 123, o, /*row_offset=*/8, /*total_rows=*/32);
    EXPECT_TRUE(part.first.equal(whole.first.narrow(0, 8, 8)));
    EXPECT_TRUE(part.second.equal(whole.second.narrow(0, 8, 8)));
  }
}


TEST_F(DataTest, DeferredSharesFinishToTheStreamsOwnBatches) {
  // The CUDA path's data handling, run on the CPU: a deferred share leaves the stream as uint8
  // with its place in the stream, and finish() (move, normalise, transform) gives the host
  // path's batch bit for bit, for every rank's share, in memory and streamed with prefetch.
  TempDir dir;
  const auto [mem, str] = write_mem_and_streamed(dir / "d.h5", 40, 8, 8, 8, 3, 3, 4);
  ASSERT_TRUE(str.train.streamed());
  AugmentOptions aug;  // resized crop, flip, noise
  const std::vector<std::pair<std::string, BatchTransform>> transforms = {
      {"none", nullptr},
      {"augment", [aug](Batch b) {
         b.images = augment_step(b.images, 5, b.step, aug, b.row_offset, b.total_rows);
         return b;
       }},
      {"two views", [aug](Batch b) {
         const auto v = two_views(b.images, 5, b.step, aug, b.row_offset, b.total_rows);
         b.images = torch::cat({v.first, v.second});
         return b;
       }}};
  for (const auto& [name, transform] : transforms) {
    for (int world : {1, 2}) {
      for (int rank = 0; rank < world; ++rank) {
        BatchStream host(mem.train, mem.norm, 12, 9), dm(mem.train, mem.norm, 12, 9), ds(str.train, str.norm, 12, 9);
        for (auto* s : {&host, &dm, &ds}) s->set_transform(transform);
        dm.set_deferred(true);
        ds.set_deferred(true);
        ds.start_prefetch(rank, world, 2);
        EXPECT_TRUE(dm.deferred() && !host.deferred());
        for (int k = 0; k < 6; ++k) {  // across an epoch boundary
          const auto x = host.next_shard(rank, world);
          const auto rm = dm.next_shard(rank, world), rs = ds.next_shard(rank, world);
          ASSERT_EQ(rm.images.scalar_type(), torch::kByte) << name;
          EXPECT_EQ(rm.step, k);
          EXPECT_EQ(rm.row_offset, rank * 12 / world);
          EXPECT_EQ(rm.total_rows, 12);
          const auto ym = dm.finish(rm, torch::kCPU), ys = ds.finish(rs, torch::kCPU);
          EXPECT_EQ(ym.images.scalar_type(), torch::kFloat);
          EXPECT_TRUE(x.images.equal(ym.images) && x.labels.equal(ym.labels)) << name << " step " << k;
          EXPECT_TRUE(x.images.equal(ys.images) && x.labels.equal(ys.labels)) << name << " step " << k;
          // a host-path share is only moved
          EXPECT_TRUE(host.finish(x, torch::kCPU).images.equal(x.images));
        }
        // a share finished twice, or one from a host-path stream, is refused
        const auto once = dm.finish(dm.next_shard(rank, world), torch::kCPU);
        EXPECT_THROW(dm.finish(once, torch::kCPU), std::logic_error);
        EXPECT_THROW(ds.set_deferred(false), std::logic_error);  // while prefetching
      }
    }
  }
}

TEST_F(DataTest, Hdf5StreamedEqualsInMemory) {
  // A set larger than the budget stays in its file: the same labels, normalisation, batches
  // (with and without the prefetch thread, for every rank's share), observation batch and label
  // map as when it is loaded.
  TempDir dir;
  const auto [mem, str] = write_mem_and_streamed(dir / "s.h5", 50, 20, 6, 5, 3, 7, 5);
  ASSERT_FALSE(mem.train.streamed());
  ASSERT_TRUE(str.train.streamed() && str.test.streamed());
  EXPECT_FALSE(str.train.images.defined());
  EXPECT_EQ(str.train.size(), 50);
  EXPECT_EQ(str.train.channels(), 3);
  EXPECT_EQ(str.train.height(), 6);
  EXPECT_EQ(str.train.width(), 5);
  EXPECT_TRUE(str.train.labels.equal(mem.train.labels));
  EXPECT_EQ(str.norm.mean, mem.norm.mean);
  EXPECT_EQ(str.norm.stddev, mem.norm.stddev);
  const auto idx = torch::tensor({7, 3, 3, 49, 0, 8, 9, 10}, torch::kLong);  // unsorted, repeats, runs
  EXPECT_TRUE(str.train.gather(idx).equal(mem.train.images.index_select(0, idx)));
  // Batches: in memory vs streamed, and streamed with prefetch, across an epoch boundary.
  for (int world : {1, 2}) {
    for (int rank = 0; rank < world; ++rank) {
      BatchStream a(mem.train, mem.norm, 12, 9), b(str.train, str.norm, 12, 9), c(str.train, str.norm, 12, 9);
      c.start_prefetch(rank, world, 3);
      for (int k = 0; k < 7; ++k) {
        const auto x = a.next_shard(rank, world), y = b.next_shard(rank, world), z = c.next_shard(rank, world);
        EXPECT_TRUE(x.images.equal(y.images) && x.labels.equal(y.labels)) << k;
        EXPECT_TRUE(x.images.equal(z.images) && x.labels.equal(z.labels)) << k;
      }
      c.skip(3);  // restarts the thread at the new position
      a.skip(3);
      EXPECT_TRUE(a.next_shard(rank, world).images.equal(c.next_shard(rank, world).images));
    }
  }
  const auto oa = observation_batch(mem, 8, 4), ob = observation_batch(str, 8, 4);
  EXPECT_TRUE(oa.images.equal(ob.images) && oa.labels.equal(ob.labels));
  // A label map dropping classes keeps the streamed rows straight.
  const LabelMap drop = {0, -1, 1, -1, 2};
  const auto ma = apply_label_map(mem, drop), mb = apply_label_map(str, drop);
  ASSERT_TRUE(mb.train.streamed());
  EXPECT_TRUE(ma.train.labels.equal(mb.train.labels));
  const auto all = torch::arange(ma.train.size(), torch::kLong);
  EXPECT_TRUE(mb.train.gather(all).equal(ma.train.images));
  EXPECT_EQ(Normalization::from_set(mb.train).mean, Normalization::from_images(ma.train.images).mean);
  // The cache keeps the two apart by budget.
  clear_cache();
  EXPECT_FALSE(load({"hdf5", dir / "s.h5"}).train.streamed());
  EXPECT_TRUE(load({"hdf5", dir / "s.h5"}, 100).train.streamed());
  EXPECT_EQ(cache_size(), 2u);
  clear_cache();
}

TEST_F(DataTest, StreamedBadDataNamesTheFileAndRow) {
  // A compressed chunk that fails to decode: the read names the file and the rows; with prefetch
  // the error reaches the step that needs the batch; the rows before it read fine.
  TempDir dir;
  const hsize_t n = 400, h = 16, w = 16, c = 3, chunk = 50;
  {
    hid_t f = H5Fcreate((dir / "t.h5").c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    for (const char* split : {"train", "test"}) {
      hid_t g = H5Gcreate2(f, split, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
      const hsize_t rows = std::string(split) == "train" ? n : 4;
      const hsize_t dims[4] = {rows, h, w, c}, cdims[4] = {std::min(rows, chunk), h, w, c};
      std::vector<uint8_t> img(rows * h * w * c);
      for (size_t j = 0; j < img.size(); ++j) img[j] = uint8_t((j * 2654435761u) >> 24);  // incompressible-ish
      hid_t sp = H5Screate_simple(4, dims, nullptr), pl = H5Pcreate(H5P_DATASET_CREATE);
      H5Pset_chunk(pl, 4, cdims);
      H5Pset_deflate(pl, 1);
      hid_t ds = H5Dcreate2(g, "images", H5T_NATIVE_UINT8, sp, H5P_DEFAULT, pl, H5P_DEFAULT);
      H5Dwrite(ds, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, img.data());
      if (std::string(split) == "train")  // stored normalisation: no pass over the file at load
        for (const char* name : {"mean", "std"}) {
          const hsize_t three = 3;
          const double v[3] = {0.5, 0.5, 0.5};
          hid_t asp = H5Screate_simple(1, &three, nullptr);
          hid_t a = H5Acreate2(ds, name, H5T_IEEE_F64LE, asp, H5P_DEFAULT, H5P_DEFAULT);
          H5Awrite(a, H5T_NATIVE_DOUBLE, v);
          H5Aclose(a), H5Sclose(asp);
        }
      H5Dclose(ds), H5Pclose(pl), H5Sclose(sp);
      std::vector<int32_t> lab(rows, 0);
      lab[1] = 1;
      const hsize_t ln = rows;
      sp = H5Screate_simple(1, &ln, nullptr);
      ds = H5Dcreate2(g, "labels", H5T_STD_I32LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
      H5Dwrite(ds, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, lab.data());
      H5Dclose(ds), H5Sclose(sp), H5Gclose(g);
    }
    H5Fclose(f);
  }
  // Overwrite the middle of chunk 6 (rows 300..349) with zeros.
  haddr_t offset = 0;
  hsize_t bytes = 0;
  {
    hid_t f = H5Fopen((dir / "t.h5").c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t ds = H5Dopen2(f, "train/images", H5P_DEFAULT);
    const hsize_t at[4] = {300, 0, 0, 0};
    unsigned mask = 0;
    ASSERT_GE(H5Dget_chunk_info_by_coord(ds, at, &mask, &offset, &bytes), 0);
    H5Dclose(ds), H5Fclose(f);
  }
  {
    std::fstream io(dir / "t.h5", std::ios::in | std::ios::out | std::ios::binary);
    io.seekp(static_cast<std::streamoff>(offset + bytes / 4));
    const std::string zeros(static_cast<size_t>(bytes / 2), '\0');
    io.write(zeros.data(), static_cast<std::streamsize>(zeros.size()));
  }
  testing::internal::CaptureStderr();
  const auto str = read_hdf5(dir / "t.h5", int64_t(32) << 20, 100);
  EXPECT_EQ(str.norm.mean, std::vector<float>(3, 0.5f));  // the file's own
  EXPECT_EQ(str.train.gather(torch::tensor({0, 299}, torch::kLong)).size(0), 2);
  expect_bad_input([&] { str.train.gather(torch::tensor({310}, torch::kLong)); },
                   {dir / "t.h5", "/train/images", "read failed", "310"});
  // Loaded whole, the same file fails at load time naming the block.
  expect_bad_input([&] { read_hdf5(dir / "t.h5"); }, {dir / "t.h5", "/train/images", "read failed"});
  BatchStream b(str.train, str.norm, 64, 1);
  b.start_prefetch(0, 1, 2);
  std::string error;
  for (int k = 0; k < 8 && error.empty(); ++k) {
    try {
      b.next_shard(0, 1);
    } catch (const lrid::BadInput& e) {
      error = e.what();
    }
  }
  EXPECT_NE(error.find("t.h5"), std::string::npos) << error;
  testing::internal::GetCapturedStderr();
}

TEST_F(DataTest, AugmentToAnOutputSize) {
  auto x = random_batch(8, 3, 12, 10);
  AugmentOptions o;
  o.out_height = 8, o.out_width = 6;
  for (auto mode : {CropMode::kResizedCrop, CropMode::kPadCrop, CropMode::kNone}) {
    o.crop = mode;
    const auto y = augment(x, 3, o);
    EXPECT_EQ(y.sizes(), (std::vector<int64_t>{8, 3, 8, 6})) << to_string(mode);
    const auto part = augment(x.narrow(0, 2, 4), 3, o, 2, 8);  // shards still reproduce the rows
    EXPECT_TRUE(part.equal(y.narrow(0, 2, 4))) << to_string(mode);
  }
  // No flip, no noise, no crop: the centre window.
  AugmentOptions c;
  c.crop = CropMode::kNone, c.flip_prob = 0, c.noise_std = 0, c.out_height = 8, c.out_width = 6;
  EXPECT_TRUE(augment(x, 1, c).equal(x.narrow(2, 2, 8).narrow(3, 2, 6)));
  EXPECT_TRUE(center_crop(x, 8, 6).equal(x.narrow(2, 2, 8).narrow(3, 2, 6)));
  EXPECT_TRUE(center_crop(x, 0, 0).equal(x));
  expect_bad_input([&] { center_crop(x, 13, 4); }, {"13x4", "12x10"});
  // Pad-and-crop at the same size: a shifted window of the padded image, as before.
  AugmentOptions p;
  p.crop = CropMode::kPadCrop, p.pad = 2, p.noise_std = 0, p.out_height = 12, p.out_width = 10;
  AugmentOptions q = p;
  q.out_height = q.out_width = 0;
  EXPECT_TRUE(augment(x, 4, p).equal(augment(x, 4, q)));
}

TEST_F(DataTest, AugmentOptionsChecked) {
  auto x = random_batch(2, 1, 4, 4);
  AugmentOptions o;
  o.min_scale = 0;
  expect_bad_input([&] { augment(x, 1, o); }, {"min_scale"});
  o = {};
  o.flip_prob = 1.5;
  expect_bad_input([&] { validate(o); }, {"flip_prob"});
  EXPECT_EQ(parse_crop_mode("pad"), CropMode::kPadCrop);
  EXPECT_EQ(parse_crop_mode("resized"), CropMode::kResizedCrop);
  expect_bad_input([&] { parse_crop_mode("random"); }, {"'random'", "resized, pad, none"});
}

// --- observation batch -----------------------------------------------------------------------

TEST_F(DataTest, ObservationBatchFixed) {
  auto test = indexed_set(200);
  auto norm = Normalization::from_images(test.images);
  auto a = observation_batch(test, norm, 32, 11), b = observation_batch(test, norm, 32, 11);
  auto c = observation_batch(test, norm, 32, 12);
  EXPECT_EQ(a.images.sizes(), (std::vector<int64_t>{32, 1, 3, 3}));
  EXPECT_TRUE(a.images.equal(b.images));
  EXPECT_TRUE(a.labels.equal(b.labels));
  EXPECT_FALSE(a.labels.equal(c.labels));
  // Distinct, sorted, not simply the first 32.
  auto l = a.labels;
  EXPECT_TRUE((l.narrow(0, 1, 31) > l.narrow(0, 0, 31)).all().item<bool>());
  EXPECT_GT(l.max().item<int64_t>(), 31);
  EXPECT_TRUE(a.images.equal(norm.apply(test.images.index_select(0, l))));
  TrainTest tt{test, test, norm};
  EXPECT_TRUE(observation_batch(tt, 32, 11).labels.equal(a.labels));
  expect_bad_input([&] { observation_batch(test, norm, 201, 1); }, {"201", "1..200"});
}

TEST(DataSeeds, DeriveSeedSeparatesStreams) {
  EXPECT_EQ(derive_seed(1, 2, 3), derive_seed(1, 2, 3));
  EXPECT_NE(derive_seed(1, 2, 3), derive_seed(1, 2, 4));
  EXPECT_NE(derive_seed(1, 2, 3), derive_seed(2, 2, 3));
  EXPECT_NE(derive_seed(0, kEpochSalt, 0), derive_seed(0, kObserveSalt, 0));
}

}  // namespace
