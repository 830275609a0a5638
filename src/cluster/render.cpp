// Rendering the campaign's sbatch scripts from the templates in slurm/.
#include "lrid/cluster/render.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "lrid/error.hpp"
#include "lrid/util/paths.hpp"
#include "lrid/util/text.hpp"

namespace lrid::cluster {

namespace {

bool file_readable(const std::string& p) {
  std::ifstream f(p);
  return static_cast<bool>(f);
}

std::string join_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) out += (i ? "\n" : "") + lines[i];
  return out;
}

std::string gres(const Resources& r) {
  return (r.gpu_type.empty() ? "" : r.gpu_type + ":") + std::to_string(r.gpus_per_node);
}

// The lines every job of the campaign shares.
void common_lines(std::vector<std::string>& l, const Profile& p, const Resources& r,
                  const std::string& partition, const std::string& qos) {
  if (!partition.empty()) l.push_back("#SBATCH --partition=" + partition);
  if (!p.account.empty()) l.push_back("#SBATCH --account=" + p.account);
  if (!qos.empty()) l.push_back("#SBATCH --qos=" + qos);
  l.push_back("#SBATCH --nodes=" + std::to_string(r.nodes));
  l.push_back("#SBATCH --ntasks-per-node=" + std::to_string(r.tasks_per_node));
  l.push_back("#SBATCH --cpus-per-task=" + std::to_string(r.cpus_per_task));
  if (r.gpus_per_node > 0) l.push_back("#SBATCH --gpus-per-node=" + gres(r));
  if (!r.memory.empty()) l.push_back("#SBATCH --mem=" + r.memory);
  if (!r.time.empty()) l.push_back("#SBATCH --time=" + r.time);
}

// The profile's setup lines, then its modules: `module` is defined first when the job's
// environment lacks it (a batch shell does not read the login scripts that define it).
std::string setup_block(const Profile& p) {
  if (p.setup.empty() && p.modules.empty()) return "# (none)";
  std::vector<std::string> l;
  if (!p.modules.empty()) {
    l.push_back("if ! type module > /dev/null 2>&1; then   # Lmod or Environment Modules, as a login shell gets it");
    l.push_back("  for f in /etc/profile.d/lmod.sh /usr/share/lmod/lmod/init/bash /etc/profile.d/modules.sh; do");
    l.push_back("    if [ -f \"$f\" ]; then set +u; . \"$f\"; set -u; break; fi");
    l.push_back("  done");
    l.push_back("fi");
  }
  l.insert(l.end(), p.setup.begin(), p.setup.end());
  if (!p.modules.empty()) {
    l.push_back("# --- the profile's 'modules'");
    l.push_back("set +u; module load " + util::join(p.modules, " ") + "; set -u");
    if (p.lrid.empty())
      l.push_back("command -v lrid > /dev/null || { echo " +
                  shell_quote("lrid: error: the modules " + util::join(p.modules, " ") + " put no lrid on PATH (profile " +
                              p.path + ")") +
                  "; exit 1; }");
  }
  return join_lines(l);
}

// The lrid the scripts run: the profile's `lrid`, else with `modules` the one they put on PATH,
// else the binary that ran `lrid submit`.
std::string script_lrid(const Profile& p, const ScriptPlan& plan) {
  if (p.lrid.empty() && !p.modules.empty()) return "lrid";
  return shell_quote(plan.lrid);
}

}  // namespace

std::string template_dir(const Profile& p) {
  std::vector<std::string> candidates;
  if (!p.templates.empty()) {
    candidates.push_back(p.templates);
  } else if (const char* env = std::getenv("LRID_SLURM_TEMPLATES"); env && *env) {
    candidates.push_back(env);
  } else {
    candidates.push_back(util::data_file("slurm"));
  }
  const std::string dir = candidates.front();
  if (!file_readable(dir + "/shards.sbatch.in") || !file_readable(dir + "/reduce.sbatch.in"))
    throw BadInput(dir + ": no sbatch templates here (shards.sbatch.in, reduce.sbatch.in); set "
                         "'templates:' in " + p.path + " or LRID_SLURM_TEMPLATES to lrid's slurm/ directory (lrid --version "
                         "names its data directory)");
  return dir;
}

