// Checkpoint files: names, atomic writes, summaries (see include/lrid/store/run_files.hpp).
#include "lrid/store/run_files.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "lrid/error.hpp"
#include "lrid/util/text.hpp"

namespace lrid::store {

std::string checkpoint_dir(const std::string& campaign) { return campaign + ".ckpt"; }

std::string checkpoint_file(const std::string& dir, int64_t run, int rank) {
  return dir + "/run-" + std::to_string(run) + ".r" + std::to_string(rank) + ".pt";
}

std::string checkpoint_summary(const std::string& dir, int64_t run) {
  return dir + "/run-" + std::to_string(run) + ".json";
}

std::string progress_file(const std::string& campaign, int64_t run) {
  return checkpoint_dir(campaign) + "/run-" + std::to_string(run) + ".progress.json";
}

std::optional<nlohmann::json> read_checkpoint_summary(const std::string& dir, int64_t run) {
  std::ifstream in(checkpoint_summary(dir, run));
  if (!in) return std::nullopt;
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

namespace {

void fsync_path(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

std::string parent(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
}

// Every file of a run's checkpoint in dir: run-<id>.r*.pt and run-<id>.json.
std::vector<std::string> run_files(const std::string& dir, int64_t run) {
  std::vector<std::string> out;
  const std::string prefix = "run-" + std::to_string(run) + ".";
  DIR* d = opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    if (name.rfind(prefix, 0) != 0 || name.find(".bad-") != std::string::npos) continue;
    const std::string rest = name.substr(prefix.size());
    if (rest == "json" || (rest.size() > 4 && rest[0] == 'r' && rest.substr(rest.size() - 3) == ".pt"))
      out.push_back(dir + "/" + name);
  }
  closedir(d);
  return out;
}

}  // namespace

void write_file_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp-" + std::to_string(getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw BadInput(path + ": cannot write (is " + parent(path) + " writable?)");
    out << text;
    out.flush();
    if (!out) {
      out.close();
      std::remove(tmp.c_str());
      throw BadInput(path + ": write failed (disk full?)");
    }
    out.close();
    if (!out) {
      std::remove(tmp.c_str());
      throw BadInput(path + ": write failed (disk full?)");
    }
  }
  fsync_path(tmp, O_RDONLY);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw BadInput(path + ": cannot move the new file into place (" + std::strerror(errno) + ")");
  }
  fsync_path(parent(path), O_RDONLY | O_DIRECTORY);
}

void remove_checkpoint(const std::string& dir, int64_t run) {
  for (const auto& f : run_files(dir, run)) std::remove(f.c_str());
}

std::string set_aside_checkpoint(const std::string& dir, int64_t run) {
  std::string names;
  const std::string stamp = ".bad-" + util::iso_now();
  for (const auto& f : run_files(dir, run)) {
    if (std::rename(f.c_str(), (f + stamp).c_str()) == 0) names += (names.empty() ? "" : ", ") + f + stamp;
  }
  return names;
}

}  // namespace lrid::store
