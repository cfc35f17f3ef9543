// The constraint language stage by stage, then the compiled evaluator
// against the naive reference evaluator on generated expressions.
#include <gtest/gtest.h>

#include <random>

#include "support/naive_tcl.h"
#include "tcl/checker.h"
#include "tcl/lexer.h"
#include "tcl/parser.h"
#include "tcl/program.h"

namespace ardus::tcl {
namespace {

using tcl::BaseType;
using tcl::Properties;
using tcl::PropertyType;
using tcl::Value;

const std::map<std::string, PropertyType> kSchema = {
    {"i1", {BaseType::kInt, false}},    {"i2", {BaseType::kInt, false}},
    {"f1", {BaseType::kFloat, false}},  {"s1", {BaseType::kString, false}},
    {"s2", {BaseType::kString, false}}, {"b1", {BaseType::kBool, false}},
    {"si", {BaseType::kInt, true}},     {"ss", {BaseType::kString, true}},
    {"sf", {BaseType::kFloat, true}},   {"sb", {BaseType::kBool, true}},
};

Schema TestSchema() {
  return [](std::string_view name) -> std::optional<PropertyType> {
    auto it = kSchema.find(std::string(name));
    if (it == kSchema.end()) return std::nullopt;
    return it->second;
  };
}

struct MapReader : PropertyReader {
  MapReader(const Program& p, const Properties& props) : p(p), props(props) {}
  const Value* Get(std::uint32_t slot) const override {
    auto it = props.find(p.properties[slot]);
    return it == props.end() ? nullptr : &it->second;
  }
  const Program& p;
  const Properties& props;
};

// Parses, checks and evaluates; returns "true", "false", "undefined" or the
// error message.
std::string Verdict(const std::string& text, const Properties& props) {
  auto ast = ParseConstraint(text);
  if (!ast.ok()) return ast.status().message();
  if (auto s = CheckConstraint(*ast.value(), TestSchema()); !s.ok()) return s.message();
  Program p = Compile(*ast.value());
  Budget budget{1'000'000};
  Evaluation e = Evaluate(p, MapReader(p, props), budget);
  if (e.outcome != Evaluation::kValue) return "undefined";
  return e.truth() ? "true" : "false";
}

const Properties kOffer = {{"i1", std::int64_t{30}},
                           {"i2", std::int64_t{0}},
                           {"f1", 2.5},
                           {"s1", std::string("Cambridge Lab")},
                           {"b1", true},
                           {"si", std::vector<std::int64_t>{1, 2, 3}},
                           {"ss", std::vector<std::string>{"en", "fr"}}};

TEST(TclLexer, TokensAndColumns) {
  auto toks = Lex("ppm >= 20.5e1 and 'it\\'s' ~ x");
  ASSERT_TRUE(toks.ok()) << toks.status().message();
  const auto& t = toks.value();
  ASSERT_EQ(t.size(), 8u);
  EXPECT_EQ(t[0].kind, Tok::kIdent);
  EXPECT_EQ(t[1].kind, Tok::kGe);
  EXPECT_EQ(t[1].column, 5);
  EXPECT_EQ(t[2].kind, Tok::kFloat);
  EXPECT_DOUBLE_EQ(t[2].float_value, 205.0);
  EXPECT_EQ(t[4].kind, Tok::kString);
  EXPECT_EQ(t[4].text, "it's");
  EXPECT_EQ(t[7].kind, Tok::kEnd);
}

TEST(TclLexer, Errors) {
  EXPECT_NE(Lex("'open").status().message().find("column 1: unterminated"), std::string::npos);
  EXPECT_NE(Lex("a # b").status().message().find("column 3"), std::string::npos);
  EXPECT_NE(Lex("99999999999999999999").status().message().find("64 bits"), std::string::npos);
  EXPECT_EQ(Lex(std::string(kMaxConstraintBytes + 1, ' ')).status().kind(),
            ErrorKind::kLimitExceeded);
}

TEST(TclParser, PrecedenceFollowsTheSpec) {
  auto text = [](const char* s) {
    auto n = ParseConstraint(s);
    return n.ok() ? ToText(*n.value()) : n.status().message();
  };
  EXPECT_EQ(text("a + b * c == d or e and f"), "(((a + (b * c)) == d) or (e and f))");
  EXPECT_EQ(text("'x' ~ a + b"), "('x' ~ (a + b))");
  EXPECT_EQ(text("a ~ b in s"), "((a ~ b) in s)");
  EXPECT_EQ(text("not a and b"), "(not (a) and b)");
  EXPECT_EQ(text("a - -3"), "(a - -3)");
  EXPECT_EQ(text("exist a or (b)"), "(exist a or b)");
  EXPECT_EQ(text(""), "TRUE");
}

TEST(TclParser, SyntaxErrorsPointAtTheColumn) {
  EXPECT_EQ(ParseConstraint("a < b < c").status().message(), "column 7: unexpected '<'");
  EXPECT_EQ(ParseConstraint("(a == 1").status().message(), "column 8: ')' expected");
  EXPECT_EQ(ParseConstraint("a in 3").status().message(),
            "column 6: 'in' takes a sequence property name on its right");
  EXPECT_NE(ParseConstraint("- a").status().message().find("only before a number"),
            std::string::npos);
  EXPECT_FALSE(ParseConstraint("not not a").ok());  // the grammar's factor_not takes a factor
}

TEST(TclParser, LimitsOnDepthAndSize) {
  std::string deep(kMaxDepth + 1, '(');
  deep += "a" + std::string(kMaxDepth + 1, ')');
  auto n = ParseConstraint(deep);
  EXPECT_EQ(n.status().kind(), ErrorKind::kLimitExceeded) << n.status().message();
  std::string wide = "a";
  for (int i = 0; i < kMaxNodes; ++i) wide += " + a";
  EXPECT_EQ(ParseConstraint(wide).status().kind(), ErrorKind::kLimitExceeded);
  // docs/rex-protocol.md: 64 levels of parentheses, and not one more.
  ASSERT_EQ(kMaxDepth, 64);
  std::string ok(kMaxDepth, '(');
  ok += "i1 > 1" + std::string(kMaxDepth, ')');
  EXPECT_TRUE(ParseConstraint(ok).ok()) << ParseConstraint(ok).status().message();
  std::string over = "(" + ok + ")";
  EXPECT_EQ(ParseConstraint(over).status().kind(), ErrorKind::kLimitExceeded);
  EXPECT_TRUE(ParseConstraint("not (" + std::string(kMaxDepth - 1, '(') + "b1" +
                              std::string(kMaxDepth, ')'))
                  .ok());
}

TEST(TclParser, Preferences) {
  EXPECT_EQ(ParsePreference("max ppm + 1").value().kind, PreferenceKind::kMax);
  EXPECT_EQ(ParsePreference("").value().kind, PreferenceKind::kFirst);
  EXPECT_EQ(ParsePreference("random").value().kind, PreferenceKind::kRandom);
  EXPECT_FALSE(ParsePreference("random ppm").ok());
  EXPECT_FALSE(ParsePreference("biggest ppm").ok());
}

TEST(TclChecker, TypeErrorsNameTheOperator) {
  EXPECT_EQ(Verdict("i1 > 'x'", kOffer),
            "column 4: '>' cannot compare int with string (ordering takes two numbers or two "
            "strings)");
  EXPECT_EQ(Verdict("nosuch == 1", kOffer), "column 1: unknown property 'nosuch'");
  EXPECT_EQ(Verdict("i1 + 1", kOffer), "column 4: a constraint must be boolean, but this is int");
  EXPECT_EQ(Verdict("'a' in si", kOffer), "column 5: 'in' looks for a string in a sequence of int");
  EXPECT_EQ(Verdict("si == 1", kOffer),
            "column 1: sequence property 'si' can only be used after 'in'");
  EXPECT_EQ(Verdict("1 ~ s1", kOffer), "column 3: '~' takes two strings, not int and string");
  EXPECT_EQ(Verdict("not i1", kOffer),
            "column 5: the operand of 'not' must be boolean, but this is int");
  EXPECT_EQ(Verdict("b1 < TRUE", kOffer).find("column 4"), 0u);
}

TEST(TclEvaluator, Semantics) {
  EXPECT_EQ(Verdict("i1 > 20 and 'Cambridge' ~ s1", kOffer), "true");
  EXPECT_EQ(Verdict("'Oxford' ~ s1", kOffer), "false");
  EXPECT_EQ(Verdict("2 in si and 'fr' in ss", kOffer), "true");
  EXPECT_EQ(Verdict("2.0 in si", kOffer), "true");
  EXPECT_EQ(Verdict("i1 / 7 == 4", kOffer), "true");  // integer division
  EXPECT_EQ(Verdict("i1 / 7.0 > 4.28", kOffer), "true");
  EXPECT_EQ(Verdict("f1 * 2 == 5", kOffer), "true");
  EXPECT_EQ(Verdict("i1 / i2 == 0", kOffer), "undefined");        // division by zero
  EXPECT_EQ(Verdict("s2 == 'x'", kOffer), "undefined");           // missing property
  EXPECT_EQ(Verdict("exist s2 and s2 == 'x'", kOffer), "false");  // guarded
  EXPECT_EQ(Verdict("not exist s2 or s2 == 'x'", kOffer), "true");
  EXPECT_EQ(Verdict("9223372036854775807 + i1 > 0", kOffer), "undefined");  // overflow
  EXPECT_EQ(Verdict("b1 == TRUE and not (i1 < 30)", kOffer), "true");
  EXPECT_EQ(Verdict("", kOffer), "true");
}

TEST(TclEvaluator, BudgetStopsLongEvaluations) {
  auto ast = ParseConstraint("'zz' ~ s1 and 'zz' ~ s1");
  ASSERT_TRUE(CheckConstraint(*ast.value(), TestSchema()).ok());
  Program p = Compile(*ast.value());
  Properties props = {{"s1", std::string(10000, 'z')}};
  Budget budget{100};
  EXPECT_EQ(Evaluate(p, MapReader(p, props), budget).outcome, Evaluation::kOverBudget);
  EXPECT_EQ(budget.remaining, 0u);
}

// `~` costs the lengths of both strings, and runs in time linear in them:
// the worst case of a naive search ('aaa...ab' in 'aaa...a') is charged and
// run like any other.
TEST(TclEvaluator, SubstringIsChargedBothLengths) {
  const std::string needle = std::string(3000, 'a') + "b";
  auto ast = ParseConstraint("'" + needle + "' ~ s1");
  ASSERT_TRUE(ast.ok());
  ASSERT_TRUE(CheckConstraint(*ast.value(), TestSchema()).ok());
  Program p = Compile(*ast.value());
  Properties props = {{"s1", std::string(60000, 'a')}};
  Budget budget{1'000'000};
  Evaluation e = Evaluate(p, MapReader(p, props), budget);
  ASSERT_EQ(e.outcome, Evaluation::kValue);
  EXPECT_FALSE(e.truth());
  std::uint64_t instructions = p.code.size();
  EXPECT_EQ(1'000'000 - budget.remaining, instructions + 60000 + needle.size());
  props["s1"] = std::string(60000, 'a') + "b";
  budget.remaining = 1'000'000;
  EXPECT_TRUE(Evaluate(p, MapReader(p, props), budget).truth());
  EXPECT_EQ(Verdict("'' ~ s1", kOffer), "true");
  EXPECT_EQ(Verdict("'Cambridge Lab and more' ~ s1", kOffer), "false");
}

// ------------------------------------------------ differential testing

class Generator {
 public:
  explicit Generator(std::uint64_t seed) : rng_(seed) {}

