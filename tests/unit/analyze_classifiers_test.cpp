// The classifier registry (include/lrid/analyze/classifiers.hpp) and the job file's analysis
// section read through it.
#include <gtest/gtest.h>

#include <set>

#include "lrid/analyze/classifiers.hpp"
#include "lrid/analyze/plan.hpp"
#include "lrid/config/job.hpp"
#include "lrid/error.hpp"

using lrid::BadInput;

namespace {

const std::string kJob =
    "name: t\ngrid:\n  - {learning_rules: [sgdm, fa], tasks: [fashion_mnist], architectures: [MLP], batch_sizes: [8]}\n";

std::string error_of(const std::string& text, const std::vector<std::string>& overrides = {}) {
  try {
    lrid::config::load_job_text(text, "job.yaml", overrides);
  } catch (const BadInput& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Classifiers, RegistryHoldsThePapersClassifiers) {
  EXPECT_EQ(lrid::config::classifier_names(), (std::vector<std::string>{"random_forest", "linear_svm", "conv1d"}));
  std::set<std::string> titles;
  for (const auto& d : lrid::analyze::classifier_defs()) {
    SCOPED_TRACE(d.table.name);
    EXPECT_TRUE(titles.insert(d.table.title).second);
    ASSERT_TRUE(d.make);
    EXPECT_EQ(d.make(nlohmann::json::object())->name(), d.table.name);
    // every default grid point makes a classifier
    for (const auto& p : lrid::analyze::classifier_grid(lrid::config::AnalysisSpec{}, d.table.name)) {
      nlohmann::json params = d.base_params ? d.base_params({21, 3}) : nlohmann::json::object();
      params.update(p);
      EXPECT_NO_THROW(d.make(params)) << p.dump();
    }
  }
  // The paper's grids, in the order the protocol breaks ties in.
  const auto rf = lrid::analyze::classifier_grid(lrid::config::AnalysisSpec{}, "random_forest");
  ASSERT_EQ(rf.size(), 15u);
  EXPECT_EQ(rf[0], (nlohmann::json{{"max_features", "sqrt"}, {"n_estimators", 20}}));
  EXPECT_EQ(rf[1], (nlohmann::json{{"max_features", "sqrt"}, {"n_estimators", 50}}));
  EXPECT_EQ(rf[5], (nlohmann::json{{"max_features", "log2"}, {"n_estimators", 20}}));
}

TEST(Classifiers, JobGridsReplaceTheDefaultsKeyByKey) {
  const auto j = lrid::config::load_job_text(kJob + "analysis:\n  random_forest: {n_estimators: [5, 7]}\n  linear_svm: {C: [2]}\n",
                                             "job.yaml");
  const auto rf = lrid::analyze::classifier_grid(j.analysis, "random_forest");
  ASSERT_EQ(rf.size(), 6u);  // 3 default max_features x 2
  EXPECT_EQ(rf[1], (nlohmann::json{{"max_features", "sqrt"}, {"n_estimators", 7}}));
  const auto svm = lrid::analyze::classifier_grid(j.analysis, "linear_svm");
  ASSERT_EQ(svm.size(), 1u);
  EXPECT_EQ(svm[0], (nlohmann::json{{"C", 2.0}}));
  EXPECT_EQ(lrid::analyze::grid_lists(j.analysis, "random_forest")["n_estimators"], (nlohmann::json{5, 7}));
}

TEST(Classifiers, UnknownNamesAndKeysAreOneLineWithDidYouMean) {
  std::string e = error_of(kJob + "analysis:\n  classifiers: [random_forset]\n");
  EXPECT_NE(e.find("unknown classifier 'random_forset' (did you mean 'random_forest'?)"), std::string::npos) << e;
  EXPECT_EQ(e.find('\n'), std::string::npos);
  e = error_of(kJob, {"analysis.classifiers=[linear_svn]"});
  EXPECT_NE(e.find("did you mean 'linear_svm'"), std::string::npos) << e;
  EXPECT_NE(e.find("override 1"), std::string::npos) << e;
  e = error_of(kJob + "analysis:\n  random_forest: {n_estimator: [5]}\n");
  EXPECT_NE(e.find("did you mean 'n_estimators'"), std::string::npos) << e;
  e = error_of(kJob + "analysis:\n  conv1d: {pooling: [mx]}\n");
  EXPECT_NE(e.find("did you mean 'max'"), std::string::npos) << e;
  e = error_of(kJob + "analysis:\n  conv1d: {kernel_fraction: [1.5]}\n");
  EXPECT_NE(e.find("expected fractions in (0, 1]"), std::string::npos) << e;
  e = error_of(kJob + "analysis:\n  randomforest: {n_estimators: [5]}\n");
  EXPECT_NE(e.find("did you mean 'random_forest'"), std::string::npos) << e;
  EXPECT_THROW(lrid::analyze::classifier_def("svm"), BadInput);
}
