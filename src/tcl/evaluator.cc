// Evaluate: runs a Program against one offer's properties (see program.h).
#include <string.h>  // memmem (glibc, POSIX.1-2024)

#include <algorithm>

#include "tcl/program.h"

namespace ardus::tcl {

namespace {

// One stack cell. Which member is live follows from the instruction stream.
struct Cell {
  std::int64_t i;
  double f;
  std::string_view s;
};

template <typename T>
const T* Scalar(const Value* v) {
  return v ? std::get_if<T>(v) : nullptr;
}

// `~`. Its cost must be what the budget charges, the two lengths, so long
// strings go to glibc's memmem, which is linear (two-way). A plain search is
// quadratic in the worst case ('aaa...ab' in 'aaa...a'), but for short
// strings it is faster than memmem's set-up and costs at most kPlainSearch
// comparisons, at most 32 times the charge.
constexpr std::size_t kPlainSearch = 4096;

bool HasSubstring(std::string_view haystack, std::string_view needle) {
  if (needle.empty()) return true;
  if (needle.size() > haystack.size()) return false;
  if (haystack.size() * needle.size() <= kPlainSearch) {
    return haystack.find(needle) != std::string_view::npos;
  }
  return memmem(haystack.data(), haystack.size(), needle.data(), needle.size()) != nullptr;
}

template <typename T, typename U>
bool Contains(const std::vector<T>& seq, U needle) {
  return std::find(seq.begin(), seq.end(), needle) != seq.end();
}

bool ContainsNumber(const Value* v, double needle, std::uint64_t& cost) {
  if (auto* ints = Scalar<std::vector<std::int64_t>>(v)) {
    cost += ints->size();
    return std::any_of(ints->begin(), ints->end(),
                       [&](std::int64_t x) { return static_cast<double>(x) == needle; });
  }
  auto* floats = Scalar<std::vector<double>>(v);
  cost += floats->size();
  return Contains(*floats, needle);
}

template <typename T>
bool Compare(Code family_base, Code code, const T& a, const T& b) {
  switch (static_cast<int>(code) - static_cast<int>(family_base)) {
    case 0:
      return a == b;
    case 1:
      return a != b;
    case 2:
      return a < b;
    case 3:
      return a <= b;
    case 4:
      return a > b;
    default:
      return a >= b;
  }
}

// Integer arithmetic; false on overflow or division by zero.
bool IntArith(Code code, std::int64_t a, std::int64_t b, std::int64_t* out) {
  switch (code) {
    case Code::kAddI:
      return !__builtin_add_overflow(a, b, out);
    case Code::kSubI:
      return !__builtin_sub_overflow(a, b, out);
    case Code::kMulI:
      return !__builtin_mul_overflow(a, b, out);
    default:
      if (b == 0 || (b == -1 && a == INT64_MIN)) return false;
      *out = a / b;
      return true;
  }
}

bool FloatArith(Code code, double a, double b, double* out) {
  switch (code) {
    case Code::kAddF:
      *out = a + b;
      return true;
    case Code::kSubF:
      *out = a - b;
      return true;
    case Code::kMulF:
      *out = a * b;
      return true;
    default:
      if (b == 0) return false;
      *out = a / b;
      return true;
  }
}

// The interpreter loop. Adds the work done to `cost` and stops once it
// passes `limit`; returns kUndefined early when an operand is missing.
Evaluation Run(const Program& p, const PropertyReader& props, std::uint64_t limit,
               std::uint64_t& cost) {
  Evaluation result;
  Cell stack_storage[64];
  std::vector<Cell> heap;
  Cell* stack = stack_storage;
  if (p.max_stack > 64) {
    heap.resize(p.max_stack);
    stack = heap.data();
  }
  std::size_t sp = 0;  // number of live cells
  const std::size_t n = p.code.size();
  for (std::size_t pc = 0; pc < n; ++pc) {
    if (++cost > limit) return result;  // Evaluate reports it as over budget
    const Instr in = p.code[pc];
    switch (in.code) {
      case Code::kPushInt:
        stack[sp++].i = p.ints[in.arg];
        break;
      case Code::kPushFloat:
        stack[sp++].f = p.floats[in.arg];
        break;
      case Code::kPushBool:
        stack[sp++].i = in.arg;
        break;
      case Code::kPushStr:
        stack[sp++].s = p.strings[in.arg];
        break;
      case Code::kLoadInt: {
        auto* v = Scalar<std::int64_t>(props.Get(in.arg));
        if (!v) return result;
        stack[sp++].i = *v;
        break;
      }
      case Code::kLoadFloat: {  // widens an int (Notify fields are not declared)
        const Value* v = props.Get(in.arg);
        if (auto* d = Scalar<double>(v)) {
          stack[sp++].f = *d;
        } else if (auto* i = Scalar<std::int64_t>(v)) {
          stack[sp++].f = static_cast<double>(*i);
        } else {
          return result;
        }
        break;
      }
      case Code::kLoadBool: {
        auto* v = Scalar<bool>(props.Get(in.arg));
        if (!v) return result;
        stack[sp++].i = *v;
        break;
      }
      case Code::kLoadStr: {
        auto* v = Scalar<std::string>(props.Get(in.arg));
        if (!v) return result;
        stack[sp++].s = *v;
        break;
      }
      case Code::kExist:
        stack[sp++].i = props.Get(in.arg) != nullptr;
        break;
      case Code::kIntToFloat:
        stack[sp - 1].f = static_cast<double>(stack[sp - 1].i);
        break;
      case Code::kNot:
        stack[sp - 1].i = !stack[sp - 1].i;
        break;
      case Code::kAndJump:
      case Code::kOrJump: {
        bool decides = (in.code == Code::kAndJump) ? stack[sp - 1].i == 0 : stack[sp - 1].i != 0;
        if (decides) {
          pc = in.arg - 1;  // the loop's ++pc lands on the target
        } else {
          --sp;
        }
        break;
      }
      case Code::kEqI:
      case Code::kNeI:
      case Code::kLtI:
      case Code::kLeI:
      case Code::kGtI:
      case Code::kGeI:
        --sp;
        stack[sp - 1].i = Compare(Code::kEqI, in.code, stack[sp - 1].i, stack[sp].i);
        break;
      case Code::kEqF:
      case Code::kNeF:
      case Code::kLtF:
      case Code::kLeF:
      case Code::kGtF:
      case Code::kGeF:
        --sp;
        stack[sp - 1].i = Compare(Code::kEqF, in.code, stack[sp - 1].f, stack[sp].f);
        break;
      case Code::kEqS:
      case Code::kNeS:
      case Code::kLtS:
      case Code::kLeS:
      case Code::kGtS:
      case Code::kGeS:
        --sp;
        stack[sp - 1].i = Compare(Code::kEqS, in.code, stack[sp - 1].s, stack[sp].s);
        break;
      case Code::kEqB:
      case Code::kNeB:
        --sp;
        stack[sp - 1].i = Compare(Code::kEqB, in.code, stack[sp - 1].i, stack[sp].i);
        break;
      case Code::kAddI:
      case Code::kSubI:
      case Code::kMulI:
      case Code::kDivI:
        --sp;
        if (!IntArith(in.code, stack[sp - 1].i, stack[sp].i, &stack[sp - 1].i)) return result;
        break;
      case Code::kAddF:
      case Code::kSubF:
      case Code::kMulF:
      case Code::kDivF:
        --sp;
        if (!FloatArith(in.code, stack[sp - 1].f, stack[sp].f, &stack[sp - 1].f)) return result;
        break;
      case Code::kSubstr:
        --sp;
        cost += stack[sp].s.size() + stack[sp - 1].s.size();
        stack[sp - 1].i = HasSubstring(stack[sp].s, stack[sp - 1].s);
        break;
      case Code::kInInt: {
        auto* seq = Scalar<std::vector<std::int64_t>>(props.Get(in.arg));
        if (!seq) return result;
        cost += seq->size();
        stack[sp - 1].i = Contains(*seq, stack[sp - 1].i);
        break;
      }
      case Code::kInNum: {
        const Value* v = props.Get(in.arg);
        if (!Scalar<std::vector<std::int64_t>>(v) && !Scalar<std::vector<double>>(v)) return result;
        stack[sp - 1].i = ContainsNumber(v, stack[sp - 1].f, cost);
        break;
      }
      case Code::kInStr: {
        auto* seq = Scalar<std::vector<std::string>>(props.Get(in.arg));
        if (!seq) return result;
        cost += seq->size();
        stack[sp - 1].i = Contains(*seq, stack[sp - 1].s);
        break;
      }
      case Code::kInBool: {
        auto* seq = Scalar<std::vector<bool>>(props.Get(in.arg));
        if (!seq) return result;
        cost += seq->size();
        stack[sp - 1].i = Contains(*seq, stack[sp - 1].i != 0);
        break;
      }
    }
  }
  result.outcome = Evaluation::kValue;
  result.i = stack[0].i;
  result.f = stack[0].f;
  return result;
}

}  // namespace

Evaluation Evaluate(const Program& p, const PropertyReader& props, Budget& budget) {
  std::uint64_t cost = 0;
  Evaluation e = Run(p, props, budget.remaining, cost);
  if (cost > budget.remaining) {
    budget.remaining = 0;
    e.outcome = Evaluation::kOverBudget;
  } else {
    budget.remaining -= cost;
  }
  return e;
}

}  // namespace ardus::tcl
