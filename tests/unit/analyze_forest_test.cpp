// Random forest: known answers, probabilities, importances, determinism, save/load, bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <numeric>
#include <string>
#include <vector>

#include "lrid/analyze/forest.hpp"
#include "lrid/error.hpp"
#include "lrid/rng.hpp"
#include "classifier_data.hpp"

using namespace lrid::analyze;
using lrid::testdata::accuracy;
using lrid::testdata::clusters;
using lrid::testdata::Set;
using lrid::testdata::xor_set;

namespace {

ForestParams params(int trees, const std::string& mf, uint64_t seed = 1) {
  ForestParams p;
  p.n_estimators = trees;
  p.max_features = MaxFeatures::parse(mf);
  p.seed = seed;
  return p;
}

bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

}  // namespace

TEST(AnalyzeForest, MaxFeaturesParseAndResolve) {
  EXPECT_EQ(MaxFeatures::parse("sqrt").resolve(507), 22);
  EXPECT_EQ(MaxFeatures::parse("log2").resolve(507), 8);
  EXPECT_EQ(MaxFeatures::parse("all").resolve(507), 507);
  EXPECT_EQ(MaxFeatures::parse("10").resolve(507), 10);
  EXPECT_EQ(MaxFeatures::parse("1000").resolve(507), 507);
  EXPECT_EQ(MaxFeatures::parse("0.5").resolve(507), 253);
  EXPECT_EQ(MaxFeatures::parse("0.001").resolve(507), 1);
  EXPECT_EQ(MaxFeatures::parse("sqrt").resolve(1), 1);
  EXPECT_EQ(MaxFeatures::parse("log2").resolve(1), 1);
  EXPECT_EQ(MaxFeatures::parse("0.25").to_string(), "0.25");
  EXPECT_EQ(MaxFeatures::parse("7").to_string(), "7");
  for (const char* bad : {"", "sqr", "0", "-3", "1.5", "0.0", "abc", "3x"})
    EXPECT_THROW(MaxFeatures::parse(bad), lrid::BadInput) << bad;
}

TEST(AnalyzeForest, SeparableClustersAreLearnt) {
  const Set tr = clusters(400, 30, 4, 6.0, 11), te = clusters(400, 30, 4, 6.0, 12);
  RandomForest rf(params(30, "sqrt"));
  rf.fit(tr.X.data(), tr.y.data(), tr.n, tr.d, 4);
  EXPECT_GE(accuracy(rf.predict(te.X.data(), te.n), te.y.data()), 0.99);
  EXPECT_EQ(rf.n_trees(), 30);
  EXPECT_EQ(rf.n_classes(), 4);
  EXPECT_EQ(rf.n_features(), 30u);
}

TEST(AnalyzeForest, XorIsLearnt) {
  const Set tr = xor_set(600, 6, 21), te = xor_set(600, 6, 22);
  RandomForest rf(params(50, "sqrt"));
  rf.fit(tr.X.data(), tr.y.data(), tr.n, tr.d, 2);
  EXPECT_GE(accuracy(rf.predict(te.X.data(), te.n), te.y.data()), 0.9);
}

TEST(AnalyzeForest, ProbabilitiesSumToOneAndPredictIsArgmax) {
  const Set tr = clusters(200, 12, 3, 1.0, 31), te = clusters(100, 12, 3, 1.0, 32);
  RandomForest rf(params(25, "log2"));
  rf.fit(tr.X.data(), tr.y.data(), tr.n, tr.d, 3);
  const auto p = rf.predict_proba(te.X.data(), te.n);
  const auto pred = rf.predict(te.X.data(), te.n);
  ASSERT_EQ(p.size(), te.n * 3);
  bool some_uncertain = false;
  for (size_t i = 0; i < te.n; ++i) {
    double s = 0;
    for (int c = 0; c < 3; ++c) {
      const double v = p[i * 3 + static_cast<size_t>(c)];
      EXPECT_GE(v, 0.0);
      EXPECT_LE(v, 1.0);
      s += v;
      if (v > 0.05 && v < 0.95) some_uncertain = true;
    }
    EXPECT_NEAR(s, 1.0, 1e-12);
    const double* r = &p[i * 3];
    EXPECT_EQ(pred[i], std::max_element(r, r + 3) - r);
  }
  EXPECT_TRUE(some_uncertain);  // averaged over trees, not one-hot
}

TEST(AnalyzeForest, ImportancesSumToOneAndRankInformativeFirst) {
  // 3 informative features (0, 1, 2) among 20.
  const Set tr = clusters(600, 20, 3, 2.5, 41);
  RandomForest rf(params(60, "sqrt"));
  rf.fit(tr.X.data(), tr.y.data(), tr.n, tr.d, 3);
  const auto& imp = rf.feature_importances();
  ASSERT_EQ(imp.size(), 20u);
  EXPECT_NEAR(std::accumulate(imp.begin(), imp.end(), 0.0), 1.0, 1e-12);
  std::vector<size_t> order(20);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return imp[a] > imp[b]; });
  std::vector<size_t> top(order.begin(), order.begin() + 3);
  std::sort(top.begin(), top.end());
  EXPECT_EQ(top, (std::vector<size_t>{0, 1, 2}));
  for (double v : imp) EXPECT_GE(v, 0.0);
}

