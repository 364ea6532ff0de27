// `outpost bench` (placeholder until its module lands).
#include "app/bench_command.h"

#include <cstdio>

namespace mta::app {

int bench_command(std::span<const std::string_view> /*args*/) {
  std::fputs("outpost bench: not built yet in this version\n", stderr);
  return 2;
}

}  // namespace mta::app
