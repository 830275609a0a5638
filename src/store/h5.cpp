#include "lrid/store/h5.hpp"

#include <stdexcept>

namespace lrid::store::h5 {

void Id::reset() {
  if (id_ < 0) return;
  switch (H5Iget_type(id_)) {
    case H5I_FILE: H5Fclose(id_); break;
    case H5I_GROUP: H5Gclose(id_); break;
    case H5I_DATASET: H5Dclose(id_); break;
    case H5I_DATASPACE: H5Sclose(id_); break;
    case H5I_DATATYPE: H5Tclose(id_); break;
    case H5I_ATTR: H5Aclose(id_); break;
    case H5I_GENPROP_LST: H5Pclose(id_); break;
    default: break;
  }
  id_ = -1;
}

void silence_errors() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

hid_t check(hid_t v, const std::string& what) {
  if (v < 0) throw std::runtime_error(what + ": HDF5 call failed");
  return v;
}

Id string_type(size_t n) {
  Id t(check(H5Tcopy(H5T_C_S1), "H5Tcopy"));
  check(H5Tset_size(t, n), "H5Tset_size");
  check(H5Tset_strpad(t, H5T_STR_NULLTERM), "H5Tset_strpad");
  return t;
}

void write_string_attr(hid_t obj, const std::string& name, const std::string& value) {
  Id type = string_type(value.size() + 1);
  Id space(check(H5Screate(H5S_SCALAR), "H5Screate"));
  Id attr(check(H5Acreate2(obj, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT),
                "create attribute " + name));
  check(H5Awrite(attr, type, value.c_str()), "write attribute " + name);
}

void write_strings_attr(hid_t obj, const std::string& name, const std::vector<std::string>& values) {
  size_t width = 1;
  for (const auto& v : values) width = std::max(width, v.size() + 1);
  std::vector<char> buf(width * values.size(), 0);
  for (size_t i = 0; i < values.size(); ++i) values[i].copy(&buf[i * width], values[i].size());
  Id type = string_type(width);
  const hsize_t n = values.size();
  Id space(check(H5Screate_simple(1, &n, nullptr), "H5Screate_simple"));
  Id attr(check(H5Acreate2(obj, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT),
                "create attribute " + name));
  check(H5Awrite(attr, type, buf.data()), "write attribute " + name);
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

std::string read_string_attr(hid_t obj, const std::string& name) {
  Id attr(check(H5Aopen(obj, name.c_str(), H5P_DEFAULT), "open attribute " + name));
  Id ftype(check(H5Aget_type(attr), "attribute type"));
  if (H5Tget_class(ftype) != H5T_STRING || H5Tis_variable_str(ftype) > 0)
    throw std::runtime_error("attribute " + name + " is not a fixed-length string");
  const size_t n = H5Tget_size(ftype);
  Id mtype = string_type(n);
  std::string s(n, '\0');
  check(H5Aread(attr, mtype, s.data()), "read attribute " + name);
  s.resize(s.find('\0') == std::string::npos ? s.size() : s.find('\0'));
  return s;
}

std::vector<std::string> read_strings_attr(hid_t obj, const std::string& name) {
  Id attr(check(H5Aopen(obj, name.c_str(), H5P_DEFAULT), "open attribute " + name));
  Id ftype(check(H5Aget_type(attr), "attribute type"));
  Id space(check(H5Aget_space(attr), "attribute space"));
  const hssize_t count = H5Sget_simple_extent_npoints(space);
  const size_t width = H5Tget_size(ftype);
  Id mtype = string_type(width);
  std::vector<char> buf(width * static_cast<size_t>(count), 0);
  check(H5Aread(attr, mtype, buf.data()), "read attribute " + name);
  std::vector<std::string> out;
  for (hssize_t i = 0; i < count; ++i) out.emplace_back(&buf[static_cast<size_t>(i) * width]);
  return out;
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

}  // namespace lrid::store::h5
