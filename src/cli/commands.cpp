#include "lrid/cli/commands.hpp"

namespace lrid::cli {

const std::vector<Command>& commands() {
  static const std::vector<Command> list = {
      {"grid", "validate a job file and list its expanded runs", cmd_grid},
      {"train", "train one run of a job and record its observables", cmd_train},
      {"stats", "statistics of one HDF5 dataset under a condition, as JSON", cmd_stats},
  };
  return list;
}

}  // namespace lrid::cli
