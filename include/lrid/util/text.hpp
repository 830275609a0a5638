#pragma once
// Small text and time helpers for user-facing messages and file metadata (every module may use
// them; nothing here depends on another lrid module).
#include <cstdint>
#include <string>
#include <vector>

namespace lrid::util {

/// Levenshtein distance.
size_t edit_distance(const std::string& a, const std::string& b);
/// The closest candidate when it is close enough to be a likely typo, else "".
std::string closest_name(const std::string& given, const std::vector<std::string>& candidates);
/// " (did you mean 'x'?)" or "".
std::string did_you_mean(const std::string& given, const std::vector<std::string>& candidates);
/// "a, b, c"
std::string join(const std::vector<std::string>& items, const std::string& sep = ", ");
/// "a:b::c" split at ':' -> {"a", "b", "", "c"} (every field, empty ones too; "" -> {""}).
std::vector<std::string> split(const std::string& s, char sep);

/// The current UTC time as "2026-12-01T19:32:50Z".
std::string iso_now();
/// Seconds since the epoch (wall clock, sub-second).
double wall_seconds();
/// A double in the shortest form that reads back to the same value ("0.1", "1e-05").
std::string shortest(double v);
/// Fixed decimals, "n/a" for a non-finite value.
std::string fixed(double v, int decimals = 3);

}  // namespace lrid::util
