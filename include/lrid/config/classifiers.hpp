#pragma once
// The classifiers' keys in a job file's `analysis` section (torch-free, json-free). Each
// classifier is one registered definition in one file, src/analyze/classifiers/<name>.cpp
// (include/lrid/analyze/classifiers.hpp): its name, its model-selection grid's keys with their
// parsing and defaults, its factory and how results name it. The part the job file needs -- the
// ClassifierTable below -- is declared here so that config validates `analysis.classifiers` and
// `analysis.<classifier>.<key>` as it reads the file; the analyze module's registry provides it
// (src/analyze/classifier.cpp), from the same definitions.
#include <map>
#include <string>
#include <vector>

namespace lrid::config {

/// A key of a classifier's model-selection grid, e.g. analysis.random_forest.n_estimators: a list.
struct GridKey {
  enum class Type { PositiveIntegers, PositiveReals, Fractions, Strings, Choices };
  std::string name;
  Type type = Type::PositiveReals;
  std::vector<std::string> choices;  ///< Choices
  std::vector<double> numbers;       ///< the default list (numeric types)
  std::vector<std::string> texts;    ///< the default list (Strings, Choices)
  std::string doc;
};

/// A grid key's values as given (numbers for the numeric types, texts otherwise).
struct GridValues {
  std::vector<double> numbers;
  std::vector<std::string> texts;
};

struct ClassifierTable {
  std::string name;   ///< "random_forest": what analysis.classifiers, results and reports use
  std::string title;  ///< "random forest"
  /// The grid's keys; the model-selection grid is their product, the first key outermost.
  std::vector<GridKey> grid;
};

/// Every classifier's table, in the registry's order (random_forest, linear_svm, conv1d, ...).
const std::vector<ClassifierTable>& classifier_tables();
/// Their names, in that order.
std::vector<std::string> classifier_names();

/// The job's grid settings: classifier -> key -> values (only what the job file gives; the
/// defaults are in the tables).
using ClassifierGrids = std::map<std::string, std::map<std::string, GridValues>>;

}  // namespace lrid::config
