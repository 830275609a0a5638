// The campaign file's writer lock (see include/lrid/store/lock.hpp).
#include "lrid/store/lock.hpp"

#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>

#include "lrid/error.hpp"
#include "lrid/util/text.hpp"

namespace lrid::store {

std::string lock_path(const std::string& campaign) { return campaign + ".lock"; }

namespace {

std::string hostname() {
  char h[256] = {0};
  gethostname(h, sizeof h - 1);
  return h;
}

std::string describe(const nlohmann::json& j) {
  return "pid " + std::to_string(j.value("pid", 0)) + " on " + j.value("host", std::string("?")) + " since " +
         j.value("started", std::string("?")) + " (" + j.value("command", std::string("")) + ")";
}

// Whether process `pid` on this host is a live lrid: it exists, is not a zombie (a rank whose
// parent is gone may linger unreaped), and its command line names lrid (not a reused pid).
bool live_lrid(pid_t pid) {
  if (kill(pid, 0) != 0 && errno == ESRCH) return false;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (std::getline(stat, line)) {
    const auto close = line.rfind(')');
    if (close != std::string::npos && close + 2 < line.size() && (line[close + 2] == 'Z' || line[close + 2] == 'X'))
      return false;
  }
  std::ifstream cmd("/proc/" + std::to_string(pid) + "/cmdline");
  std::string args((std::istreambuf_iterator<char>(cmd)), std::istreambuf_iterator<char>());
  return args.empty() || args.find("lrid") != std::string::npos;
}

// Whether an existing lock is stale; `who` describes its holder.
bool stale(const std::string& path, std::string& who) {
  nlohmann::json j;
  std::ifstream in(path);
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception&) {
    j = nlohmann::json::object();  // being written, or damaged: judge by age
  }
  who = describe(j);
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return true;  // gone meanwhile
  const double age = util::wall_seconds() - static_cast<double>(st.st_mtime);
  if (j.value("host", std::string()) == hostname() && j.value("pid", 0) > 0)
    return !live_lrid(j.value("pid", 0));
  return age > kLockStaleSeconds;
}

}  // namespace

CampaignLock::CampaignLock(const std::string& campaign, const std::string& command) : path_(lock_path(campaign)) {
  const nlohmann::json me = {{"host", hostname()}, {"pid", getpid()}, {"started", util::iso_now()}, {"command", command}};
  const std::string tmp = path_ + ".new-" + hostname() + "-" + std::to_string(getpid());
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) throw BadInput(path_ + ": cannot create the campaign lock (is the directory writable?)");
    out << me.dump() << "\n";
  }
  for (int tries = 0; tries < 3; ++tries) {
    if (link(tmp.c_str(), path_.c_str()) == 0) {
      std::remove(tmp.c_str());
      refresher_ = std::thread([this] {
        while (!stop_) {
          for (int i = 0; i < static_cast<int>(kLockRefreshSeconds * 10) && !stop_; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
          if (!stop_) utimes(path_.c_str(), nullptr);
        }
      });
      return;
    }
    const int err = errno;
    if (err != EEXIST) {
      std::remove(tmp.c_str());
      throw BadInput(path_ + ": cannot create the campaign lock (" + std::strerror(err) + ")");
    }
    std::string who;
    if (!stale(path_, who)) {
      std::remove(tmp.c_str());
      throw BadInput(campaign + ": another lrid is writing this campaign file: " + who +
                     "; wait for it to finish (lrid status " + campaign + "), or remove " + path_ +
                     " if that process is gone");
    }
    // Stale: move it aside (only one contender's rename succeeds), then try again.
    const std::string aside = path_ + ".stale-" + std::to_string(getpid());
    if (std::rename(path_.c_str(), aside.c_str()) == 0) {
      took_over_ = who;
      std::remove(aside.c_str());
    }
  }
  std::remove(tmp.c_str());
  throw BadInput(path_ + ": cannot take the campaign lock (contended); try again");
}

CampaignLock::~CampaignLock() {
  stop_ = true;
  if (refresher_.joinable()) refresher_.join();
  std::remove(path_.c_str());
}

}  // namespace lrid::store
