// Fuzz target for the DNS key record parser and the public-key decoding behind it: arbitrary
// TXT text parses or fails cleanly, and a parsed p= goes through the crypto library's DER or
// raw Ed25519 key parser without crashing.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dkim/crypto.h"
#include "dkim/signature.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto record = mta::dkim::parse_key_record(text);
  if (!record || record->public_key.empty()) return 0;
  auto key = mta::dkim::PublicKey::from_record_key(record->algorithm, record->public_key);
  if (key) {
    const mta::dkim::Digest digest{};
    (void)key->verify_digest(digest, record->public_key);
  }
  return 0;
}
