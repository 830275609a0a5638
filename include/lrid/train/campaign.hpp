#pragma once
// Training a whole job (or one shard of it) across the MPI ranks into one campaign file
// (torch-free header). Collective over MPI_COMM_WORLD.
//
// Rank 0 creates or checks the file, then every rank opens it through MPI-IO; rank 0's
// scheduler hands runs (longest expected first) to worker groups of distributed.ranks_per_run
// ranks; a group trains its run data-parallel, and its leader records the observables, writes
// the run's slab (independent I/O) and only then marks it done. Rank 0 appends one JSON object
// per line to <campaign>.log.jsonl (store/progress_log.hpp).
//
// Rank 0 holds the file's writer lock (store/lock.hpp) for the whole job. Runs checkpoint into
// <campaign>.ckpt/ (store/run_files.hpp; README, "How a campaign runs") every distributed.checkpoint_seconds and after each
// recorded point; on SIGTERM/SIGUSR1/SIGINT every rank stops at its next step boundary, the
// running runs are checkpointed and left pending, and run_campaign returns with interrupted
// set (the CLI exits with kExitInterrupted; --resume continues).
#include <cstdint>
#include <string>

#include "lrid/config/job.hpp"
#include "lrid/store/campaign.hpp"

namespace lrid::train {

struct CampaignOptions {
  std::string out;        ///< campaign file
  bool resume = false;    ///< continue an existing file of the same job
  bool force = false;     ///< replace an existing file
  store::Shard shard;     ///< train only this shard's runs
  int threads = 0;        ///< intra-op threads per rank (0: job setting, else cores / ranks on node)
  bool quiet = false;     ///< rank 0 prints no per-run lines
};

struct CampaignSummary {
  int64_t runs = 0;      ///< runs in this shard
  int64_t trained = 0;   ///< runs handed out by this invocation
  int64_t done = 0, failed = 0, pending = 0;
  bool interrupted = false;  ///< stopped by a signal (runs checkpointed); exit kExitInterrupted
  int signal = 0;
  double seconds = 0;
};

/// The campaign's rank-0 progress log next to the file (store/progress_log.hpp).
std::string log_path(const std::string& campaign);


/// What the campaign file records of the job (its name, hash, file, text and runs).
store::CampaignDescription describe(const config::JobSpec& job);

/// Parses "I/N" (0 <= I < N) for --shard; BadInput otherwise.
store::Shard parse_shard(const std::string& text);
/// Fills in the shard's runs from the job's cost-balanced assignment (config::shard_assignment).
store::Shard resolve_shard(const config::JobSpec& job, store::Shard shard);
/// The plastic layers of each run of the shard (job id order).
std::vector<std::vector<store::LayerMeta>> shard_layers(const config::JobSpec& job, const store::Shard& shard);

/// Trains the job's runs across MPI_COMM_WORLD (MPI must be initialised). Every rank returns
/// the same summary. Bad input (existing file without --resume/--force, a foreign file, a bad
/// rank count) throws BadInput on every rank.
CampaignSummary run_campaign(const config::JobSpec& job, const CampaignOptions& options);

}  // namespace lrid::train
