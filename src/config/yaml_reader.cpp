#include "lrid/config/yaml_reader.hpp"

#include <fstream>
#include <map>
#include <sstream>

namespace lrid::config {

using util::did_you_mean;
using util::join;

std::string read_text_file(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw BadInput(path + ": cannot open " + what + " (does it exist?)");
  // Read in blocks up to a limit: a device (/dev/zero) or a runaway file is refused, not read
  // for ever (a FIFO with a writer is read like a file).
  constexpr size_t kLimit = 16u << 20;
  std::string text;
  char block[65536];
  while (in.read(block, sizeof block) || in.gcount() > 0) {
    text.append(block, static_cast<size_t>(in.gcount()));
    if (text.size() > kLimit)
      throw BadInput(path + ": " + what + " is larger than 16 MiB (expected a YAML text file)");
  }
  if (in.bad()) throw BadInput(path + ": cannot read " + what);
  return text;
}

namespace {

// yaml-cpp keeps the first of two equal keys of a mapping and drops the second in silence: a
// job whose key is given twice is refused, naming both places.
void check_duplicate_keys(const YAML::Node& n, const std::string& origin) {
  if (n.IsMap()) {
    std::map<std::string, YAML::Mark> seen;
    for (const auto& kv : n) {
      if (kv.first.IsScalar()) {
        const std::string k = kv.first.Scalar();
        const YAML::Mark m = kv.first.Mark();
        const auto it = seen.find(k);
        if (it != seen.end())
          throw BadInput(origin + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1) + ": key '" +
                         k + "' is given twice in this mapping (also at line " + std::to_string(it->second.line + 1) +
                         "); give it once");
        seen.emplace(k, m);
      }
      check_duplicate_keys(kv.second, origin);
    }
  } else if (n.IsSequence()) {
    for (const auto& x : n) check_duplicate_keys(x, origin);
  }
}

}  // namespace

YAML::Node parse_yaml(const std::string& text, const std::string& origin, const std::string& what) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
    const auto documents = YAML::LoadAll(text);
    if (documents.size() > 1)
      throw BadInput(origin + ": holds " + std::to_string(documents.size()) +
                     " YAML documents (separated by ---); expected one " + what);
  } catch (const YAML::ParserException& e) {
    throw BadInput(origin + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) +
                   ": malformed YAML: " + e.msg);
  }
  if (!root || root.IsNull()) throw BadInput(origin + ": the " + what + " is empty");
  check_duplicate_keys(root, origin);
  return root;
}

}  // namespace lrid::config
