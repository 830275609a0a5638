// lrid submit JOB.yaml --cluster cluster/X.yaml --shards N --dir CAMPAIGN_DIR: run a job on a
// Slurm cluster as an sbatch array (one task per shard) plus a chained reduction job.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "lrid/cli/commands.hpp"
#include "lrid/cli/options.hpp"
#include "lrid/cluster/campaign_dir.hpp"
#include "lrid/cluster/profile.hpp"
#include "lrid/cluster/render.hpp"
#include "lrid/cluster/slurm.hpp"
#include "lrid/config/job.hpp"
#include "lrid/util/text.hpp"
#include "lrid/error.hpp"
#include "lrid/store/campaign.hpp"

namespace lrid::cli {

namespace {

std::string cwd() {
  char buf[PATH_MAX];
  if (!getcwd(buf, sizeof buf)) throw std::runtime_error("getcwd failed");
  return buf;
}

// An absolute, slash-normalised path (the directory need not exist).
std::string absolute(const std::string& p) {
  std::string a = p.empty() || p[0] != '/' ? cwd() + "/" + p : p;
  std::string out;
  for (char ch : a)
    if (!(ch == '/' && !out.empty() && out.back() == '/')) out += ch;
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  // drop "/./" components
  for (size_t pos; (pos = out.find("/./")) != std::string::npos;) out.erase(pos, 2);
  if (out.size() > 2 && out.substr(out.size() - 2) == "/.") out.resize(out.size() - 2);
  return out;
}

// Paths that go into #SBATCH lines: no spaces, quotes or Slurm filename patterns (%).
void check_sbatch_path(const std::string& p, const std::string& what) {
  for (char ch : p)
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || std::string("/_.,+-=@:~").find(ch) != std::string::npos))
      throw BadInput(what + " '" + p + "': contains '" + std::string(1, ch) +
                     "', which #SBATCH lines cannot hold; use a path of letters, digits and / _ . , + - = @ :");
}

std::string self_exe() {
  char buf[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) throw std::runtime_error("cannot find the lrid binary (/proc/self/exe)");
  buf[n] = 0;
  return buf;
}

bool path_exists(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0;
}

void mkdirs(const std::string& p) {
  std::string cur;
  for (size_t i = 0; i <= p.size(); ++i) {
    if (i == p.size() || (p[i] == '/' && i > 0)) {
      cur = p.substr(0, i);
      if (mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST)
        throw BadInput(cur + ": cannot create the directory (" + std::strerror(errno) + ")");
    }
  }
}

void write_file(const std::string& path, const std::string& text, bool executable) {
  {
    std::ofstream out(path, std::ios::trunc | std::ios::binary);
    if (!out) throw BadInput(path + ": cannot write (is the campaign directory writable?)");
    out << text;
    if (!out) throw BadInput(path + ": write failed");
  }
  if (executable) chmod(path.c_str(), 0755);
}

// The partitions the profile names must exist (among those sinfo listed), and without one the
// site needs a default.
void check_partitions(const cluster::Profile& p, const cluster::Partitions& sinfo) {
  const std::vector<std::string>& parts = sinfo.names;
  auto check = [&](const std::string& name, const std::string& key) {
    if (name.empty()) return;
    for (const auto& q : parts)
      if (q == name) return;
    throw BadInput(p.path + ": " + key + ": partition '" + name + "' does not exist on this cluster" +
                   util::did_you_mean(name, parts) + "; sinfo lists " + util::join(parts));
  };
  check(p.partition, "partition");
  check(p.reduce.partition, "reduce.partition");
  if (p.partition.empty() && sinfo.default_name.empty())
    throw BadInput(p.path + ": partition: missing, and this cluster has no default partition; add "
                            "'partition: NAME' (sinfo lists " + util::join(parts) + ")");
}

// --dry-run --json: the layout 'lrid train --shard I/N' uses (config::shard_assignment), with
// the cost model's estimate per shard (relative units: images x multiply-accumulates x rule factor).
nlohmann::json layout_json(const config::JobSpec& job, int64_t shards) {
  const int64_t runs = static_cast<int64_t>(job.runs.size());
  nlohmann::json out = {{"job", job.name}, {"job_hash", job.hash}, {"runs", runs}, {"shards", shards}};
  double total = 0, largest = 0, largest_run = 0;
  nlohmann::json list = nlohmann::json::array();
  const auto layout = config::shard_assignment(job, shards);
  for (size_t i = 0; i < layout.size(); ++i) {
    double cost = 0;
    for (int64_t id : layout[i]) {
      const double c = config::run_cost(job, job.runs[static_cast<size_t>(id)]);
      cost += c;
      largest_run = std::max(largest_run, c);
    }
    total += cost;
    largest = std::max(largest, cost);
    list.push_back({{"shard", i}, {"runs", layout[i]}, {"cost", cost}});
  }
  const double mean = total / static_cast<double>(shards);
  out["layout"] = list;
  out["cost_total"] = total;
  out["cost_max"] = largest;
  out["cost_mean"] = mean;
  out["max_over_mean"] = mean > 0 ? largest / mean : 0.0;
  out["largest_run_cost"] = largest_run;
  nlohmann::json per_run = nlohmann::json::array();
  for (const auto& r : job.runs) per_run.push_back(config::run_cost(job, r));
  out["run_cost"] = per_run;
  return out;
}

