// Protocol: balanced disjoint splits, stratified folds, z-scoring, grids, model selection,
// the classifier factory.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <set>

#include "lrid/analyze/classifier.hpp"
#include "lrid/analyze/forest.hpp"
#include "lrid/analyze/plan.hpp"
#include "lrid/analyze/protocol.hpp"
#include "lrid/error.hpp"
#include "lrid/rng.hpp"

using namespace lrid::analyze;
using nlohmann::json;

namespace {

std::vector<int32_t> labels(const std::vector<int>& sizes) {
  std::vector<int32_t> y;
  // Interleave so classes are not contiguous.
  std::vector<int> left = sizes;
  for (bool more = true; more;) {
    more = false;
    for (size_t c = 0; c < left.size(); ++c)
      if (left[c] > 0) {
        y.push_back(static_cast<int32_t>(c));
        --left[c];
        more = true;
      }
  }
  return y;
}

int count_class(const std::vector<uint32_t>& rows, const std::vector<int32_t>& y, int c) {
  return static_cast<int>(std::count_if(rows.begin(), rows.end(), [&](uint32_t r) { return y[r] == c; }));
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const lrid::BadInput& e) {
    return e.what();
  }
  return "(no BadInput)";
}

}  // namespace

TEST(AnalyzeProtocol, SplitsAreBalancedAndDisjoint) {
  for (const auto& sizes : {std::vector<int>{40, 40, 40, 40}, std::vector<int>{10, 21, 7, 2}}) {
    const auto y = labels(sizes);
    const auto splits = balanced_splits(y.data(), y.size(), 4, 10, 0.75, 3);
    ASSERT_EQ(splits.size(), 10u);
    std::set<std::vector<uint32_t>> distinct;
    for (const Split& s : splits) {
      std::set<uint32_t> tr(s.train.begin(), s.train.end()), te(s.test.begin(), s.test.end());
      EXPECT_EQ(tr.size(), s.train.size());
      for (uint32_t r : te) EXPECT_EQ(tr.count(r), 0u) << "row in train and test";
      EXPECT_EQ(tr.size() + te.size(), y.size());
      EXPECT_TRUE(std::is_sorted(s.train.begin(), s.train.end()));
      for (int c = 0; c < 4; ++c) {
        const int nc = sizes[static_cast<size_t>(c)];
        const int want = std::min(std::max(static_cast<int>(std::floor(0.75 * nc + 0.5)), 1), nc - 1);
        EXPECT_EQ(count_class(s.train, y, c), want) << "class " << c;
        EXPECT_EQ(count_class(s.test, y, c), nc - want);
      }
      distinct.insert(s.test);
    }
    EXPECT_EQ(distinct.size(), 10u) << "splits should differ";
    // Same seed, same splits; another seed, other splits.
    const auto again = balanced_splits(y.data(), y.size(), 4, 10, 0.75, 3);
    const auto other = balanced_splits(y.data(), y.size(), 4, 10, 0.75, 4);
    EXPECT_EQ(again[4].test, splits[4].test);
    EXPECT_NE(other[4].test, splits[4].test);
  }
  const auto y = labels({4, 4});
  EXPECT_THROW(balanced_splits(y.data(), y.size(), 2, 0, 0.75, 0), lrid::BadInput);
  EXPECT_THROW(balanced_splits(y.data(), y.size(), 2, 3, 1.0, 0), lrid::BadInput);
}

TEST(AnalyzeProtocol, StratifiedFolds) {
  const auto y = labels({23, 17, 30});
  std::vector<uint32_t> rows;
  for (uint32_t i = 0; i < y.size(); i += 1)
    if (i % 7 != 3) rows.push_back(i);
  const auto folds = stratified_folds(y.data(), rows, 3, 5, 9);
  ASSERT_EQ(folds.size(), 5u);
  std::vector<uint32_t> all;
  for (const auto& f : folds) all.insert(all.end(), f.begin(), f.end());
  std::sort(all.begin(), all.end());
  EXPECT_EQ(all, rows);  // a partition of rows
  size_t lo = rows.size(), hi = 0;
  for (int c = 0; c < 3; ++c) {
    int mn = 1 << 30, mx = 0;
    for (const auto& f : folds) {
      mn = std::min(mn, count_class(f, y, c));
      mx = std::max(mx, count_class(f, y, c));
    }
    EXPECT_LE(mx - mn, 1) << "class " << c;
  }
  for (const auto& f : folds) lo = std::min(lo, f.size()), hi = std::max(hi, f.size());
  EXPECT_LE(hi - lo, 1u);
  EXPECT_EQ(set_difference(rows, folds[0]).size(), rows.size() - folds[0].size());
}

