// build_message lays out headers and filler lines; find_message_id walks header lines only.
//   header-field = field-name ":" unstructured CRLF ; folded lines start with WSP (RFC 5322 §2.2)
#include "loadgen/message.h"

#include <algorithm>

#include "base/ascii.h"

namespace mta::loadgen {
namespace {

constexpr std::string_view kFiller =
    "The quick brown fox jumps over the lazy dog; outpost bench filler text 0123456789";
constexpr std::size_t kLineChars = 78;  // RFC 5322 §2.1.1 SHOULD limit, without CRLF

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) {
    text.remove_suffix(1);
  }
  return text;
}

}  // namespace

void build_message(const MessageSpec& spec, std::string& out) {
  out.clear();
  out.reserve(std::max<std::uint64_t>(spec.size_bytes, 512));
  const std::string index = std::to_string(spec.index);
  out.append("From: <").append(spec.from).append(">\r\n");
  out.append("To: <").append(spec.to).append(">\r\n");
  out.append("Subject: outpost bench message ").append(index).append("\r\n");
  out.append("Date: ").append(spec.date).append("\r\n");
  out.append("Message-ID: <").append(index).append(".").append(spec.tag);
  out.append("@bench.outpost>\r\n");
  out.append("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n");
  // Body: 80-byte lines (78 characters and CRLF) copied from one prepared block, then one
  // shorter line landing exactly on size_bytes. A remainder of 1 byte cannot be a line, so
  // then the last full line gives up one character to a final empty line.
  std::uint64_t left = spec.size_bytes > out.size() ? spec.size_bytes - out.size() : 0;
  if (left < 2) left = 2;
  static const std::string block = [] {
    std::string lines;
    for (std::size_t i = 0; i < 1024; ++i) {
      for (std::size_t c = 0; c < kLineChars; ++c) lines += kFiller[(i * 3 + c) % kFiller.size()];
      lines += "\r\n";
    }
    return lines;
  }();
  constexpr std::size_t kLineBytes = kLineChars + 2;
  std::uint64_t full = left / kLineBytes;
  std::uint64_t rest = left % kLineBytes;
  if (rest == 1) {  // 80 * full + 1 = 80 * (full - 1) + 79 + 2
    --full;
    rest = 0;
  }
  while (full > 0) {
    const std::uint64_t lines = std::min<std::uint64_t>(full, block.size() / kLineBytes);
    out.append(block, 0, static_cast<std::size_t>(lines * kLineBytes));
    full -= lines;
  }
  if (left % kLineBytes == 1) {
    out.append(block, 0, kLineChars - 1).append("\r\n\r\n");
  } else if (rest > 0) {
    out.append(block, 0, static_cast<std::size_t>(rest - 2)).append("\r\n");
  }
}

std::optional<std::string_view> find_header(std::string_view message, std::string_view name) {
  while (!message.empty()) {
    const std::size_t lf = message.find('\n');
    std::string_view line = message.substr(0, lf);
    message = lf == std::string_view::npos ? std::string_view() : message.substr(lf + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) return std::nullopt;  // end of the header block
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    if (!iequals(trim(line.substr(0, colon)), name)) continue;
    std::string_view value = trim(line.substr(colon + 1));
    if (value.empty() && !message.empty() && (message.front() == ' ' || message.front() == '\t')) {
      value = trim(message.substr(0, message.find('\n')));  // value folded onto the next line
    }
    if (value.empty()) return std::nullopt;
    return value;
  }
  return std::nullopt;
}

std::string recipient_domain(std::string_view address) {
  const std::size_t at = address.rfind('@');
  if (at == std::string_view::npos) return {};
  std::string domain(address.substr(at + 1));
  for (char& c : domain) c = ascii_lower(c);
  return domain;
}

}  // namespace mta::loadgen
