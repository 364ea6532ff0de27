// Header splitting and selection for DKIM. Everything here returns views into the caller's
// message: the signer touches each header byte a small constant number of times.
#include "dkim/message.h"

#include "base/ascii.h"
#include "dkim/errc.h"

namespace mta::dkim {
namespace {

bool is_wsp(char c) { return c == ' ' || c == '\t'; }
// ftext = %d33-57 / %d59-126   ; printable US-ASCII except ":"
bool is_ftext(char c) { return c >= 33 && c <= 126 && c != ':'; }

}  // namespace

Result<ParsedMessage> parse_message(std::string_view message) {
  ParsedMessage parsed;
  std::size_t pos = 0;
  const std::size_t n = message.size();
  while (pos < n) {
    if (message.substr(pos, 2) == "\r\n") {  // the empty line ends the header block
      parsed.body = message.substr(pos + 2);
      return parsed;
    }
    if (is_wsp(message[pos])) {
      return unexpected(Errc::malformed_message, "continuation line before any header field");
    }
    // A field runs to the first CRLF that is not followed by WSP (a fold).
    std::size_t end = pos;
    while (true) {
      end = message.find("\r\n", end);
      if (end == std::string_view::npos) {
        end = n;
        break;
      }
      if (end + 2 < n && is_wsp(message[end + 2])) {
        end += 2;
        continue;
      }
      break;
    }
    const std::string_view raw = message.substr(pos, end - pos);
    const std::size_t colon = raw.find(':');
    if (colon == std::string_view::npos) {
      return unexpected(Errc::malformed_message, "header line without a colon");
    }
    std::string_view name = raw.substr(0, colon);
    while (!name.empty() && is_wsp(name.back())) name.remove_suffix(1);
    if (name.empty()) return unexpected(Errc::malformed_message, "empty header field name");
    for (char c : name) {
      if (!is_ftext(c)) return unexpected(Errc::malformed_message, "bad header field name");
    }
    parsed.headers.push_back(HeaderField{name, raw});
    pos = end == n ? n : end + 2;
  }
  return parsed;  // no empty line: no body
}

std::vector<const HeaderField*> select_headers(const std::vector<HeaderField>& headers,
                                               const std::vector<std::string>& names) {
  std::vector<const HeaderField*> selected;
  selected.reserve(names.size());
  std::vector<bool> used(headers.size(), false);
  for (const std::string& name : names) {
    const HeaderField* pick = nullptr;
    for (std::size_t i = headers.size(); i-- > 0;) {
      if (!used[i] && iequals(headers[i].name, name)) {
        used[i] = true;
        pick = &headers[i];
        break;
      }
    }
    selected.push_back(pick);
  }
  return selected;
}

std::string from_domain(const ParsedMessage& message) {
  const HeaderField* from = nullptr;
  for (const HeaderField& field : message.headers) {
    if (iequals(field.name, "from")) {
      from = &field;
      break;
    }
  }
  if (from == nullptr) return {};
  const std::string_view value = from->raw.substr(from->raw.find(':') + 1);
  // Drop quoted strings and comments, keep the rest; then prefer the <angle-addr>.
  std::string plain;
  int comment_depth = 0;
  bool quoted = false;
  for (std::size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (c == '\\' && (quoted || comment_depth > 0)) {
      ++i;
    } else if (quoted) {
      quoted = c != '"';
    } else if (comment_depth > 0) {
      comment_depth += c == '(' ? 1 : c == ')' ? -1 : 0;
    } else if (c == '"') {
      quoted = true;
    } else if (c == '(') {
      comment_depth = 1;
    } else {
      plain.push_back(c);
    }
  }
  std::string_view address = plain;
  const std::size_t open = address.find('<');
  if (open != std::string_view::npos) {
    address = address.substr(open + 1);
    address = address.substr(0, address.find('>'));
  } else {
    address = address.substr(0, address.find(','));  // first of a mailbox-list
  }
  const std::size_t at = address.rfind('@');
  if (at == std::string_view::npos) return {};
  std::string_view domain = address.substr(at + 1);
  while (!domain.empty() &&
         (is_wsp(domain.front()) || domain.front() == '\r' || domain.front() == '\n')) {
    domain.remove_prefix(1);
  }
  while (!domain.empty() &&
         (is_wsp(domain.back()) || domain.back() == '\r' || domain.back() == '\n')) {
    domain.remove_suffix(1);
  }
  return ascii_lowercase(domain);
}

std::string normalize_line_endings(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 32);
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\r') {
      out.append("\r\n");
      if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
    } else if (c == '\n') {
      out.append("\r\n");
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string normalize_for_transmission(std::string_view text) {
  std::string out = normalize_line_endings(text);
  if (!out.empty() && !out.ends_with("\r\n")) out.append("\r\n");
  return out;
}

}  // namespace mta::dkim
