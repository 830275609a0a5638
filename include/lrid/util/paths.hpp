#pragma once
// Where lrid finds the files it ships (jobs/, slurm/, cluster/, tools/, docs/): its data
// directory. One lookup for every module (util: depends on no other lrid module).
#include <string>

namespace lrid::util {

struct DataDir {
  std::string path;     ///< the directory (no trailing slash)
  std::string origin;   ///< "LRID_HOME", "installed" or "source tree": why this one
};

/// $LRID_HOME when set (non-empty); else <directory of the running executable>/../share/lrid
/// when that directory exists (an installed lrid: P/bin/lrid next to P/share/lrid); else the
/// source tree this binary was built from (a build tree, never an installed lrid).
DataDir data_dir();

/// data_dir().path + "/" + relative, e.g. data_file("tools/plot_results.py").
std::string data_file(const std::string& relative);

}  // namespace lrid::util
