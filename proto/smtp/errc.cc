// The "smtp" std::error_category: names for mta::smtp::Errc values in logs and error messages.
#include "proto/smtp/errc.h"

#include <string>

namespace mta::smtp {
namespace {

class SmtpCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "smtp"; }
  std::string message(int value) const override {
    switch (static_cast<Errc>(value)) {
      case Errc::ok:
        return "ok";
      case Errc::line_too_long:
        return "line too long";
      case Errc::too_many_lines:
        return "too many lines in reply";
      case Errc::bad_reply_code:
        return "bad reply code";
      case Errc::malformed_reply:
        return "malformed reply";
      case Errc::unexpected_reply:
        return "unexpected reply";
      case Errc::command_too_long:
        return "command too long";
      case Errc::malformed_command:
        return "malformed command";
      case Errc::protocol_violation:
        return "protocol violation";
      case Errc::message_too_large:
        return "message too large";
      case Errc::session_failed:
        return "session failed";
      case Errc::bad_chunk_size:
        return "bad BDAT chunk size";
      case Errc::not_ready:
        return "session not ready for a transaction";
      case Errc::bad_address:
        return "address with a line break";
    }
    return "unknown smtp error " + std::to_string(value);
  }
};

}  // namespace

const std::error_category& error_category() noexcept {
  static const SmtpCategory category;
  return category;
}

}  // namespace mta::smtp
