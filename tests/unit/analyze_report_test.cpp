// The findings' verdicts on constructed result tables, and results.h5 round trips.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>

#include "lrid/analyze/report.hpp"
#include "lrid/analyze/results.hpp"
#include "lrid/error.hpp"

using namespace lrid;
using namespace lrid::analyze;
using V = Finding::Verdict;

namespace {

const std::vector<std::string> kRules = {"sgdm", "adam", "fa", "ia"};

MainRow row(const std::string& cls, const std::string& clf, double acc) {
  MainRow m;
  m.observable_class = cls;
  m.classifier = clf;
  m.accuracy = {acc, 0.01, 10};
  m.balanced_accuracy = m.accuracy;
  m.confusion.assign(16, MeanSem{0, 0, 10});
  for (int i = 0; i < 4; ++i) m.confusion[static_cast<size_t>(i * 5)] = {acc, 0, 10};
  m.dprime.assign(4, MeanSem{1, 0, 10});
  return m;
}

// Tables in which every finding is reproduced, to be spoiled one at a time.
Results good() {
  Results r;
  r.classes = kRules;
  r.points = 21;
  r.main = {row("weight", "random_forest", 0.80), row("act", "random_forest", 0.85),
            row("gradavg", "random_forest", 0.78), row("all", "random_forest", 0.93),
            row("act", "linear_svm", 0.70)};
  auto& cm = r.main[3].confusion;  // sgdm <-> adam the most confused pair
  cm[0 * 4 + 1] = {0.05, 0, 10};
  cm[1 * 4 + 0] = {0.04, 0, 10};
  cm[2 * 4 + 3] = {0.02, 0, 10};
  r.holdout["architecture"] = {{"MLP", "KNet4"}, {{0.6, 0.02, 3}, {0.55, 0.02, 3}}, {0.575, 0.025, 2}};
  r.holdout["task"] = {{"a", "b"}, {{0.7, 0.02, 3}, {0.6, 0.02, 3}}, {0.65, 0.05, 2}};
  for (int k = 1; k <= 21; ++k) {
    for (int p = 0; p + k <= 21; ++p) r.trajectory.push_back({"window", k, p, {0.60, 0.01, 3}});
    r.trajectory.push_back({"spread", k, 0, {0.65, 0.01, 3}});
  }
  auto& m = r.measurement;
  m.conditions = {"ideal", "f0.1_s0", "f0.1_s0.5", "f0.5_s0.5"};
  m.fraction = {1, 0.1, 0.1, 0.5};
  m.noise = {0, 0, 0.5, 0.5};
  m.units = {0, 0, 0, 0};
  m.act_units = {1000, 100, 100, 500};
  m.weight_entries = {5000, 500, 500, 2500};
  m.classes = {"weight", "act", "gradavg"};
  // rows: conditions, columns: weight, act, gradavg; worst = f0.1_s0.5 (fewest units, most noise)
  const double acc[4][3] = {{0.80, 0.85, 0.78}, {0.60, 0.80, 0.5}, {0.40, 0.75, 0.5}, {0.7, 0.8, 0.6}};
  for (auto& a : acc)
    for (double x : a) m.accuracy.push_back({x, 0.01, 3});
  return r;
}

V verdict(const Results& r, int number) {
  for (const auto& f : judge(r))
    if (f.number == number) return f.verdict;
  ADD_FAILURE() << "no finding " << number;
  return V::NotMeasured;
}

}  // namespace

TEST(AnalyzeReport, EveryFindingReproduced) {
  const auto f = judge(good());
  ASSERT_EQ(f.size(), 6u);
  for (const auto& x : f) EXPECT_EQ(x.verdict, V::Reproduced) << x.number << ": " << x.evidence;
  EXPECT_EQ(worst_condition(good().measurement), 2);
}

TEST(AnalyzeReport, Finding1SeparableNeedsAllAndEachClass) {
  auto r = good();
  r.main[3].accuracy.mean = 0.899;  // all just below 0.90
  EXPECT_EQ(verdict(r, 1), V::NotReproduced);
  r = good();
  r.main[2].accuracy.mean = 0.749;  // gradavg just below 0.75
  EXPECT_EQ(verdict(r, 1), V::NotReproduced);
  r = good();
  r.main.erase(r.main.begin() + 2);  // gradavg's forest not run
  EXPECT_EQ(verdict(r, 1), V::NotMeasured);
  r = good();
  r.main[0].accuracy.mean = std::nan("");
  EXPECT_EQ(verdict(r, 1), V::NotMeasured);
}

