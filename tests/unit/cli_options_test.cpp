// The shared option parsing of the subcommands (include/lrid/cli/options.hpp): positional job
// files and key=value overrides, unknown options with did-you-mean, the listing mode that bash
// completion is generated from.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "lrid/cli/commands.hpp"
#include "lrid/cli/options.hpp"
#include "lrid/error.hpp"

using namespace lrid::cli;

namespace {

// argv for a command line (the strings live as long as the Argv).
struct Argv {
  std::vector<std::string> words;
  std::vector<char*> ptrs;
  explicit Argv(std::vector<std::string> w) : words(std::move(w)) {
    for (auto& s : words) ptrs.push_back(s.data());
    ptrs.push_back(nullptr);
  }
  int argc() const { return static_cast<int>(words.size()); }
  char** argv() { return ptrs.data(); }
};

po::options_description grid_like() {
  po::options_description o("options");
  o.add_options()("json", "as JSON")("out", po::value<std::string>(), "output");
  return o;
}

std::string message_of(std::vector<std::string> words, const char* required = "JOB.yaml") {
  Argv a(std::move(words));
  try {
    parse_job_command(a.argc(), a.argv(), "grid", grid_like(), required);
  } catch (const lrid::BadInput& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(CliOptions, JobFileOverridesAndOptions) {
  Argv a({"grid", "training.defaults.steps=5", "job.yaml", "grid.0.batch_sizes=[8]", "--json", "--out", "x"});
  const auto cmd = parse_job_command(a.argc(), a.argv(), "grid", grid_like(), "JOB.yaml");
  ASSERT_TRUE(cmd.has_value());
  EXPECT_EQ(cmd->args.job, "job.yaml");
  EXPECT_EQ(cmd->args.overrides, (std::vector<std::string>{"training.defaults.steps=5", "grid.0.batch_sizes=[8]"}));
  EXPECT_TRUE(cmd->vm.count("json"));
  EXPECT_EQ(cmd->vm["out"].as<std::string>(), "x");
}

TEST(CliOptions, BadCommandLinesAreOneLine) {
  std::string m = message_of({"grid", "job.yaml", "--jsn"});
  EXPECT_NE(m.find("did you mean"), std::string::npos) << m;
  EXPECT_NE(m.find("--json"), std::string::npos) << m;
  m = message_of({"grid", "a.yaml", "b.yaml"});
  EXPECT_FALSE(m.empty());
  EXPECT_NE(m.find("b.yaml"), std::string::npos) << m;
  m = message_of({"grid", "--json"});
  EXPECT_NE(m.find("missing JOB.yaml"), std::string::npos) << m;
  EXPECT_EQ(message_of({"grid"}, nullptr), "");  // an optional file may be absent
  m = message_of({"grid", "job.yaml", "--out"});
  EXPECT_FALSE(m.empty());
  for (const auto& msg : {message_of({"grid", "job.yaml", "--jsn"}), message_of({"grid", "a.yaml", "b.yaml"})})
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
}

TEST(CliOptions, AnalysisCommandsTakeOnlyAnalysisOverrides) {
  EXPECT_NO_THROW(require_analysis_overrides(JobArgs{"c.h5", {"analysis.splits=2"}}));
  try {
    require_analysis_overrides(JobArgs{"c.h5", {"training.defaults.steps=5"}});
    FAIL() << "a training override on a trained campaign must be refused";
  } catch (const lrid::BadInput& e) {
    EXPECT_NE(std::string(e.what()).find("training.defaults.steps=5"), std::string::npos) << e.what();
  }
}

TEST(CliOptions, SplitListDropsEmptyParts) {
  EXPECT_EQ(split_list("a,b,,c"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(split_list("").empty());
  EXPECT_EQ(split_list(",x,"), std::vector<std::string>{"x"});
}

TEST(CliOptions, ListingModeReadsEveryCommandsTable) {
  // What bash completion is generated from: every command's options, --help included, and the
  // command does nothing else (no file is read).
  for (const auto& c : commands()) {
    SCOPED_TRACE(c.name);
    const auto opts = list_options(c.run, c.name);
    bool help = false;
    for (const auto& o : opts) help = help || o.name == "help";
    EXPECT_TRUE(help);
  }
  const auto grid = list_options(cmd_grid, "grid");
  bool json = false;
  for (const auto& o : grid) json = json || (o.name == "json" && !o.takes_value);
  EXPECT_TRUE(json);
}
