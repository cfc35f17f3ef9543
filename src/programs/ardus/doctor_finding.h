// What `ardus doctor` reports: one finding per check, with the fix an
// operator can apply. Findings are plain values; doctor_checks.h gathers
// them, doctor_command.cc prints them.
#pragma once

#include <string>
#include <vector>

namespace ardus::doctor {

enum class Status { kOk, kWarn, kFail };
const char* StatusName(Status status);  // "ok", "warn", "fail"

struct Finding {
  std::string check;  // short stable name, e.g. "port-1835", "route", "firewall"
  Status status = Status::kOk;
  std::string detail;  // what was seen
  std::string fix;     // what to do about it; empty when status is kOk
};

// One line per finding: "[fail] route: detail -- fix: ...".
std::string FormatHuman(const std::vector<Finding>& findings);
// A JSON array of {check, status, detail, fix}.
std::string FormatJson(const std::vector<Finding>& findings);
// True when any finding is fail (warnings alone do not count).
bool AnyFailure(const std::vector<Finding>& findings);

}  // namespace ardus::doctor
