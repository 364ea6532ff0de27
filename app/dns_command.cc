// `outpost dns` (placeholder until its module lands).
#include "app/dns_command.h"

#include <cstdio>

namespace mta::app {

int dns_command(std::span<const std::string_view> /*args*/) {
  std::fputs("outpost dns: not built yet in this version\n", stderr);
  return 2;
}

}  // namespace mta::app
