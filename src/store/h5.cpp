#include "lrid/store/h5.hpp"

#include "lrid/build_info.hpp"
#include "lrid/util/text.hpp"

#include <H5DSpublic.h>
#include <unistd.h>

#include <sys/resource.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "lrid/error.hpp"

namespace lrid::store::h5 {

namespace {
std::atomic<int64_t> g_close_failures{0};
}  // namespace

int64_t close_failures() { return g_close_failures.load(); }

void Id::reset() {
  if (id_ < 0) return;
  herr_t rc = 0;
  switch (H5Iget_type(id_)) {
    case H5I_FILE: rc = H5Fclose(id_); break;
    case H5I_GROUP: rc = H5Gclose(id_); break;
    case H5I_DATASET: rc = H5Dclose(id_); break;
    case H5I_DATASPACE: rc = H5Sclose(id_); break;
    case H5I_DATATYPE: rc = H5Tclose(id_); break;
    case H5I_ATTR: rc = H5Aclose(id_); break;
    case H5I_GENPROP_LST: rc = H5Pclose(id_); break;
    default: break;
  }
  if (rc < 0) ++g_close_failures;
  id_ = -1;
}

void silence_errors() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

hid_t check(hid_t v, const std::string& what) {
  if (v < 0) throw Error(what);
  return v;
}

Id string_type(size_t n) {
  Id t(check(H5Tcopy(H5T_C_S1), "H5Tcopy"));
  check(H5Tset_size(t, n), "H5Tset_size");
  check(H5Tset_strpad(t, H5T_STR_NULLTERM), "H5Tset_strpad");
  return t;
}

Id vlen_string_type() {
  Id t(check(H5Tcopy(H5T_C_S1), "H5Tcopy"));
  check(H5Tset_size(t, H5T_VARIABLE), "H5Tset_size");
  check(H5Tset_cset(t, H5T_CSET_UTF8), "H5Tset_cset");
  return t;
}

namespace {

std::vector<const char*> c_strings(const std::vector<std::string>& v) {
  std::vector<const char*> p;
  for (const auto& s : v) p.push_back(s.c_str());
  return p;
}

// Reads strings of any string type through a handle of type `ftype` into out.
template <class ReadFn>
std::vector<std::string> read_string_values(hid_t ftype, size_t count, ReadFn read) {
  std::vector<std::string> out;
  if (H5Tget_class(ftype) != H5T_STRING) throw Error("read strings (not a string dataset or attribute)");
  if (H5Tis_variable_str(ftype) > 0) {
    Id mtype = vlen_string_type();
    std::vector<char*> p(count, nullptr);
    if (count) check(read(mtype.get(), p.data()), "read strings");
    for (auto* c : p) out.emplace_back(c ? c : "");
    if (count) {
      Id space(check(H5Screate_simple(1, std::vector<hsize_t>{count}.data(), nullptr), "space"));
      H5Dvlen_reclaim(mtype, space, H5P_DEFAULT, p.data());
    }
  } else {
    // Read as null-terminated strings one byte wider than the file's: a full-width string of a
    // null-padded or space-padded type (h5py's np.bytes_) keeps its last character.
    const size_t width = H5Tget_size(ftype) + 1;
    Id mtype = string_type(width);
    std::vector<char> buf(width * count + 1, 0);
    if (count) check(read(mtype.get(), buf.data()), "read strings");
    for (size_t i = 0; i < count; ++i) {
      std::string v(&buf[i * width], strnlen(&buf[i * width], width));
      if (H5Tget_strpad(ftype) == H5T_STR_SPACEPAD)
        while (!v.empty() && v.back() == ' ') v.pop_back();
      out.push_back(std::move(v));
    }
  }
  return out;
}

Id create_dataset(hid_t loc, const std::string& path, hid_t type, const std::vector<hsize_t>& dims) {
  const auto slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0) make_groups(loc, path.substr(0, slash));
  Id space(check(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), "H5Screate_simple"));
  return Id(check(H5Dcreate2(loc, path.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                  "create dataset " + path));
}

template <class T>
void write_numbers(hid_t loc, const std::string& path, const std::vector<T>& v, std::vector<hsize_t> dims,
                   hid_t file_type, hid_t mem_type) {
  if (dims.empty()) dims = {v.size()};
  Id d = create_dataset(loc, path, file_type, dims);
  if (!v.empty()) check(H5Dwrite(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()), "write " + path);
}

template <class T>
std::vector<T> read_numbers(hid_t loc, const std::string& path, hid_t mem_type) {
  Id d(check(H5Dopen2(loc, path.c_str(), H5P_DEFAULT), "open " + path));
  Id space(check(H5Dget_space(d), "space"));
  Id ftype(check(H5Dget_type(d), "type of " + path));
  const H5T_class_t cls = H5Tget_class(ftype);
  if (cls != H5T_INTEGER && cls != H5T_FLOAT) throw Error("read " + path + " (not numbers)");
  const hssize_t n = H5Sget_simple_extent_npoints(space);
  if (n < 0) throw Error("extent of " + path);
  char name[1024] = "";
  H5Fget_name(loc, name, sizeof name);
  check_fits_in_memory(name, path, static_cast<uint64_t>(n), sizeof(T));
  std::vector<T> v(static_cast<size_t>(n));
  if (!v.empty()) check(H5Dread(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()), "read " + path);
  return v;
}

}  // namespace

