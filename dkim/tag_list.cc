// RFC 6376 §3.2 tag-list parser. Strict about the grammar (a stray ';' or an 8-bit byte is an
// error) because a lenient parse of a signature is a second interpretation an attacker can use.
#include "dkim/tag_list.h"

#include "dkim/errc.h"

namespace mta::dkim {
namespace {

// FWS is [*WSP CRLF] 1*WSP; inside an unfolded or folded header every one of these bytes can
// only be folding whitespace, so they are skipped alike.
bool is_fws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
// VALCHAR = %x21-3A / %x3C-7E   ; EXCLAMATION to TILDE except SEMICOLON
bool is_valchar(char c) { return c >= 0x21 && c <= 0x7e && c != ';'; }

}  // namespace

// tag-list  =  tag-spec *( ";" tag-spec ) [ ";" ]
// tag-spec  =  [FWS] tag-name [FWS] "=" [FWS] tag-value [FWS]
// tag-name  =  ALPHA *ALNUMPUNC          ; ALNUMPUNC = ALPHA / DIGIT / "_"
// tag-value =  [ tval *( 1*(WSP / FWS) tval ) ]
// tval      =  1*VALCHAR
Result<std::vector<Tag>> parse_tag_list(std::string_view text) {
  std::vector<Tag> tags;
  std::size_t i = 0;
  const std::size_t n = text.size();
  auto skip_fws = [&] {
    while (i < n && is_fws(text[i])) ++i;
  };
  while (true) {
    skip_fws();
    if (i == n) break;  // empty list, or the optional ';' after the last tag-spec
    const std::size_t name_begin = i;
    if (!is_alpha(text[i])) {
      return unexpected(Errc::malformed_tag_list,
                        "tag name expected at offset " + std::to_string(i));
    }
    while (i < n && (is_alpha(text[i]) || is_digit(text[i]) || text[i] == '_')) ++i;
    const std::string_view name = text.substr(name_begin, i - name_begin);
    skip_fws();
    if (i == n || text[i] != '=') {
      return unexpected(Errc::malformed_tag_list, "'=' expected after " + std::string(name));
    }
    ++i;
    skip_fws();
    const std::size_t value_begin = i;
    std::size_t value_end = i;  // one past the last VALCHAR seen
    while (i < n && text[i] != ';') {
      if (is_valchar(text[i])) {
        value_end = i + 1;
      } else if (!is_fws(text[i])) {
        return unexpected(Errc::malformed_tag_list,
                          "invalid byte in value of " + std::string(name));
      }
      ++i;
    }
    if (find_tag(tags, name) != nullptr) {
      return unexpected(Errc::malformed_tag_list, "duplicate tag " + std::string(name));
    }
    tags.push_back(Tag{name, text.substr(value_begin, value_end - value_begin)});
    if (i == n) break;
    ++i;  // ';'
  }
  return tags;
}

const Tag* find_tag(const std::vector<Tag>& tags, std::string_view name) {
  for (const Tag& tag : tags) {
    if (tag.name == name) return &tag;
  }
  return nullptr;
}

std::string strip_whitespace(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (!is_fws(c)) out.push_back(c);
  }
  return out;
}

}  // namespace mta::dkim
