#include "programs/ardus/doctor_finding.h"

#include <nlohmann/json.hpp>

namespace ardus::doctor {

const char* StatusName(Status status) {
  switch (status) {
    case Status::kOk:
      return "ok";
    case Status::kWarn:
      return "warn";
    case Status::kFail:
      return "fail";
  }
  return "fail";
}

std::string FormatHuman(const std::vector<Finding>& findings) {
  std::string out;
  for (const Finding& f : findings) {
    out += std::string("[") + StatusName(f.status) + "] " + f.check + ": " + f.detail;
    if (!f.fix.empty()) out += "\n       fix: " + f.fix;
    out += "\n";
  }
  return out;
}

std::string FormatJson(const std::vector<Finding>& findings) {
  nlohmann::json array = nlohmann::json::array();
  for (const Finding& f : findings) {
    array.push_back({{"check", f.check},
                     {"status", StatusName(f.status)},
                     {"detail", f.detail},
                     {"fix", f.fix}});
  }
  // Details may quote rule text or process names: replace invalid UTF-8.
  return array.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

bool AnyFailure(const std::vector<Finding>& findings) {
  for (const Finding& f : findings) {
    if (f.status == Status::kFail) return true;
  }
  return false;
}

}  // namespace ardus::doctor
