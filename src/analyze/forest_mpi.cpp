// RandomForest grown across MPI ranks (include/lrid/analyze/forest_mpi.hpp).
#include "lrid/analyze/forest_mpi.hpp"

#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

namespace lrid::analyze {

void fit_distributed(RandomForest& forest, MPI_Comm comm, const double* X, const int32_t* y, size_t n, size_t d,
                     int n_classes) {
  int rank = 0, size = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  std::vector<int> which;
  for (int t = rank; t < forest.params().n_estimators; t += size) which.push_back(t);
  const std::vector<uint8_t> bytes = forest.grow_encoded(X, y, n, d, n_classes, which);
  if (bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max()))
    throw std::runtime_error("random_forest: a rank's trees exceed 2 GiB");
  int my_size = static_cast<int>(bytes.size());
  std::vector<int> sizes(static_cast<size_t>(size)), displs(static_cast<size_t>(size));
  MPI_Allgather(&my_size, 1, MPI_INT, sizes.data(), 1, MPI_INT, comm);
  size_t total = 0;
  for (int r = 0; r < size; ++r) {
    if (total > static_cast<size_t>(std::numeric_limits<int>::max()))
      throw std::runtime_error("random_forest: the forest exceeds 2 GiB");
    displs[static_cast<size_t>(r)] = static_cast<int>(total);
    total += static_cast<size_t>(sizes[static_cast<size_t>(r)]);
  }
  std::vector<uint8_t> all(total);
  MPI_Allgatherv(bytes.data(), my_size, MPI_BYTE, all.data(), sizes.data(), displs.data(), MPI_BYTE, comm);
  std::vector<RandomForest::EncodedTrees> blocks;
  for (int r = 0; r < size; ++r)
    blocks.push_back({all.data() + displs[static_cast<size_t>(r)], static_cast<size_t>(sizes[static_cast<size_t>(r)]),
                      "rank " + std::to_string(r)});
  forest.adopt_encoded(blocks, d, n_classes);
}

}  // namespace lrid::analyze
