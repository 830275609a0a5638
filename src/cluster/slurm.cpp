// Slurm client commands: a small fork/exec runner and the parsers of their output.
#include "lrid/cluster/slurm.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <set>
#include <sstream>

#include "lrid/error.hpp"
#include "lrid/util/text.hpp"

namespace lrid::cluster {

namespace {

std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

std::string first_line(const std::string& s) {
  const auto lines = split_lines(s);
  return lines.empty() ? "" : lines.front();
}

}  // namespace

std::string find_in_path(const std::string& program) {
  if (program.find('/') != std::string::npos)
    return access(program.c_str(), X_OK) == 0 ? program : "";
  const char* path = std::getenv("PATH");
  if (!path) return "";
  for (const auto& dir : util::split(path, ':')) {
    const std::string full = (dir.empty() ? "." : dir) + "/" + program;
    struct stat st;
    if (stat(full.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(full.c_str(), X_OK) == 0) return full;
  }
  return "";
}

void require_program(const std::string& program, const std::string& command) {
  if (!find_in_path(program).empty()) return;
  const char* path = std::getenv("PATH");
  throw BadInput(program + ": not found in PATH (" + (path ? path : "unset") + "); 'lrid " + command +
                 "' needs the Slurm client commands: run it on a login node of the cluster (e.g. "
                 "after 'module load slurm'), or for a local cluster install slurm-wlm and munge "
                 "(tools/setup.sh) and start cluster/local/start.sh");
}

Partitions require_slurm(const std::string& command) {
  require_program("sinfo", command);
  const std::string local_hint =
      "on a cluster, run it on a login node; for the local cluster: cluster/local/start.sh DIR, then "
      "'source DIR/env.sh'";
  const char* conf = std::getenv("SLURM_CONF");
  if (conf && *conf) {
    if (access(conf, R_OK) != 0)
      throw BadInput(std::string("Slurm is not reachable: SLURM_CONF=") + conf +
                     " is not a readable file; 'lrid " + command + "' needs SLURM_CONF to name the cluster's " +
                     "slurm.conf (" + local_hint + ")");
  }
  const CommandResult r = run_command({"sinfo", "-h", "-o", "%P"});
  if (r.status == 0) {
    Partitions parts;
    std::set<std::string> seen;
    for (auto p : split_lines(r.out)) {
      if (!p.empty() && p.back() == '*') {
        p.pop_back();
        parts.default_name = p;
      }
      if (seen.insert(p).second) parts.names.push_back(p);
    }
    return parts;
  }
  std::string why = first_line(r.err);
  for (const auto& line : split_lines(r.err))  // Slurm's last line is the summary ("fatal: ...")
    if (line.find("fatal") != std::string::npos) why = line;
  const bool no_conf = !(conf && *conf) && access("/etc/slurm/slurm.conf", R_OK) != 0;
  throw BadInput("Slurm is not reachable (" + (why.empty() ? "sinfo exit code " + std::to_string(r.status) : why) +
                 "): " +
                 (no_conf ? std::string("SLURM_CONF is not set and /etc/slurm/slurm.conf does not exist; ")
                          : std::string("is slurmctld running? ")) +
                 "'lrid " + command + "' needs a Slurm controller (" + local_hint + ")");
}

CommandResult run_command(const std::vector<std::string>& argv) {
  CommandResult r;
  if (argv.empty() || find_in_path(argv[0]).empty()) {
    r.err = argv.empty() ? "no command" : argv[0] + ": not found in PATH";
    return r;
  }
  int out_pipe[2], err_pipe[2];
  if (pipe(out_pipe) != 0) throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  if (pipe(err_pipe) != 0) {
    close(out_pipe[0]);
    close(out_pipe[1]);
    throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  }
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    close(out_pipe[0]);
    close(out_pipe[1]);
    close(err_pipe[0]);
    close(err_pipe[1]);
    const int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* bufs[2] = {&r.out, &r.err};
  int open_fds = 2;
  char buf[4096];
  while (open_fds > 0) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      const ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        bufs[i]->append(buf, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  return r;
}

std::string sbatch(const std::vector<std::string>& args, const std::string& blame) {
  std::vector<std::string> argv = {"sbatch", "--parsable"};
  argv.insert(argv.end(), args.begin(), args.end());
  const CommandResult r = run_command(argv);
  if (r.status == -1) require_program("sbatch", "submit");
  if (r.status != 0) {
    std::string msg = first_line(r.err);
    if (msg.empty()) msg = "exit code " + std::to_string(r.status);
    const std::string what = args.empty() ? std::string("sbatch") : args.back();
    throw BadInput(what + ": sbatch refused it: " + msg + (blame.empty() ? "" : " (check " + blame + ")"));
  }
  // --parsable prints "JOBID" or "JOBID;CLUSTER"
  std::string id = first_line(r.out);
  id = id.substr(0, id.find(';'));
  if (id.empty() || id.find_first_not_of("0123456789") != std::string::npos)
    throw std::runtime_error("sbatch printed '" + first_line(r.out) + "', expected a job id");
  return id;
}

std::vector<long long> expand_indices(const std::string& spec_in) {
  std::string spec = spec_in.substr(0, spec_in.find('%'));
  std::vector<long long> out;
  for (const auto& part : util::split(spec, ',')) {
    if (part.empty()) continue;
    long long step = 1;
    std::string range = part;
    const size_t colon = part.find(':');
    if (colon != std::string::npos) {
      step = std::atoll(part.substr(colon + 1).c_str());
      range = part.substr(0, colon);
      if (step < 1) step = 1;
    }
    const size_t dash = range.find('-');
    if (dash == std::string::npos) {
      out.push_back(std::atoll(range.c_str()));
    } else {
      const long long a = std::atoll(range.substr(0, dash).c_str());
      const long long b = std::atoll(range.substr(dash + 1).c_str());
      for (long long i = a; i <= b; i += step) out.push_back(i);
    }
  }
  return out;
}

TaskStates parse_squeue(const std::string& out) {
  TaskStates t;
  for (const auto& line : split_lines(out)) {
    const auto f = util::split(line, '|');
    if (f.size() < 3) continue;
    const std::string job = f[0], task = f[1];
    TaskState s{f[2], f.size() > 3 ? f[3] : "", "squeue"};
    if (task.empty() || task == "N/A") {
      t[job] = s;
    } else if (task.find_first_not_of("0123456789") == std::string::npos) {
      t[job + "_" + task] = s;
    } else {  // an unsplit pending range, e.g. "[1-3%1]" (without -r)
      std::string spec = task;
      spec.erase(std::remove(spec.begin(), spec.end(), '['), spec.end());
      spec.erase(std::remove(spec.begin(), spec.end(), ']'), spec.end());
      for (long long i : expand_indices(spec)) t[job + "_" + std::to_string(i)] = s;
    }
  }
  return t;
}

TaskStates parse_sacct(const std::string& out) {
  TaskStates t;
  for (const auto& line : split_lines(out)) {
    const auto f = util::split(line, '|');
    if (f.size() < 2) continue;
    std::string id = f[0];
    std::string state = f[1].substr(0, f[1].find(' '));  // "CANCELLED by 0"
    TaskState s{state, f.size() > 2 ? "ExitCode=" + f[2] : "", "sacct"};
    const size_t us = id.find('_');
    if (us == std::string::npos) {
      t[id] = s;
      continue;
    }
    const std::string job = id.substr(0, us);
    std::string task = id.substr(us + 1);
    if (task.find('[') == std::string::npos) {
      t[job + "_" + task] = s;
    } else {
      task.erase(std::remove(task.begin(), task.end(), '['), task.end());
      task.erase(std::remove(task.begin(), task.end(), ']'), task.end());
      for (long long i : expand_indices(task)) t[job + "_" + std::to_string(i)] = s;
    }
  }
  return t;
}

bool state_active(const std::string& s) {
  static const std::set<std::string> active = {
      "PENDING",     "RUNNING",       "CONFIGURING", "COMPLETING",   "REQUEUED",
      "REQUEUE_HOLD", "REQUEUE_FED",  "RESIZING",    "SIGNALING",    "STAGE_OUT",
      "SUSPENDED",   "RESV_DEL_HOLD", "STOPPED",     "SPECIAL_EXIT", "POWER_UP_NODE"};
  return active.count(s) > 0;
}

bool state_unsuccessful(const std::string& s) {
  static const std::set<std::string> bad = {"FAILED",    "CANCELLED", "TIMEOUT",   "NODE_FAIL",
                                            "PREEMPTED", "BOOT_FAIL", "DEADLINE",  "OUT_OF_MEMORY",
                                            "REVOKED"};
  return bad.count(s) > 0;
}

SlurmView query_jobs(const std::vector<std::string>& job_ids) {
  SlurmView v;
  if (find_in_path("squeue").empty()) {
    v.error = "squeue not found in PATH";
    return v;
  }
  if (job_ids.empty()) {
    v.available = true;
    return v;
  }
  std::string ids;
  for (const auto& j : job_ids) ids += (ids.empty() ? "" : ",") + j;
  const CommandResult r = run_command({"squeue", "-h", "-r", "-t", "all", "-j", ids, "-o", "%F|%K|%T|%r"});
  if (r.status == 0) {
    v.available = true;
    v.tasks = parse_squeue(r.out);
  } else if (r.err.find("Invalid job id") != std::string::npos) {
    v.available = true;  // the controller answered: it no longer holds any of these jobs
  } else {
    v.error = "squeue: " + first_line(r.err.empty() ? r.out : r.err);
    return v;
  }
  // Jobs squeue has forgotten (MinJobAge passed): ask the accounting database, if there is one.
  std::vector<std::string> missing;
  for (const auto& j : job_ids) {
    bool known = false;
    for (const auto& [k, s] : v.tasks)
      if (k == j || k.rfind(j + "_", 0) == 0) known = true;
    if (!known) missing.push_back(j);
  }
  if (!missing.empty() && !find_in_path("sacct").empty()) {
    std::string m;
    for (const auto& j : missing) m += (m.empty() ? "" : ",") + j;
    const CommandResult a = run_command({"sacct", "-n", "-X", "-P", "-j", m, "-o", "JobID,State,ExitCode"});
    if (a.status == 0)
      for (const auto& [k, s] : parse_sacct(a.out)) v.tasks.emplace(k, s);
  }
  return v;
}

}  // namespace lrid::cluster
