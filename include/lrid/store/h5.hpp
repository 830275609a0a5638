#pragma once
// Thin RAII and helpers over the HDF5 C API, shared by the store and by readers of user files.
#include <hdf5.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "lrid/error.hpp"

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

/// A failed HDF5 call (check()): `what()` is "OPERATION: HDF5 call failed", operation() the
/// operation alone ("open /runs/status"). Readers of user files turn it into BadInput naming the
/// file (reading()); anything else that fails with it is an internal error.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& operation)
      : std::runtime_error(operation + ": HDF5 call failed"), operation_(operation) {}
  const std::string& operation() const { return operation_; }

 private:
  std::string operation_;
};

/// How many H5*close calls of Id::reset have failed in this process (a close that fails loses
/// what HDF5 still held in memory: write_new_file checks it).
int64_t close_failures();

/// Turns off HDF5's automatic error-stack printing (users get one line from us instead).
void silence_errors();

/// Throws Error(what) when v < 0; returns v.
hid_t check(hid_t v, const std::string& what);

/// Fixed-length, null-terminated C string type of n bytes (datasets written in parallel: HDF5
/// cannot write variable-length data through MPI-IO).
Id string_type(size_t n);
/// Variable-length UTF-8 string type (what h5py and xarray read as str).
Id vlen_string_type();

// --- files, groups and whole datasets (serial) -----------------------------------------------

/// Creates (truncates) an HDF5 file; BadInput naming `what` and the path if it cannot.
Id create_file(const std::string& path, const std::string& what);
/// Writes a new HDF5 file `path` (a campaign, model, recording, results, features): created as
/// `path.tmp`, filled by `fill`, flushed and closed with every HDF5 call checked, then renamed
/// into place, so that `path` is either the whole new file or untouched. Any failure (a full
/// disk, a read-only directory) removes the partial file and throws BadInput "PATH: cannot write
/// the WHAT (...)"; BadInput from `fill` passes through (after the removal).
void write_new_file(const std::string& path, const std::string& what, const std::function<void(hid_t)>& fill,
                    hid_t fapl = H5P_DEFAULT);

/// Runs `read` (reads of the user's file `file`) and turns an HDF5 failure inside into BadInput
/// "FILE: cannot read DATASET (...)": a missing dataset, another type, an unavailable filter is
/// damage to the user's file, not an internal error.
[[noreturn]] void throw_unreadable(const std::string& file, const Error& e);
template <class F>
auto reading(const std::string& file, F&& read) -> decltype(read()) {
  try {
    return read();
  } catch (const Error& e) {
    throw_unreadable(file, e);
  }
}

/// Refuses (BadInput naming `where` and the dataset) a dataset of `elements` values of
/// `element_bytes` bytes each that would not fit in this process's memory (physical memory,
/// the address-space limit): checked before allocating, so a file that declares a huge extent
/// is an error message, not std::bad_alloc.
void check_fits_in_memory(const std::string& where, const std::string& dataset, uint64_t elements,
                          uint64_t element_bytes);

/// The `format` attribute of an HDF5 file ("lrid-model-1", ...), "" when the file is not HDF5 or
/// has none. A features file (analyze --export-features) has no format attribute: "lrid-features"
/// when its description says it is one.
std::string file_format(const std::string& path);

/// What a command may write over. `path` (given as `option`) is an output of the kind whose
/// format attribute starts with `format` ("lrid-model-", "lrid-features"):
///  - it must not be the same file as any of `inputs` (st_dev/st_ino: a symlink or a hard link
///    to an input counts), nor a directory or another non-regular file;
///  - when it exists, it must be an earlier output of the same kind, and replacing it needs
///    `force` (unless `force_needed` is false: a results directory's own files).
/// BadInput naming the option and the file otherwise. Nothing is written.
void check_output(const std::string& path, const std::string& option, const std::string& format,
                  const std::vector<std::string>& inputs, bool force, bool force_needed = true);

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
