// Fuzzes the constraint language end to end: lexer, parser, checker,
// compiler and evaluator, with the input as both constraint and preference.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "tcl/checker.h"
#include "tcl/parser.h"
#include "tcl/program.h"
#include "tcl/value.h"

using namespace ardus;

namespace {

const std::map<std::string, tcl::PropertyType> kSchema = {
    {"i", {tcl::BaseType::kInt, false}},    {"f", {tcl::BaseType::kFloat, false}},
    {"s", {tcl::BaseType::kString, false}}, {"b", {tcl::BaseType::kBool, false}},
    {"si", {tcl::BaseType::kInt, true}},    {"ss", {tcl::BaseType::kString, true}}};

const tcl::Properties kOffer = {{"i", std::int64_t{7}},
                                {"f", 2.5},
                                {"s", std::string("Cambridge")},
                                {"si", std::vector<std::int64_t>{1, 2}}};

struct Reader : tcl::PropertyReader {
  explicit Reader(const tcl::Program& p) : p(p) {}
  const tcl::Value* Get(std::uint32_t slot) const override {
    auto it = kOffer.find(p.properties[slot]);
    return it == kOffer.end() ? nullptr : &it->second;
  }
  const tcl::Program& p;
};

tcl::Schema Schema() {
  return [](std::string_view n) -> std::optional<tcl::PropertyType> {
    auto it = kSchema.find(std::string(n));
    if (it == kSchema.end()) return std::nullopt;
    return it->second;
  };
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto ast = tcl::ParseConstraint(text);
  if (ast.ok() && tcl::CheckConstraint(*ast.value(), Schema()).ok()) {
    tcl::Program p = tcl::Compile(*ast.value());
    tcl::Budget budget{100000};
    (void)tcl::Evaluate(p, Reader(p), budget);
    (void)tcl::ToText(*ast.value());
  }
  auto pref = tcl::ParsePreference(text);
  if (pref.ok() && pref.value().expr && tcl::CheckPreference(pref.value(), Schema()).ok()) {
    tcl::Program p = tcl::Compile(*pref.value().expr);
    tcl::Budget budget{100000};
    (void)tcl::Evaluate(p, Reader(p), budget);
  }
  return 0;
}
