#include "tcl/parser.h"

#include <fmt/core.h>

#include <algorithm>

#include "tcl/lexer.h"

namespace ardus::tcl {

namespace {

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : toks_(std::move(tokens)) {}

  Result<std::unique_ptr<Node>> Whole() {
    auto n = Or();
    if (!error_.ok()) return error_;
    if (Peek().kind != Tok::kEnd) return Failed(fmt::format("unexpected {}", TokName(Peek().kind)));
    return n;
  }

  Result<Preference> WholePreference() {
    Preference p;
    switch (Peek().kind) {
      case Tok::kEnd:
        return p;
      case Tok::kFirst:
        p.kind = PreferenceKind::kFirst;
        break;
      case Tok::kRandom:
        p.kind = PreferenceKind::kRandom;
        break;
      case Tok::kMin:
        p.kind = PreferenceKind::kMin;
        break;
      case Tok::kMax:
        p.kind = PreferenceKind::kMax;
        break;
      case Tok::kWith:
        p.kind = PreferenceKind::kWith;
        break;
      default:
        return Failed("a preference starts with min, max, with, random or first");
    }
    ++pos_;
    if (p.kind == PreferenceKind::kMin || p.kind == PreferenceKind::kMax ||
        p.kind == PreferenceKind::kWith) {
      auto e = Whole();
      if (!e.ok()) return e.status();
      p.expr = std::move(e).value();
    } else if (Peek().kind != Tok::kEnd) {
      return Failed(fmt::format("unexpected {} after the preference", TokName(Peek().kind)));
    }
    return p;
  }

 private:
  using Ptr = std::unique_ptr<Node>;

  // Never past kEnd, even while unwinding after an error.
  const Token& Peek() const { return toks_[std::min(pos_, toks_.size() - 1)]; }
  // Records the first error; parsing then unwinds and Whole() reports it.
  void Fail(std::string what, ErrorKind kind = ErrorKind::kInvalidArgument) {
    if (error_.ok()) {
      error_ = Status::Error(kind, fmt::format("column {}: {}", Peek().column, what));
    }
  }
  Status Failed(std::string what) {
    Fail(std::move(what));
    return error_;
  }

  Ptr Make(Op op, int column) {
    if (++nodes_ > kMaxNodes)
      Fail(fmt::format("expression has over {} terms", kMaxNodes), ErrorKind::kLimitExceeded);
    auto n = std::make_unique<Node>();
    n->op = op;
    n->column = column;
    return n;
  }
  // `column` is the operator's, where errors about the operation point.
  Ptr Binary(Op op, int column, Ptr left, Ptr right) {
    auto n = Make(op, column);
    n->kids.push_back(std::move(left));
    n->kids.push_back(std::move(right));
    return n;
  }

  // Guards recursion depth: the parser recurses only into parentheses.
  struct Depth {
    explicit Depth(Parser& p) : p(p) {
      if (++p.depth_ > kMaxDepth)
        p.Fail(fmt::format("nesting deeper than {}", kMaxDepth), ErrorKind::kLimitExceeded);
    }
    ~Depth() { --p.depth_; }
    Parser& p;
  };

