#include "lrid/cli/commands.hpp"

namespace lrid::cli {

const std::vector<Command>& commands() {
  static const std::vector<Command> list = {
      {"grid", "validate a job file and list its expanded runs", cmd_grid},
  };
  return list;
}

}  // namespace lrid::cli
