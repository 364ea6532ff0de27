// Response writers: RFC 3501 §9 string, nstring, astring, flag-list and uid-set syntax.
#include "proto/imap/response.h"

#include <algorithm>

namespace mta::imap {
namespace {

constexpr std::size_t kQuotedBytesMax = 1024;

bool quotable(std::string_view text) {
  if (text.size() > kQuotedBytesMax) return false;
  return std::all_of(text.begin(), text.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u >= 0x20 && u < 0x7f;
  });
}

bool atom_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u <= 0x20 || u >= 0x7f) return false;
  return c != '(' && c != ')' && c != '{' && c != '%' && c != '*' && c != '"' && c != '\\' &&
         c != ']';
}

}  // namespace

void append_literal(std::string& out, std::string_view octets) {
  out += '{';
  out += std::to_string(octets.size());
  out += "}\r\n";
  out += octets;
}

void append_string(std::string& out, std::string_view text) {
  if (!quotable(text)) {
    append_literal(out, text);
    return;
  }
  out += '"';
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
}

void append_nstring(std::string& out, const std::optional<std::string>& text) {
  if (!text) {
    out += "NIL";
    return;
  }
  append_string(out, *text);
}

void append_astring(std::string& out, std::string_view text) {
  // "NIL" as an atom would read as nil where an nstring is allowed, so it is quoted.
  if (!text.empty() && text.size() <= kQuotedBytesMax && text != "NIL" &&
      std::all_of(text.begin(), text.end(), atom_char)) {
    out += text;
    return;
  }
  append_string(out, text);
}

void append_flags(std::string& out, const Flags& flags, bool recent) {
  static constexpr std::pair<std::uint8_t, std::string_view> kNames[] = {{kSeen, "\\Seen"},
                                                                         {kAnswered, "\\Answered"},
                                                                         {kFlagged, "\\Flagged"},
                                                                         {kDeleted, "\\Deleted"},
                                                                         {kDraft, "\\Draft"}};
  out += '(';
  bool first = true;
  const auto sep = [&] {
    if (!first) out += ' ';
    first = false;
  };
  for (const auto& [bit, name] : kNames) {
    if (flags.system & bit) {
      sep();
      out += name;
    }
  }
  for (const std::string& keyword : flags.keywords) {
    sep();
    out += keyword;
  }
  if (recent) {
    sep();
    out += "\\Recent";
  }
  out += ')';
}

void append_uid_set(std::string& out, std::span<const std::uint32_t> uids) {
  std::size_t i = 0;
  while (i < uids.size()) {
    std::size_t j = i;
    while (j + 1 < uids.size() && uids[j + 1] == uids[j] + 1) ++j;
    if (i != 0) out += ',';
    out += std::to_string(uids[i]);
    if (j != i) {
      out += ':';
      out += std::to_string(uids[j]);
    }
    i = j + 1;
  }
}

}  // namespace mta::imap
