#pragma once
// The reading of an analysis: the paper's findings judged against named thresholds, and
// report.md. The thresholds are the bar a campaign must reach for a finding to count as
// reproduced; report.md prints each one next to the measured numbers. A finding whose
// classifier or sweep was not run (or gave no number) is "not measured", never "not reproduced".
//
//   1  separable: the forest on all statistics >= kSeparableAll, and on each observable class
//      alone (weight, act, gradavg) >= kSeparableClass
//   2  not linearly: the linear SVM on activations at least kNonlinearGap below the forest on
//      activations
//   3  SGDM <-> Adam is the single most confused pair of rules (the forest on all statistics;
//      a pair's confusion is the mean of its two off-diagonal fractions)
//   4  generalises: the mean accuracy over held-out architectures and over held-out tasks each
//      >= kHoldoutMin (both must have been measured)
//   5  trajectory undersampling: at k = kTrajectoryKMin..kTrajectoryKMax points, spread sampling
//      beats the dense window (averaged over its positions) by >= kTrajectoryGap, on average
//      over those k
//   6  measurement: from ideal to the worst condition (the fewest units kept, then the most
//      noise), activations lose less accuracy than weights and stay above them there
#include <string>
#include <vector>

#include "lrid/analyze/results.hpp"

namespace lrid::analyze {

inline constexpr double kSeparableAll = 0.90;
inline constexpr double kSeparableClass = 0.75;
inline constexpr double kNonlinearGap = 0.08;
inline constexpr double kHoldoutMin = 0.5;
inline constexpr int kTrajectoryKMin = 2;
inline constexpr int kTrajectoryKMax = 5;
inline constexpr double kTrajectoryGap = 0.02;

/// The six findings, numbered 1..6 (judged from the tables only).
std::vector<Finding> judge(const Results& r);

/// The worst measurement condition (index into r.measurement.conditions), -1 when none.
int worst_condition(const MeasurementTable& m);

/// report.md's text.
std::string report_markdown(const Results& r);

/// The main table as a markdown table (rows: observable classes, columns: classifiers); with
/// `networks`, each cell also gives the accuracy with whole networks held out ("samples / networks").
std::string main_table_markdown(const Results& r);

/// The identifiability matrix's reading (report.md's "Which rules can be told apart"): a pair is
/// separated by an observable class when the forest on that pair alone reaches kPairSeparated
/// with whole networks held out, and no observable separates it when every class stays below
/// kPairSeparated there.
inline constexpr double kPairSeparated = 0.75;
/// Below this pairwise accuracy (chance 0.5) a pair counts as confused: the groups of the report
/// are the dendrogram's clusters below the separability 2 kPairConfused - 1.
inline constexpr double kPairConfused = 0.65;

}  // namespace lrid::analyze
