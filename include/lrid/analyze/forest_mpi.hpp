#pragma once
// The random forest grown by several MPI processes at once (the only part of the forest that
// needs MPI): rank r grows the trees t with t % size == r, then the ranks exchange them.
#include <mpi.h>

#include <cstddef>
#include <cstdint>

#include "lrid/analyze/forest.hpp"

namespace lrid::analyze {

/// Collective over `comm`: rank r grows the trees t with t % size == r (with params.threads
/// threads), then the trees are exchanged (MPI_Allgatherv) so every rank ends with the same
/// forest as forest.fit() gives. Every rank must pass the same data and parameters.
void fit_distributed(RandomForest& forest, MPI_Comm comm, const double* X, const int32_t* y, size_t n, size_t d,
                     int n_classes);

}  // namespace lrid::analyze