void check_fits_in_memory(const std::string& where, const std::string& dataset, uint64_t elements,
                          uint64_t element_bytes) {
  const double bytes = static_cast<double>(elements) * static_cast<double>(element_bytes);
  double limit = static_cast<double>(sysconf(_SC_PHYS_PAGES)) * static_cast<double>(sysconf(_SC_PAGESIZE));
  struct rlimit rl;
  if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
    limit = std::min(limit, static_cast<double>(rl.rlim_cur));
  if (limit > 0 && bytes > limit)
    throw BadInput(where + ": " + dataset + " declares " + std::to_string(elements) + " values (" +
                   std::to_string(static_cast<long long>(bytes / 1e9)) +
                   " GB), more than this process can hold in memory (" +
                   std::to_string(static_cast<long long>(limit / 1e9)) + " GB); damaged, or not a dataset lrid reads");
}

[[noreturn]] void throw_unreadable(const std::string& file, const Error& e) {
  throw BadInput(file + ": " + e.operation() +
                 " failed (missing, of another type or shape, or compressed with a filter this HDF5 lacks: "
                 "the file is damaged or was not written by this lrid)");
}

void write_new_file(const std::string& path, const std::string& what, const std::function<void(hid_t)>& fill,
                    hid_t fapl) {
  silence_errors();
  const std::string tmp = path + ".tmp";
  std::remove(tmp.c_str());
  const int64_t failures_before = close_failures();
  auto fail = [&](const std::string& why) {
    std::remove(tmp.c_str());
    throw BadInput(path + ": cannot write the " + what + " (" + why + ")");
  };
  Id f(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl));
  if (!f.valid()) {
    const int err = errno;
    fail(access(tmp.c_str(), F_OK) == 0 || err == ENOSPC ? "no space left on the device?" : "is the directory writable?");
  }
  std::exception_ptr error;
  try {
    fill(f);
    check(H5Fflush(f, H5F_SCOPE_GLOBAL), "flush " + tmp);
  } catch (...) {
    error = std::current_exception();
  }
  if (error) {
    // The partial file goes: emptied first, so that HDF5's close (which writes what it still
    // holds) finds room on a full disk and lets go of the file. A file HDF5 cannot close stays
    // in its tables and crashes its clean-up at exit.
    void* handle = nullptr;
    if (H5Fget_vfd_handle(f, H5P_DEFAULT, &handle) >= 0 && handle) (void)!ftruncate(*static_cast<int*>(handle), 0);
  }
  f.reset();  // a failed close is counted (close_failures)
  if (error) {
    try {
      std::rethrow_exception(error);
    } catch (const BadInput&) {
      std::remove(tmp.c_str());
      throw;
    } catch (const Error& e) {
      fail(e.operation() + " failed: disk full or I/O error?");
    } catch (...) {
      std::remove(tmp.c_str());
      throw;
    }
  }
  if (close_failures() != failures_before) fail("closing it failed: disk full or I/O error?");
  if (std::rename(tmp.c_str(), path.c_str()) != 0) fail(std::string("cannot move it into place: ") + std::strerror(errno));
}

