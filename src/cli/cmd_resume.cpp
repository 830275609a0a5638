// lrid resume CAMPAIGN_DIR: resubmit exactly the shards of a Slurm campaign that are not complete
// and not running, and re-chain the reduction.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <set>

#include "lrid/cli/commands.hpp"
#include "lrid/cli/options.hpp"
#include "lrid/cluster/campaign_dir.hpp"
#include "lrid/cluster/render.hpp"
#include "lrid/cluster/slurm.hpp"
#include "lrid/config/job.hpp"
#include "lrid/error.hpp"
#include "lrid/util/text.hpp"

namespace lrid::cli {

namespace {

std::string join_ids(const std::vector<int64_t>& v) {
  std::vector<std::string> s;
  for (auto i : v) s.push_back(std::to_string(i));
  return util::join(s, ",");
}

// The campaign must still be the job it was submitted as (and the --job file's, when given).
void check_same_job(const cluster::CampaignRecord& rec, const std::string& job_option) {
  const std::string& dir = rec.dir;
  const config::JobSpec job = config::load_job_file(dir + "/job.yaml");
  if (job.hash != rec.job_hash)
    throw BadInput(dir + "/job.yaml: job '" + job.name + "' (hash " + job.hash +
                   ") is not the job this campaign directory was submitted with ('" + rec.job_name +
                   "', hash " + rec.job_hash + " in campaign.json): campaign directory of another job");
  if (!job_option.empty()) {
    const config::JobSpec other = config::load_job_file(job_option);
    if (other.hash != rec.job_hash)
      throw BadInput(other.path + ": job '" + other.name + "' (hash " + other.hash + ") is not the job of " + dir +
                     " ('" + rec.job_name + "', hash " + rec.job_hash + "): campaign directory of another job");
  }
}

// What the campaign lacks: its counts, each shard to resubmit and why, the shards still active.
void print_state(const cluster::CampaignRecord& rec, const cluster::DirStatus& st, const std::vector<int64_t>& todo,
                 const std::vector<int64_t>& running) {
  const std::string& dir = rec.dir;
  std::printf("lrid resume: campaign %s: job '%s', %lld shards: %lld done, %lld failed, %lld pending or "
              "interrupted runs\n",
              dir.c_str(), rec.job_name.c_str(), static_cast<long long>(rec.shards), static_cast<long long>(st.done),
              static_cast<long long>(st.failed), static_cast<long long>(st.pending + st.interrupted + st.running));
  for (int64_t i : todo) {
    const auto& v = st.shards[static_cast<size_t>(i)];
    std::string why = v.file_state == "ok" ? std::to_string(v.pending + v.interrupted) + " run(s) not done" +
                                                 (v.failed > v.failed_final ? ", failed runs to retry" : "")
                                           : "shard file " + v.file_state + (v.file_error.empty() ? "" : " (" + v.file_error + ")");
    std::printf("  shard %lld: %s%s; %s\n", static_cast<long long>(i), v.slurm_job.empty() ? "not submitted" : v.slurm_job.c_str(),
                v.slurm_state.empty() ? "" : (" " + v.slurm_state).c_str(), why.c_str());
  }
  if (!running.empty())
    std::printf("  still pending or running in Slurm (not resubmitted): shards %s\n", join_ids(running).c_str());
}

// The new reduction waits for every job of the campaign that may still run; a pending
// reduction is superseded (cancelled), a running one is waited for.
struct ReductionPlan {
  std::vector<std::string> cancel, dependency;
};
ReductionPlan plan_reduction(const cluster::DirStatus& st) {
  ReductionPlan plan;
  std::set<std::string> active_arrays;
  for (const auto& v : st.shards)
    if (v.active && !v.slurm_job.empty()) active_arrays.insert(v.slurm_job.substr(0, v.slurm_job.find('_')));
  plan.dependency.assign(active_arrays.begin(), active_arrays.end());
  if (st.reduce_active) {
    if (st.reduce_state == "PENDING")
      plan.cancel.push_back(st.reduce_job);  // superseded by the new reduction
    else
      plan.dependency.push_back(st.reduce_job);  // already merging: let it finish first
  }
  return plan;
}

// Cancels the superseded reduction, submits the shards' array (if any) and the new reduction,
// and records both in campaign.json.
void resubmit(cluster::CampaignRecord& rec, cluster::Submission sub, ReductionPlan plan) {
  const std::string& dir = rec.dir;
  const std::vector<std::string>& cancel = plan.cancel;
  std::vector<std::string>& dependency = plan.dependency;
  const std::vector<int64_t>& todo = sub.shards;
  const std::string shard_script = dir + "/shards.sbatch", reduce_script = dir + "/reduce.sbatch";
  for (const auto& j : cancel) cluster::run_command({"scancel", j});
  std::remove((dir + "/reduce.done").c_str());
  const std::string blame = "the #SBATCH lines of " + shard_script;
  if (!todo.empty()) {
    sub.array_job = cluster::sbatch({"--array=" + sub.array, shard_script}, blame);
    dependency.push_back(sub.array_job);
    rec.submissions.push_back(sub);
    cluster::write_record(rec);
    std::printf("  shards:    sbatch --array=%s %s  -> array job %s\n", sub.array.c_str(), shard_script.c_str(),
                sub.array_job.c_str());
    std::fflush(stdout);
  } else {
    rec.submissions.push_back(sub);
  }
  for (const auto& j : cancel) std::printf("  cancelled the superseded pending reduction %s\n", j.c_str());
  std::vector<std::string> args;
  if (!dependency.empty()) args.push_back("--dependency=afterany:" + util::join(dependency, ":"));
  args.push_back(reduce_script);
  rec.submissions.back().dependency = dependency;
  rec.submissions.back().reduce_job = cluster::sbatch(args, "the #SBATCH lines of " + reduce_script);
  cluster::write_record(rec);
  std::printf("  reduction: sbatch %s%s  -> job %s\n",
              dependency.empty() ? "" : ("--dependency=afterany:" + util::join(dependency, ":") + " ").c_str(),
              reduce_script.c_str(), rec.submissions.back().reduce_job.c_str());
  std::printf("  recorded in %s/campaign.json; watch: lrid status %s --watch\n", dir.c_str(), dir.c_str());
}

}  // namespace

int cmd_resume(int argc, char** argv) {
  po::options_description opts("options");
  opts.add_options()
      ("job", po::value<std::string>(), "JOB.yaml: also check that the campaign belongs to this job file")
      ("max-concurrent", po::value<int64_t>(), "M: at most M resubmitted shards at once (default: as submitted)")
      ("dry-run", "say what would be resubmitted; submit nothing");
  auto vm = parse_options(argc, argv, "resume", opts, {{"dir", 1, "CAMPAIGN_DIR"}});
  if (!vm) return 0;
  const bool dry = vm->count("dry-run") > 0;
  cluster::CampaignRecord rec = cluster::read_record((*vm)["dir"].as<std::string>());
  const std::string& dir = rec.dir;

  check_same_job(rec, vm->count("job") ? (*vm)["job"].as<std::string>() : std::string());
  if (!dry) cluster::require_program("sbatch", "resume");
  cluster::require_program("squeue", "resume");
  cluster::require_slurm("resume");  // which shards failed is Slurm's answer: it must be reachable

  std::unique_ptr<cluster::DirLock> lock;
  if (!dry) lock = std::make_unique<cluster::DirLock>(dir);
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  const cluster::SlurmView view = cluster::query_jobs(cluster::campaign_job_ids(rec));
  if (!view.available)
    throw BadInput("cannot ask Slurm which shards of " + dir + " are still pending or running (" + view.error +
                   "); nothing resubmitted, so that no shard runs twice");
  const cluster::DirStatus st = cluster::read_dir_status(dir, now, view);
  for (const auto& v : st.shards)
    if (v.file_state == "foreign") throw BadInput(v.file_error + ": campaign directory of another job");

  const std::vector<int64_t> todo = cluster::shards_to_resubmit(st);
  std::vector<int64_t> running;
  for (const auto& v : st.shards)
    if (!v.complete && v.active) running.push_back(v.index);
  const bool need_reduce = !todo.empty() || (!st.reduced && !st.reduce_active);

  print_state(rec, st, todo, running);
  if (!need_reduce) {
    std::printf("lrid resume: nothing to resubmit: %s\n",
                st.complete && st.reduced ? "the campaign is complete and reduced"
                                          : ("the reduction (job " + st.reduce_job + ") is still to run").c_str());
    return 0;
  }

  const ReductionPlan reduction = plan_reduction(st);
  const int64_t max_conc = vm->count("max-concurrent") ? (*vm)["max-concurrent"].as<int64_t>() : rec.max_concurrent;
  if (max_conc < 0) throw BadInput("--max-concurrent: expected M >= 0 (0 = no limit)");
  cluster::Submission sub;
  sub.kind = "resume";
  sub.time = cluster::utc_now();
  sub.shards = todo;
  sub.array = todo.empty() ? "" : cluster::array_spec(todo, max_conc);
  sub.cancelled = reduction.cancel;
  const std::string shard_script = dir + "/shards.sbatch", reduce_script = dir + "/reduce.sbatch";

  if (dry) {
    if (!todo.empty()) std::printf("  would run: sbatch --parsable --array=%s %s\n", sub.array.c_str(), shard_script.c_str());
    for (const auto& j : reduction.cancel) std::printf("  would cancel the pending reduction %s (superseded)\n", j.c_str());
    std::printf("  would run: sbatch --parsable --dependency=afterany:%s%s %s\n", util::join(reduction.dependency, ":").c_str(),
                todo.empty() ? "" : (reduction.dependency.empty() ? "<new array job>" : ":<new array job>"), reduce_script.c_str());
    return 0;
  }

  resubmit(rec, sub, reduction);
  return 0;
}

}  // namespace lrid::cli