  // An expression of the wanted kind ('b' bool, 'n' number, 's' string);
  // occasionally ill-typed on purpose so the checker's verdicts are exercised.
  std::string Expr(char kind, int depth) {
    if (Chance(3)) kind = "bns"[Pick(3)];
    if (depth <= 0) return Leaf(kind);
    switch (kind) {
      case 'b': {
        switch (Pick(8)) {
          case 0:
            return Expr('b', depth - 1) + " and " + Expr('b', depth - 1);
          case 1:
            return Expr('b', depth - 1) + " or " + Expr('b', depth - 1);
          case 2:
            return "not (" + Expr('b', depth - 1) + ")";
          // Comparisons do not chain, so a comparison is parenthesised as an operand.
          case 3:
            return "(" + Expr('n', depth - 1) + Cmp() + Expr('n', depth - 1) + ")";
          case 4:
            return "(" + Expr('s', depth - 1) + Cmp() + Expr('s', depth - 1) + ")";
          case 5:
            return "(" + Leaf('s') + " ~ " + Leaf('s') + ")";
          case 6:
            return "(" + InExpr() + ")";
          default:
            return "(" + Expr('b', depth - 1) + ")";
        }
      }
      case 'n': {
        static const char* kOps[] = {" + ", " - ", " * ", " / "};
        if (Chance(4)) return "(" + Expr('n', depth - 1) + ")";
        return Expr('n', depth - 1) + kOps[Pick(4)] + Expr('n', depth - 1);
      }
      default:
        return Leaf('s');
    }
  }