std::string file_format(const std::string& path) {
  silence_errors();
  struct stat st;
  if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || H5Fis_hdf5(path.c_str()) <= 0) return "";
  Id f(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  if (!f.valid()) return "";
  try {
    if (has_attr(f, "format")) return read_string_attr(f, "format");
    if (has_attr(f, "description") && read_string_attr(f, "description").rfind("lrid features", 0) == 0)
      return "lrid-features";
  } catch (const Error&) {
  }
  return "";
}

void check_output(const std::string& path, const std::string& option, const std::string& format,
                  const std::vector<std::string>& inputs, bool force, bool force_needed) {
  struct stat out;
  if (stat(path.c_str(), &out) != 0) return;  // a new file (a missing directory fails at the write)
  for (const auto& in : inputs) {
    struct stat st;
    if (stat(in.c_str(), &st) == 0 && st.st_dev == out.st_dev && st.st_ino == out.st_ino)
      throw BadInput(path + ": " + option + " names the input " + in +
                     " of this command (the same file); write the output to another file");
  }
  if (S_ISDIR(out.st_mode)) throw BadInput(path + ": " + option + " names a directory, expected a file");
  if (!S_ISREG(out.st_mode)) throw BadInput(path + ": " + option + " names a special file, expected a regular file");
  const std::string found = file_format(path);
  if (found.rfind(format, 0) != 0)
    throw BadInput(path + ": " + option + " would replace a file that is not an earlier " + format +
                   " file (" + (found.empty() ? std::string("not an lrid file") : "format " + found) +
                   "); lrid replaces only its own outputs of the same kind: choose another path");
  if (force_needed && !force)
    throw BadInput(path + ": exists (use --force to replace it, or another " + option + ")");
}

