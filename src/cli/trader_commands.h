// The `rex trader ...` subcommands: argument parsing is in rex_main.cc; each
// function here talks to the Trader through rex::Client and prints a human or
// JSON (--json) result. Each returns the process exit code (see kRexExitCodes).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ardus::cli {

inline constexpr const char* kRexExitCodes =
    "Exit codes: 0 done; 1 the server refused the request (the error name is printed, e.g. "
    "unknown_type); 2 bad usage; 3 cannot reach the server; 4 the server broke the protocol; "
    "130 interrupted.";

struct TraderTarget {
  std::string address;  // HOST:PORT
  bool json = false;
  int timeout_ms = 5000;
};

int AddType(const TraderTarget& t, const std::string& name, const std::vector<std::string>& supers,
            const std::vector<std::string>& props);
int DescribeType(const TraderTarget& t, const std::string& name);
int ListTypes(const TraderTarget& t);
int RemoveType(const TraderTarget& t, const std::string& name);

struct ExportArgs {
  std::string type;
  std::vector<std::string> assignments;  // name=value
  std::uint32_t lease = 0;
  bool keepalive = false;  // stay, renew the lease, withdraw on SIGINT/SIGTERM
};
int Export(const TraderTarget& t, const ExportArgs& a);
int Withdraw(const TraderTarget& t, std::uint64_t id);
int Modify(const TraderTarget& t, std::uint64_t id, const std::vector<std::string>& assignments,
           const std::vector<std::string>& remove);
int Describe(const TraderTarget& t, std::uint64_t id);
int Renew(const TraderTarget& t, std::uint64_t id);

struct QueryArgs {
  std::string type;
  std::string constraint;
  std::string preference;
  std::uint32_t limit = 0;  // 0: all (up to return_card)
  std::uint32_t search_card = 0, match_card = 0, return_card = 0;
  bool exact = false;
};
int Query(const TraderTarget& t, const QueryArgs& a);
int Watch(const TraderTarget& t, const std::string& type, const std::string& constraint,
          std::uint64_t count);

}  // namespace ardus::cli