TEST(AnalyzeProtocol, ZScoreWithTrainingStatistics) {
  // 3 features: linear, constant, alternating.
  std::vector<double> X;
  for (int i = 0; i < 8; ++i) X.insert(X.end(), {double(i), 5.0, (i % 2) ? 1.0 : -1.0});
  ZScore z;
  z.fit(X.data(), 3, {0, 1, 2, 3});
  EXPECT_DOUBLE_EQ(z.mean[0], 1.5);
  EXPECT_DOUBLE_EQ(z.scale[0], std::sqrt(1.25));  // population std of 0..3
  EXPECT_DOUBLE_EQ(z.scale[1], 1.0);              // zero variance -> 1
  const auto t = z.transform(X.data(), 3, {0, 1, 2, 3, 7});
  double m = 0, v = 0;
  for (int i = 0; i < 4; ++i) m += t[static_cast<size_t>(i) * 3];
  for (int i = 0; i < 4; ++i) v += t[static_cast<size_t>(i) * 3] * t[static_cast<size_t>(i) * 3];
  EXPECT_NEAR(m, 0, 1e-12);
  EXPECT_NEAR(v / 4, 1, 1e-12);
  EXPECT_DOUBLE_EQ(t[1], 0.0);                           // constant feature -> 0
  EXPECT_DOUBLE_EQ(t[12], (7 - 1.5) / std::sqrt(1.25));  // a test row uses training stats
}

TEST(AnalyzeProtocol, PaperGrids) {
  const auto rf = default_grid("random_forest");
  ASSERT_EQ(rf.size(), 15u);
  EXPECT_EQ(rf[0], (json{{"max_features", "sqrt"}, {"n_estimators", 20}}));
  EXPECT_EQ(rf[14], (json{{"max_features", "all"}, {"n_estimators", 1000}}));
  const auto svm = default_grid("linear_svm");
  ASSERT_EQ(svm.size(), 7u);
  EXPECT_DOUBLE_EQ(svm[6]["C"].get<double>(), 5e6);
  EXPECT_EQ(default_grid("conv1d").size(), 6u * 3 * 2 * 3);
  const std::string msg = message_of([] { default_grid("random_forrest"); });
  EXPECT_NE(msg.find("did you mean 'random_forest'"), std::string::npos) << msg;
}

TEST(AnalyzeProtocol, FactoryRejectsUnknownNamesAndParameters) {
  std::string msg = message_of([] { make_classifier("linear_svn"); });
  EXPECT_NE(msg.find("did you mean 'linear_svm'"), std::string::npos) << msg;
  msg = message_of([] { make_classifier("random_forest", {{"n_estimator", 10}}); });
  EXPECT_NE(msg.find("did you mean 'n_estimators'"), std::string::npos) << msg;
  EXPECT_THROW(make_classifier("random_forest", {{"n_estimators", "ten"}}), lrid::BadInput);
  EXPECT_THROW(make_classifier("random_forest", {{"n_estimators", 0}}), lrid::BadInput);
  EXPECT_THROW(make_classifier("random_forest", {{"max_features", "sqr"}}), lrid::BadInput);
  EXPECT_THROW(make_classifier("random_forest", {{"max_features", 1.5}}), lrid::BadInput);
  EXPECT_THROW(make_classifier("linear_svm", {{"C", -1}}), lrid::BadInput);
  EXPECT_THROW(make_classifier("conv1d", {{"pooling", "maxx"}}), lrid::BadInput);
  auto rf = make_classifier("random_forest", {{"n_estimators", 7}, {"max_features", 0.5}});
  EXPECT_EQ(rf->name(), "random_forest");
  EXPECT_EQ(rf->params()["n_estimators"], 7);
  EXPECT_DOUBLE_EQ(rf->params()["max_features"].get<double>(), 0.5);
  EXPECT_EQ(make_classifier("random_forest", {{"max_features", 12}})->params()["max_features"], 12);
  EXPECT_EQ(make_classifier("linear_svm")->params()["C"], 1.0);
  EXPECT_EQ((ClassifierSpec{"random_forest", {{"n_estimators", 5}, {"max_features", "all"}}}.to_string()),
            "random_forest{max_features=all,n_estimators=5}");
}

