#pragma once
// `lrid analyze`: the reduction stage. Reads a campaign file, builds the classifiers' datasets,
// runs every fit of every sweep as a task on the rank-0 work queue (collective over
// MPI_COMM_WORLD; works with one rank), and writes results.h5 and report.md. No torch here.
//
// Sweeps (results.h5 groups):
//   /main         observable class (weight, act, gradavg, all) x classifier, the paper's
//                 protocol (balanced splits, z-scoring, stratified CV over the grids)
//   /holdout      held-out architectures, held-out tasks, task-to-task transfer matrix
//   /trajectory   k of the T points: every contiguous window, k evenly spread, k random
//   /measurement  every recorded condition (unit fraction, noise) x observable class
//   /importance   the forest's top features (all admissible statistics, ideal condition)
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace lrid::analyze {

struct AnalysisOptions {
  std::string campaign, out_dir;
  std::vector<std::string> statistics{"admissible"};
  std::vector<std::string> classifiers{"random_forest", "linear_svm", "conv1d"};
  std::vector<std::string> sweeps{"observable_class", "holdout", "trajectory", "measurement",
                                  "importance"};
  int splits = 10, folds = 5;
  double test_fraction = 0.25;
  uint64_t seed = 0;
  std::vector<nlohmann::json> rf_grid, svm_grid, conv1d_grid;  ///< empty: the paper's
  nlohmann::json sweep_forest = {{"n_estimators", 100}, {"max_features", "sqrt"}};
  int sweep_splits = 10;     ///< splits of the robustness sweeps (they use sweep_forest)
  int random_draws = 3;      ///< trajectory sweep: random point sets per k
  bool require_complete = false;
  std::string export_features;  ///< HDF5 path, "" = none
  bool quiet = false;
};

/// Fills the options from the job text stored in the campaign file (its `analysis` section).
void options_from_job(const std::string& job_yaml, const std::string& origin, AnalysisOptions& o);

struct AnalysisSummary {
  std::string report_path, results_path;
  int64_t fits = 0;
  double seconds = 0;
  std::string main_table;  ///< the main accuracy table, as printed
};

/// Collective over MPI_COMM_WORLD (MPI must be initialised). Rank 0 writes the outputs.
AnalysisSummary run_analysis(const AnalysisOptions& options);

}  // namespace lrid::analyze
