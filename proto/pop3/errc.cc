// The "pop3" std::error_category: names for mta::pop3::Errc values in logs and error messages.
#include "proto/pop3/errc.h"

#include <string>

namespace mta::pop3 {
namespace {

class Pop3Category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "pop3"; }
  std::string message(int value) const override {
    switch (static_cast<Errc>(value)) {
      case Errc::ok:
        return "ok";
      case Errc::in_use:
        return "maildrop in use by another session";
      case Errc::storage_failed:
        return "maildrop storage failed";
      case Errc::no_such_message:
        return "no such message";
      case Errc::bad_unique_id:
        return "bad unique-id";
    }
    return "unknown pop3 error " + std::to_string(value);
  }
};

}  // namespace

const std::error_category& error_category() noexcept {
  static const Pop3Category category;
  return category;
}

}  // namespace mta::pop3