Id create_file(const std::string& path, const std::string& what) {
  silence_errors();
  Id f(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
  if (!f.valid()) throw BadInput(path + ": cannot create the " + what + " (is the directory writable?)");
  return f;
}

Id open_file(const std::string& path, const std::string& what) {
  silence_errors();
  if (access(path.c_str(), F_OK) != 0) throw BadInput(path + ": no such " + what);
  if (H5Fis_hdf5(path.c_str()) <= 0) throw BadInput(path + ": not an HDF5 file (expected a " + what + ")");
  Id f(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  if (!f.valid()) throw BadInput(path + ": cannot open the " + what + " (damaged or unreadable)");
  return f;
}

void make_groups(hid_t loc, const std::string& path) {
  std::string prefix;
  size_t start = 0;
  while (start < path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    const std::string part = path.substr(start, end - start);
    if (end == 0) prefix = "/";
    if (!part.empty()) {
      prefix += part;
      if (H5Lexists(loc, prefix.c_str(), H5P_DEFAULT) <= 0)
        Id g(check(H5Gcreate2(loc, prefix.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "create group " + prefix));
      prefix += "/";
    }
    start = end + 1;
  }
}

void write_doubles(hid_t loc, const std::string& path, const std::vector<double>& v, std::vector<hsize_t> dims) {
  write_numbers(loc, path, v, std::move(dims), H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE);
}
void write_floats(hid_t loc, const std::string& path, const std::vector<float>& v, std::vector<hsize_t> dims) {
  write_numbers(loc, path, v, std::move(dims), H5T_IEEE_F32LE, H5T_NATIVE_FLOAT);
}
void write_int64s(hid_t loc, const std::string& path, const std::vector<int64_t>& v, std::vector<hsize_t> dims) {
  write_numbers(loc, path, v, std::move(dims), H5T_STD_I64LE, H5T_NATIVE_INT64);
}
void write_bytes(hid_t loc, const std::string& path, const std::vector<uint8_t>& v) {
  write_numbers(loc, path, v, {}, H5T_STD_U8LE, H5T_NATIVE_UINT8);
}

void write_strings(hid_t loc, const std::string& path, const std::vector<std::string>& v,
                   std::vector<hsize_t> dims) {
  if (dims.empty()) dims = {v.size()};
  Id type = vlen_string_type();
  Id d = create_dataset(loc, path, type, dims);
  const auto p = c_strings(v);
  if (!v.empty()) check(H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, p.data()), "write " + path);
}

void attach_scale(hid_t loc, const std::string& dataset, const std::string& scale, unsigned dim,
                  const std::string& name) {
  Id d(check(H5Dopen2(loc, dataset.c_str(), H5P_DEFAULT), "open " + dataset));
  Id s(check(H5Dopen2(loc, scale.c_str(), H5P_DEFAULT), "open " + scale));
  if (H5DSis_scale(s) <= 0) check(H5DSset_scale(s, name.c_str()), "H5DSset_scale " + scale);
  check(H5DSattach_scale(d, s, dim), "H5DSattach_scale " + scale);
  check(H5DSset_label(d, dim, name.c_str()), "H5DSset_label " + dataset);
}

std::vector<hsize_t> dataset_dims(hid_t loc, const std::string& path) {
  Id d(check(H5Dopen2(loc, path.c_str(), H5P_DEFAULT), "open " + path));
  Id space(check(H5Dget_space(d), "space"));
  const int n = H5Sget_simple_extent_ndims(space);
  std::vector<hsize_t> dims(static_cast<size_t>(std::max(n, 0)));
  if (n > 0) H5Sget_simple_extent_dims(space, dims.data(), nullptr);
  return dims;
}

std::vector<double> read_doubles(hid_t loc, const std::string& path) {
  return read_numbers<double>(loc, path, H5T_NATIVE_DOUBLE);
}
std::vector<float> read_floats(hid_t loc, const std::string& path) {
  return read_numbers<float>(loc, path, H5T_NATIVE_FLOAT);
}
std::vector<int64_t> read_int64s(hid_t loc, const std::string& path) {
  return read_numbers<int64_t>(loc, path, H5T_NATIVE_INT64);
}
std::vector<uint8_t> read_bytes(hid_t loc, const std::string& path) {
  return read_numbers<uint8_t>(loc, path, H5T_NATIVE_UINT8);
}

std::vector<std::string> read_strings(hid_t loc, const std::string& path) {
  Id d(check(H5Dopen2(loc, path.c_str(), H5P_DEFAULT), "open " + path));
  Id ftype(check(H5Dget_type(d), "type"));
  Id space(check(H5Dget_space(d), "space"));
  const auto n = static_cast<size_t>(H5Sget_simple_extent_npoints(space));
  return read_string_values(ftype, n, [&](hid_t mtype, void* buf) {
    return H5Dread(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
  });
}

bool is_dataset(hid_t loc, const std::string& path) {
  if (!exists(loc, path)) return false;
  H5O_info_t info;
  if (H5Oget_info_by_name(loc, path.c_str(), &info, H5P_DEFAULT) < 0) return false;
  return info.type == H5O_TYPE_DATASET;
}

void write_string_attr(hid_t obj, const std::string& name, const std::string& value) {
  Id type = vlen_string_type();
  Id space(check(H5Screate(H5S_SCALAR), "H5Screate"));
  if (H5Aexists(obj, name.c_str()) > 0) H5Adelete(obj, name.c_str());
  Id attr(check(H5Acreate2(obj, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT),
                "create attribute " + name));
  const char* p = value.c_str();
  check(H5Awrite(attr, type, &p), "write attribute " + name);
}

void write_header(hid_t file, const FileHeader& h) {
  write_string_attr(file, "format", h.format);
  write_string_attr(file, "lrid_version", h.lrid_version.empty() ? std::string(kVersion) : h.lrid_version);
  write_string_attr(file, "created", h.created.empty() ? util::iso_now() : h.created);
  if (h.campaign) write_string_attr(file, "campaign", *h.campaign);
  write_string_attr(file, "job_name", h.job_name);
  write_string_attr(file, "job_hash", h.job_hash);
}

void write_string_attr(hid_t loc, const std::string& path, const std::string& name,
                       const std::string& value) {
  Id obj(check(H5Oopen(loc, path.c_str(), H5P_DEFAULT), "open " + path));
  write_string_attr(obj.get(), name, value);
}

void write_strings_attr(hid_t obj, const std::string& name, const std::vector<std::string>& values) {
  Id type = vlen_string_type();
  const hsize_t n = values.size();
  Id space(check(H5Screate_simple(1, &n, nullptr), "H5Screate_simple"));
  Id attr(check(H5Acreate2(obj, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT),
                "create attribute " + name));
  const auto p = c_strings(values);
  if (n) check(H5Awrite(attr, type, p.data()), "write attribute " + name);
}

void write_int_attr(hid_t obj, const std::string& name, int64_t value) {
  Id space(check(H5Screate(H5S_SCALAR), "H5Screate"));
  Id attr(check(H5Acreate2(obj, name.c_str(), H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT),
                "create attribute " + name));
  check(H5Awrite(attr, H5T_NATIVE_INT64, &value), "write attribute " + name);
}

void write_doubles_attr(hid_t obj, const std::string& name, const std::vector<double>& values) {
  const hsize_t n = values.size();
  Id space(check(H5Screate_simple(1, &n, nullptr), "H5Screate_simple"));
  Id attr(check(H5Acreate2(obj, name.c_str(), H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT),
                "create attribute " + name));
  check(H5Awrite(attr, H5T_NATIVE_DOUBLE, values.data()), "write attribute " + name);
}

bool has_attr(hid_t obj, const std::string& name) { return H5Aexists(obj, name.c_str()) > 0; }

std::vector<std::string> read_strings_attr(hid_t obj, const std::string& name) {
  Id attr(check(H5Aopen(obj, name.c_str(), H5P_DEFAULT), "open attribute " + name));
  Id ftype(check(H5Aget_type(attr), "attribute type"));
  Id space(check(H5Aget_space(attr), "attribute space"));
  const auto count = static_cast<size_t>(H5Sget_simple_extent_npoints(space));
  if (H5Tget_class(ftype) != H5T_STRING) throw Error("read attribute " + name + " (not a string)");
  return read_string_values(ftype, count, [&](hid_t mtype, void* buf) { return H5Aread(attr, mtype, buf); });
}

std::string read_string_attr(hid_t obj, const std::string& name) {
  const auto v = read_strings_attr(obj, name);
  return v.empty() ? std::string() : v.front();
}

int64_t read_int_attr(hid_t obj, const std::string& name) {
  Id attr(check(H5Aopen(obj, name.c_str(), H5P_DEFAULT), "open attribute " + name));
  int64_t v = 0;
  check(H5Aread(attr, H5T_NATIVE_INT64, &v), "read attribute " + name);
  return v;
}

std::vector<double> read_doubles_attr(hid_t obj, const std::string& name) {
  Id attr(check(H5Aopen(obj, name.c_str(), H5P_DEFAULT), "open attribute " + name));
  Id space(check(H5Aget_space(attr), "attribute space"));
  std::vector<double> v(static_cast<size_t>(H5Sget_simple_extent_npoints(space)));
  check(H5Aread(attr, H5T_NATIVE_DOUBLE, v.data()), "read attribute " + name);
  return v;
}

bool exists(hid_t loc, const std::string& path) {
  std::string prefix;
  size_t start = path.front() == '/' ? 1 : 0;
  if (start) prefix = "/";
  while (start <= path.size()) {
    const size_t end = path.find('/', start);
    const std::string part = path.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (!part.empty()) {
      prefix += part;
      if (H5Lexists(loc, prefix.c_str(), H5P_DEFAULT) <= 0) return false;
      prefix += "/";
    }
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return true;
}

namespace {

const char* type_class_name(H5T_class_t c) {
  switch (c) {
    case H5T_INTEGER: return "integer";
    case H5T_FLOAT: return "float";
    case H5T_STRING: return "string";
    case H5T_BITFIELD: return "bitfield";
    case H5T_OPAQUE: return "opaque";
    case H5T_COMPOUND: return "compound";
    case H5T_REFERENCE: return "reference";
    case H5T_ENUM: return "enum";
    case H5T_VLEN: return "variable-length";
    case H5T_ARRAY: return "array";
    default: return "unknown-type";
  }
}

}  // namespace

FloatArray read_float_array(const std::string& file, const std::string& path, const std::string& where) {
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) throw BadInput(where + ": no such file '" + file + "'");
  if (!std::filesystem::is_regular_file(file, ec))
    throw BadInput(where + ": '" + file + "' is not a regular file");
  if (H5Fis_hdf5(file.c_str()) <= 0) throw BadInput(where + ": '" + file + "' is not an HDF5 file");
  Id f(H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  if (!f.valid()) throw BadInput(where + ": cannot open '" + file + "' as HDF5");
  // Walk the path so a missing intermediate group is reported, not an HDF5 error stack.
  std::string prefix;
  for (std::size_t p = 1; p <= path.size(); ++p) {
    if (p == path.size() || path[p] == '/') {
      prefix = path.substr(0, p);
      if (prefix.size() > 1 && prefix.back() != '/') {
        const htri_t e = H5Lexists(f, prefix.c_str(), H5P_DEFAULT);
        if (e <= 0) throw BadInput(where + ": no object '" + prefix + "' in '" + file + "'");
      }
    }
  }
  Id obj(H5Oopen(f, path.c_str(), H5P_DEFAULT));
  if (!obj.valid()) throw BadInput(where + ": no object '" + path + "' in '" + file + "'");
  const H5I_type_t kind = H5Iget_type(obj);
  if (kind == H5I_GROUP) throw BadInput(where + ": '" + path + "' is a group, not a dataset");
  if (kind != H5I_DATASET) throw BadInput(where + ": '" + path + "' is not a dataset");
  const hid_t ds = obj;

  Id type(H5Dget_type(ds));
  const H5T_class_t cls = H5Tget_class(type);
  if (cls != H5T_FLOAT)
    throw BadInput(where + ": dataset holds " + type_class_name(cls) +
                   " data (expected float32 or float64)");
  const std::size_t tsize = H5Tget_size(type);

  Id space(H5Dget_space(ds));
  const H5S_class_t sc = H5Sget_simple_extent_type(space);
  if (sc == H5S_NULL) throw BadInput(where + ": dataset is empty (null dataspace)");
  const int rank = H5Sget_simple_extent_ndims(space);
  FloatArray out;
  out.shape.resize(static_cast<std::size_t>(std::max(rank, 0)));
  if (rank > 0) H5Sget_simple_extent_dims(space, out.shape.data(), nullptr);
  hsize_t total = 1;
  for (hsize_t d : out.shape) total *= d;
  if (total == 0) throw BadInput(where + ": dataset is empty (a dimension is 0)");
  check_fits_in_memory(where, path, total, tsize > 4 ? 8 : 4);
  out.dtype = "float" + std::to_string(8 * tsize);
  out.is_double = tsize > 4;
  herr_t rc;
  if (out.is_double) {
    out.d.resize(total);
    rc = H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.d.data());
  } else {
    out.f.resize(total);
    rc = H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.f.data());
  }
  if (rc < 0) throw BadInput(where + ": cannot read the dataset");
  return out;
}

}  // namespace lrid::store::h5
