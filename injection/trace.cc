// Trace and identification fields. The header section ends at the first empty line; field
// names are matched case-insensitively at the start of a line (a folded continuation starts
// with white space, so it never matches).
#include "injection/trace.h"

#include <time.h>

#include <cctype>
#include <chrono>

namespace mta::injection {
namespace {

bool has_field(std::string_view message, std::string_view name) {
  std::size_t line = 0;
  while (line < message.size()) {
    const std::size_t end = message.find('\n', line);
    const std::string_view text =
        message.substr(line, end == std::string_view::npos ? std::string_view::npos : end - line);
    if (text.empty() || text == "\r") return false;  // end of the header section
    if (text.size() > name.size() && text[name.size()] == ':') {
      bool same = true;
      for (std::size_t i = 0; i < name.size() && same; ++i) {
        same = std::tolower(static_cast<unsigned char>(text[i])) ==
               std::tolower(static_cast<unsigned char>(name[i]));
      }
      if (same) return true;
    }
    if (end == std::string_view::npos) return false;
    line = end + 1;
  }
  return false;
}

// Keeps a client-given name from breaking the field: printable ASCII, no parentheses.
std::string sanitized(std::string_view text) {
  std::string out;
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    out.push_back(byte > 32 && byte < 127 && c != '(' && c != ')' ? c : '_');
  }
  return out.empty() ? std::string("unknown") : out;
}

}  // namespace

std::string rfc5322_date(Clock::WallTime when) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(
      std::chrono::time_point_cast<std::chrono::seconds>(when));
  std::tm utc{};
  ::gmtime_r(&seconds, &utc);
  char text[64];
  const std::size_t n = std::strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S +0000", &utc);
  return std::string(text, n);
}

void add_trace_fields(std::string& message, const TraceFacts& facts) {
  const std::string date = rfc5322_date(facts.when);
  std::string protocol = facts.extended ? "ESMTP" : "SMTP";
  if (facts.extended && facts.tls) protocol += "S";
  if (facts.extended && facts.authenticated) protocol += "A";
  if (!facts.protocol.empty()) protocol = std::string(facts.protocol);
  std::string fields = "Received: from " + sanitized(facts.client_name) + " ([" +
                       std::string(facts.client_ip) + "])\r\n\tby " + std::string(facts.hostname) +
                       " (Outpost) with " + protocol + " id " + to_hex(facts.id);
  if (!facts.tls_details.empty()) fields += "\r\n\t(" + std::string(facts.tls_details) + ")";
  fields += ";\r\n\t" + date + "\r\n";
  if (!has_field(message, "Message-ID")) {
    fields += "Message-ID: <" + to_hex(facts.id) + "@" + std::string(facts.hostname) + ">\r\n";
  }
  if (!has_field(message, "Date")) fields += "Date: " + date + "\r\n";
  message.insert(0, fields);
}

}  // namespace mta::injection