TEST(AnalyzeForest, DeterministicForSeedAndThreads) {
  const Set tr = clusters(300, 40, 4, 1.0, 51), te = clusters(100, 40, 4, 1.0, 52);
  ForestParams p = params(20, "sqrt", 7);
  RandomForest a(p), b(p);
  a.fit(tr.X.data(), tr.y.data(), tr.n, tr.d, 4);
  p.threads = 3;
  b.fit(tr.X.data(), tr.y.data(), tr.n, tr.d, 4);
  EXPECT_TRUE(same_bits(a.predict_proba(te.X.data(), te.n), b.predict_proba(te.X.data(), te.n)));
  EXPECT_TRUE(same_bits(a.feature_importances(), b.feature_importances()));
  EXPECT_EQ(a.serialize(), b.serialize());
  p.seed = 8;
  RandomForest c(p);
  c.fit(tr.X.data(), tr.y.data(), tr.n, tr.d, 4);
  EXPECT_FALSE(same_bits(a.predict_proba(te.X.data(), te.n), c.predict_proba(te.X.data(), te.n)));
}

TEST(AnalyzeForest, PrefixOfTreesIsTheSmallerForest) {
  const Set tr = clusters(200, 30, 4, 1.0, 61), te = clusters(80, 30, 4, 1.0, 62);
  RandomForest big(params(40, "sqrt", 3)), small(params(15, "sqrt", 3));
  big.fit(tr.X.data(), tr.y.data(), tr.n, tr.d, 4);
  small.fit(tr.X.data(), tr.y.data(), tr.n, tr.d, 4);
  EXPECT_TRUE(same_bits(big.predict_proba(te.X.data(), te.n, 15),
                        small.predict_proba(te.X.data(), te.n)));
  EXPECT_FALSE(same_bits(big.predict_proba(te.X.data(), te.n),
                         small.predict_proba(te.X.data(), te.n)));
}

TEST(AnalyzeForest, ConstantFeaturesAreSkippedBeyondMaxFeatures) {
  // Only feature 37 of 50 varies; with max_features = 1 the forest must still find it
  // (features are drawn until a non-constant one is found).
  const size_t n = 200, d = 50;
  std::vector<double> X(n * d, 3.0);
  std::vector<int32_t> y(n);
  for (size_t i = 0; i < n; ++i) {
    y[i] = static_cast<int32_t>(i % 2);
    X[i * d + 37] = y[i] + 0.1 * lrid::rng::counter_uniform(5, i);
  }
  ForestParams p = params(10, "1");
  RandomForest rf(p);
  rf.fit(X.data(), y.data(), n, d, 2);
  EXPECT_EQ(accuracy(rf.predict(X.data(), n), y.data()), 1.0);
  EXPECT_DOUBLE_EQ(rf.feature_importances()[37], 1.0);
  // All features constant: every tree is a single leaf with the class frequencies.
  std::vector<double> Xc(n * d, 1.0);
  rf.fit(Xc.data(), y.data(), n, d, 2);
  for (int t = 0; t < rf.n_trees(); ++t) EXPECT_EQ(rf.tree(t).nodes.size(), 1u);
  for (double v : rf.feature_importances()) EXPECT_EQ(v, 0.0);
}

TEST(AnalyzeForest, DepthAndLeafSizeLimits) {
  const Set tr = clusters(300, 10, 3, 0.5, 71);
  ForestParams p = params(8, "all");
  p.max_depth = 2;
  RandomForest rf(p);
  rf.fit(tr.X.data(), tr.y.data(), tr.n, tr.d, 3);
  for (int t = 0; t < rf.n_trees(); ++t) {
    EXPECT_LE(rf.tree(t).depth, 2);
    EXPECT_LE(rf.tree(t).nodes.size(), 7u);
  }
  // min_samples_leaf = 60 without bootstrap: every leaf holds >= 60 training samples.
  p.max_depth = 0;
  p.min_samples_leaf = 60;
  p.bootstrap = false;
  RandomForest leafy(p);
  leafy.fit(tr.X.data(), tr.y.data(), tr.n, tr.d, 3);
  for (int t = 0; t < leafy.n_trees(); ++t) {
    const ForestTree& tree = leafy.tree(t);
    std::vector<int> count(tree.leaves.size() / 3, 0);
    for (size_t i = 0; i < tr.n; ++i) {
      size_t k = 0;
      while (tree.nodes[k].feature >= 0)
        k = static_cast<double>(static_cast<float>(tr.X[i * tr.d + static_cast<size_t>(tree.nodes[k].feature)])) <=
                    tree.nodes[k].threshold
                ? k + 1
                : static_cast<size_t>(tree.nodes[k].right);
      ++count[static_cast<size_t>(tree.nodes[k].right)];
    }
    for (int c : count) EXPECT_GE(c, 60);
    EXPECT_GT(count.size(), 1u);
  }
}

