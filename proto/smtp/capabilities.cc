// EHLO reply parsing into Capabilities.
//   ehlo-ok-rsp = ( "250" SP Domain [ SP ehlo-greet ] CRLF )
//               / ( "250-" Domain [ SP ehlo-greet ] CRLF
//                   *( "250-" ehlo-line CRLF ) "250" SP ehlo-line CRLF )   (RFC 5321 §4.1.1.1)
//   ehlo-line   = ehlo-keyword *( SP ehlo-param )
#include "proto/smtp/capabilities.h"

#include <algorithm>
#include <limits>
#include <string_view>

namespace mta::smtp {
namespace {

char to_upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

std::string upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = to_upper(c);
  return out;
}

bool is_space(char c) { return c == ' ' || c == '\t'; }

// Splits `text` on spaces and tabs, dropping empty words.
std::vector<std::string_view> words(std::string_view text) {
  std::vector<std::string_view> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    while (pos < text.size() && is_space(text[pos])) ++pos;
    std::size_t start = pos;
    while (pos < text.size() && !is_space(text[pos])) ++pos;
    if (pos > start) out.push_back(text.substr(start, pos - start));
  }
  return out;
}

// SIZE's parameter: digits only; a missing or unreadable number means "no fixed limit" (0).
std::uint64_t parse_size(std::string_view text) {
  std::uint64_t value = 0;
  if (text.empty()) return 0;
  for (char c : text) {
    if (c < '0' || c > '9') return 0;
    auto digit = static_cast<std::uint64_t>(c - '0');
    if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) return 0;
    value = value * 10 + digit;
  }
  return value;
}

void add_mechanism(std::vector<std::string>& mechanisms, std::string_view name) {
  std::string mechanism = upper(name);
  if (std::find(mechanisms.begin(), mechanisms.end(), mechanism) == mechanisms.end()) {
    mechanisms.push_back(std::move(mechanism));
  }
}

}  // namespace

Capabilities Capabilities::from_ehlo(const Reply& ehlo_reply) {
  Capabilities caps;
  for (std::size_t i = 1; i < ehlo_reply.lines.size(); ++i) {
    std::vector<std::string_view> line = words(ehlo_reply.lines[i]);
    if (line.empty()) continue;
    std::string_view raw_keyword = line[0];
    // Old servers advertise "AUTH=LOGIN PLAIN" (pre-RFC 4954 Outlook clients need it).
    std::string_view first_param;
    if (std::size_t eq = raw_keyword.find('='); eq != std::string_view::npos) {
      first_param = raw_keyword.substr(eq + 1);
      raw_keyword = raw_keyword.substr(0, eq);
    }
    std::string keyword = upper(raw_keyword);
    if (keyword == "PIPELINING") {
      caps.pipelining = true;
    } else if (keyword == "8BITMIME") {
      caps.eight_bit_mime = true;
    } else if (keyword == "ENHANCEDSTATUSCODES") {
      caps.enhanced_status_codes = true;
    } else if (keyword == "STARTTLS") {
      caps.starttls = true;
    } else if (keyword == "SMTPUTF8") {
      caps.smtputf8 = true;
    } else if (keyword == "CHUNKING") {
      caps.chunking = true;
    } else if (keyword == "DSN") {
      caps.dsn = true;
    } else if (keyword == "SIZE") {
      caps.size_max = parse_size(line.size() > 1 ? line[1] : first_param);
    } else if (keyword == "AUTH") {
      if (!first_param.empty()) add_mechanism(caps.auth_mechanisms, first_param);
      for (std::size_t w = 1; w < line.size(); ++w) add_mechanism(caps.auth_mechanisms, line[w]);
    }
  }
  return caps;
}

}  // namespace mta::smtp
