// Keys and files shared by the dkim unit tests: the RFC 8463 Appendix A keys from testdata/ and
// one RSA-2048 key generated per test binary (generation is slow under ASan, so it is cached).
#pragma once

#include <fstream>
#include <iterator>
#include <string>

#include "base/assert.h"
#include "dkim/crypto.h"

// dkim/CMakeLists.txt sets the absolute path for dkim_test; the fallback lets the header
// compile alone (header check) and works from the repository root.
#ifndef OUTPOST_DKIM_TESTDATA
#define OUTPOST_DKIM_TESTDATA "dkim/testdata"
#endif

namespace mta::dkim {

inline std::string read_testdata_for_test(const std::string& name) {
  std::ifstream in(std::string(OUTPOST_DKIM_TESTDATA) + "/" + name, std::ios::binary);
  MTA_ASSERT(in.good());
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

inline const PrivateKey& rfc8463_rsa_key_for_test() {
  static const PrivateKey key =
      PrivateKey::from_pem(read_testdata_for_test("rfc8463/rsa.pem")).value();
  return key;
}

inline const PrivateKey& rfc8463_ed25519_key_for_test() {
  static const PrivateKey key = [] {
    std::string seed_b64 = read_testdata_for_test("rfc8463/ed25519.seed");
    return PrivateKey::from_ed25519_seed(base64_decode(seed_b64).value()).value();
  }();
  return key;
}

inline const PrivateKey& rsa2048_key_for_test() {
  static const PrivateKey key = PrivateKey::generate(Algorithm::rsa_sha256, 2048).value();
  return key;
}

}  // namespace mta::dkim