// The campaign directory: new, or holding nothing of another job (its campaign.json, the shard
// files of another job or shard count).
void check_campaign_dir(const cluster::ScriptPlan& plan, const config::JobSpec& job, int64_t shards) {
  if (path_exists(plan.dir + "/campaign.json")) {
    const cluster::CampaignRecord old = cluster::read_record(plan.dir);
    if (old.job_hash != job.hash)
      throw BadInput(plan.dir + ": campaign directory of another job: '" + old.job_name + "' (hash " +
                     old.job_hash + "), not '" + job.name + "' (hash " + job.hash +
                     "); choose another --dir");
    throw BadInput(plan.dir + ": job '" + job.name + "' was already submitted here; 'lrid status " + plan.dir +
                   "' shows it, 'lrid resume " + plan.dir + "' resubmits what is incomplete");
  }
  for (int64_t i = 0; i < shards; ++i) {
    const std::string f = plan.dir + "/shards/shard-" + std::to_string(i) + ".h5";
    if (!path_exists(f)) continue;
    std::unique_ptr<store::Campaign> c;
    try {
      c = store::Campaign::open_read(f);
    } catch (const std::exception&) {
      continue;  // not a campaign file: its array task will report it
    }
    if (c->job_hash() != job.hash || c->shard().count != shards || c->shard().index != i)
      throw BadInput(f + ": holds shard " + std::to_string(c->shard().index) + "/" + std::to_string(c->shard().count) +
                     " of job '" + c->job_name() + "' (hash " + c->job_hash() + "), not shard " + std::to_string(i) +
                     "/" + std::to_string(shards) + " of '" + job.name + "' (hash " + job.hash +
                     "): campaign directory of another job; choose another --dir");
  }
}

// Writes the campaign directory (job.yaml, the two scripts, campaign.json), submits the array
// and the chained reduction, and records their job ids.
void submit_campaign(const config::JobSpec& job, const cluster::Profile& profile, const cluster::ScriptPlan& plan,
                     const std::string& shard_script, const std::string& reduce_script) {
  const int64_t runs = plan.runs, shards = plan.shards, max_concurrent = plan.max_concurrent;
  const std::string shard_path = plan.dir + "/shards.sbatch", reduce_path = plan.dir + "/reduce.sbatch";
  mkdirs(plan.dir + "/shards");
  mkdirs(plan.dir + "/logs");
  cluster::DirLock lock(plan.dir);
  write_file(plan.dir + "/job.yaml", job.yaml_text, false);
  if (config::load_job_file(plan.dir + "/job.yaml").hash != job.hash)
    throw std::runtime_error(plan.dir + "/job.yaml does not reproduce the job hash");
  write_file(shard_path, shard_script, true);
  write_file(reduce_path, reduce_script, true);

  cluster::CampaignRecord rec;
  rec.dir = plan.dir;
  rec.job_name = job.name;
  rec.job_hash = job.hash;
  rec.job_file = absolute(job.path);
  rec.profile = absolute(profile.path);
  rec.profile_name = profile.name;
  rec.lrid = plan.lrid;
  rec.workdir = plan.workdir;
  rec.runs = runs;
  rec.layout = config::shard_assignment(job, shards);
  rec.shards = shards;
  rec.max_concurrent = max_concurrent;
  rec.max_attempts = job.distributed.max_attempts;
  rec.analyze = plan.analyze;
  cluster::Submission sub;
  sub.kind = "submit";
  sub.time = cluster::utc_now();
  for (int64_t i = 0; i < shards; ++i) sub.shards.push_back(i);
  sub.array = cluster::array_spec(sub.shards, max_concurrent);
  write_record(rec);  // before sbatch: a dir with a record is never submitted twice

  try {
    sub.array_job = cluster::sbatch({shard_path}, profile.path);
  } catch (...) {
    std::remove(rec.path().c_str());  // nothing was submitted: fix the profile and submit again
    throw;
  }
  rec.submissions.push_back(sub);
  write_record(rec);
  std::printf("lrid submit: job '%s' (hash %s), %lld runs in %lld shards -> %s\n", job.name.c_str(),
              job.hash.c_str(), static_cast<long long>(runs), static_cast<long long>(shards), plan.dir.c_str());
  std::printf("  shards:    sbatch %s  -> array job %s (--array=%s)\n", shard_path.c_str(),
              sub.array_job.c_str(), sub.array.c_str());
  std::fflush(stdout);
  rec.submissions.back().dependency = {sub.array_job};
  rec.submissions.back().reduce_job =
      cluster::sbatch({"--dependency=afterany:" + sub.array_job, reduce_path}, profile.path);
  write_record(rec);
  std::printf("  reduction: sbatch --dependency=afterany:%s %s  -> job %s (merge%s)\n", sub.array_job.c_str(),
              reduce_path.c_str(), rec.submissions.back().reduce_job.c_str(), plan.analyze ? " + analyze" : " only");
  std::printf("  recorded in %s/campaign.json; watch: lrid status %s --watch; after failures: lrid resume %s\n",
              plan.dir.c_str(), plan.dir.c_str(), plan.dir.c_str());
}

}  // namespace

