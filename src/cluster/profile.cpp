// Cluster profile parsing and validation (file:line:col messages, "did you mean").
#include "lrid/cluster/profile.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

#include "lrid/util/text.hpp"
#include "lrid/config/yaml_reader.hpp"
#include "lrid/error.hpp"

namespace lrid::cluster {

namespace {

using util::did_you_mean;
using util::join;
using config::read_text_file;

// The shared YAML reader plus what a profile needs on top of it.
struct ProfileReader : config::YamlReader {
  // A value that goes into an #SBATCH line: no spaces or shell/Slurm specials.
  std::string token(const YAML::Node& n, const std::string& key) const {
    const std::string v = str(n, key);
    if (v.empty()) fail(n, key, "expected a non-empty value");
    for (char ch : v)
      if (!(std::isalnum(static_cast<unsigned char>(ch)) || std::string("_.,:+-=/@").find(ch) != std::string::npos))
        fail(n, key, "'" + v + "' has a character Slurm option values cannot hold here ('" +
                         std::string(1, ch) + "'); expected letters, digits and _ . , : + - = / @");
    return v;
  }
  using YamlReader::integer;
  int64_t integer(const YAML::Node& n, const std::string& key, int64_t min) const {
    const int64_t v = integer(n, key);
    if (v < min) fail(n, key, "expected an integer >= " + std::to_string(min) + ", got " + std::to_string(v));
    return v;
  }
  std::vector<std::string> lines(const YAML::Node& n, const std::string& key) const {
    std::vector<std::string> out;
    if (n.IsScalar()) {
      out.push_back(n.as<std::string>());
    } else if (n.IsSequence()) {
      for (size_t i = 0; i < n.size(); ++i) out.push_back(str(n[i], key + "[" + std::to_string(i) + "]"));
    } else {
      fail(n, key, "expected a list of strings");
    }
    return out;
  }
};

std::vector<std::string> sbatch_options(const ProfileReader& c, const YAML::Node& v, const std::string& key) {
  const std::vector<std::string> opts = c.lines(v, key);
  for (size_t i = 0; i < opts.size(); ++i) {
    const auto& o = opts[i];
    const YAML::Node at = v.IsSequence() ? v[i] : v;
    const std::string k = key + "[" + std::to_string(i) + "]";
    if (o.rfind("-", 0) != 0 || o.find('\n') != std::string::npos)
      c.fail(at, k, "expected one sbatch option such as --constraint=a100, got '" + o + "'");
    for (const char* managed : {"--array", "--output", "--error", "--dependency", "--job-name",
                                "--chdir", "--open-mode", "-a", "-o", "-e", "-d", "-J", "-D"})
      if (o == managed || o.rfind(std::string(managed) + "=", 0) == 0 ||
          (std::string(managed).size() == 2 && o.rfind(managed, 0) == 0 && o.size() > 2 && o[2] != '-'))
        c.fail(at, k, std::string(managed) + " is set by lrid submit itself; remove it here");
  }
  return opts;
}

void parse_resources(const ProfileReader& c, const YAML::Node& n, const std::string& key, Resources& r,
                     bool is_reduce, bool* analyze, std::vector<std::string>* extra) {
  std::vector<std::string> allowed = {"nodes",  "tasks_per_node", "cpus_per_task", "gpus_per_node",
                                      "gpu_type", "memory",       "time"};
  if (is_reduce) allowed.insert(allowed.end(), {"partition", "qos", "analyze", "sbatch"});
  c.check_keys(n, key, allowed);
  if (auto v = n["nodes"]) r.nodes = c.integer(v, key + ".nodes", 1);
  if (auto v = n["tasks_per_node"]) r.tasks_per_node = c.integer(v, key + ".tasks_per_node", 1);
  if (auto v = n["cpus_per_task"]) r.cpus_per_task = c.integer(v, key + ".cpus_per_task", 1);
  if (auto v = n["gpus_per_node"]) r.gpus_per_node = c.integer(v, key + ".gpus_per_node", 0);
  if (auto v = n["gpu_type"]) r.gpu_type = c.token(v, key + ".gpu_type");
  if (auto v = n["memory"]) {
    r.memory = c.token(v, key + ".memory");
    const size_t digits = r.memory.find_first_not_of("0123456789");
    if (digits == 0 || (digits != std::string::npos &&
                        (r.memory.size() != digits + 1 || std::string("KMGTkmgt").find(r.memory.back()) == std::string::npos)))
      c.fail(v, key + ".memory", "expected a Slurm memory size such as 4000 (MB), 16G or 512M, got '" + r.memory + "'");
  }
  if (auto v = n["time"]) {
    r.time = c.str(v, key + ".time");
    if (!valid_slurm_time(r.time))
      c.fail(v, key + ".time",
             "expected a Slurm time limit (MINUTES, HH:MM:SS or D-HH:MM:SS, quoted), got '" + r.time + "'");
  }
  if (is_reduce) {
    if (auto v = n["partition"]) r.partition = c.token(v, key + ".partition");
    if (auto v = n["qos"]) r.qos = c.token(v, key + ".qos");
    if (auto v = n["analyze"]) *analyze = c.boolean(v, key + ".analyze");
    if (auto v = n["sbatch"]) *extra = sbatch_options(c, v, key + ".sbatch");
  }
  if (r.gpus_per_node == 0 && !r.gpu_type.empty())
    c.fail(n["gpu_type"], key + ".gpu_type", "set without gpus_per_node (expected gpus_per_node >= 1)");
}

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char ch) { return std::isdigit(static_cast<unsigned char>(ch)); });
}

}  // namespace

