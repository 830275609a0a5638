#pragma once
// Thin RAII and helpers over the HDF5 C API, shared by the store and by readers of user files.
#include <hdf5.h>

#include <string>
#include <vector>

namespace lrid::store::h5 {

/// Owns an hid_t and closes it with the right H5*close.
class Id {
 public:
  Id() = default;
  explicit Id(hid_t id) : id_(id) {}
  Id(Id&& o) noexcept : id_(o.id_) { o.id_ = -1; }
  Id& operator=(Id&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = o.id_;
      o.id_ = -1;
    }
    return *this;
  }
  Id(const Id&) = delete;
  Id& operator=(const Id&) = delete;
  ~Id() { reset(); }
  void reset();
  hid_t get() const { return id_; }
  operator hid_t() const { return id_; }
  bool valid() const { return id_ >= 0; }

 private:
  hid_t id_ = -1;
};

/// Turns off HDF5's automatic error-stack printing (users get one line from us instead).
void silence_errors();

/// Throws std::runtime_error("what: HDF5 call failed") when v < 0; returns v.
hid_t check(hid_t v, const std::string& what);

/// Fixed-length, null-terminated C string type of n bytes.
Id string_type(size_t n);

void write_string_attr(hid_t obj, const std::string& name, const std::string& value);
void write_strings_attr(hid_t obj, const std::string& name, const std::vector<std::string>& values);
void write_int_attr(hid_t obj, const std::string& name, int64_t value);
void write_doubles_attr(hid_t obj, const std::string& name, const std::vector<double>& values);
bool has_attr(hid_t obj, const std::string& name);
std::string read_string_attr(hid_t obj, const std::string& name);
std::vector<std::string> read_strings_attr(hid_t obj, const std::string& name);
int64_t read_int_attr(hid_t obj, const std::string& name);
std::vector<double> read_doubles_attr(hid_t obj, const std::string& name);

/// Whether `path` names a link (each component checked) in file/group `loc`.
bool exists(hid_t loc, const std::string& path);

}  // namespace lrid::store::h5
