// What `outpost --version` prints: the release, the git revision it was built from, the build
// type and the TLS library, so a bug report says which binary it is about.
#pragma once

#include <string>

namespace mta::app {

// "outpost 0.1.0\nrevision: 1a2b3c4d5e6f\nbuild: Release\ntls: BoringSSL\n"
std::string version_text();

}  // namespace mta::app
