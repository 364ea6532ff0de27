// Reports a failed MTA_ASSERT on stderr and aborts, so a core dump or the sanitizer's stack
// trace shows where the invariant broke.
#include "base/assert.h"

#include <cstdio>
#include <cstdlib>

namespace mta::detail {

void assert_fail(const char* condition, const char* file, int line) noexcept {
  std::fprintf(stderr, "outpost: assertion failed: %s at %s:%d\n", condition, file, line);
  std::fflush(stderr);
  std::abort();
}

}  // namespace mta::detail
