// Reply, EnhancedCode and the incremental ReplyParser. The grammar (RFC 5321 §4.2) sits beside
// parse_line; the byte splitting in feed keeps a partial line only, so memory stays bounded by
// the limits whatever the server sends.
#include "proto/smtp/reply.h"

#include <utility>

#include "proto/smtp/errc.h"

namespace mta::smtp {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// 1*3digit at the front of `text`; advances `pos`.
std::optional<std::uint16_t> parse_number(std::string_view text, std::size_t& pos) {
  std::size_t start = pos;
  std::uint16_t value = 0;
  while (pos < text.size() && is_digit(text[pos]) && pos - start < 3) {
    value = static_cast<std::uint16_t>(value * 10 + (text[pos] - '0'));
    ++pos;
  }
  if (pos == start || (pos < text.size() && is_digit(text[pos]))) return std::nullopt;
  return value;
}

}  // namespace

std::string EnhancedCode::to_string() const {
  return std::to_string(klass) + '.' + std::to_string(subject) + '.' + std::to_string(detail);
}

// status-code = class "." subject "." detail        (RFC 3463 §2)
// class       = "2" / "4" / "5"
// subject     = 1*3digit
// detail      = 1*3digit
std::optional<EnhancedCode> EnhancedCode::parse_prefix(std::string_view text,
                                                       std::size_t& consumed) {
  if (text.size() < 5) return std::nullopt;
  if (text[0] != '2' && text[0] != '4' && text[0] != '5') return std::nullopt;
  if (text[1] != '.') return std::nullopt;
  std::size_t pos = 2;
  auto subject = parse_number(text, pos);
  if (!subject || pos >= text.size() || text[pos] != '.') return std::nullopt;
  ++pos;
  auto detail = parse_number(text, pos);
  if (!detail) return std::nullopt;
  if (pos < text.size()) {
    if (text[pos] != ' ') return std::nullopt;
    ++pos;
  }
  consumed = pos;
  return EnhancedCode{static_cast<std::uint8_t>(text[0] - '0'), *subject, *detail};
}

std::optional<EnhancedCode> EnhancedCode::parse(std::string_view text) {
  std::size_t consumed = 0;
  auto code = parse_prefix(text, consumed);
  if (!code || consumed != text.size() || text.back() == ' ') return std::nullopt;
  return code;
}

std::string Reply::text() const {
  std::string out;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (i > 0) out += "; ";
    out += lines[i];
  }
  return out;
}

std::string Reply::to_string() const {
  std::string out = std::to_string(code);
  if (enhanced) out += ' ' + enhanced->to_string();
  std::string joined = text();
  if (!joined.empty()) out += ' ' + joined;
  return out;
}

ReplyParser::ReplyParser(ReplyLimits limits) : limits_(limits) {
  MTA_ASSERT(limits_.line_bytes_max >= 4);
  MTA_ASSERT(limits_.lines_max >= 1);
}

Result<void> ReplyParser::fail(Error error) {
  failed_ = error;
  partial_.clear();
  partial_.shrink_to_fit();
  current_ = Reply{};
  return unexpected(std::move(error));
}

Result<void> ReplyParser::feed(std::string_view bytes) {
  if (failed_) return unexpected(*failed_);
  while (!bytes.empty()) {
    std::size_t lf = bytes.find('\n');
    if (lf == std::string_view::npos) {
      // No line end yet. Once the buffered bytes reach the limit, the line cannot end within
      // it: fail now, at the same point whatever the split.
      if (partial_.size() + bytes.size() >= limits_.line_bytes_max) {
        return fail({Errc::line_too_long,
                     "no line end within " + std::to_string(limits_.line_bytes_max) + " bytes"});
      }
      partial_.append(bytes);
      return {};
    }
    std::string_view piece = bytes.substr(0, lf + 1);
    bytes.remove_prefix(lf + 1);
    std::string_view line;
    if (partial_.empty()) {
      line = piece;  // the common case: a whole line in one read, no copy
    } else {
      partial_.append(piece);
      line = partial_;
    }
    if (line.size() > limits_.line_bytes_max) {
      return fail({Errc::line_too_long, std::to_string(line.size()) + " bytes > " +
                                            std::to_string(limits_.line_bytes_max)});
    }
    line.remove_suffix(1);  // LF
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    Result<void> parsed = parse_line(line);
    partial_.clear();
    if (!parsed) return parsed;
  }
  return {};
}

// Reply-line = *( Reply-code "-" [ textstring ] CRLF )
//              Reply-code [ SP textstring ] CRLF           (RFC 5321 §4.2)
// Reply-code = %x32-35 %x30-35 %x30-39
// The second digit is accepted as any digit: servers in the wild use 2x6 and the like, and the
// session only looks at the first digit and the exact codes it knows.
Result<void> ReplyParser::parse_line(std::string_view line) {
  if (line.size() < 3 || line[0] < '2' || line[0] > '5' || !is_digit(line[1]) ||
      !is_digit(line[2])) {
    return fail({Errc::bad_reply_code, std::string(line.substr(0, 16))});
  }
  int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
  bool last = true;
  std::string_view text;
  if (line.size() > 3) {
    if (line[3] == '-') {
      last = false;
    } else if (line[3] != ' ') {
      return fail({Errc::malformed_reply, "bad separator after code " + std::to_string(code)});
    }
    text = line.substr(4);
  }
  bool first = current_.code == 0;
  if (first) {
    current_.code = code;
  } else if (current_.code != code) {
    return fail({Errc::malformed_reply, "code " + std::to_string(code) + " inside reply " +
                                            std::to_string(current_.code)});
  }
  if (current_.lines.size() >= limits_.lines_max) {
    return fail({Errc::too_many_lines, "more than " + std::to_string(limits_.lines_max)});
  }
  // RFC 3463 codes come after the reply code on every line of a reply (RFC 2034 §4). A code
  // is only taken when its class agrees with the reply's first digit, so text that merely
  // starts with digits and dots stays text. Continuation lines lose theirs only if the first
  // line had one.
  if (first || current_.enhanced) {
    std::size_t consumed = 0;
    auto enhanced = EnhancedCode::parse_prefix(text, consumed);
    if (enhanced && enhanced->klass == code / 100) {
      if (first) current_.enhanced = enhanced;
      text.remove_prefix(consumed);
    }
  }
  current_.lines.emplace_back(text);
  if (last) {
    ready_.push_back(std::move(current_));
    current_ = Reply{};
  }
  return {};
}

std::optional<Reply> ReplyParser::next() {
  if (ready_.empty()) return std::nullopt;
  Reply reply = std::move(ready_.front());
  ready_.pop_front();
  return reply;
}

}  // namespace mta::smtp
