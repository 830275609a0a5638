// lrid classify MODEL.h5 RECORDING.h5 [--json]: which learning rule a recording looks like.
#include <cstdio>
#include <iostream>
#include <string>

#include "lrid/analyze/features.hpp"
#include "lrid/analyze/model.hpp"
#include "lrid/cli/commands.hpp"
#include "lrid/cli/options.hpp"
#include "lrid/error.hpp"

namespace lrid::cli {

int cmd_classify(int argc, char** argv) {
  po::options_description opts("options");
  opts.add_options()
      ("json", "print the report as JSON")
      ("campaign-run", po::value<int64_t>(),
       "instead of a recording: classify this run of the campaign given as the second argument, from the "
       "statistics the campaign stored (the reference a recording of that run reproduces)")
      ("any-version", "accept a model made by another lrid version");
  auto vm = parse_options(argc, argv, "classify", opts, {{"model", 1, "MODEL.h5"}, {"recording", 1, "RECORDING.h5"}});
  if (!vm) return 0;
  const std::string model_path = (*vm)["model"].as<std::string>();
  const std::string data_path = (*vm)["recording"].as<std::string>();
  const analyze::RuleModel m = analyze::load_model(model_path, vm->count("any-version") > 0);
  analyze::ClassifyReport rep;
  if (vm->count("campaign-run")) {
    const analyze::CampaignData c = analyze::read_campaign(data_path);
    rep = analyze::classify_campaign_run(m, c, (*vm)["campaign-run"].as<int64_t>());
  } else {
    const analyze::Recording r = analyze::read_recording(data_path);
    try {
      rep = analyze::classify_recording(m, r);
    } catch (const BadInput& e) {
      throw BadInput(data_path + ": " + e.what());
    }
  }
  if (vm->count("json"))
    std::cout << rep.to_json(m).dump(1) << "\n";
  else
    std::cout << rep.to_text(m);
  return 0;
}

}  // namespace lrid::cli
