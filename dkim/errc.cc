// The DKIM error category: names for mta::dkim::Errc in logs and Error::message().
#include "dkim/errc.h"

#include <string>

namespace mta::dkim {
namespace {

class DkimCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "dkim"; }
  std::string message(int code) const override {
    switch (static_cast<Errc>(code)) {
      case Errc::ok:
        return "ok";
      case Errc::malformed_tag_list:
        return "malformed DKIM tag list";
      case Errc::malformed_signature:
        return "malformed DKIM-Signature";
      case Errc::malformed_key_record:
        return "malformed DKIM key record";
      case Errc::malformed_message:
        return "malformed message";
      case Errc::bad_key:
        return "unusable DKIM key";
      case Errc::algorithm_mismatch:
        return "algorithm does not match the key";
      case Errc::crypto_failure:
        return "crypto library failure";
      case Errc::io_error:
        return "cannot read key file";
      case Errc::no_key:
        return "no DKIM key";
    }
    return "unknown dkim error " + std::to_string(code);
  }
};

}  // namespace

const std::error_category& error_category() noexcept {
  static const DkimCategory category;
  return category;
}

}  // namespace mta::dkim
