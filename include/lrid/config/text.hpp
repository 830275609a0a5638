#pragma once
// Small text helpers used for user-facing messages.
#include <string>
#include <vector>

namespace lrid::config {

/// Levenshtein distance.
size_t edit_distance(const std::string& a, const std::string& b);
/// The closest candidate when it is close enough to be a likely typo, else "".
std::string closest_name(const std::string& given, const std::vector<std::string>& candidates);
/// " (did you mean 'x'?)" or "".
std::string did_you_mean(const std::string& given, const std::vector<std::string>& candidates);
/// "a, b, c"
std::string join(const std::vector<std::string>& items, const std::string& sep = ", ");

}  // namespace lrid::config
