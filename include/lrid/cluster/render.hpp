#pragma once
// Rendering the sbatch scripts of a campaign from the templates in slurm/ (torch-free).
//
//   slurm/shards.sbatch.in  -> CAMPAIGN_DIR/shards.sbatch  (the array job: task I = shard I)
//   slurm/reduce.sbatch.in  -> CAMPAIGN_DIR/reduce.sbatch  (merge the shards, then analyze)
//
// A template is a plain bash script with {{NAME}} placeholders; every placeholder must be
// known and every value is filled in literally (no other logic lives in the templates).
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "lrid/cluster/profile.hpp"

namespace lrid::cluster {

/// What the scripts of one campaign need besides the profile.
struct ScriptPlan {
  std::string dir;           ///< absolute campaign directory
  std::string workdir;       ///< --chdir: the directory relative paths of the job resolve from
  std::string lrid;          ///< absolute path of the lrid binary on the compute nodes
  std::string job_name, job_hash;
  int64_t runs = 0;
  int64_t shards = 1;
  int64_t max_concurrent = 0;   ///< 0: no limit
  bool analyze = true;
  std::string profile_path;
};

/// The directory holding shards.sbatch.in and reduce.sbatch.in: the profile's `templates`,
/// else $LRID_SLURM_TEMPLATES, else <lrid's data directory>/slurm (util::data_dir: installed
/// P/share/lrid, or the source tree of a build). BadInput if it lacks them.
std::string template_dir(const Profile& p);
/// Reads <template_dir>/<name>.
std::string read_template(const Profile& p, const std::string& name);

/// Replaces every {{NAME}} in `text`; an unknown or unfilled placeholder throws BadInput
/// naming `origin`.
std::string render(const std::string& text, const std::map<std::string, std::string>& vars,
                   const std::string& origin);

/// Slurm's --array value for these indices: consecutive runs of 3 or more become ranges
/// ("0-9", "3,7,12", "0-4,9"), with "%M" appended when max_concurrent > 0.
std::string array_spec(const std::vector<int64_t>& indices, int64_t max_concurrent);

/// `s` quoted for bash when it needs quoting ('...' with embedded quotes escaped).
std::string shell_quote(const std::string& s);

/// The #SBATCH lines of the shard array job and of the reduction job.
std::vector<std::string> shard_sbatch_lines(const Profile& p, const ScriptPlan& plan);
std::vector<std::string> reduce_sbatch_lines(const Profile& p, const ScriptPlan& plan);

/// The shard array script and the reduction script, from their template texts.
std::string render_shard_script(const Profile& p, const ScriptPlan& plan, const std::string& tmpl,
                                const std::string& origin = "shards.sbatch.in");
std::string render_reduce_script(const Profile& p, const ScriptPlan& plan, const std::string& tmpl,
                                 const std::string& origin = "reduce.sbatch.in");

}  // namespace lrid::cluster
