// libFuzzer target for header_block and build_dsn. header_block is checked against itself
// without a bound (a bounded result must be the unbounded one, or a line-aligned prefix of
// it). The same bytes then go into build_dsn as the original message, the diagnostic and the
// address, and the DSN must keep its wire promises: CRLF only, 7-bit, lines <= 998 octets,
// and a boundary that delimits exactly three parts.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "base/assert.h"
#include "proto/mime/dsn.h"
#include "proto/mime/header.h"

namespace {

bool has_empty_line_before_end(std::string_view block) {
  // An empty line is a LF at the start or right after "\n" / "\n\r".
  for (std::size_t i = 0; i + 1 < block.size(); ++i) {
    if (block[i] != '\n') continue;
    bool at_line_start = i == 0 || block[i - 1] == '\n' ||
                         (block[i - 1] == '\r' && (i == 1 || block[i - 2] == '\n'));
    if (at_line_start) return true;
  }
  return false;
}

void check_header_block(std::string_view input, std::size_t bytes_max) {
  std::string_view unbounded =
      mta::mime::header_block(input, std::numeric_limits<std::size_t>::max());
  std::string_view bounded = mta::mime::header_block(input, bytes_max);
  MTA_ASSERT(unbounded.data() == input.data());
  MTA_ASSERT(bounded.data() == input.data());
  MTA_ASSERT(bounded.size() <= bytes_max);
  MTA_ASSERT(!has_empty_line_before_end(unbounded));
  if (unbounded.size() <= bytes_max) {
    MTA_ASSERT(bounded.size() == unbounded.size());
  } else {
    MTA_ASSERT(bounded.size() < unbounded.size());
    MTA_ASSERT(bounded.empty() || bounded.back() == '\n' || bounded.size() == bytes_max);
  }
}

void check_wire(std::string_view wire) {
  std::size_t line_bytes = 0;
  for (std::size_t i = 0; i < wire.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(wire[i]);
    MTA_ASSERT(c < 0x80);
    MTA_ASSERT(c != 0);
    if (c == '\r') {
      MTA_ASSERT(i + 1 < wire.size());
      MTA_ASSERT(wire[i + 1] == '\n');
      MTA_ASSERT(line_bytes <= mta::mime::kLineBytesMax);
      line_bytes = 0;
      ++i;
      continue;
    }
    MTA_ASSERT(c != '\n');
    ++line_bytes;
  }
  MTA_ASSERT(line_bytes == 0);  // ends with CRLF

  // Exactly three opening delimiters and one closing one.
  // Our Content-Type field: earlier fields may carry fuzz bytes, but their folded lines all
  // start with whitespace, so only the real field starts a line with this name.
  std::size_t content_type = wire.find("\r\nContent-Type: multipart/report;");
  MTA_ASSERT(content_type != std::string_view::npos);
  std::size_t b = wire.find("boundary=\"", content_type);
  MTA_ASSERT(b != std::string_view::npos);
  std::string_view boundary = wire.substr(b + 10, wire.find('"', b + 10) - (b + 10));
  std::string delimiter = "\r\n--" + std::string(boundary);
  int opening = 0, closing = 0;
  for (std::size_t at = wire.find(delimiter); at != std::string_view::npos;
       at = wire.find(delimiter, at + 1)) {
    std::string_view rest = wire.substr(at + delimiter.size());
    if (rest.starts_with("--\r\n")) {
      ++closing;
    } else {
      MTA_ASSERT(rest.starts_with("\r\n"));
      ++opening;
    }
  }
  MTA_ASSERT(opening == 3);
  MTA_ASSERT(closing == 1);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  // The first byte picks a small bound so truncation paths are reachable.
  std::size_t bytes_max = size == 0 ? 0 : static_cast<std::size_t>(data[0]) * 4;
  check_header_block(input, bytes_max);
  check_header_block(input, size / 2);

  mta::mime::DsnInput dsn;
  dsn.reporting_mta = "mx.outpost.example";
  dsn.original_sender = std::string(input.substr(0, 64)) + "@example.org";
  dsn.envelope_id = "00000000deadbeef";
  dsn.message_id = "<fuzz@mx.outpost.example>";
  dsn.original_message = input;
  mta::mime::DsnRecipient first;
  first.final_recipient = std::string(input.substr(size / 3, 300));
  first.diagnostic = std::string(input.substr(0, 4096));
  first.remote_mta = std::string(input.substr(size / 2, 100));
  dsn.recipients.push_back(first);
  mta::mime::DsnRecipient second;
  second.action = "delayed";
  second.final_recipient = "b@example.net";
  second.diagnostic = std::string(input.substr(size / 2, 2048));
  dsn.recipients.push_back(second);
  check_wire(mta::mime::build_dsn(dsn));

  for (const mta::mime::DsnRecipient& r : dsn.recipients) {
    std::string status = mta::mime::dsn_status(r);
    MTA_ASSERT(status.size() >= 5);
    MTA_ASSERT(status[0] == '4' || status[0] == '5');
  }
  return 0;
}
