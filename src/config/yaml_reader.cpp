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

YAML::Node parse_yaml(const std::string& text, const std::string& origin, const std::string& what) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    throw BadInput(origin + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) +
                   ": malformed YAML: " + e.msg);
  }
  if (!root || root.IsNull()) throw BadInput(origin + ": the " + what + " is empty");
  return root;
}

}  // namespace lrid::config
