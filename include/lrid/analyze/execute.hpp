#pragma once
// Executing an analysis plan on the rank-0 work queue (collective over MPI_COMM_WORLD; with one
// rank everything runs in this process). Two stages:
//   1. model selection: every CV unit of every evaluation with a grid (largest first);
//      rank 0 then picks each split's grid point and broadcasts the choice;
//   2. one test fit per split of every evaluation.
// Datasets are built on use and dropped after, so memory stays at about one evaluation's
// features per rank however many evaluations there are. The result of every fit is identical
// for any rank count (every unit is a pure function of the data and the unit).
#include <cstdint>
#include <vector>

#include "lrid/analyze/features.hpp"
#include "lrid/analyze/plan.hpp"
#include "lrid/analyze/protocol.hpp"

namespace lrid::analyze {

struct ExecuteOptions {
  bool quiet = false;  ///< no progress lines
  double start = 0;    ///< steady-clock seconds the analysis started (for the progress lines)
};

struct Execution {
  std::vector<ProtocolResult> results;  ///< per evaluation (rank 0 only; empty elsewhere)
  int64_t fits = 0;                     ///< CV and test fits run
};

/// Runs `plan` over the campaign's data. Collective; every rank returns `fits`, rank 0 the
/// results.
Execution execute_plan(const std::vector<Evaluation>& plan, const CampaignData& c, const ExecuteOptions& options);

/// The dataset an evaluation uses (its features, in the main dataset's sample order).
FeatureSet evaluation_features(const Evaluation& e, const CampaignData& c);

}  // namespace lrid::analyze
