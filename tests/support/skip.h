// Skipping a test that cannot run here. Outside CI it skips with the reason;
// in CI (the environment has CI=true, as .ci/run and fresh-machine set) it
// fails with the reason instead: CI runs as root on a brand-new machine, so a
// test that cannot run there shows a missing dependency or a broken set-up,
// which a skip would hide.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>

namespace ardus::test {

inline bool InCi() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::strcmp(ci, "true") == 0;
}

}  // namespace ardus::test

// Use as a statement in a test body: ARDUS_SKIP_UNLESS(geteuid() == 0, "needs root").
#define ARDUS_SKIP_UNLESS(condition, why)                               \
  do {                                                                  \
    if (!(condition)) {                                                 \
      if (::ardus::test::InCi()) FAIL() << "cannot run in CI: " << why; \
      GTEST_SKIP() << why;                                              \
    }                                                                   \
  } while (0)
