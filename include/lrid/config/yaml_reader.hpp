#pragma once
// Typed access to a parsed YAML file with one-line "FILE:LINE:COL: KEY: what was expected"
// errors (lrid::BadInput), shared by the job file (config) and the cluster profiles (cluster).
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "lrid/util/text.hpp"
#include "lrid/error.hpp"

namespace lrid::config {

using util::did_you_mean;
using util::join;

/// The whole text of a file; BadInput naming it (and `what` it is) when it cannot be read.
std::string read_text_file(const std::string& path, const std::string& what);
/// The YAML document in `text` (from `origin`); BadInput "ORIGIN:LINE:COL: malformed YAML: ..."
/// when it does not parse, "ORIGIN: the WHAT is empty" when it holds nothing.
YAML::Node parse_yaml(const std::string& text, const std::string& origin, const std::string& what);

struct YamlReader {

  std::string file;
  /// Command-line overrides applied to the tree: their key paths in this reader's key syntax
  /// ("grid[0].batch_sizes") and their text ("grid.0.batch_sizes=[16]"), numbered from 1.
  std::vector<std::pair<std::string, std::string>> overrides = {};

  std::string where(const YAML::Node& n) const {
    const YAML::Mark m = n.Mark();
    if (m.is_null()) return file;
    return file + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
  }
  /// The override (1-based) a key belongs to: its path is the key, a prefix of it, or the key a
  /// prefix of its path (an unknown key inside it); 0 for none (the file).
  size_t override_of(const std::string& key) const {
    auto prefix = [](const std::string& a, const std::string& b) {  // a is b or a parent of b
      return b.size() >= a.size() && b.compare(0, a.size(), a) == 0 &&
             (b.size() == a.size() || b[a.size()] == '.' || b[a.size()] == '[');
    };
    for (size_t i = overrides.size(); i-- > 0;)
      if (!key.empty() && (prefix(overrides[i].first, key) || prefix(key, overrides[i].first))) return i + 1;
    return 0;
  }
  [[noreturn]] void fail(const YAML::Node& at, const std::string& key,
                         const std::string& msg) const {
    const size_t o = override_of(key);
    if (o) throw BadInput("override " + std::to_string(o) + " (" + overrides[o - 1].second + "): " + key + ": " + msg);
    throw BadInput(where(at) + ": " + (key.empty() ? "" : key + ": ") + msg);
  }

  void require_map(const YAML::Node& n, const std::string& key) const {
    if (!n.IsMap()) fail(n, key, "expected a mapping (key: value lines)");
  }

  // Unknown keys get a "did you mean" and the list of valid keys.
  void check_keys(const YAML::Node& map, const std::string& key,
                  const std::vector<std::string>& allowed) const {
    require_map(map, key);
    for (const auto& kv : map) {
      const std::string k = kv.first.as<std::string>();
      if (std::find(allowed.begin(), allowed.end(), k) != allowed.end()) continue;
      fail(kv.first, key.empty() ? k : key + "." + k,
           "unknown key '" + k + "'" + did_you_mean(k, allowed) + "; expected one of " +
               join(allowed));
    }
  }

  std::string str(const YAML::Node& n, const std::string& key) const {
    if (!n.IsScalar()) fail(n, key, "expected a string");
    return n.as<std::string>();
  }

  int64_t integer(const YAML::Node& n, const std::string& key) const {
    if (!n.IsScalar()) fail(n, key, "expected an integer");
    try {
      return n.as<int64_t>();
    } catch (const YAML::Exception&) {
      fail(n, key, "expected an integer, got '" + n.as<std::string>() + "'");
    }
  }

  double real(const YAML::Node& n, const std::string& key) const {
    if (!n.IsScalar()) fail(n, key, "expected a number");
    try {
      const double v = n.as<double>();
      if (!std::isfinite(v)) fail(n, key, "expected a finite number");
      return v;
    } catch (const YAML::Exception&) {
      fail(n, key, "expected a number, got '" + n.as<std::string>() + "'");
    }
  }