std::string read_template(const Profile& p, const std::string& name) {
  const std::string path = template_dir(p) + "/" + name;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw BadInput(path + ": cannot read the sbatch template");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string render(const std::string& text, const std::map<std::string, std::string>& vars,
                   const std::string& origin) {
  std::string out;
  size_t pos = 0;
  int line = 1;
  while (true) {
    const size_t open = text.find("{{", pos);
    const std::string chunk = text.substr(pos, open == std::string::npos ? std::string::npos : open - pos);
    for (char ch : chunk) line += ch == '\n';
    out += chunk;
    if (open == std::string::npos) break;
    const size_t close = text.find("}}", open + 2);
    if (close == std::string::npos)
      throw BadInput(origin + ":" + std::to_string(line) + ": unterminated placeholder '{{'");
    const std::string name = text.substr(open + 2, close - open - 2);
    const auto it = vars.find(name);
    if (it == vars.end()) {
      std::string known;
      for (const auto& [k, v] : vars) known += (known.empty() ? "" : ", ") + k;
      throw BadInput(origin + ":" + std::to_string(line) + ": unknown placeholder {{" + name +
                     "}}; expected one of " + known);
    }
    out += it->second;
    pos = close + 2;
  }
  return out;
}

std::string array_spec(const std::vector<int64_t>& idx, int64_t max_concurrent) {
  std::string out;
  for (size_t i = 0; i < idx.size();) {
    size_t j = i;
    while (j + 1 < idx.size() && idx[j + 1] == idx[j] + 1) ++j;
    if (!out.empty()) out += ",";
    if (j - i >= 2) {
      out += std::to_string(idx[i]) + "-" + std::to_string(idx[j]);
    } else {
      for (size_t k = i; k <= j; ++k) out += (k > i ? "," : "") + std::to_string(idx[k]);
    }
    i = j + 1;
  }
  if (max_concurrent > 0) out += "%" + std::to_string(max_concurrent);
  return out;
}

std::string shell_quote(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                        "0123456789_./:,+-=@%") == std::string::npos)
    return s;
  std::string out = "'";
  for (char ch : s) out += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return out + "'";
}

std::vector<std::string> shard_sbatch_lines(const Profile& p, const ScriptPlan& plan) {
  std::vector<std::string> l;
  l.push_back("#SBATCH --job-name=lrid-" + plan.job_name);
  std::vector<int64_t> all;
  for (int64_t i = 0; i < plan.shards; ++i) all.push_back(i);
  l.push_back("#SBATCH --array=" + array_spec(all, plan.max_concurrent));
  common_lines(l, p, p.shard, p.partition, p.qos);
  l.push_back("#SBATCH --chdir=" + plan.workdir);
  l.push_back("#SBATCH --output=" + plan.dir + "/logs/shard-%a.out");
  l.push_back("#SBATCH --open-mode=append");
  l.push_back(p.requeue ? "#SBATCH --requeue" : "#SBATCH --no-requeue");
  if (p.signal_grace > 0) l.push_back("#SBATCH --signal=B:USR1@" + std::to_string(p.signal_grace));
  for (const auto& o : p.sbatch) l.push_back("#SBATCH " + o);
  return l;
}

std::vector<std::string> reduce_sbatch_lines(const Profile& p, const ScriptPlan& plan) {
  std::vector<std::string> l;
  l.push_back("#SBATCH --job-name=lrid-" + plan.job_name + "-reduce");
  common_lines(l, p, p.reduce, p.reduce.partition.empty() ? p.partition : p.reduce.partition,
               p.reduce.qos.empty() ? p.qos : p.reduce.qos);
  l.push_back("#SBATCH --chdir=" + plan.workdir);
  l.push_back("#SBATCH --output=" + plan.dir + "/logs/reduce-%j.out");
  for (const auto& o : p.reduce_sbatch) l.push_back("#SBATCH " + o);
  return l;
}

