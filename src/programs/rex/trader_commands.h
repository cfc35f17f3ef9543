// The `rex trader ...` subcommands: argument parsing is in main.cc; each
// function here talks to the Trader through rex::Client and the request
// codecs (trader/trader_requests.h) and prints a human or JSON (--json)
// result. Each returns the process exit code (common/exit_code.h;
// kRexExitCodes says it in words).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "programs/rex/rex_session.h"

namespace ardus::rex_cli {

int AddType(const RexTarget& t, const std::string& name, const std::vector<std::string>& supers,
            const std::vector<std::string>& props);
int DescribeType(const RexTarget& t, const std::string& name);
int ListTypes(const RexTarget& t);
int RemoveType(const RexTarget& t, const std::string& name);

struct ExportArgs {
  std::string type;
  std::vector<std::string> assignments;  // name=value
  std::uint32_t lease = 0;
  bool keepalive = false;  // stay, renew the lease, withdraw on SIGINT/SIGTERM
};
int Export(const RexTarget& t, const ExportArgs& a);
int Withdraw(const RexTarget& t, std::uint64_t id);
int Modify(const RexTarget& t, std::uint64_t id, const std::vector<std::string>& assignments,
           const std::vector<std::string>& remove);
int Describe(const RexTarget& t, std::uint64_t id);
int Renew(const RexTarget& t, std::uint64_t id);

struct QueryArgs {
  std::string type;
  std::string constraint;
  std::string preference;
  std::uint32_t limit = 0;  // 0: all (up to return_card)
  std::uint32_t search_card = 0, match_card = 0, return_card = 0;
  bool exact = false;
};
int Query(const RexTarget& t, const QueryArgs& a);
int Watch(const RexTarget& t, const std::string& type, const std::string& constraint,
          std::uint64_t count);

}  // namespace ardus::rex_cli
