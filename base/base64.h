// Base64 (RFC 4648 §4): the padded encoder (SASL credentials, DKIM's b= and p=), and decoding
// pieces shared by the protocol cores: the alphabet's values, and the strict form SASL responses
// use (IMAP AUTHENTICATE, POP3 AUTH, SMTP AUTH). Lenient MIME decoding (RFC 2045 §6.8, skipping
// what is not in the alphabet) and DKIM's tag values (spaces allowed) build on base64_value.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mta {

// The 6-bit value of a base64 character, or -1 for anything else ('=' included).
constexpr int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Padded base64 of `bytes`, on one line.
std::string base64_encode(std::string_view bytes);

// Padded base64 with nothing else in it: a length that is a multiple of 4, '=' only as the
// last one or two characters. nullopt otherwise.
std::optional<std::string> base64_decode_strict(std::string_view text);

}  // namespace mta
