#pragma once
// Error kinds shared by every module. The CLI maps them to exit codes:
//   BadInput -> 2 (the user's file, key or value is wrong; the message says which and what
//   was expected), anything else -> 1 (internal failure).
#include <stdexcept>
#include <string>

namespace lrid {

/// A user's input is wrong: a file, a key, a value, a name. `what()` is one line that names the
/// file (and line:column when known), the key, and what was expected.
class BadInput : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace lrid