TEST(AnalyzeReport, Finding2NonlinearGap) {
  auto r = good();
  r.main[4].accuracy.mean = 0.78;  // 0.85 - 0.78 = 0.07 < 0.08
  EXPECT_EQ(verdict(r, 2), V::NotReproduced);
  r.main[4].accuracy.mean = 0.76;  // 0.09
  EXPECT_EQ(verdict(r, 2), V::Reproduced);
  r.main.pop_back();  // no linear SVM
  EXPECT_EQ(verdict(r, 2), V::NotMeasured);
}

TEST(AnalyzeReport, Finding3SingleMostConfusedPair) {
  auto r = good();
  r.main[3].confusion[2 * 4 + 3] = {0.2, 0, 10};  // fa <-> ia now the most confused
  EXPECT_EQ(verdict(r, 3), V::NotReproduced);
  r = good();
  r.classes = {"sgdm", "fa", "ia"};  // no adam
  EXPECT_EQ(verdict(r, 3), V::NotMeasured);
}

TEST(AnalyzeReport, Finding4BothHoldouts) {
  auto r = good();
  r.holdout["task"].overall.mean = 0.49;
  EXPECT_EQ(verdict(r, 4), V::NotReproduced);
  r = good();
  r.holdout.erase("architecture");  // one architecture only: not measured
  EXPECT_EQ(verdict(r, 4), V::NotMeasured);
}

TEST(AnalyzeReport, Finding5SpreadBeatsWindowByTheGap) {
  auto r = good();
  for (auto& t : r.trajectory)
    if (t.kind == "spread") t.accuracy.mean = 0.615;  // gap 0.015 < 0.02
  EXPECT_EQ(verdict(r, 5), V::NotReproduced);
  r.trajectory.clear();
  EXPECT_EQ(verdict(r, 5), V::NotMeasured);
}

TEST(AnalyzeReport, Finding6ActivationsMoreRobust) {
  auto r = good();
  // act drops more than weight from ideal to the worst condition
  r.measurement.accuracy[2 * 3 + 1].mean = 0.35;
  EXPECT_EQ(verdict(r, 6), V::NotReproduced);
  r = good();
  r.measurement.accuracy[2 * 3 + 0].mean = 0.79;  // weight stays above act there
  r.measurement.accuracy[0].mean = 0.80;
  EXPECT_EQ(verdict(r, 6), V::NotReproduced);
  r = good();
  r.measurement = MeasurementTable{};
  EXPECT_EQ(verdict(r, 6), V::NotMeasured);
}

TEST(AnalyzeReport, ResultsFileRoundTripAndReport) {
  auto r = good();
  r.campaign = "c.h5";
  r.job_name = "t";
  r.settings = {{"splits", 10}, {"sweep_splits", 3}};
  r.findings = judge(r);
  r.sanity.push_back({"fa", "fashion_mnist", "KNet4", 2, 1, 1, 0.5, 0.1, 0.6, 0.05, 0.1});
  r.failed.push_back({7, "fa/x", "loss diverged"});
  const std::string path = "/tmp/lrid_report_test_" + std::to_string(getpid()) + ".h5";
  write_results(r, path);
  const Results back = read_results(path);
  std::remove(path.c_str());
  EXPECT_EQ(back.classes, r.classes);
  ASSERT_EQ(back.main.size(), r.main.size());
  EXPECT_DOUBLE_EQ(back.main_row("all", "random_forest")->accuracy.mean, 0.93);
  EXPECT_DOUBLE_EQ(back.holdout.at("task").overall.mean, 0.65);
  EXPECT_EQ(back.measurement.conditions, r.measurement.conditions);
  ASSERT_EQ(back.findings.size(), 6u);
  for (const auto& f : back.findings) EXPECT_EQ(f.verdict, V::Reproduced);
  // The verdicts judged from the file are the verdicts judged from the tables.
  const auto again = judge(back);
  for (size_t i = 0; i < again.size(); ++i) EXPECT_EQ(again[i].evidence, r.findings[i].evidence);
  EXPECT_EQ(back.failed.at(0).error, "loss diverged");
  const std::string md = report_markdown(back);
  EXPECT_NE(md.find("kSeparableAll 0.900"), std::string::npos) << md;
  EXPECT_NE(md.find("**reproduced**"), std::string::npos);
  EXPECT_NE(md.find("run 7 fa/x: loss diverged"), std::string::npos);
  EXPECT_THROW(read_results("/tmp/lrid_no_such_results.h5"), BadInput);
}

