#pragma once
// Shared option parsing for the subcommands (Boost.Program_options).
#include <boost/program_options.hpp>
#include <optional>
#include <string>

namespace lrid::cli {

namespace po = boost::program_options;

/// Parses argv for command `name` (usage: a one-line synopsis, about: what it does).
/// Adds --help. Returns nullopt when --help was printed (the command then returns 0).
/// Unknown options, missing values and bad types throw lrid::BadInput naming the option.
std::optional<po::variables_map> parse_options(int argc, char** argv, const std::string& name,
                                               const std::string& usage, const std::string& about,
                                               po::options_description options,
                                               const po::positional_options_description& positional,
                                               const po::options_description& hidden = {});

}  // namespace lrid::cli
