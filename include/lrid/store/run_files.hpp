#pragma once
// The files that live next to a campaign file F.h5 besides its log (progress_log.hpp) and its
// lock (lock.hpp): in-run checkpoints and the running runs' progress files.
//
// In-run checkpoints hold a run's complete training state, saved atomically so that a later
// attempt continues bit for bit (on CPU, for the same ranks_per_run) where an interrupted one
// stopped (train/trainer.cpp writes and reads them). Layout (not part of any hash):
//   F.h5.ckpt/run-<id>.r<rank>.pt   every rank of the run's group: torch archive with
//        meta: hash (the run's), step (the next step to train), rank, ranks, attempt (the
//        attempt that wrote it), progress scalars; model: W, B, biases, BatchNorm buffers;
//        optimizer: momentum buffers / Adam moments and step counts; recorder (leader only):
//        the observables, diagnostics and losses of the points recorded so far.
//   F.h5.ckpt/run-<id>.json         the leader's summary {run, hash, step, points, attempt,
//        ranks, time}, read by `lrid status` without torch.
//   F.h5.ckpt/run-<id>.progress.json  the leader's latest {run, step, steps, loss,
//        steps_per_second} while the run trains (for the heartbeat; removed after).
// Every file is written to a temporary name, fsync'd and renamed. The data stream position is
// the step (batches are a pure function of the dataset seed and the step), and every other
// random stream in training (IA's noise, dropout, augmentation) is derived from the run's seeds
// and the step, so no generator state needs saving. Deleted once the run is done. A file that
// cannot be read or belongs to another run is renamed to <name>.bad-<time> and the run starts
// over.
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace lrid::store {

/// The checkpoint directory of a campaign file.
std::string checkpoint_dir(const std::string& campaign);
/// run-<id>.r<rank>.pt and run-<id>.json in dir.
std::string checkpoint_file(const std::string& dir, int64_t run, int rank);
std::string checkpoint_summary(const std::string& dir, int64_t run);
/// F.h5.ckpt/run-<id>.progress.json
std::string progress_file(const std::string& campaign, int64_t run);

/// The leader's summary of a run's checkpoint, if one exists and parses.
std::optional<nlohmann::json> read_checkpoint_summary(const std::string& dir, int64_t run);

/// Writes `text` to `path` atomically (temporary file in the same directory, fsync, rename,
/// fsync of the directory). BadInput when the directory is not writable.
void write_file_atomically(const std::string& path, const std::string& text);

/// Deletes a run's checkpoint files (all ranks, summary).
void remove_checkpoint(const std::string& dir, int64_t run);
/// Sets a run's checkpoint files aside (renamed to *.bad-<time>); returns the new names.
std::string set_aside_checkpoint(const std::string& dir, int64_t run);

}  // namespace lrid::store
