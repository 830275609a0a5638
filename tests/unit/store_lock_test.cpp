// The writer lock of a campaign file (include/lrid/store/lock.hpp): one writer, a second refused
// with one line naming the holder, a dead or silent holder taken over, the file gone on release.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <utime.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "lrid/error.hpp"
#include "lrid/store/lock.hpp"

namespace {

std::string temp_campaign(const char* name) {
  return ::testing::TempDir() + "/lrid_lock_" + std::to_string(getpid()) + "_" + name + ".h5";
}

bool exists(const std::string& p) { return access(p.c_str(), F_OK) == 0; }

std::string hostname() {
  char h[256] = {0};
  gethostname(h, sizeof h - 1);
  return h;
}

}  // namespace

TEST(StoreLock, OneWriterAndTheSecondIsRefusedInOneLine) {
  const std::string c = temp_campaign("one");
  {
    lrid::store::CampaignLock a(c, "lrid train first");
    EXPECT_TRUE(exists(lrid::store::lock_path(c)));
    EXPECT_TRUE(a.took_over().empty());
    const auto holder = nlohmann::json::parse(std::ifstream(lrid::store::lock_path(c)));
    EXPECT_EQ(holder.at("pid").get<int64_t>(), getpid());
    try {
      lrid::store::CampaignLock b(c, "lrid train second");
      FAIL() << "a second writer must be refused";
    } catch (const lrid::BadInput& e) {
      const std::string m = e.what();
      EXPECT_NE(m.find("another lrid is writing"), std::string::npos) << m;
      EXPECT_NE(m.find("lrid train first"), std::string::npos) << m;
      EXPECT_EQ(m.find('\n'), std::string::npos) << m;
    }
  }
  EXPECT_FALSE(exists(lrid::store::lock_path(c))) << "released on destruction";
}

TEST(StoreLock, ADeadHoldersLockIsTakenOver) {
  const std::string c = temp_campaign("dead");
  // A lock of this host naming a process that is gone (a child that has exited).
  const pid_t child = fork();
  if (child == 0) _exit(0);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  std::ofstream(lrid::store::lock_path(c))
      << nlohmann::json{{"host", hostname()}, {"pid", child}, {"started", "2026-01-01T00:00:00Z"}, {"command", "gone"}}.dump();
  lrid::store::CampaignLock a(c, "lrid train next");
  EXPECT_NE(a.took_over().find("gone"), std::string::npos) << a.took_over();
}

TEST(StoreLock, ALockNotRefreshedForTooLongIsTakenOver) {
  const std::string c = temp_campaign("stale");
  // Another host's lock whose time stamp is older than kLockStaleSeconds.
  std::ofstream(lrid::store::lock_path(c))
      << nlohmann::json{{"host", "some-other-node"}, {"pid", 1}, {"started", "2026-01-01T00:00:00Z"}, {"command", "far away"}}.dump();
  struct utimbuf old;
  old.actime = old.modtime = time(nullptr) - static_cast<time_t>(lrid::store::kLockStaleSeconds) - 60;
  ASSERT_EQ(utime(lrid::store::lock_path(c).c_str(), &old), 0);
  lrid::store::CampaignLock a(c, "lrid train next");
  EXPECT_NE(a.took_over().find("far away"), std::string::npos) << a.took_over();
  // ... but a fresh one of another host is respected.
  const std::string d = temp_campaign("fresh");
  std::ofstream(lrid::store::lock_path(d))
      << nlohmann::json{{"host", "some-other-node"}, {"pid", 1}, {"started", "2026-01-01T00:00:00Z"}, {"command", "busy"}}.dump();
  EXPECT_THROW(lrid::store::CampaignLock(d, "lrid train"), lrid::BadInput);
  std::remove(lrid::store::lock_path(d).c_str());
}
