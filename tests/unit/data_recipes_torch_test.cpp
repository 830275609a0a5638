// Runs the HDF5 conversion recipes of docs/data.md (via tests/scripts/data_recipes.py, with
// /usr/bin/python3 + numpy + h5py + Pillow) on synthetic inputs and reads the results with the
// C++ readers.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "lrid/data/dataset.hpp"

namespace fs = std::filesystem;
using namespace lrid::data;

namespace {

const char* python() {
  const char* p = std::getenv("PYTHON");
  return p ? p : "/usr/bin/python3";
}

class DataRecipes : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    torch::set_num_threads(1);
    std::string probe = std::string(python()) + " -c 'import numpy, h5py, PIL' >/dev/null 2>&1";
    if (std::system(probe.c_str()) != 0) {
      skip_ = true;
      return;
    }
    std::string tmpl = (fs::temp_directory_path() / "lrid_data_recipes_XXXXXX").string();
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    ASSERT_NE(mkdtemp(buf.data()), nullptr);
    dir_ = buf.data();
    std::string cmd = std::string(python()) + " " LRID_SOURCE_DIR "/tests/scripts/data_recipes.py " +
                      LRID_SOURCE_DIR "/docs/data.md " + dir_;
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    std::ifstream f(dir_ + "/expect.txt");
    std::string line;
    while (std::getline(f, line)) {
      std::istringstream in(line);
      std::string key;
      in >> key;
      int64_t v;
      while (in >> v) expect_[key].push_back(v);
    }
  }
  static void TearDownTestSuite() {
    if (!dir_.empty()) {
      std::error_code ec;
      fs::remove_all(dir_, ec);
    }
  }
  void SetUp() override {
    if (skip_) GTEST_SKIP() << python() << " lacks numpy/h5py/Pillow";
    ASSERT_FALSE(dir_.empty());
  }
  static torch::Tensor expected(const std::string& key) {
    auto it = expect_.find(key);
    EXPECT_NE(it, expect_.end()) << key;
    if (it == expect_.end()) return torch::empty({0}, torch::kLong);
    return torch::tensor(it->second, torch::kLong);
  }

  static inline bool skip_ = false;
  static inline std::string dir_;
  static inline std::map<std::string, std::vector<int64_t>> expect_;
};

TEST_F(DataRecipes, Cifar10PicklesMatchBinaryBatches) {
  auto h5 = read_hdf5(dir_ + "/cifar10.h5");
  auto bin = read_cifar10_dir(dir_ + "/cifar_bin");
  EXPECT_EQ(h5.train.size(), expected("cifar_train_n")[0].item<int64_t>());
  EXPECT_EQ(h5.train.num_classes, 10);
  EXPECT_TRUE(h5.train.images.equal(bin.train.images));
  EXPECT_TRUE(h5.train.labels.equal(bin.train.labels));
  EXPECT_TRUE(h5.test.images.equal(bin.test.images));
  EXPECT_TRUE(h5.test.labels.equal(bin.test.labels));
}

TEST_F(DataRecipes, ImagenetJpegFolder) {
  auto tt = read_hdf5(dir_ + "/imagenet.h5");
  EXPECT_EQ(tt.train.images.sizes(), (std::vector<int64_t>{9, 3, 16, 16}));
  EXPECT_EQ(tt.test.images.sizes(), (std::vector<int64_t>{4, 3, 16, 16}));
  EXPECT_EQ(tt.train.num_classes, 3);
  EXPECT_TRUE(tt.train.labels.equal(expected("imagenet_train_labels")));
  EXPECT_TRUE(tt.test.labels.equal(expected("imagenet_test_labels")));
  // The recipe stores the training set's per-channel mean and std; lrid uses them, and they
  // agree with the exact statistics of the pixels (float64 sums vs 256-bin histograms).
  auto exact = Normalization::from_images(tt.train.images);
  ASSERT_EQ(tt.norm.mean.size(), 3u);
  for (size_t c = 0; c < 3; ++c) {
    EXPECT_NEAR(tt.norm.mean[c], exact.mean[c], 1e-5) << "channel " << c;
    EXPECT_NEAR(tt.norm.stddev[c], exact.stddev[c], 1e-5) << "channel " << c;
  }
  // Each image is its class's solid colour (JPEG error of a few levels): checks RGB order and
  // the channels-last -> [N,C,H,W] transpose.
  for (const ImageSet* s : {&tt.train, &tt.test}) {
    for (int64_t i = 0; i < s->size(); ++i) {
      auto colour = expected("imagenet_colour_" + std::to_string(s->labels[i].item<int64_t>()));
      auto mean = s->images[i].to(torch::kDouble).mean({1, 2});
      EXPECT_TRUE(torch::allclose(mean, colour.to(torch::kDouble), 0, 4.0))
          << s->source << " image " << i << " mean " << mean << " expected " << colour;
    }
  }
}

TEST_F(DataRecipes, CochleagramNpy) {
  auto tt = read_hdf5(dir_ + "/coch.h5");
  EXPECT_EQ(tt.train.images.sizes(), (std::vector<int64_t>{40, 1, 12, 20}));
  EXPECT_EQ(tt.test.images.sizes(), (std::vector<int64_t>{9, 1, 12, 20}));
  EXPECT_EQ(tt.train.num_classes, 5);
  EXPECT_TRUE(tt.train.labels.equal(expected("coch_train_labels")));
  EXPECT_TRUE(tt.test.labels.equal(expected("coch_test_labels")));
  // The quantised test pixels are a monotone (linear, clipped) function of the raw floats.
  std::ifstream f(dir_ + "/coch_test_x.f32", std::ios::binary);
  std::vector<float> raw(9 * 12 * 20);
  f.read(reinterpret_cast<char*>(raw.data()), std::streamsize(raw.size() * sizeof(float)));
  ASSERT_TRUE(f.good());
  auto x = torch::tensor(raw).to(torch::kDouble);
  auto p = tt.test.images.flatten().to(torch::kDouble);
  auto inside = p.gt(0).logical_and(p.lt(255));
  auto xi = x.masked_select(inside), pi = p.masked_select(inside);
  auto xc = xi - xi.mean(), pc = pi - pi.mean();
  double corr = ((xc * pc).sum() / (xc.norm() * pc.norm())).item<double>();
  EXPECT_GT(corr, 0.999);
  EXPECT_GT(inside.sum().item<int64_t>(), 9 * 12 * 20 * 9 / 10);
  EXPECT_EQ(tt.train.images.max().item<int>(), 255);
  EXPECT_EQ(tt.train.images.min().item<int>(), 0);
}

}  // namespace