namespace {
struct Blobs {
  std::vector<double> X;
  std::vector<int32_t> y;
  size_t n = 0, d = 0;
  DataView view() const { return {X.data(), y.data(), n, d, 3}; }
};
Blobs blobs(size_t n, size_t d, double sep, uint64_t seed) {
  Blobs b;
  b.n = n;
  b.d = d;
  for (size_t i = 0; i < n; ++i) {
    const int c = static_cast<int>(i % 3);
    b.y.push_back(c);
    for (size_t j = 0; j < d; ++j)
      b.X.push_back(10.0 + 3.0 * lrid::rng::counter_normal(seed, i * d + j) +
                    (static_cast<int>(j) == c ? sep : 0.0));
  }
  return b;
}
}  // namespace

TEST(AnalyzeProtocol, EvaluateWithForestGridGroupsTreeCounts) {
  const Blobs b = blobs(150, 8, 18.0, 17);
  ProtocolOptions o;
  o.splits = 3;
  std::vector<json> grid = {{{"max_features", "sqrt"}, {"n_estimators", 5}},
                            {{"max_features", "sqrt"}, {"n_estimators", 12}},
                            {{"max_features", "all"}, {"n_estimators", 5}}};
  Protocol p(b.view(), {"random_forest", {}}, grid, o);
  // One unit per (split, fold, max_features group): 3 x 5 x 2.
  ASSERT_EQ(p.cv_units().size(), 30u);
  EXPECT_EQ(p.cv_units()[0].grid_points, (std::vector<int>{0, 1}));
  // Units are independent: any order, same scores.
  std::vector<std::vector<double>> scores(p.cv_units().size());
  for (size_t u = p.cv_units().size(); u-- > 0;) scores[u] = p.run_cv_unit(u);
  EXPECT_EQ(encode_scores(scores[7]), encode_scores(p.run_cv_unit(7)));
  EXPECT_EQ(decode_scores(encode_scores(scores[7])), scores[7]);
  const ProtocolResult r = p.evaluate();
  ASSERT_EQ(r.splits.size(), 3u);
  EXPECT_GE(r.summary.accuracy.mean, 0.95);
  EXPECT_EQ(r.cv_accuracy, p.cv_accuracy(scores));
  EXPECT_EQ(r.importances.size(), 8u);
  for (const auto& s : r.splits) {
    EXPECT_EQ(s.predicted.size(), p.splits()[static_cast<size_t>(s.split)].test.size());
    EXPECT_EQ(s.params["seed"], p.params_for(s.grid_point, s.split)["seed"]);
    const SplitOutcome back = SplitOutcome::from_json(json::parse(s.to_json().dump()));
    EXPECT_EQ(back.metrics.confusion.counts, s.metrics.confusion.counts);
    EXPECT_EQ(back.metrics.accuracy, s.metrics.accuracy);
    EXPECT_EQ(back.importances, s.importances);
  }
}

TEST(AnalyzeProtocol, SelectionTiesGoToTheFirstGridPoint) {
  const Blobs b = blobs(90, 4, 9.0, 19);
  ProtocolOptions o;
  o.splits = 2;
  Protocol p(b.view(), {"linear_svm", {}}, {{{"C", 1.0}}, {{"C", 50.0}}, {{"C", 500.0}}}, o);
  const size_t U = p.cv_units().size();
  ASSERT_EQ(U, 2u * 3 * 5);
  std::vector<std::vector<double>> scores(U, std::vector<double>{0.5});
  EXPECT_EQ(p.select(scores), (std::vector<int>{0, 0}));
  for (size_t u = 0; u < U; ++u)
    if (p.cv_units()[u].split == 1 && p.cv_units()[u].grid_points[0] >= 1) scores[u] = {0.75};
  EXPECT_EQ(p.select(scores), (std::vector<int>{0, 1}));
}

