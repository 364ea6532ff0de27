// ASCII case helpers for protocol text (SMTP verbs, header and field names, domains): only
// A-Z and a-z fold, whatever the locale, and other bytes (UTF-8 included) compare as they are.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace mta {

constexpr char ascii_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// Equal when they differ at most in the case of ASCII letters.
constexpr bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

// `text` begins with `prefix`, ignoring the case of ASCII letters.
constexpr bool istarts_with(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && iequals(text.substr(0, prefix.size()), prefix);
}

// Takes the next line off the front of `text`: what comes before its LF (or all of it), without
// a CR before the LF. Line-oriented rule files (CRLF or LF) read with it.
inline std::string_view take_line(std::string_view& text) {
  const std::size_t lf = text.find('\n');
  std::string_view line = text.substr(0, lf);
  text.remove_prefix(lf == std::string_view::npos ? text.size() : lf + 1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

inline std::string ascii_lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

}  // namespace mta
