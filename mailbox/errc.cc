// The "mailbox" std::error_category: names for mta::mailbox::Errc values in logs and IMAP
// responses.
#include "mailbox/errc.h"

#include <string>

namespace mta::mailbox {
namespace {

class MailboxCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "mailbox"; }
  std::string message(int value) const override {
    switch (static_cast<Errc>(value)) {
      case Errc::ok:
        return "ok";
      case Errc::io_error:
        return "mailbox store I/O error";
      case Errc::no_space:
        return "no space left for the mailbox store";
      case Errc::corrupt_record:
        return "corrupt mailbox record";
      case Errc::invalid_name:
        return "invalid folder name";
      case Errc::folder_exists:
        return "folder already exists";
      case Errc::no_such_folder:
        return "no such folder";
      case Errc::no_such_message:
        return "no such message";
      case Errc::not_allowed:
        return "operation not allowed";
      case Errc::over_quota:
        return "message larger than the mailbox quota";
    }
    return "unknown mailbox error " + std::to_string(value);
  }
};

}  // namespace

const std::error_category& error_category() noexcept {
  static const MailboxCategory category;
  return category;
}

}  // namespace mta::mailbox