TEST(AnalyzeProtocol, GivenSplitsAreChecked) {
  const Blobs b = blobs(30, 3, 9.0, 23);
  Split s;
  for (uint32_t i = 0; i < 20; ++i) s.train.push_back(i);
  for (uint32_t i = 19; i < 30; ++i) s.test.push_back(i);
  EXPECT_THROW(Protocol(b.view(), {"random_forest", {{"n_estimators", 3}}}, {}, {s}), lrid::BadInput);
  s.test.erase(s.test.begin());
  Protocol p(b.view(), {"random_forest", {{"n_estimators", 3}}}, {}, {s});
  EXPECT_TRUE(p.cv_units().empty());  // a single grid point: nothing to select
  const ProtocolResult r = p.evaluate();
  EXPECT_EQ(r.splits.size(), 1u);
  EXPECT_EQ(r.splits[0].params["n_estimators"], 3);
}

TEST(AnalyzeProtocol, GroupedSplitsKeepNetworksWholeAndBalanceTheirRules) {
  // 3 rules x 8 networks x 3 layers: each split puts 6 of a rule's 8 networks (round(0.75 x 8))
  // in training, every layer of a network on the same side; the seed changes the split.
  std::vector<int32_t> y;
  std::vector<int64_t> g;
  for (int net = 0; net < 24; ++net)
    for (int layer = 0; layer < 3; ++layer) y.push_back(net % 3), g.push_back(100 + net);
  const auto splits = grouped_splits(y.data(), g.data(), y.size(), 3, 5, 0.75, 7);
  ASSERT_EQ(splits.size(), 5u);
  for (const auto& s : splits) {
    EXPECT_EQ(s.train.size() + s.test.size(), y.size());
    std::set<int64_t> train_nets, test_nets;
    for (auto r : s.train) train_nets.insert(g[r]);
    for (auto r : s.test) test_nets.insert(g[r]);
    for (auto n : test_nets) EXPECT_EQ(train_nets.count(n), 0u) << "network " << n << " on both sides";
    for (int c = 0; c < 3; ++c) {
      EXPECT_EQ(count_class(s.train, y, c), 6 * 3);
      EXPECT_EQ(count_class(s.test, y, c), 2 * 3);
    }
  }
  EXPECT_NE(splits[0].test, splits[1].test);
  // Folds of a split's training rows: whole networks, classes dealt in turn.
  const auto folds = grouped_folds(y.data(), g.data(), splits[0].train, 3, 3, 9);
  std::set<uint32_t> seen;
  for (const auto& f : folds) {
    std::set<int64_t> nets;
    for (auto r : f) nets.insert(g[r]), seen.insert(r);
    EXPECT_EQ(f.size(), 6u * 3);  // 18 networks over 3 folds
    for (const auto& other : folds)
      if (&other != &f)
        for (auto r : other) EXPECT_EQ(nets.count(g[r]), 0u);
  }
  EXPECT_EQ(seen.size(), splits[0].train.size());
  // The protocol uses them when asked (and refuses without groups).
  std::vector<double> X(y.size());
  for (size_t i = 0; i < y.size(); ++i) X[i] = y[i] + 0.01 * static_cast<double>(i % 5);
  ProtocolOptions o;
  o.splits = 3;
  o.grouped = true;
  DataView v{X.data(), y.data(), y.size(), 1, 3, g.data()};
  const Protocol p(v, {"random_forest", {{"n_estimators", 5}}}, {}, o);
  for (size_t s = 0; s < p.splits().size(); ++s) EXPECT_EQ(p.splits()[s].test, grouped_splits(y.data(), g.data(), y.size(), 3, 3, 0.75, 0)[s].test);
  v.groups = nullptr;
  EXPECT_THROW(Protocol(v, {"random_forest", {{"n_estimators", 5}}}, {}, o), lrid::BadInput);
}
