#pragma once
// The classifier registry: a classifier is one registered definition in one file,
// src/analyze/classifiers/<name>.cpp, defining `ClassifierDef lrid_classifier_<name>()` (macro
// LRID_CLASSIFIER below); CMake's glob lists every such file. A definition holds the name and
// title results and reports use, its model-selection grid's keys with their parsing and defaults
// (config::ClassifierTable: config validates the job file's analysis section against it), the
// parameters every fit gets from the campaign, and the factory. Adding a classifier is its file,
// its test and a row in docs/job-file.md ("analysis"); docs/CONVENTIONS.md.
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lrid/analyze/classifier.hpp"
#include "lrid/config/classifiers.hpp"

namespace lrid::analyze {

/// What a classifier may take from the dataset of an evaluation.
struct FitContext {
  int64_t points = 0;          ///< trajectory points per statistic
  int64_t extra_features = 3;  ///< trailing features after the statistics' trajectories (the depth one-hot)
};

struct ClassifierDef {
  config::ClassifierTable table;  ///< name, title, grid keys and defaults
  int order = 0;                  ///< the registry's order
  /// Parameters merged under every grid point of an evaluation (e.g. Conv1D's trajectory length);
  /// none when empty.
  std::function<nlohmann::json(const FitContext&)> base_params;
  /// The classifier with these hyperparameters; unknown keys or bad values: BadInput.
  std::function<std::unique_ptr<Classifier>(const nlohmann::json& params)> make;
};

/// Every registered classifier, in order.
const std::vector<ClassifierDef>& classifier_defs();
/// By name; unknown: BadInput with did-you-mean.
const ClassifierDef& classifier_def(const std::string& name);

}  // namespace lrid::analyze

/// Defines the classifier of src/analyze/classifiers/<name>.cpp: `LRID_CLASSIFIER(name) { ... }`.
#define LRID_CLASSIFIER(name) ::lrid::analyze::ClassifierDef lrid_classifier_##name()
