// TTL clamping for TtlCache; the cache itself is a template in cache.h.
#include "dns/cache.h"

#include <algorithm>

namespace mta::dns {

std::chrono::seconds clamp_ttl(std::chrono::seconds ttl, TtlKind kind,
                               const CacheOptions& options) {
  ttl = std::max(ttl, std::chrono::seconds::zero());
  if (kind == TtlKind::answer) ttl = std::max(ttl, options.ttl_floor);
  return std::min(ttl, options.ttl_ceiling);
}

}  // namespace mta::dns
