// The TLS error category: names for mta::tls::Errc in logs and Error::message().
#include "tls/errc.h"

#include <string>

namespace mta::tls {
namespace {

class TlsCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "tls"; }
  std::string message(int code) const override {
    switch (static_cast<Errc>(code)) {
      case Errc::ok:
        return "ok";
      case Errc::bad_certificate:
        return "unusable TLS certificate";
      case Errc::bad_key:
        return "unusable TLS private key";
      case Errc::bad_ca_file:
        return "unusable CA file";
      case Errc::io_error:
        return "cannot write TLS file";
      case Errc::crypto_failure:
        return "crypto library failure";
      case Errc::handshake_failed:
        return "TLS handshake failed";
      case Errc::certificate_verify_failed:
        return "TLS peer certificate rejected";
      case Errc::host_name_mismatch:
        return "TLS peer certificate rejected";
      case Errc::bad_record:
        return "TLS record error";
      case Errc::renegotiation_refused:
        return "TLS renegotiation refused";
      case Errc::handshake_timeout:
        return "TLS handshake timed out";
      case Errc::closed:
        return "TLS session closed";
    }
    return "unknown tls error " + std::to_string(code);
  }
};

}  // namespace

const std::error_category& error_category() noexcept {
  static const TlsCategory category;
  return category;
}

}  // namespace mta::tls
