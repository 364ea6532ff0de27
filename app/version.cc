// The revision comes from app/git_revision.h, written at every build by
// cmake/git_revision.cmake; the build type and version from CMake; the TLS library is asked.
#include "app/version.h"

#include <openssl/crypto.h>

#include "app/git_revision.h"

namespace mta::app {
namespace {

std::string tls_library() {
#if defined(OPENSSL_IS_BORINGSSL)
  return "BoringSSL";  // BoringSSL has no release numbers; Debian's package version names it
#else
  return OpenSSL_version(OPENSSL_VERSION);  // "OpenSSL 3.0.15 3 Sep 2024", the one loaded
#endif
}

}  // namespace

std::string version_text() {
  std::string text = "outpost " OUTPOST_VERSION "\n";
  text += "revision: " OUTPOST_GIT_REVISION "\n";
  text += "build: " OUTPOST_BUILD_TYPE "\n";
  text += "tls: " + tls_library() + "\n";
  return text;
}

}  // namespace mta::app
