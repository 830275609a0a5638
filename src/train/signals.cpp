// Stop requests from signals (see include/lrid/train/signals.hpp).
#include "lrid/train/signals.hpp"

#include <csignal>

namespace lrid::train {

namespace {
volatile std::sig_atomic_t g_signal = 0;

void on_signal(int sig) {
  if (sig == SIGINT && g_signal != 0) {
    std::signal(SIGINT, SIG_DFL);  // a second Ctrl-C: stop now
    std::raise(SIGINT);
    return;
  }
  g_signal = sig;
}
}  // namespace

void install_stop_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  for (int s : {SIGTERM, SIGUSR1, SIGINT}) sigaction(s, &sa, nullptr);
}

bool stop_requested() { return g_signal != 0; }
int stop_signal() { return g_signal; }
void reset_stop_request() { g_signal = 0; }

const char* signal_name(int s) {
  switch (s) {
    case SIGTERM: return "SIGTERM";
    case SIGUSR1: return "SIGUSR1";
    case SIGINT: return "SIGINT";
    default: return "a signal";
  }
}

}  // namespace lrid::train