  Properties Offer() {
    Properties p;
    auto maybe = [&](const char* name, Value v) {
      if (!Chance(6)) p[name] = std::move(v);
    };
    maybe("i1", Int());
    maybe("i2", Int());
    maybe("f1", static_cast<double>(Int()) / 2);
    maybe("s1", Str());
    maybe("s2", Str());
    maybe("b1", Chance(2));
    maybe("si", std::vector<std::int64_t>{Int(), Int()});
    maybe("ss", std::vector<std::string>{Str(), Str()});
    maybe("sf", std::vector<double>{Int() / 2.0});
    maybe("sb", std::vector<bool>{Chance(2)});
    return p;
  }

 private:
  int Pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  bool Chance(int one_in) { return Pick(one_in) == 0; }
  std::int64_t Int() {
    if (Chance(20)) return Chance(2) ? INT64_MAX : INT64_MIN + 1;
    return Pick(7) - 3;
  }
  std::string Str() {
    static const char* kStrs[] = {"", "a", "ab", "b", "ba", "Cambridge"};
    return kStrs[Pick(6)];
  }
  std::string Cmp() {
    static const char* kCmps[] = {" == ", " != ", " < ", " <= ", " > ", " >= "};
    return kCmps[Pick(6)];
  }
  std::string Leaf(char kind) {
    switch (kind) {
      case 'b': {
        static const char* kB[] = {"TRUE", "FALSE", "b1", "exist s2", "exist i1"};
        return kB[Pick(5)];
      }
      case 'n': {
        static const char* kN[] = {
            "i1", "i2", "f1", "0", "1", "-2", "2.5", "0.0", "9223372036854775807"};
        return kN[Pick(9)];
      }
      default: {
        static const char* kS[] = {"s1", "s2", "'a'", "''", "'Cambridge'"};
        return kS[Pick(5)];
      }
    }
  }
  std::string InExpr() {
    switch (Pick(5)) {
      case 0:
        return Leaf('n') + " in si";
      case 1:
        return Leaf('n') + " in sf";
      case 2:
        return Leaf('s') + " in ss";
      case 3:
        return Leaf('b') + " in sb";
      default:
        return Leaf('s') + " in si";  // ill-typed
    }
  }