  bool boolean(const YAML::Node& n, const std::string& key) const {
    if (!n.IsScalar()) fail(n, key, "expected true or false");
    try {
      return n.as<bool>();
    } catch (const YAML::Exception&) {
      fail(n, key, "expected true or false, got '" + n.as<std::string>() + "'");
    }
  }

  // A list, or a single scalar taken as a one-element list.
  std::vector<YAML::Node> items(const YAML::Node& n, const std::string& key) const {
    std::vector<YAML::Node> out;
    if (n.IsSequence()) {
      for (size_t i = 0; i < n.size(); ++i) out.push_back(n[i]);
    } else if (n.IsScalar()) {
      out.push_back(n);
    } else {
      fail(n, key, "expected a list");
    }
    if (out.empty()) fail(n, key, "expected a non-empty list");
    return out;
  }

  std::vector<std::string> strings(const YAML::Node& n, const std::string& key) const {
    std::vector<std::string> v;
    const auto xs = items(n, key);
    for (size_t i = 0; i < xs.size(); ++i) v.push_back(str(xs[i], key + "[" + std::to_string(i) + "]"));
    return v;
  }
  std::vector<int64_t> integers(const YAML::Node& n, const std::string& key) const {
    std::vector<int64_t> v;
    const auto xs = items(n, key);
    for (size_t i = 0; i < xs.size(); ++i) v.push_back(integer(xs[i], key + "[" + std::to_string(i) + "]"));
    return v;
  }
  std::vector<double> reals(const YAML::Node& n, const std::string& key) const {
    std::vector<double> v;
    const auto xs = items(n, key);
    for (size_t i = 0; i < xs.size(); ++i) v.push_back(real(xs[i], key + "[" + std::to_string(i) + "]"));
    return v;
  }

  // integers / reals whose every item is > 0 (else "expected positive integers|values").
  std::vector<int64_t> positive_integers(const YAML::Node& n, const std::string& key) const {
    const auto v = integers(n, key);
    for (auto x : v)
      if (x <= 0) fail(n, key, "expected positive integers");
    return v;
  }
  std::vector<double> positive_reals(const YAML::Node& n, const std::string& key) const {
    const auto v = reals(n, key);
    for (double x : v)
      if (x <= 0) fail(n, key, "expected positive values");
    return v;
  }

  int64_t positive(const YAML::Node& n, const std::string& key) const {
    const int64_t v = integer(n, key);
    if (v <= 0) fail(n, key, "expected a positive integer, got " + std::to_string(v));
    return v;
  }
  int64_t non_negative(const YAML::Node& n, const std::string& key) const {
    const int64_t v = integer(n, key);
    if (v < 0) fail(n, key, "expected an integer >= 0, got " + std::to_string(v));
    return v;
  }
  double non_negative_real(const YAML::Node& n, const std::string& key) const {
    const double v = real(n, key);
    if (v < 0) fail(n, key, "expected a number >= 0, got " + n.as<std::string>());
    return v;
  }
  double positive_real(const YAML::Node& n, const std::string& key) const {
    const double v = real(n, key);
    if (v <= 0) fail(n, key, "expected a number > 0, got " + n.as<std::string>());
    return v;
  }
  std::string choice(const YAML::Node& n, const std::string& key,
                     const std::vector<std::string>& allowed, const std::string& what) const {
    const std::string v = str(n, key);
    if (std::find(allowed.begin(), allowed.end(), v) == allowed.end())
      fail(n, key, "unknown " + what + " '" + v + "'" + did_you_mean(v, allowed) +
                       "; expected one of " + join(allowed));
    return v;
  }
  // A list of choices (each named key[i] in its error).
  std::vector<std::string> choices(const YAML::Node& n, const std::string& key,
                                   const std::vector<std::string>& allowed, const std::string& what) const {
    std::vector<std::string> v;
    const auto xs = items(n, key);
    for (size_t i = 0; i < xs.size(); ++i) v.push_back(choice(xs[i], key + "[" + std::to_string(i) + "]", allowed, what));
    return v;
  }
};

}  // namespace lrid::config
