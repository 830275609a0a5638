#pragma once
// Stopping a campaign cleanly: SIGTERM (Slurm's time limit, scancel), SIGUSR1 (Slurm's
// --signal before the time limit) and SIGINT (Ctrl-C) only set a flag; every rank stops at its
// next step boundary, group leaders write their runs' checkpoints, the campaign logs
// `interrupted` and the process exits with kExitInterrupted. A second SIGINT ends the process
// at once (the default action).
namespace lrid::train {

/// The exit code of a campaign stopped by a signal (EX_TEMPFAIL: try again; `--resume`
/// continues it). slurm/shards.sbatch.in requeues the array task on it.
inline constexpr int kExitInterrupted = 75;

void install_stop_handlers();
bool stop_requested();
/// The signal that asked to stop (0: none).
int stop_signal();
/// "SIGTERM", "SIGUSR1", "SIGINT" or "signal N".
const char* signal_name(int signal);
/// For tests: forget a stop request.
void reset_stop_request();

}  // namespace lrid::train