  std::mt19937_64 rng_;
};

TEST(TclDifferential, CompiledEvaluatorAgreesWithNaiveReference) {
  const std::uint64_t seed =
      ::testing::FLAGS_gtest_random_seed ? ::testing::FLAGS_gtest_random_seed : 20261122;
  Generator gen(seed);
  int checked = 0, rejected = 0, defined = 0, truths = 0;
  std::vector<Properties> offers;
  for (int i = 0; i < 40; ++i) offers.push_back(gen.Offer());
  for (int i = 0; i < 8000; ++i) {
    std::string text = gen.Expr('b', 1 + i % 4);
    auto ast = ParseConstraint(text);
    ASSERT_TRUE(ast.ok()) << "seed " << seed << ": " << text << ": " << ast.status().message();
    // Printing back and re-parsing gives the same tree.
    auto again = ParseConstraint(ToText(*ast.value()));
    ASSERT_TRUE(again.ok()) << ToText(*ast.value());
    ASSERT_EQ(ToText(*again.value()), ToText(*ast.value()));
    if (!CheckConstraint(*ast.value(), TestSchema()).ok()) {
      ++rejected;
      continue;
    }
    ++checked;
    Program p = Compile(*ast.value());
    for (const auto& offer : offers) {
      Budget budget{1'000'000};
      Evaluation e = Evaluate(p, MapReader(p, offer), budget);
      auto naive = testing::NaiveEvaluate(*ast.value(), offer);
      ASSERT_EQ(e.outcome == Evaluation::kValue, naive.has_value())
          << "seed " << seed << ": " << text;
      if (!naive) continue;
      ++defined;
      ASSERT_EQ(e.truth(), std::get<bool>(*naive)) << "seed " << seed << ": " << text;
      truths += e.truth();
    }
  }
  // The generator must exercise all outcomes, or the comparison proves little.
  EXPECT_GT(checked, 3000);
  EXPECT_GT(rejected, 100);
  EXPECT_GT(defined, 30000);
  EXPECT_GT(truths, 5000);
  EXPECT_LT(truths, defined - 5000);
  std::printf("seed %llu: %d checked, %d rejected, %d defined evaluations, %d true\n",
              static_cast<unsigned long long>(seed), checked, rejected, defined, truths);
}

}  // namespace
}  // namespace ardus::tcl