TEST(AnalyzeForest, TiesAreSplitBetweenDistinctValuesOnly) {
  // Feature with three distinct values; class = value > 0. Thresholds must fall strictly
  // between distinct values (midpoints), and the training data must be fit perfectly.
  const size_t n = 90;
  std::vector<double> X(n);
  std::vector<int32_t> y(n);
  for (size_t i = 0; i < n; ++i) {
    X[i] = static_cast<double>(i % 3) - 1.0;  // -1, 0, 1
    y[i] = X[i] > 0;
  }
  ForestParams p = params(5, "all");
  p.bootstrap = false;
  RandomForest rf(p);
  rf.fit(X.data(), y.data(), n, 1, 2);
  EXPECT_EQ(accuracy(rf.predict(X.data(), n), y.data()), 1.0);
  EXPECT_EQ(rf.tree(0).nodes.size(), 3u);
  EXPECT_DOUBLE_EQ(rf.tree(0).nodes[0].threshold, 0.5);
}

TEST(AnalyzeForest, SaveLoadIsBitIdentical) {
  const Set tr = clusters(250, 25, 4, 1.0, 81), te = clusters(100, 25, 4, 1.0, 82);
  RandomForest rf(params(20, "sqrt", 5));
  rf.fit(tr.X.data(), tr.y.data(), tr.n, tr.d, 4);
  const std::string path = ::testing::TempDir() + "lrid_forest_test.rf";
  rf.save(path);
  const RandomForest back = RandomForest::load(path);
  EXPECT_TRUE(same_bits(rf.predict_proba(te.X.data(), te.n), back.predict_proba(te.X.data(), te.n)));
  EXPECT_TRUE(same_bits(rf.feature_importances(), back.feature_importances()));
  EXPECT_EQ(back.params().n_estimators, 20);
  EXPECT_EQ(back.params().max_features, MaxFeatures::parse("sqrt"));
  EXPECT_EQ(back.params().seed, 5u);

  // Corruptions are refused with BadInput naming the file.
  std::vector<char> bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  auto write = [&](const std::vector<char>& b) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(b.data(), static_cast<std::streamsize>(b.size()));
  };
  auto expect_refused = [&](const std::vector<char>& b, const std::string& why) {
    write(b);
    try {
      RandomForest::load(path);
      ADD_FAILURE() << "accepted a file with " << why;
    } catch (const lrid::BadInput& e) {
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
  };
  std::vector<char> b = bytes;
  b[b.size() / 2] ^= 0x10;
  expect_refused(b, "a flipped byte");
  b = bytes;
  b.resize(b.size() - 9);
  expect_refused(b, "a truncated payload");
  b = bytes;
  b[0] = 'X';
  expect_refused(b, "a wrong magic");
  b = bytes;
  b[8] = 2;
  expect_refused(b, "another version");
  expect_refused(std::vector<char>(5, 'L'), "five bytes");
  std::remove(path.c_str());
  EXPECT_THROW(RandomForest::load(path), lrid::BadInput);
}

TEST(AnalyzeForest, BadInputIsRefused) {
  const Set tr = clusters(50, 5, 2, 1.0, 91);
  RandomForest rf(params(3, "sqrt"));
  std::vector<int32_t> y = tr.y;
  y[7] = 2;
  EXPECT_THROW(rf.fit(tr.X.data(), y.data(), tr.n, tr.d, 2), lrid::BadInput);
  std::vector<double> X = tr.X;
  X[13] = std::nan("");
  EXPECT_THROW(rf.fit(X.data(), tr.y.data(), tr.n, tr.d, 2), lrid::BadInput);
  X[13] = 1e300;  // infinite as float32
  EXPECT_THROW(rf.fit(X.data(), tr.y.data(), tr.n, tr.d, 2), lrid::BadInput);
  EXPECT_THROW(rf.fit(tr.X.data(), tr.y.data(), 0, tr.d, 2), lrid::BadInput);
  ForestParams p = params(0, "sqrt");
  EXPECT_THROW(RandomForest(p).fit(tr.X.data(), tr.y.data(), tr.n, tr.d, 2), lrid::BadInput);
  p = params(3, "sqrt");
  p.min_samples_leaf = 0;
  EXPECT_THROW(RandomForest(p).fit(tr.X.data(), tr.y.data(), tr.n, tr.d, 2), lrid::BadInput);
  EXPECT_THROW(rf.predict(tr.X.data(), 1), std::logic_error);  // not fitted
}