std::string render_shard_script(const Profile& p, const ScriptPlan& plan, const std::string& tmpl,
                                const std::string& origin) {
  const std::string train = "\"$LRID\" train \"$DIR/job.yaml\" --shard \"$SHARD/" +
                            std::to_string(plan.shards) + "\" --resume --out \"$OUT\"";
  std::string launch;
  const Resources& r = p.shard;
  if (r.gpus_per_node > 0) {
    // Each rank binds to one GPU by its node-local rank: SLURM_LOCALID under srun,
    // OMPI_COMM_WORLD_LOCAL_RANK under mpirun. Slurm lists the node's allocated GPUs in
    // CUDA_VISIBLE_DEVICES; local rank r takes entry r (mod their count).
    launch =
        "# Bind each rank to one GPU by its node-local rank (SLURM_LOCALID under srun,\n"
        "# OMPI_COMM_WORLD_LOCAL_RANK under mpirun): local rank r gets the r-th GPU that Slurm gave\n"
        "# this node (CUDA_VISIBLE_DEVICES), or GPU r % " + std::to_string(r.gpus_per_node) +
        " when Slurm set none.\n"
        "BIND_GPU='r=${SLURM_LOCALID:-${OMPI_COMM_WORLD_LOCAL_RANK:-0}}\n"
        "if [ -n \"${CUDA_VISIBLE_DEVICES:-}\" ]; then gpus=(${CUDA_VISIBLE_DEVICES//,/ }); else gpus=($(seq 0 " +
        std::to_string(r.gpus_per_node - 1) + ")); fi\n"
        "export CUDA_VISIBLE_DEVICES=${gpus[$((r % ${#gpus[@]}))]}\n"
        "exec \"$@\"'\n" +
        p.launcher + " bash -c \"$BIND_GPU\" bind-gpu " + train;
  } else {
    launch = p.launcher + " " + train;
  }
  const std::map<std::string, std::string> vars = {
      {"SBATCH", join_lines(shard_sbatch_lines(p, plan))},
      {"JOB_NAME", plan.job_name},
      {"JOB_HASH", plan.job_hash},
      {"RUNS", std::to_string(plan.runs)},
      {"SHARDS", std::to_string(plan.shards)},
      {"PROFILE", plan.profile_path},
      {"SETUP", setup_block(p)},
      {"LRID", script_lrid(p, plan)},
      {"DIR", shell_quote(plan.dir)},
      {"RANKS", std::to_string(r.nodes * r.tasks_per_node)},
      {"LAUNCH", launch},
      {"REQUEUE", p.requeue ? "1" : "0"}};
  return render(tmpl, vars, origin);
}

std::string render_reduce_script(const Profile& p, const ScriptPlan& plan, const std::string& tmpl,
                                 const std::string& origin) {
  const std::string analyze =
      p.launcher + " \"$LRID\" analyze \"$DIR/campaign.h5\" --out \"$DIR/results/\"";
  const std::map<std::string, std::string> vars = {
      {"SBATCH", join_lines(reduce_sbatch_lines(p, plan))},
      {"JOB_NAME", plan.job_name},
      {"JOB_HASH", plan.job_hash},
      {"SHARDS", std::to_string(plan.shards)},
      {"PROFILE", plan.profile_path},
      {"SETUP", setup_block(p)},
      {"LRID", script_lrid(p, plan)},
      {"DIR", shell_quote(plan.dir)},
      {"SHARD_FILES", "\"$DIR\"/shards/shard-{0.." + std::to_string(plan.shards - 1) + "}.h5"},
      // As in the shard script: a launcher may exit 0 without starting the ranks (Slurm 22.05's
      // srun when slurmstepd fails first), so success needs the report lrid analyze writes last.
      {"ANALYZE", plan.analyze ? "analyze_start=$(date +%s)\n" + analyze +
                                     "\nreport=$DIR/results/report.md\n"
                                     "if [ \"$(stat -c %Y \"$report\" 2>/dev/null || echo 0)\" -lt \"$analyze_start\" ]; then\n"
                                     "  echo \"lrid reduction: error: the launcher exited 0 but lrid analyze wrote no new "
                                     "$report: the ranks did not start; see the launcher's message above\"\n"
                                     "  exit 1\n"
                                     "fi"
                               : "# skipped (submitted with --no-analyze / reduce.analyze: false); by hand:\n# " +
                                     analyze}};
  return render(tmpl, vars, origin);
}

}  // namespace lrid::cluster
