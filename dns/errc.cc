// The DNS error category: names for mta::dns::Errc in logs and Error::message().
#include "dns/errc.h"

#include <string>

namespace mta::dns {
namespace {

class DnsCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "dns"; }
  std::string message(int code) const override {
    switch (static_cast<Errc>(code)) {
      case Errc::ok:
        return "ok";
      case Errc::init_failed:
        return "cannot initialise the resolver";
      case Errc::bad_server:
        return "bad DNS server address";
      case Errc::malformed_message:
        return "malformed DNS message";
      case Errc::timed_out:
        return "DNS lookup timed out";
    }
    return "unknown dns error " + std::to_string(code);
  }
};

}  // namespace

const std::error_category& error_category() noexcept {
  static const DnsCategory category;
  return category;
}

}  // namespace mta::dns