  Ptr Or() {
    Ptr left = And();
    while (error_.ok() && Peek().kind == Tok::kOr) {
      int column = toks_[pos_++].column;
      left = Binary(Op::kOr, column, std::move(left), And());
    }
    return left;
  }
  Ptr And() {
    Ptr left = Compare();
    while (error_.ok() && Peek().kind == Tok::kAnd) {
      int column = toks_[pos_++].column;
      left = Binary(Op::kAnd, column, std::move(left), Compare());
    }
    return left;
  }
  Ptr Compare() {
    Ptr left = In();
    Op op;
    switch (Peek().kind) {
      case Tok::kEq:
        op = Op::kEq;
        break;
      case Tok::kNe:
        op = Op::kNe;
        break;
      case Tok::kLt:
        op = Op::kLt;
        break;
      case Tok::kLe:
        op = Op::kLe;
        break;
      case Tok::kGt:
        op = Op::kGt;
        break;
      case Tok::kGe:
        op = Op::kGe;
        break;
      default:
        return left;
    }
    int column = toks_[pos_++].column;
    return Binary(op, column, std::move(left), In());
  }
  Ptr In() {
    Ptr left = Twiddle();
    if (Peek().kind != Tok::kIn) return left;
    int column = toks_[pos_++].column;
    if (Peek().kind != Tok::kIdent) {
      Fail("'in' takes a sequence property name on its right");
      return left;
    }
    auto right = Make(Op::kProperty, Peek().column);
    right->name = toks_[pos_++].text;
    return Binary(Op::kIn, column, std::move(left), std::move(right));
  }
  Ptr Twiddle() {
    Ptr left = Sum();
    if (Peek().kind != Tok::kTilde) return left;
    int column = toks_[pos_++].column;
    return Binary(Op::kSubstr, column, std::move(left), Sum());
  }
  Ptr Sum() {
    Ptr left = Term();
    while (error_.ok() && (Peek().kind == Tok::kPlus || Peek().kind == Tok::kMinus)) {
      const Token& t = toks_[pos_++];
      Op op = t.kind == Tok::kPlus ? Op::kAdd : Op::kSub;
      left = Binary(op, t.column, std::move(left), Term());
    }
    return left;
  }
  Ptr Term() {
    Ptr left = FactorNot();
    while (error_.ok() && (Peek().kind == Tok::kStar || Peek().kind == Tok::kSlash)) {
      const Token& t = toks_[pos_++];
      Op op = t.kind == Tok::kStar ? Op::kMul : Op::kDiv;
      left = Binary(op, t.column, std::move(left), FactorNot());
    }
    return left;
  }
  Ptr FactorNot() {
    if (Peek().kind != Tok::kNot) return Factor();
    auto n = Make(Op::kNot, Peek().column);
    ++pos_;
    n->kids.push_back(Factor());
    return n;
  }
  Ptr Factor() {
    if (!error_.ok()) return nullptr;
    const Token& t = Peek();
    switch (t.kind) {
      case Tok::kLParen: {
        Depth d(*this);
        if (!error_.ok()) return nullptr;
        ++pos_;
        Ptr inner = Or();
        if (Peek().kind != Tok::kRParen) {
          Fail("')' expected");
          return inner;
        }
        ++pos_;
        return inner;
      }
      case Tok::kExist: {
        ++pos_;
        if (Peek().kind != Tok::kIdent) {
          Fail("'exist' takes a property name");
          return nullptr;
        }
        auto n = Make(Op::kExist, t.column);
        n->name = toks_[pos_++].text;
        return n;
      }
      case Tok::kDefault: {
        // `default $.u` reads as `$.u._default == TRUE`: the event reader
        // answers `u._default` for a union field u, and nothing otherwise.
        ++pos_;
        if (Peek().kind != Tok::kIdent || Peek().text[0] == '$') {
          Fail("'default' takes a field, as in 'default $.u'");
          return nullptr;
        }
        auto part = Make(Op::kProperty, Peek().column);
        part->name = toks_[pos_++].text + "._default";
        auto yes = Make(Op::kLiteral, t.column);
        yes->value = Value(true);
        auto n = Make(Op::kEq, t.column);
        n->kids.push_back(std::move(part));
        n->kids.push_back(std::move(yes));
        return n;
      }
      case Tok::kIdent: {
        if (t.text == "default" && pos_ + 1 < toks_.size() && toks_[pos_ + 1].kind == Tok::kIdent) {
          // `default x` outside a Notify filter's `default $.x`: say what
          // it is rather than "unexpected identifier" at the operand.
          Fail(
              "'default' tests a union field, as in a Notify filter's 'default $.u'; trader "
              "properties are never unions");
          return nullptr;
        }
        auto n = Make(Op::kProperty, t.column);
        n->name = toks_[pos_++].text;
        return n;
      }
      case Tok::kMinus:
        return NegativeNumber();
      case Tok::kInt:
        return Literal(Value(toks_[pos_].int_value));
      case Tok::kFloat:
        return Literal(Value(toks_[pos_].float_value));
      case Tok::kString:
        return Literal(Value(toks_[pos_].text));
      case Tok::kTrue:
        return Literal(Value(true));
      case Tok::kFalse:
        return Literal(Value(false));
      default:
        Fail(fmt::format("unexpected {}; a value, property or '(' was expected", TokName(t.kind)));
        return nullptr;
    }
  }
  Ptr Literal(Value v) {
    auto n = Make(Op::kLiteral, Peek().column);
    n->value = std::move(v);
    ++pos_;
    return n;
  }
  // The grammar allows '-' only before a number literal; fold it in.
  Ptr NegativeNumber() {
    int column = Peek().column;
    ++pos_;
    const Token& t = Peek();
    Ptr n;
    if (t.kind == Tok::kInt) {
      n = Literal(Value(-t.int_value));
    } else if (t.kind == Tok::kFloat) {
      n = Literal(Value(-t.float_value));
    } else {
      Fail("'-' is allowed only before a number (write 0 - x)");
      return nullptr;
    }
    n->column = column;
    return n;
  }

  std::vector<Token> toks_;
  std::size_t pos_ = 0;
  int depth_ = 0;
  int nodes_ = 0;
  Status error_;
};

}  // namespace

Result<std::unique_ptr<Node>> ParseConstraint(std::string_view text, Dialect dialect) {
  auto toks = Lex(text, dialect);
  if (!toks.ok()) return toks.status();
  if (toks.value().size() == 1) {  // only kEnd: empty constraint means TRUE
    auto n = std::make_unique<Node>();
    n->value = true;
    n->column = 1;
    return n;
  }
  return Parser(std::move(toks).value()).Whole();
}

Result<Preference> ParsePreference(std::string_view text) {
  auto toks = Lex(text);
  if (!toks.ok()) return toks.status();
  return Parser(std::move(toks).value()).WholePreference();
}

}  // namespace ardus::tcl
