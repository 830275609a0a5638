#pragma once
// One writer per campaign file. The writer holds F.h5.lock, a small JSON file {host, pid,
// started, command}, created atomically (link(2) of a unique file, which works on NFS where
// O_EXCL and flock may not); a background thread refreshes its mtime every kLockRefreshSeconds.
// A second writer is refused (BadInput, one line naming the holder). A lock is stale, and taken
// over, when it names this host and a process that no longer exists, or when it has not been
// refreshed for kLockStaleSeconds (a crashed writer on another node). Readers (lrid status,
// h5py) never take it.
#include <atomic>
#include <string>
#include <thread>

namespace lrid::store {

inline constexpr double kLockRefreshSeconds = 10.0;
inline constexpr double kLockStaleSeconds = 120.0;

std::string lock_path(const std::string& campaign);

class CampaignLock {
 public:
  /// Takes the lock of `campaign` (BadInput when another live writer holds it).
  CampaignLock(const std::string& campaign, const std::string& command);
  ~CampaignLock();
  CampaignLock(const CampaignLock&) = delete;
  CampaignLock& operator=(const CampaignLock&) = delete;
  /// Set when the lock was taken over from a stale holder: that holder's description.
  const std::string& took_over() const { return took_over_; }

 private:
  std::string path_, took_over_;
  std::atomic<bool> stop_{false};
  std::thread refresher_;
};

}  // namespace lrid::store
