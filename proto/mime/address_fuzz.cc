// libFuzzer target for parse_mailbox and format_mailbox. Whatever parses must format to
// printable ASCII that parses again to the same address, and to the same display name unless
// the name had to be RFC 2047 encoded. The same bytes go through compose() as From and To, and
// through encode_words, whose words must stay within 75 characters. Valid UTF-8 without line
// breaks is also composed as Subject, bodies, an extra field and a filename, and the message
// must be wire-clean: 7-bit, CRLF only, no line over 998 octets.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/assert.h"
#include "base/concat.h"
#include "proto/mime/address.h"
#include "proto/mime/compose.h"
#include "proto/mime/encoding.h"
#include "proto/mime/header.h"

namespace {

bool plain_ascii(std::string_view s) {
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u >= 0x7f) return false;
  }
  return s.find("=?") == std::string_view::npos;
}

void check_wire(std::string_view wire) {
  std::size_t line = 0;
  MTA_ASSERT(wire.ends_with("\r\n"));
  for (std::size_t i = 0; i < wire.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(wire[i]);
    MTA_ASSERT(c < 0x80);
    MTA_ASSERT(c != 0);
    if (c == '\r') {
      MTA_ASSERT(wire[i + 1] == '\n');
      MTA_ASSERT(line <= mta::mime::kLineBytesMax);
      line = 0;
      ++i;
      continue;
    }
    MTA_ASSERT(c != '\n');
    ++line;
  }
}

void check_compose_fields(std::string_view input) {
  bool clean = input.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
  if (!mta::mime::is_utf8(input) || !clean) return;
  mta::mime::Composition c;
  c.from.append("a@example.com");
  c.subject = std::string(input);
  c.text = std::string(input);
  c.html = std::string(input);
  if (mta::mime::validate_header_field("X-Fuzz", input)) c.headers.emplace_back("X-Fuzz", input);
  c.attachments.push_back({std::string(input), "text/plain", std::string(input)});
  c.boundary_seed = std::string(input);
  auto message = mta::mime::compose(c);
  MTA_ASSERT(message.has_value());
  check_wire(*message);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto mailbox = mta::mime::parse_mailbox(input);
  if (mailbox) {
    std::string text = mta::mime::format_mailbox(*mailbox);
    for (char c : text) MTA_ASSERT(c == '\t' || (c >= 0x20 && c < 0x7f));
    // Encoded-words make a long name longer than a mailbox may be; such text is only ever
    // written, never parsed again.
    if (text.size() <= mta::mime::kMailboxBytesMax) {
      auto again = mta::mime::parse_mailbox(text);
      MTA_ASSERT(again.has_value());
      MTA_ASSERT(again->address == mailbox->address);
      if (plain_ascii(mailbox->display_name)) {
        MTA_ASSERT(again->display_name == mailbox->display_name);
      }
    }
    mta::mime::Composition c;
    c.from = std::string(input);
    c.to.push_back(c.from);
    c.text.push_back('x');  // not = "x": g++ 12 -O3 reports a false -Wrestrict
    auto message = mta::mime::compose(c);
    MTA_ASSERT(message.has_value());
  }
  if (mta::mime::is_utf8(input)) {
    std::string words = mta::mime::encode_words(input, 24);
    std::size_t start = 0;
    while (start < words.size()) {
      std::size_t end = words.find(' ', start);
      if (end == std::string::npos) end = words.size();
      MTA_ASSERT(end - start <= (start == 0 ? 24u : mta::mime::kEncodedWordMax));
      start = end + 1;
    }
  }
  check_compose_fields(input);
  return 0;
}
