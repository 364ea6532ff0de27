#include "delivery/dsn_routes.h"

#include <memory>
#include <string_view>
#include <utility>

#include "base/ascii.h"

namespace mta::delivery {
namespace {

// The domain of an address, or "".
std::string_view domain_of(std::string_view address) {
  const auto at = address.rfind('@');
  return at == std::string_view::npos ? std::string_view() : address.substr(at + 1);
}

}  // namespace

Bouncer::CommitFn route_dsns(DsnRoutes routes) {
  auto shared = std::make_shared<DsnRoutes>(std::move(routes));
  return [shared](std::vector<queue::Envelope>&& parts, std::string&& body,
                  std::function<void(const Result<void>&)> done) {
    if (!shared->bounce_domain.empty() && parts.size() == 1 && parts[0].recipients.size() == 1 &&
        iequals(domain_of(parts[0].recipients[0].address), shared->bounce_domain)) {
      shared->own(std::move(parts[0].recipients[0].address), std::move(body), std::move(done));
      return;
    }
    shared->commit(std::move(parts), std::move(body), std::move(done));
  };
}

}  // namespace mta::delivery