int cmd_submit(int argc, char** argv) {
  po::options_description opts("options");
  opts.add_options()
      ("cluster", po::value<std::string>(), "cluster profile (YAML, e.g. cluster/local.yaml)")
      ("shards", po::value<int64_t>(), "N: split the job's runs into N shards of about equal estimated cost, one array task each")
      ("dir", po::value<std::string>(), "campaign directory to create (shards, logs, scripts, merged campaign)")
      ("max-concurrent", po::value<int64_t>()->default_value(0), "M: at most M shards run at once (--array=...%M); 0 = no limit")
      ("no-analyze", "the reduction merges the shards but does not run 'lrid analyze'")
      ("dry-run", "print the scripts and sbatch commands; write and submit nothing")
      ("json", "with --dry-run: print the shard layout as JSON instead (per shard its run ids and "
               "estimated cost; the max/mean shard cost)");
  const auto cmd = parse_job_command(argc, argv, "submit", opts, "JOB.yaml");
  if (!cmd) return 0;
  const auto& [vm, args] = *cmd;
  for (const char* k : {"cluster", "shards", "dir"})
    if (!vm.count(k)) throw BadInput(std::string("missing --") + k + " (see 'lrid submit --help')");
  const bool dry = vm.count("dry-run") > 0;
  if (vm.count("json") && !dry) throw BadInput("--json: only with --dry-run (prints the shard layout)");

  const config::JobSpec job = load_job(args);
  const cluster::Profile profile = cluster::load_profile_file(vm["cluster"].as<std::string>());
  const int64_t shards = vm["shards"].as<int64_t>();
  const int64_t runs = static_cast<int64_t>(job.runs.size());
  if (shards < 1 || shards > runs)
    throw BadInput("--shards " + std::to_string(shards) + ": expected 1 <= N <= " + std::to_string(runs) +
                   " (job '" + job.name + "' has " + std::to_string(runs) + " runs)");
  const int64_t max_concurrent = vm["max-concurrent"].as<int64_t>();
  if (max_concurrent < 0) throw BadInput("--max-concurrent: expected M >= 0 (0 = no limit)");

  cluster::ScriptPlan plan;
  plan.dir = absolute(vm["dir"].as<std::string>());
  check_sbatch_path(plan.dir, "--dir");
  plan.workdir = cwd();
  check_sbatch_path(plan.workdir, "the current directory");
  plan.lrid = profile.lrid.empty() ? self_exe() : profile.lrid;
  plan.job_name = job.name;
  plan.job_hash = job.hash;
  plan.runs = runs;
  plan.shards = shards;
  plan.max_concurrent = max_concurrent;
  plan.analyze = profile.analyze && !vm.count("no-analyze");
  plan.profile_path = profile.path;
  const std::string shard_script = cluster::render_shard_script(
      profile, plan, cluster::read_template(profile, "shards.sbatch.in"),
      cluster::template_dir(profile) + "/shards.sbatch.in");
  const std::string reduce_script = cluster::render_reduce_script(
      profile, plan, cluster::read_template(profile, "reduce.sbatch.in"),
      cluster::template_dir(profile) + "/reduce.sbatch.in");
  const std::string shard_path = plan.dir + "/shards.sbatch", reduce_path = plan.dir + "/reduce.sbatch";

  if (dry && vm.count("json")) {
    std::cout << layout_json(job, shards).dump(2) << "\n";
    return 0;
  }
  if (dry) {
    std::cout << "# lrid submit --dry-run: job '" << job.name << "' (hash " << job.hash << "), " << runs
              << " runs in " << shards << " shards, cluster profile " << profile.path << "\n"
              << "# would write " << plan.dir << "/{campaign.json,job.yaml,shards.sbatch,reduce.sbatch}\n"
              << "# would run:   sbatch --parsable " << shard_path << "\n"
              << "# then:        sbatch --parsable --dependency=afterany:<array job id> " << reduce_path << "\n"
              << "\n# ===== " << shard_path << "\n"
              << shard_script << "\n# ===== " << reduce_path << "\n"
              << reduce_script;
    return 0;
  }

  cluster::require_program("sbatch", "submit");
  check_partitions(profile, cluster::require_slurm("submit"));  // before anything is written

  check_campaign_dir(plan, job, shards);

  submit_campaign(job, profile, plan, shard_script, reduce_script);
  return 0;
}

}  // namespace lrid::cli
