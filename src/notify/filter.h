// Subscription filters: the trader constraint language in its ETCL dialect
// (`$domain_name`, `$type_name`, `$event_name`, `$priority`, `$.field`; a bare
// name is a field too),
// compiled by the same checker and compiler and run by the same evaluator.
//
// Event fields are not declared anywhere, so a filter's field types are
// inferred from how it uses them: compared with or added to a number, a field
// is a number (ints and floats compare as numbers); with a string, a string;
// as an operand of and/or/not, a boolean. A field whose type cannot be
// inferred (`$.a == $.b`) is an error naming its column. At evaluation a
// field of another type makes the filter undefined: the event does not match.
//
// Thread-safety: a compiled Filter is immutable and may be shared.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "common/status.h"
#include "notify/event.h"
#include "tcl/program.h"

namespace ardus::notify {

class Filter {
 public:
  // Errors: kInvalidArgument ("column N: ..."), kLimitExceeded.
  static Result<std::shared_ptr<const Filter>> Compile(const std::string& text);

  enum class Verdict : std::uint8_t { kNo, kYes, kOverBudget };
  // Evaluates the filter on `e`, spending from `budget`; kOverBudget when the
  // budget ran out first (the event's match is unknown).
  Verdict Evaluate(const Event& e, tcl::Budget& budget) const;
  bool Matches(const Event& e, tcl::Budget& budget) const {
    return Evaluate(e, budget) == Verdict::kYes;
  }
  // The domain and type the filter requires by a top-level equality
  // (`$domain_name == 'X' and ...`); nullopt where it accepts any.
  const std::optional<std::string>& domain() const { return domain_; }
  const std::optional<std::string>& type() const { return type_; }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
  bool match_all_ = false;  // an empty filter: routing needs no evaluation
  tcl::Program program_;
  std::optional<std::string> domain_, type_;
};

}  // namespace ardus::notify
