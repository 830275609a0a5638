#pragma once
// `lrid analyze`: the reduction stage. Reads a campaign file, plans every evaluation of every
// sweep (plan.hpp), runs them on the rank-0 work queue (execute.hpp; collective over
// MPI_COMM_WORLD, works with one rank), collects the tables (results.hpp), judges the paper's
// findings and writes results.h5 and report.md (report.hpp). No torch here.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "lrid/config/job.hpp"

namespace lrid::analyze {

struct AnalysisOptions {
  std::string campaign, out_dir;
  config::AnalysisSpec spec;       ///< the job's analysis section, possibly overridden
  /// Where the job's shared-policy rules differ in learning-rate policy (config::policy_differences).
  std::vector<std::string> policy_differences;
  bool require_complete = false;   ///< refuse a campaign with runs not done
  std::string export_features;     ///< HDF5 path, "" = none
  bool quiet = false;
};

/// Fills the options' spec and policy differences from the job text stored in the campaign file
/// (read once), with `lrid analyze`'s analysis.key=value overrides.
void options_from_job(const std::string& job_yaml, const std::string& origin, AnalysisOptions& o,
                      const std::vector<std::string>& overrides = {});

struct AnalysisSummary {
  std::string report_path, results_path;
  int64_t fits = 0;
  double seconds = 0;
  std::string main_table;  ///< the main accuracy table, as printed
  std::string findings;    ///< one line per finding: "1 reproduced: ..." (rank 0)
};

/// Collective over MPI_COMM_WORLD (MPI must be initialised). Rank 0 writes the outputs (and
/// creates out_dir with its parents; BadInput naming the part that cannot be created).
AnalysisSummary run_analysis(const AnalysisOptions& options);

/// Creates a directory and its missing parents; BadInput naming the first that cannot be made.
void make_directories(const std::string& path);

/// `lrid analyze --json`: the main table, the permutation control and the findings, read back
/// from the results file the analysis wrote.
nlohmann::ordered_json summary_json(const AnalysisSummary& summary);

}  // namespace lrid::analyze
