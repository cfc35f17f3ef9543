// The `rex notify ...` subcommands (argument parsing is in main.cc): each
// talks to Notify through the request codecs (notify/notify_requests.h) and
// returns the process exit code (common/exit_code.h; kRexExitCodes says it
// in words).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "programs/rex/rex_session.h"

namespace ardus::rex_cli {

struct ChannelArgs {
  std::string channel;
  bool persistent = false;
  std::uint64_t retain_count = 100'000;
  std::uint64_t retain_age_s = 0;
  std::uint64_t retain_bytes = 256 << 20;
};
int CreateChannel(const RexTarget& t, const ChannelArgs& a);

struct PublishArgs {
  std::string channel;
  std::string event;                     // DOMAIN/TYPE/NAME
  std::vector<std::string> assignments;  // field=value: int, float, true/false, else string
  std::vector<std::string> unions;       // field=DISC:VALUE[:default]
  std::string body;                      // text, or @FILE
  std::int32_t priority = 0;
  std::uint64_t timeout_ms = 0;
};
int Publish(const RexTarget& t, const PublishArgs& a);

struct SubscribeArgs {
  std::string channel;
  std::string filter;
  std::string durable;
  std::string from = "first";
  std::uint64_t count = 0;  // 0: until interrupted
  std::uint32_t max_queue = 1000;
  std::string discard = "oldest";
};
int Subscribe(const RexTarget& t, const SubscribeArgs& a);
// With `watch`, keeps printing changes (`count` of them, or until interrupted).
int Types(const RexTarget& t, const std::string& channel, bool watch, std::uint64_t count);

}  // namespace ardus::rex_cli
