#pragma once
// Thin RAII and helpers over the HDF5 C API, shared by the store and by readers of user files.
#include <hdf5.h>

#include <optional>
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

/// Fixed-length, null-terminated C string type of n bytes (datasets written in parallel: HDF5
/// cannot write variable-length data through MPI-IO).
Id string_type(size_t n);
/// Variable-length UTF-8 string type (what h5py and xarray read as str).
Id vlen_string_type();

// --- files, groups and whole datasets (serial) -----------------------------------------------

/// Creates (truncates) an HDF5 file; BadInput naming `what` and the path if it cannot.
Id create_file(const std::string& path, const std::string& what);
/// Opens an existing HDF5 file read-only; BadInput ("no such file", "not an HDF5 file") if not.
Id open_file(const std::string& path, const std::string& what);
/// Creates every missing group along `path` ("/a/b/c").
void make_groups(hid_t loc, const std::string& path);
/// Whole datasets, created with their parent groups; dims default to {size}.
void write_doubles(hid_t loc, const std::string& path, const std::vector<double>& v,
                   std::vector<hsize_t> dims = {});
void write_floats(hid_t loc, const std::string& path, const std::vector<float>& v,
                  std::vector<hsize_t> dims = {});
void write_int64s(hid_t loc, const std::string& path, const std::vector<int64_t>& v,
                  std::vector<hsize_t> dims = {});
/// Opaque bytes as uint8 [n] (e.g. a serialised model).
void write_bytes(hid_t loc, const std::string& path, const std::vector<uint8_t>& v);
/// Variable-length UTF-8 strings, 1-D (or dims, row-major).
void write_strings(hid_t loc, const std::string& path, const std::vector<std::string>& v,
                   std::vector<hsize_t> dims = {});
/// Makes the dataset `scale` a dimension scale named `name` (if it is not one yet) and attaches
/// it to dimension `dim` of `dataset`, which gets the dimension label `name`.
void attach_scale(hid_t loc, const std::string& dataset, const std::string& scale, unsigned dim,
                  const std::string& name);
/// The extent of a dataset.
std::vector<hsize_t> dataset_dims(hid_t loc, const std::string& path);
std::vector<double> read_doubles(hid_t loc, const std::string& path);
std::vector<float> read_floats(hid_t loc, const std::string& path);
std::vector<int64_t> read_int64s(hid_t loc, const std::string& path);
std::vector<uint8_t> read_bytes(hid_t loc, const std::string& path);
/// Fixed- or variable-length strings, row-major.
std::vector<std::string> read_strings(hid_t loc, const std::string& path);
/// Whether loc/path is a dataset.
bool is_dataset(hid_t loc, const std::string& path);

void write_string_attr(hid_t obj, const std::string& name, const std::string& value);

/// The attributes every file lrid writes starts with (campaign, results, model, recording): its
/// format, the lrid that wrote it, when, and the job it comes from (and, for a file made from a
/// campaign, that campaign's path). Empty lrid_version / created: this lrid, now.
struct FileHeader {
  std::string format, lrid_version, created, job_name, job_hash;
  std::optional<std::string> campaign;  ///< results, models: the campaign file they come from
};
void write_header(hid_t file, const FileHeader& header);
void write_strings_attr(hid_t obj, const std::string& name, const std::vector<std::string>& values);
void write_int_attr(hid_t obj, const std::string& name, int64_t value);
void write_doubles_attr(hid_t obj, const std::string& name, const std::vector<double>& values);
/// A dataset's attribute (the dataset opened by path).
void write_string_attr(hid_t loc, const std::string& path, const std::string& name,
                       const std::string& value);
bool has_attr(hid_t obj, const std::string& name);
std::string read_string_attr(hid_t obj, const std::string& name);
std::vector<std::string> read_strings_attr(hid_t obj, const std::string& name);
int64_t read_int_attr(hid_t obj, const std::string& name);
std::vector<double> read_doubles_attr(hid_t obj, const std::string& name);

/// Attribute readers accept fixed- and variable-length strings.
/// Whether `path` names a link (each component checked) in file/group `loc`.
bool exists(hid_t loc, const std::string& path);

/// A float32 or float64 dataset of any HDF5 file (a lab's recording, for `lrid stats`), read
/// whole: its shape, dtype ("float32", "float64") and values (in `f` or, for float64, in `d`).
struct FloatArray {
  std::vector<hsize_t> shape;
  std::string dtype;
  bool is_double = false;
  std::vector<float> f;
  std::vector<double> d;
};
/// BadInput "WHERE: ..." naming what is wrong: no such file, not a regular file, not HDF5, a
/// missing group or object on the path, a group, not float data, an empty dataset.
FloatArray read_float_array(const std::string& file, const std::string& path, const std::string& where);

}  // namespace lrid::store::h5
