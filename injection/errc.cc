// The injection error category: names for mta::injection::Errc in logs and Error::message().
#include "injection/errc.h"

#include <string>

namespace mta::injection {
namespace {

class InjectionCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "injection"; }
  std::string message(int code) const override {
    switch (static_cast<Errc>(code)) {
      case Errc::bad_rate:
        return "invalid rate";
      case Errc::bad_request:
        return "invalid request";
    }
    return "unknown injection error " + std::to_string(code);
  }
};

}  // namespace

const std::error_category& injection_category() noexcept {
  static const InjectionCategory category;
  return category;
}

}  // namespace mta::injection
