#include "lrid/config/yaml_reader.hpp"

#include <fstream>
#include <sstream>

namespace lrid::config {

using util::did_you_mean;
using util::join;

std::string read_text_file(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw BadInput(path + ": cannot open " + what + " (does it exist?)");
  std::ostringstream s;
  s << in.rdbuf();
  if (in.bad()) throw BadInput(path + ": cannot read " + what);
  return s.str();
}

}  // namespace lrid::config
