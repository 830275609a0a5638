#include "lrid/cli/commands.hpp"

#include "lrid/cli/options.hpp"

namespace lrid::cli {

// The commands with their help (usage, what they do, examples that run as written from the
// repository root: tests/scripts/help_examples.sh runs every one of them). Long because it is
// the help text of every command, kept in one table so that --help, completion and the
// examples test read the same data.
const std::vector<Command>& commands() {
  static const std::vector<Command> list = {
      {"run", "the main job: train the grid across the MPI ranks (default: quickstart)", cmd_run,
       Help{"run [JOB.yaml] [key.path=value ...] [--dir DIR] [--fresh]   (under mpirun/srun)",
         "The main job: train every run of the job across the MPI ranks into DIR/campaign.h5 "
         "(continuing an earlier, interrupted campaign of the same job in DIR), then analyze it "
         "into DIR/results (results.h5, report.md, PNG plots). A stop signal (Ctrl-C, SIGTERM) "
         "checkpoints the runs in flight and exits 75 without analysing; the same command "
         "continues. Without JOB.yaml it runs the "
         "embedded default, jobs/quickstart.yaml (Fashion-MNIST, all four learning rules; about 10 "
         "minutes on 2 cores: mpirun -np 2 lrid run).",
         {"mpirun -np 2 lrid run jobs/smoke.yaml",
         "mpirun -np 2 lrid run jobs/smoke.yaml training.defaults.steps=30 --dir smoke-30 --no-plots"}}},
      {"grid", "validate a job file and list its expanded runs", cmd_grid,
       Help{"grid JOB.yaml [key.path=value ...] [--json] [--print-job]",
         "Validate a job file, expand its grid and list the runs: id (index in the canonical "
         "order), factors, resolved seeds and the content hash that a campaign file binds to.",
         {"lrid grid jobs/smoke.yaml",
         "lrid grid jobs/smoke.yaml training.defaults.steps=50 --json",
         "lrid grid jobs/smoke.yaml 'grid.0.model_seeds=[0,1,2]' --print-job"}}},
      {"train", "train a job's runs across MPI ranks into a campaign file", cmd_train,
       Help{"train JOB.yaml [key.path=value ...] --out campaign.h5 [--resume|--force] [--shard I/N]   "
         "(under mpirun/srun)\n"
         "       lrid train JOB.yaml [key.path=value ...] --run ID [--out campaign.h5] [--force]",
         "Train the runs of a job and record their observables into one campaign file.\n"
         "Under mpirun/srun, rank 0 hands runs to worker groups of distributed.ranks_per_run ranks; "
         "rank 0 appends its progress to campaign.h5.log.jsonl (see 'lrid status'). An existing "
         "file is never overwritten without --force; --resume refuses a file made from another job "
         "and trains only the runs not done.\n"
         "With --run, train that one run in this process and print its loss curve and final metric "
         "(with --out, also record it into the file, created if absent).",
         {"mpirun -np 2 lrid train jobs/smoke.yaml --out smoke.h5",
         "lrid train jobs/smoke.yaml --run 3",
         "mpirun -np 2 lrid train jobs/smoke.yaml --shard 0/2 --out shard-0.h5",
         "mpirun -np 2 lrid train jobs/smoke.yaml --shard 1/2 --out shard-1.h5",
         "lrid train jobs/smoke.yaml --run 3 --record-activations recording.h5"}}},
      {"analyze", "identify the learning rule: classifiers and robustness sweeps", cmd_analyze,
       Help{"analyze campaign.h5 [analysis.key=value ...] --out results/ [options]   (under "
         "mpirun/srun)",
         "Identify the learning rule from the recorded observables: random forests, linear SVMs and "
         "Conv1D models under the paper's protocol (balanced 75/25 splits, z-scoring, stratified CV "
         "over the grids), per observable class; held-out architectures and tasks, task-to-task "
         "transfer, trajectory undersampling, unit subsampling and noise, feature importances. "
         "Every fit is a task on the rank-0 work queue. Settings come from the job's `analysis` "
         "section stored in the campaign file; options override them. Writes results.h5, report.md "
         "and PNG plots (tools/plot_results.py, when matplotlib is present).",
         {"mpirun -np 2 lrid analyze smoke.h5 --out smoke-results",
         "lrid analyze smoke.h5 analysis.splits=2 --sweeps holdout --no-plots --out smoke-holdout --json"}}},
      {"status", "progress of a campaign: done, failed, running, pending, ETA", cmd_status,
       Help{"status campaign.h5|RUN_DIR|CAMPAIGN_DIR [--json] [--watch [--interval S]] "
         "[--require-complete]",
         "Progress of a campaign: runs done, failed, running (or interrupted by a crash) and "
         "pending, from the file's status table; throughput and ETA from the rank-0 log "
         "(campaign.h5.log.jsonl); the slowest runs and every failed run with its error. Safe to "
         "run while the job writes the file. A directory made by 'lrid run' shows its campaign.h5 "
         "and where its results are.\n"
         "Given a campaign directory made by 'lrid submit': the same for every shard, with its "
         "Slurm job and state (squeue, or sacct once squeue has forgotten it), totals, throughput "
         "now and over the campaign, ETA, the failed runs with their errors, the error line of each "
         "failed or cancelled shard's Slurm output, the reduction job, and which shards 'lrid "
         "resume' would resubmit. Works while jobs run, after they finish, and after a crash "
         "(without Slurm it shows the files only).\n"
         "Exit codes: 0, 2 bad input, 3 with --require-complete when a shard is not complete.",
         {"lrid status smoke.h5",
         "lrid status smoke.h5 --json",
         "lrid status lrid-smoke"}}},
      {"merge", "combine shard files of one job into one campaign file", cmd_merge,
       Help{"merge SHARD_FILES... --out campaign.h5 [--force]",
         "Combine the shard files of one job (made by 'lrid train --shard I/N') into one campaign "
         "file, as if the job had run unsharded. Refuses files of other jobs, of another shard "
         "count, or two files of the same shard. Missing shards are allowed (their runs stay "
         "pending) and reported.",
         {"lrid merge shard-0.h5 shard-1.h5 --out merged.h5"}}},
      {"submit", "run a job on a Slurm cluster: sbatch array of shards + chained merge/analyze", cmd_submit,
       Help{"submit JOB.yaml --cluster cluster/X.yaml --shards N --dir CAMPAIGN_DIR [--max-concurrent "
         "M] [--no-analyze] [--dry-run [--json]]",
         "Run a job on a Slurm cluster. Renders two scripts from the templates in slurm/ into "
         "CAMPAIGN_DIR: shards.sbatch, an array job whose task I runs 'lrid train JOB --shard I/N "
         "--resume --out CAMPAIGN_DIR/shards/shard-I.h5' (so a requeued or resubmitted task "
         "continues its shard), and reduce.sbatch, chained with --dependency=afterany, which merges "
         "the shards into CAMPAIGN_DIR/campaign.h5 and runs 'lrid analyze' on it. Submits both with "
         "sbatch and records the job ids, the shard layout and the job hash in "
         "CAMPAIGN_DIR/campaign.json. Then: 'lrid status CAMPAIGN_DIR [--watch]' and 'lrid resume "
         "CAMPAIGN_DIR' (resubmits the shards that failed, were cancelled, timed out...). The "
         "examples need a Slurm cluster; a local one: cluster/local/start.sh DIR, then 'source "
         "DIR/env.sh'.",
         {"lrid submit jobs/smoke.yaml --cluster cluster/local.yaml --shards 2 --dir smoke-slurm --dry-run",
         "lrid submit jobs/smoke.yaml --cluster cluster/local.yaml --shards 2 --dir smoke-slurm",
         "lrid status smoke-slurm --watch --interval 2"}}},
      {"resume", "resubmit the failed/cancelled shards of a Slurm campaign directory", cmd_resume,
       Help{"resume CAMPAIGN_DIR [--job JOB.yaml] [--max-concurrent M] [--dry-run]",
         "Resubmit what a Slurm campaign (made by 'lrid submit') still lacks. A shard is "
         "resubmitted when its shard file is missing or not complete (runs pending, interrupted, or "
         "failed with attempts left) and Slurm does not have it pending or running: its array task "
         "failed, was cancelled, timed out, hit a node failure or was preempted. Exactly those "
         "array indices are resubmitted with 'sbatch --array=I,J,... shards.sbatch' (each task "
         "resumes its shard: runs already done are not trained again), and a new reduction is "
         "chained after them. A shard still pending or running is never submitted twice. A "
         "directory whose job file or shard files belong to another job is refused.",
         {"lrid resume smoke-slurm --dry-run",
         "lrid resume smoke-slurm --job jobs/smoke.yaml"}}},
      {"stats", "statistics of one HDF5 dataset under a condition, as JSON", cmd_stats,
       Help{"stats FILE.h5:/path/to/dataset [--measure act|weight|gradavg] [--fraction f] [--noise sigma] [--seed s] "
         "[--statistics NAMES]",
         "Computes the paper's statistics of one float32/float64 HDF5 dataset under a measurement\n"
         "condition and prints JSON: file, dataset, shape, dtype, measure, condition, examples,\n"
         "units, units_kept and statistics {name: value} (NaN/inf as the strings \"nan\", \"inf\",\n"
         "\"-inf\"). Works without mpirun.\n\n"
         "Layouts (row-major):\n"
         "  act      [examples, units...] (rank >= 2): the non-batch axes are the units; each\n"
         "           statistic is computed per example over the kept units, then averaged over\n"
         "           the examples; the same units are kept for every example.\n"
         "  weight   any rank >= 1: all entries flattened are the units.\n"
         "  gradavg  [examples] per-example values (no units: --fraction must be 1), or\n"
         "           [examples, units]: the per-example value is the sum over the kept units;\n"
         "           gradavg<raw|sq|abs>_id = batch mean of v, v^2, |v|.\n"
         "Noise N(0, sigma^2) is added to every entry, then ceil(f * units) units (at least 1)\n"
         "are kept (a fixed random subset for the seed).",
         {"/usr/bin/python3 -c \"import h5py, numpy; h5py.File('acts.h5', 'w')['x'] = numpy.random.rand(64, 100)\"",
         "lrid stats acts.h5:/x",
         "lrid stats acts.h5:/x --fraction 0.5 --noise 0.1 --seed 3 --statistics actsq_mean,actabs_norm"}}},
      {"fit", "fit a learning-rule model for one measurement setting (for classify)", cmd_fit,
       Help{"fit campaign.h5 [analysis.key=value ...] --out MODEL.h5 [options]   (under mpirun/srun)",
         "Fits the classifier for one measurement setting that matches an experiment: an observable "
         "class, a measurement condition, the trajectory points available and the statistics. "
         "Prints the cross-validated accuracy of that setting (the paper's protocol: balanced "
         "splits, z-scoring, CV over the forest grid of the job's analysis section), then fits the "
         "final random forest on every sample and writes a self-describing HDF5 model file for "
         "'lrid classify'. On the quickstart's campaign, for instance: mpirun -np 2 lrid fit "
         "lrid-quickstart/campaign.h5 --condition f0.25_s0.5 --spread 5 --out act.model.h5",
         {"mpirun -np 2 lrid fit smoke.h5 --out act.model.h5",
         "lrid fit smoke.h5 --observable weight --condition f0.5_s0.1 --spread 3 --out weight.model.h5"}}},
      {"classify", "which learning rule a recording looks like, with probabilities", cmd_classify,
       Help{"classify MODEL.h5 RECORDING.h5 [--json]",
         "Reads a recording (docs/recordings.md: per population, activity [points, examples, units] "
         "at time points along learning, their positions, the stimuli and the depth), computes the "
         "model's statistics with the campaign's kernels and prints, per population, the predicted "
         "learning rule with class probabilities, and the combined verdict. Warns when the "
         "recording's features fall outside the range the model was fitted on.",
         {"lrid classify act.model.h5 recording.h5",
         "lrid classify act.model.h5 recording.h5 --json"}}},
      {"rules", "the learning rules and classifiers this lrid knows, with their job keys", cmd_rules,
       Help{"rules [--json]",
         "Lists the learning rules of lrid's registry (one file each under src/config/rules/): "
         "name, what the backward kernel B does (exact, fixed, learned, from_weight, tied), whether "
         "the rule follows the shared SGD policy, and its own job keys with their defaults (they "
         "go under training.<rule>; docs/job-file.md, \"Learning rules\"); then the classifiers of "
         "the analysis (one file each under src/analyze/classifiers/) with their default grids. "
         "--json adds aliases, the key descriptions, cost factors, plot colours and references.",
         {"lrid rules", "lrid rules --json"}}},
      {"completion", "print the bash completion script: source <(lrid completion bash)", cmd_completion,
       Help{"completion [bash]",
         "Prints the bash completion script for lrid's commands and options (generated "
         "from the option tables the commands parse, so it is always current).",
         {"source <(lrid completion bash)", "lrid completion bash > lrid.bash-completion"}}},
  };
  return list;
}

}  // namespace lrid::cli
