// MTA_ASSERT: invariant checks that stay on in every build mode. A failed assert is a bug in
// Outpost, never a peer's bad input (validate that and return a Result instead).
#pragma once

namespace mta::detail {
[[noreturn]] void assert_fail(const char* condition, const char* file, int line) noexcept;
}  // namespace mta::detail

#define MTA_ASSERT(condition)                                     \
  do {                                                            \
    if (!(condition)) [[unlikely]] {                              \
      ::mta::detail::assert_fail(#condition, __FILE__, __LINE__); \
    }                                                             \
  } while (false)
