// lrid's data directory: LRID_HOME, else installed next to the executable, else the source tree.
#include "lrid/util/paths.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>

#include "lrid/build_info.hpp"

namespace lrid::util {

namespace {

bool is_dir(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// <exe dir>/../share/lrid, canonical, or "" when the executable has none beside it.
std::string installed_dir() {
  char buf[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "";
  buf[n] = 0;
  std::string exe(buf);
  const size_t slash = exe.rfind('/');
  if (slash == std::string::npos) return "";
  const std::string dir = exe.substr(0, slash) + "/../share/lrid";
  if (!is_dir(dir)) return "";
  char real[PATH_MAX];
  return realpath(dir.c_str(), real) ? std::string(real) : dir;
}

}  // namespace

DataDir data_dir() {
  if (const char* home = std::getenv("LRID_HOME"); home && *home) {
    std::string p(home);
    while (p.size() > 1 && p.back() == '/') p.pop_back();
    return {p, "LRID_HOME"};
  }
  if (std::string dir = installed_dir(); !dir.empty()) return {dir, "installed"};
  return {kSourceDir, "source tree"};
}

std::string data_file(const std::string& relative) { return data_dir().path + "/" + relative; }

}  // namespace lrid::util