TEST(AnalyzeReport, AverageLinkageMatchesAHandComputation) {
  // d(a,b) = 0.1, d(c,d) = 0.2, the rest 0.8 except d(b,c) = 0.6: merges {a,b} at 0.1, {c,d} at
  // 0.2, then the two at the mean of their four cross distances (0.8 + 0.8 + 0.6 + 0.8) / 4 = 0.75.
  const std::vector<double> d = {0, 0.1, 0.8, 0.8,  //
                                 0.1, 0, 0.6, 0.8,  //
                                 0.8, 0.6, 0, 0.2,  //
                                 0.8, 0.8, 0.2, 0};
  Identifiability t;
  average_linkage(d, 4, t);
  EXPECT_EQ(t.left, (std::vector<int64_t>{0, 2, 4}));
  EXPECT_EQ(t.right, (std::vector<int64_t>{1, 3, 5}));
  ASSERT_EQ(t.height.size(), 3u);
  EXPECT_DOUBLE_EQ(t.height[0], 0.1);
  EXPECT_DOUBLE_EQ(t.height[1], 0.2);
  EXPECT_DOUBLE_EQ(t.height[2], 0.75);
  EXPECT_EQ(t.order, (std::vector<int64_t>{0, 1, 2, 3}));
}

TEST(AnalyzeReport, IdentifiabilityIsWrittenReadAndRead) {
  // Three rules; a and b only weights separate, a and c everything, b and c nothing; under the
  // worst condition activations lose a-c.
  auto r = good();
  Identifiability& t = r.identifiability;
  t.rules = {"a", "b", "c"};
  t.classes = {"weight", "act", "gradavg", "all"};
  t.conditions = {"ideal", "f0.1_s0.5"};
  t.splits = {"samples", "networks"};
  t.accuracy.assign(2 * 2 * 4 * 9, MeanSem{std::nan(""), std::nan(""), 0});
  auto set = [&](size_t k, size_t o, size_t i, size_t j, double v) {
    for (size_t s = 0; s < 2; ++s) {
      const size_t base = ((k * 2 + s) * 4 + o) * 9;
      t.accuracy[base + i * 3 + j] = t.accuracy[base + j * 3 + i] = MeanSem{v, 0.01, 3};
    }
  };
  for (size_t k = 0; k < 2; ++k)
    for (size_t o = 0; o < 4; ++o) {
      set(k, o, 0, 1, o == 0 ? 0.9 : 0.55);
      set(k, o, 0, 2, k == 1 && o == 1 ? 0.6 : 0.95);
      set(k, o, 1, 2, 0.52);
    }
  std::vector<double> d(9, 0.0);
  for (size_t i = 0; i < 3; ++i)
    for (size_t j = 0; j < 3; ++j)
      if (i != j) d[i * 3 + j] = std::max(0.0, 2 * t.at(0, 1, 3, i, j).mean - 1);
  average_linkage(d, 3, t);
  t.distance = "test";
  const std::string path = "/tmp/lrid_report_ident_" + std::to_string(getpid()) + ".h5";
  r.settings = {{"splits", 10}, {"sweep_splits", 3}};
  write_results(r, path);
  const Results back = read_results(path);
  std::remove(path.c_str());
  ASSERT_EQ(back.identifiability.rules, t.rules);
  EXPECT_DOUBLE_EQ(back.identifiability.at(1, 1, 1, 0, 2).mean, 0.6);
  EXPECT_EQ(back.identifiability.left, t.left);
  const std::string md = report_markdown(back);
  EXPECT_NE(md.find("No observable class separates: b<->c (best 0.520)"), std::string::npos) << md;
  EXPECT_NE(md.find("Only weights separate (not activations, not layer-wise changes): a<->b."), std::string::npos) << md;
  EXPECT_NE(md.find("still under f0.1_s0.5: none"), std::string::npos) << md;
  EXPECT_NE(md.find("but not under f0.1_s0.5: a<->c (0.950 -> 0.600)"), std::string::npos) << md;
  EXPECT_NE(md.find("{b, c}"), std::string::npos) << md;  // the confused group
}
