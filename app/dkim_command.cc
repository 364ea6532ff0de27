// `outpost dkim keygen|sign|verify` (placeholder until dkim/ lands).
#include "app/dkim_command.h"

#include <cstdio>

namespace mta::app {

int dkim_command(std::span<const std::string_view> /*args*/) {
  std::fputs("outpost dkim: not built yet in this version\n", stderr);
  return 2;
}

}  // namespace mta::app
