// Command-line plumbing shared by `ardus send` and `ardus receive`: the exit
// codes, value parsers and the options each command takes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/exit_code.h"
#include "common/status.h"

namespace ardus::cli {

// The exit code (common/exit_code.h) for how a command ended.
int ExitCodeFor(const Status& status);

// "500M", "2G", "750k", "1000000" (bits per second, SI multipliers).
// Errors: kInvalidArgument naming --rate, also outside 10k..400G.
Result<std::uint64_t> ParseRate(const std::string& text);

// --rate: a fixed rate, or "auto[:min=R,max=R]" to adapt to loss.
// Errors: kInvalidArgument naming --rate.
struct RateSetting {
  bool adaptive = false;
  std::uint64_t start_bps = 0;  // the fixed rate, or where adaptation starts
  std::uint64_t min_bps = 10'000'000, max_bps = 100'000'000'000;
};
Result<RateSetting> ParseRateSetting(const std::string& text);
std::string FormatBytes(std::uint64_t bytes);
std::string FormatRate(double bits_per_second);
// A nonzero random 32-bit value from the kernel (getrandom).
std::uint32_t RandomId();

// The known name nearest to `word` by edit distance, if it is close enough
// to be a likely typo (at most 2 edits, and fewer than the word's length).
std::optional<std::string> NearestName(const std::string& word,
                                       const std::vector<std::string>& names);

struct CommonOptions {
  std::string interface;   // name or address; empty: kernel default
  std::string group;       // control group
  std::uint16_t port = 0;  // control port (1835)
  bool json = false;
  bool progress = true;  // shown only on a TTY
};

struct SendOptions {
  CommonOptions common;
  std::vector<std::string> paths;
  std::uint32_t receivers = 0;
  double wait_seconds = 10;
  std::string rate = "auto";
  std::string digest = "xxh128";  // file digest algorithm: xxh128 or sha256
  std::string data_group;
  std::uint16_t data_port = 0;
  std::uint16_t feedback_port = 0;
  int ttl = 1;
  bool multicast_loop = false;  // deliver to receivers on this host too
  double receiver_timeout = 15;
  double progress_timeout = 60;
  std::string key;                 // identity key file; empty: a fresh key per session
  std::vector<std::string> allow;  // receivers (FPR or @FILE); empty: any receiver
  std::string encrypt = "aes256-gcm";
};

struct ReceiveOptions {
  CommonOptions common;
  std::string dir;
  bool once = false;
  double timeout_seconds = 0;      // 0: wait for a session forever
  bool keep_special_bits = false;  // apply setuid/setgid/sticky from the manifest
  std::string key;                 // identity key file; empty: a fresh key per run
  std::vector<std::string> trust;  // senders (FPR or @FILE); empty: any sender
  bool accept_plaintext = false;   // take version 1 (--encrypt none) sessions too
};

struct KeygenOptions {
  std::string path;
};

struct DoctorOptions {
  CommonOptions common;
  std::string data_group;
  std::uint16_t data_port = 0, feedback_port = 0;
  std::string trader, notify;   // HOST:PORT to try; empty: not checked
  std::string tls_ca, tls_pin;  // verify them over TLS
  bool probe = false;           // exchange probes with other hosts instead
  double probe_seconds = 5;
};

int RunSend(const SendOptions& options);
int RunKeygen(const KeygenOptions& options);
int RunReceive(const ReceiveOptions& options);
int RunDoctor(const DoctorOptions& options);

}  // namespace ardus::cli
