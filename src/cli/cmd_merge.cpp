// lrid merge SHARD_FILES... --out campaign.h5: combine shard files of one job into one file.
#include <unistd.h>

#include <cstdio>
#include <set>

#include "lrid/cli/commands.hpp"
#include "lrid/cli/options.hpp"
#include "lrid/config/job.hpp"
#include "lrid/error.hpp"
#include "lrid/store/campaign.hpp"
#include "lrid/store/h5.hpp"
#include "lrid/train/campaign.hpp"
#include "lrid/train/trainer.hpp"

namespace lrid::cli {

int cmd_merge(int argc, char** argv) {
  po::options_description opts("options");
  opts.add_options()("out", po::value<std::string>(), "merged campaign file to create")(
      "force", "replace an existing --out file");
  auto vm = parse_options(argc, argv, "merge", opts, {{"shards", -1, "SHARD_FILES"}});
  if (!vm) return 0;
  if (!vm->count("out")) throw BadInput("missing --out campaign.h5 (see 'lrid merge --help')");
  const auto files = (*vm)["shards"].as<std::vector<std::string>>();
  const std::string out = (*vm)["out"].as<std::string>();
  for (const auto& f : files)
    if (f == out) throw BadInput(out + ": --out must not be one of the shard files");
  if (vm->count("force")) store::h5::check_output(out, "--out", "lrid-campaign-", files, true);

  std::vector<std::unique_ptr<store::Campaign>> shards;
  std::set<int64_t> seen;
  for (const auto& f : files) {
    auto c = store::Campaign::open_read(f);
    if (!shards.empty()) {
      const auto& first = *shards.front();
      if (c->job_hash() != first.job_hash())
        throw BadInput(f + ": belongs to job '" + c->job_name() + "' (hash " + c->job_hash() +
                       "), not to the job of " + first.path() + " ('" + first.job_name() +
                       "', hash " + first.job_hash() + ")");
      if (c->shard().count != first.shard().count)
        throw BadInput(f + ": is a shard of " + std::to_string(c->shard().count) + ", " +
                       first.path() + " of " + std::to_string(first.shard().count));
    }
    if (!seen.insert(c->shard().index).second)
      throw BadInput(f + ": shard " + std::to_string(c->shard().index) + "/" +
                     std::to_string(c->shard().count) + " is given twice (overlapping shards)");
    shards.push_back(std::move(c));
  }
  const store::Campaign& first = *shards.front();
  const config::JobSpec job = config::load_job_text(first.job_yaml(), first.path() + ":/job_yaml");
  if (job.hash != first.job_hash())
    throw BadInput(first.path() + ": the stored job text does not reproduce the file's job hash");

  // Each run's layers from the shard that holds it; runs of missing shards from the model.
  std::vector<std::vector<store::LayerMeta>> layers;
  for (const auto& r : job.runs) {
    const store::Campaign* holder = nullptr;
    for (const auto& s : shards)
      if (s->has_run(r.id)) holder = s.get();
    layers.push_back(holder ? holder->layers(r.id) : train::run_layers(r.arch, job.task(r.task)));
  }
  store::Layout layout = first.layout();
  layout.runs = static_cast<int64_t>(job.runs.size());
  store::Campaign::create(out, train::describe(job), layers, layout, {}, vm->count("force") > 0);
  auto merged = store::Campaign::open(out, train::describe(job), MPI_COMM_NULL, true);
  int64_t copied = 0, done = 0;
  for (const auto& s : shards) {
    for (const auto& rec : s->records()) {
      merged->copy_run(*s, rec.id);
      ++copied;
      if (rec.status == store::kDone) ++done;
    }
  }
  std::printf("lrid merge: %zu shard file(s) of %lld -> %s: %lld runs copied (%lld done) of %zu\n",
              shards.size(), static_cast<long long>(first.shard().count), out.c_str(),
              static_cast<long long>(copied), static_cast<long long>(done), job.runs.size());
  if (static_cast<int64_t>(shards.size()) < first.shard().count) {
    std::string missing;
    for (int64_t i = 0; i < first.shard().count; ++i)
      if (!seen.count(i)) missing += (missing.empty() ? "" : ",") + std::to_string(i);
    std::printf("lrid merge: shards not given (their runs stay pending): %s\n", missing.c_str());
  }
  return 0;
}

}  // namespace lrid::cli
