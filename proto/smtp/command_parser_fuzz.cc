// Fuzzes parse_command with one line per input. Besides not crashing, it checks a round trip:
// a parsed MAIL/RCPT (or BDAT) command, written back in canonical form, parses to the same
// path and parameters (chunk size and LAST); and every failure carries an "x.y.z text" detail
// fit for a 501 reply.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/assert.h"
#include "proto/smtp/command.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  const mta::Result<mta::smtp::Command> parsed = mta::smtp::parse_command(line);
  if (!parsed) {
    const std::string& detail = parsed.error().detail;
    MTA_ASSERT(detail.size() > 6);
    MTA_ASSERT(detail[1] == '.');
    MTA_ASSERT(detail.find_first_of("\r\n") == std::string::npos);
    return 0;
  }
  const mta::smtp::Command& command = *parsed;
  MTA_ASSERT(command.argument.size() <= line.size());
  if (command.verb == mta::smtp::Verb::bdat) {
    const std::string canonical =
        "BDAT " + std::to_string(command.chunk_bytes) + (command.last_chunk ? " LAST" : "");
    const mta::Result<mta::smtp::Command> again = mta::smtp::parse_command(canonical);
    MTA_ASSERT(again.has_value());
    MTA_ASSERT(again->chunk_bytes == command.chunk_bytes);
    MTA_ASSERT(again->last_chunk == command.last_chunk);
    return 0;
  }
  MTA_ASSERT(command.chunk_bytes == 0);
  MTA_ASSERT(!command.last_chunk);
  if (command.verb != mta::smtp::Verb::mail && command.verb != mta::smtp::Verb::rcpt) {
    MTA_ASSERT(command.path.empty());
    MTA_ASSERT(command.parameters.empty());
    return 0;
  }
  std::string canonical = command.verb == mta::smtp::Verb::mail ? "MAIL FROM:<" : "RCPT TO:<";
  canonical += command.path + ">";
  for (const auto& [keyword, value] : command.parameters) {
    MTA_ASSERT(!keyword.empty());
    canonical += " " + keyword;
    if (!value.empty()) canonical += "=" + value;
  }
  if (canonical.size() + 2 > 512) return 0;  // source routes made the input longer
  const mta::Result<mta::smtp::Command> again = mta::smtp::parse_command(canonical);
  MTA_ASSERT(again.has_value());
  MTA_ASSERT(again->path == command.path);
  MTA_ASSERT(again->parameters == command.parameters);
  return 0;
}