bool valid_slurm_time(const std::string& t) {
  if (t == "infinite" || t == "unlimited" || t == "UNLIMITED" || t == "INFINITE") return true;
  std::string rest = t;
  const size_t dash = t.find('-');
  if (dash != std::string::npos) {
    if (!all_digits(t.substr(0, dash))) return false;
    rest = t.substr(dash + 1);
    const auto parts = util::split(rest, ':');  // D-H, D-H:M, D-H:M:S
    if (parts.size() > 3) return false;
    return std::all_of(parts.begin(), parts.end(), all_digits);
  }
  const auto parts = util::split(rest, ':');  // M, M:S, H:M:S
  if (parts.size() > 3) return false;
  return std::all_of(parts.begin(), parts.end(), all_digits);
}

std::string Profile::launcher_program() const {
  std::istringstream s(launcher);
  std::string w;
  s >> w;
  return w;
}

Profile load_profile_text(const std::string& text, const std::string& origin) {
  const ProfileReader c{origin};
  const YAML::Node root = config::parse_yaml(text, origin, "cluster profile");
  Profile p;
  p.path = origin;
  try {
    c.check_keys(root, "", {"name", "partition", "partition_required", "account", "qos", "shard",
                            "reduce", "launcher", "setup", "sbatch", "lrid", "requeue", "signal_grace",
                            "templates", "modules"});
    if (auto v = root["name"]) p.name = c.token(v, "name");
    if (auto v = root["partition"]) p.partition = c.token(v, "partition");
    if (auto v = root["partition_required"]) p.partition_required = c.boolean(v, "partition_required");
    if (auto v = root["account"]) p.account = c.token(v, "account");
    if (auto v = root["qos"]) p.qos = c.token(v, "qos");
    if (auto v = root["shard"]) parse_resources(c, v, "shard", p.shard, false, nullptr, nullptr);
    p.reduce.cpus_per_task = p.shard.cpus_per_task;
    p.reduce.time = p.shard.time;
    p.reduce.memory = p.shard.memory;
    if (auto v = root["reduce"]) parse_resources(c, v, "reduce", p.reduce, true, &p.analyze, &p.reduce_sbatch);
    if (auto v = root["launcher"]) {
      p.launcher = c.str(v, "launcher");
      const std::vector<std::string> programs = {"srun", "mpirun", "mpiexec"};
      const std::string prog = p.launcher_program();
      if (std::find(programs.begin(), programs.end(), prog) == programs.end())
        c.fail(v, "launcher", "expected a command line starting with srun, mpirun or mpiexec, got '" +
                                  p.launcher + "'" + did_you_mean(prog, programs));
      if (p.launcher.find('\n') != std::string::npos) c.fail(v, "launcher", "expected one line");
    }
    if (auto v = root["setup"]) p.setup = c.lines(v, "setup");
    if (auto v = root["modules"]) {
      p.modules = c.lines(v, "modules");
      for (size_t i = 0; i < p.modules.size(); ++i) {
        const std::string& m = p.modules[i];
        const YAML::Node at = v.IsSequence() ? v[i] : v;
        const std::string k = "modules[" + std::to_string(i) + "]";
        if (m.empty()) c.fail(at, k, "expected a module name such as lrid/0.1.0");
        for (char ch : m)
          if (!(std::isalnum(static_cast<unsigned char>(ch)) || std::string("/._+-@").find(ch) != std::string::npos))
            c.fail(at, k, "'" + m + "' is not one module name (expected letters, digits and / . _ + - @, such as "
                          "lrid/0.1.0; one module per entry, shell lines go in 'setup')");
      }
    }
    if (auto v = root["sbatch"]) p.sbatch = sbatch_options(c, v, "sbatch");
    if (auto v = root["lrid"]) {
      p.lrid = c.str(v, "lrid");
      if (p.lrid.empty() || p.lrid[0] != '/')
        c.fail(v, "lrid", "expected the absolute path of the lrid binary on the compute nodes, got '" + p.lrid + "'");
    }
    if (auto v = root["requeue"]) p.requeue = c.boolean(v, "requeue");
    if (auto v = root["signal_grace"]) {
      p.signal_grace = c.integer(v, "signal_grace", 0);
      // Slurm's --signal takes at most 65535 seconds.
      if (p.signal_grace > 65535) c.fail(v, "signal_grace", "expected seconds in [0, 65535] (Slurm's --signal limit)");
    }
    if (auto v = root["templates"]) {
      p.templates = c.str(v, "templates");
      if (!p.templates.empty() && p.templates[0] != '/') {
        const size_t slash = origin.rfind('/');
        if (slash != std::string::npos) p.templates = origin.substr(0, slash + 1) + p.templates;
      }
    }
    if (p.partition_required && p.partition.empty())
      c.fail(root, "partition",
             "missing: this profile says partition_required: true (the site has no default "
             "partition); add e.g. 'partition: gpu' (sinfo lists the partitions)");
  } catch (const YAML::Exception& e) {
    throw BadInput(origin + ":" + std::to_string(e.mark.line + 1) + ":" +
                   std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  if (p.name.empty()) {
    std::string stem = origin.substr(origin.rfind('/') == std::string::npos ? 0 : origin.rfind('/') + 1);
    if (stem.size() > 5 && stem.substr(stem.size() - 5) == ".yaml") stem.resize(stem.size() - 5);
    p.name = stem;
  }
  return p;
}

Profile load_profile_file(const std::string& path) {
  return load_profile_text(read_text_file(path, "the cluster profile (see cluster/)"), path);
}

}  // namespace lrid::cluster
