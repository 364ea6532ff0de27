// The "imap" std::error_category: names for mta::imap::Errc values in logs and error messages.
#include "proto/imap/errc.h"

#include <string>

namespace mta::imap {
namespace {

class ImapCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "imap"; }
  std::string message(int value) const override {
    switch (static_cast<Errc>(value)) {
      case Errc::ok:
        return "ok";
      case Errc::bad_command:
        return "bad command";
      case Errc::line_too_long:
        return "command line too long";
      case Errc::literal_too_big:
        return "literal too big";
      case Errc::too_complex:
        return "command too complex";
      case Errc::no_such_folder:
        return "no such folder";
      case Errc::folder_exists:
        return "folder exists";
      case Errc::cannot:
        return "operation not permitted";
      case Errc::no_such_message:
        return "no such message";
      case Errc::store_failed:
        return "store failed";
      case Errc::over_quota:
        return "over quota";
    }
    return "unknown imap error " + std::to_string(value);
  }
};

}  // namespace

const std::error_category& error_category() noexcept {
  static const ImapCategory category;
  return category;
}

}  // namespace mta::imap
