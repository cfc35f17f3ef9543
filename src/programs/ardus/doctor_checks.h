// The checks of `ardus doctor`: each reads this host's state (/proc, /sys,
// the firewall tools, a REX HELLO to the Trader and Notify) and returns findings with their fix.
// The parsing is in doctor_parse.h; these only gather. Never fails: what
// cannot be read becomes a warn finding saying so.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "io/rex_connect.h"
#include "programs/ardus/doctor_finding.h"

namespace ardus::doctor {

struct CheckSettings {
  std::string interface;  // name or address; empty: the multicast route's device
  std::uint32_t control_group = 0, data_group = 0;  // host order
  std::vector<std::uint16_t> ports;                 // TCP/UDP ports ardus uses (and 116, 124)
  std::string trader, notify;                       // HOST:PORT, empty: not checked
  rex::TlsFiles tls;                                // for both; off: plaintext REX
};

// Every check, in the order printed.
std::vector<Finding> RunChecks(const CheckSettings& settings);

}  // namespace ardus::doctor
