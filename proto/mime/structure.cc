// Reading received messages: header fields, Content-Type parameters (RFC 2045, RFC 2231), the
// MIME tree (RFC 2046), IMAP part numbers, address lists (RFC 5322 §3.4), encoded-words
// (RFC 2047) and transfer decodings. See structure.h for the contracts; this file holds the
// grammar, the tolerance rules for real-world mail and the bounds that keep hostile input
// linear. Nothing here fails: malformed input gives the closest reasonable reading.
#include "proto/mime/structure.h"

#include <algorithm>
#include <array>
#include <map>

#include "base/ascii.h"
#include "base/assert.h"
#include "base/base64.h"
#include "proto/mime/header.h"

namespace mta::mime {
namespace {

constexpr std::size_t npos = std::string_view::npos;

bool is_wsp(char c) { return c == ' ' || c == '\t'; }
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool is_control(char c) {
  unsigned char u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7f;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// ---------------------------------------------------------------------------------------------
// Header fields (RFC 5322 §2.2):
//   field      = field-name ":" unstructured CRLF
//   field-name = 1*ftext          ; ftext = %d33-57 / %d59-126
//   obs-field  = field-name *WSP ":" ...
// A line starting with WSP continues the field before it (folding, §2.2.3).

// One physical line from `begin`: its content is [begin, content_end) without the CR LF or
// bare LF, and `next` is where the following line starts (text.size() when there is no LF).
struct Line {
  std::size_t begin = 0;
  std::size_t content_end = 0;
  std::size_t next = 0;
};

Line line_at(std::string_view text, std::size_t begin) {
  std::size_t lf = text.find('\n', begin);
  if (lf == npos) return {begin, text.size(), text.size()};
  std::size_t content_end = (lf > begin && text[lf - 1] == '\r') ? lf - 1 : lf;
  return {begin, content_end, lf + 1};
}

bool is_field_name(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 33 || u > 126 || c == ':') return false;
  }
  return true;
}

// A field before unfolding: `raw` runs from just after the colon to the end of its last line.
struct RawField {
  std::string_view name;
  std::string_view raw;
  std::size_t begin = 0;
  std::size_t end = 0;
  std::size_t value_begin = 0;
};

// Calls `on_field(const RawField&)` for each field of `block` up to its first empty line,
// until it returns false. Garbage lines (no colon, or a bad name) and their continuations are
// skipped, as are continuation lines with no field before them.
template <typename OnField>
void for_each_field(std::string_view block, OnField&& on_field) {
  // A plain struct and a flag rather than std::optional: g++ 12 reports a false
  // -Wmaybe-uninitialized through the optional here.
  RawField current;
  bool has_current = false;
  auto flush = [&] {
    if (!has_current) return true;
    has_current = false;
    current.raw = block.substr(current.value_begin, current.end - current.value_begin);
    return on_field(static_cast<const RawField&>(current));
  };
  std::size_t pos = 0;
  while (pos < block.size()) {
    Line line = line_at(block, pos);
    if (line.content_end == line.begin) break;  // the empty line ending the header
    if (is_wsp(block[line.begin])) {
      if (has_current) current.end = line.next;
    } else {
      if (!flush()) return;
      std::string_view content = block.substr(line.begin, line.content_end - line.begin);
      std::size_t colon = content.find(':');
      if (colon != npos) {
        std::string_view name = content.substr(0, colon);
        while (!name.empty() && is_wsp(name.back())) name.remove_suffix(1);
        if (is_field_name(name)) {
          current = RawField{name, {}, line.begin, line.next, line.begin + colon + 1};
          has_current = true;
        }
      }
    }
    pos = line.next;
  }
  flush();
}

// RFC 5322 §2.2.3: unfolding removes each CRLF (here also a bare LF); then the value is trimmed.
std::string unfold(std::string_view raw) {
  raw = trim(raw);
  std::string out;
  out.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (c == '\n') continue;
    if (c == '\r' && i + 1 < raw.size() && raw[i + 1] == '\n') continue;
    out += c;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Structured values: Content-Type, Content-Disposition, Content-Transfer-Encoding.
//   RFC 2045 §5.1: content   = type "/" subtype *(";" parameter)
//                  parameter = attribute "=" value ; value = token / quoted-string
//                  token     = 1*<any CHAR except SPACE, CTLs, or tspecials>
//                  tspecials = "(" / ")" / "<" / ">" / "@" / "," / ";" / ":" / "\" / <"> /
//                              "/" / "[" / "]" / "?" / "="
//   RFC 822 comments "(...)" may appear between tokens; they nest and take quoted-pairs.

bool is_tspecial(char c) {
  static constexpr std::string_view kTspecials = "()<>@,;:\\\"/[]?=";
  return kTspecials.find(c) != npos;
}

// Octets >= 0x80 are accepted in tokens: raw UTF-8 filenames are common in practice.
bool is_token_char(char c) { return !is_control(c) && c != ' ' && !is_tspecial(c); }

class ValueCursor {
 public:
  explicit ValueCursor(std::string_view text) : text_(text) {}

  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return text_[pos_]; }
  void advance() { ++pos_; }
  std::size_t pos() const { return pos_; }
  void seek(std::size_t pos) { pos_ = pos; }

  // Whitespace and comments. An unterminated comment runs to the end.
  void skip_cfws() {
    while (!at_end()) {
      char c = peek();
      if (is_space(c)) {
        ++pos_;
      } else if (c == '(') {
        std::size_t depth = 0;
        while (!at_end()) {
          char d = text_[pos_++];
          if (d == '\\') {
            if (!at_end()) ++pos_;
          } else if (d == '(') {
            ++depth;
          } else if (d == ')' && --depth == 0) {
            break;
          }
        }
      } else {
        return;
      }
    }
  }

  std::string_view token() {
    std::size_t start = pos_;
    while (!at_end() && is_token_char(peek())) ++pos_;
    return text_.substr(start, pos_ - start);
  }

  // A parameter value written without quotes. Tolerant: anything up to ';' or whitespace, so
  // that common unquoted boundaries such as "----=_Part_1" survive whole.
  std::string_view loose_token() {
    std::size_t start = pos_;
    while (!at_end() && peek() != ';' && peek() != '"' && !is_space(peek()) &&
           !is_control(peek())) {
      ++pos_;
    }
    return text_.substr(start, pos_ - start);
  }

  // RFC 5322 §3.2.4 quoted-string, at the opening quote; unquoted and unescaped. An
  // unterminated string runs to the end.
  std::string quoted() {
    std::string out;
    ++pos_;
    while (!at_end()) {
      char c = text_[pos_++];
      if (c == '"') break;
      if (c == '\\' && !at_end()) c = text_[pos_++];
      out += c;
    }
    return out;
  }

  void skip_past(char stop) {
    while (!at_end()) {
      char c = text_[pos_];
      if (c == '"') {
        quoted();
        continue;
      }
      ++pos_;
      if (c == stop) return;
    }
  }

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
};

using Params = std::vector<std::pair<std::string, std::string>>;

// RFC 2231 §7: attribute-char = <any (US-ASCII) CHAR except SPACE, CTLs, "*", "'", "%", or
// tspecials>.
bool is_attribute_char(char c) {
  unsigned char u = static_cast<unsigned char>(c);
  return u < 0x80 && is_token_char(c) && c != '*' && c != '\'' && c != '%';
}

// RFC 2231 §3 and §4:
//   name*0="part one"; name*1=" and two"            -> name="part one and two"
//   name*=utf-8''%E2%82%AC                          -> name*="utf-8''%E2%82%AC"
//   name*0*=utf-8''%E2%82%AC; name*1=" literal"     -> name*="utf-8''%E2%82%AC%20literal"
// A joined value is extended (its name keeps the '*') when its first segment is; literal
// segments are then percent-encoded so the whole remains one well-formed ext-value.
struct Segment {
  std::size_t index = 0;
  bool extended = false;
  std::string value;
};

// Splits "name*12*" into ("name", 12, true). False for names that are not continuations.
bool split_continuation(std::string_view attribute, std::string_view& base, std::size_t& index,
                        bool& extended) {
  std::size_t star = attribute.find('*');
  if (star == npos || star == 0) return false;
  std::string_view rest = attribute.substr(star + 1);
  extended = !rest.empty() && rest.back() == '*';
  if (extended) rest.remove_suffix(1);
  if (rest.empty() || rest.size() > 4) return false;
  index = 0;
  for (char c : rest) {
    if (c < '0' || c > '9') return false;
    index = index * 10 + static_cast<std::size_t>(c - '0');
  }
  base = attribute.substr(0, star);
  return true;
}

Params join_continuations(Params&& raw) {
  // Where each joined parameter goes in the output, and its segments.
  std::map<std::string, std::size_t, std::less<>> slot_of;
  std::vector<std::vector<Segment>> segments;
  std::vector<std::size_t> slot_group;  // per output slot: segment group, or npos
  Params out;
  for (auto& [name, value] : raw) {
    std::string_view base;
    std::size_t index = 0;
    bool extended = false;
    if (!split_continuation(name, base, index, extended)) {
      out.emplace_back(std::move(name), std::move(value));
      slot_group.push_back(npos);
      continue;
    }
    auto it = slot_of.find(base);
    if (it == slot_of.end()) {
      it = slot_of.emplace(std::string(base), segments.size()).first;
      segments.emplace_back();
      out.emplace_back(std::string(base), std::string());
      slot_group.push_back(it->second);
    }
    segments[it->second].push_back({index, extended, std::move(value)});
  }
  for (std::size_t slot = 0; slot < out.size(); ++slot) {
    if (slot_group[slot] == npos) continue;
    std::vector<Segment>& group = segments[slot_group[slot]];
    std::stable_sort(group.begin(), group.end(),
                     [](const Segment& a, const Segment& b) { return a.index < b.index; });
    bool extended = group.front().extended;
    std::string joined;
    std::size_t last_index = npos;
    for (const Segment& s : group) {
      if (s.index == last_index) continue;  // a repeated segment: the first one wins
      last_index = s.index;
      if (!extended || s.extended) {
        joined += s.value;
        continue;
      }
      static constexpr char kHex[] = "0123456789ABCDEF";
      for (char c : s.value) {
        if (is_attribute_char(c)) {
          joined += c;
        } else {
          unsigned char u = static_cast<unsigned char>(c);
          joined += '%';
          joined += kHex[u >> 4];
          joined += kHex[u & 0xf];
        }
      }
    }
    if (extended) out[slot].first += '*';
    out[slot].second = std::move(joined);
  }
  return out;
}

// *(";" parameter), tolerantly: a missing ';' between parameters is accepted, and junk up to
// the next ';' is skipped.
Params parse_params(ValueCursor& c) {
  Params raw;
  while (true) {
    c.skip_cfws();
    if (c.at_end()) break;
    if (c.peek() == ';') {
      c.advance();
      continue;
    }
    std::string_view attribute = c.token();
    if (attribute.empty()) {
      c.skip_past(';');
      continue;
    }
    c.skip_cfws();
    if (c.at_end() || c.peek() != '=') {
      c.skip_past(';');
      continue;
    }
    c.advance();
    c.skip_cfws();
    std::string value;
    if (!c.at_end() && c.peek() == '"') {
      value = c.quoted();
    } else {
      value = std::string(c.loose_token());
    }
    raw.emplace_back(ascii_lowercase(attribute), std::move(value));
  }
  return join_continuations(std::move(raw));
}

// type "/" subtype parameters, or nullopt when there is no type and subtype.
std::optional<ContentType> try_parse_content_type(std::string_view value) {
  ValueCursor c(value);
  c.skip_cfws();
  std::string_view type = c.token();
  if (type.empty()) return std::nullopt;
  c.skip_cfws();
  if (c.at_end() || c.peek() != '/') return std::nullopt;
  c.advance();
  c.skip_cfws();
  std::string_view subtype = c.token();
  if (subtype.empty()) return std::nullopt;
  ContentType out;
  out.type = ascii_lowercase(type);
  out.subtype = ascii_lowercase(subtype);
  out.params = parse_params(c);
  return out;
}

// RFC 2045 §5.2: "Content-type: text/plain; charset=us-ascii" is assumed when the field is
// absent or invalid.
ContentType default_content_type() {
  ContentType out;
  out.params.emplace_back("charset", "us-ascii");
  return out;
}

// RFC 2046 §5.1.5: in a multipart/digest the default is message/rfc822.
ContentType digest_default_content_type() {
  ContentType out;
  out.type = "message";
  out.subtype = "rfc822";
  return out;
}

// ---------------------------------------------------------------------------------------------
// The MIME tree.

// Lines in [begin, end): each LF ends one, and a last line without one counts too.
std::size_t count_lines(std::string_view message, std::size_t begin, std::size_t end) {
  std::string_view body = message.substr(begin, end - begin);
  std::size_t lines = static_cast<std::size_t>(std::count(body.begin(), body.end(), '\n'));
  if (!body.empty() && body.back() != '\n') ++lines;
  return lines;
}

// Builds the tree top-down. Each multipart scans its own body once for its own delimiter
// lines and hands each child its range, so the work is linear in the message size per
// nesting level, and nesting is bounded by depth_max. `parts_` counts every Part made.
class StructureParser {
 public:
  StructureParser(std::string_view message, StructureLimits limits)
      : message_(message), limits_(limits) {}

  Part parse() {
    Part root;
    parts_ = 1;
    parse_entity(root, 0, message_.size(), 0, false);
    return root;
  }

 private:
  void parse_entity(Part& part, std::size_t begin, std::size_t end, std::size_t depth,
                    bool in_digest) {
    MTA_ASSERT(begin <= end);
    MTA_ASSERT(end <= message_.size());
    std::string_view range = message_.substr(begin, end - begin);
    std::string_view header = header_block(range, range.size());
    part.header_begin = begin;
    part.header_end = begin + header.size();
    part.body_begin = part.header_end;
    part.body_end = end;
    part.body_lines = count_lines(message_, part.body_begin, part.body_end);
    read_fields(part, header, in_digest);

    if (depth >= limits_.depth_max) return;
    if (part.is_multipart()) {
      const std::string* boundary = part.content_type.param("boundary");
      if (boundary != nullptr && !boundary->empty()) {
        bool digest = part.content_type.subtype == "digest";
        parse_multipart(part, *boundary, depth, digest);
      }
    } else if (part.content_type.type == "message" &&
               (part.content_type.subtype == "rfc822" || part.content_type.subtype == "global")) {
      if (parts_ >= limits_.parts_max) return;
      ++parts_;
      part.message = std::make_unique<Part>();
      parse_entity(*part.message, part.body_begin, part.body_end, depth + 1, false);
    }
  }

  static void read_fields(Part& part, std::string_view header, bool in_digest) {
    std::optional<std::string> content_type, transfer_encoding, disposition;
    auto take = [](std::optional<std::string>& slot, const RawField& f) {
      if (!slot) slot = unfold(f.raw);
    };
    for_each_field(header, [&](const RawField& f) {
      if (f.name.size() < 8 || !iequals(f.name.substr(0, 8), "content-")) return true;
      std::string_view rest = f.name.substr(8);
      if (iequals(rest, "type")) {
        take(content_type, f);
      } else if (iequals(rest, "transfer-encoding")) {
        take(transfer_encoding, f);
      } else if (iequals(rest, "id")) {
        take(part.content_id, f);
      } else if (iequals(rest, "description")) {
        take(part.description, f);
      } else if (iequals(rest, "disposition")) {
        take(disposition, f);
      } else if (iequals(rest, "language")) {
        take(part.language, f);
      } else if (iequals(rest, "location")) {
        take(part.location, f);
      } else if (iequals(rest, "md5")) {
        take(part.md5, f);
      }
      return true;
    });
    std::optional<ContentType> parsed;
    if (content_type) parsed = try_parse_content_type(*content_type);
    if (parsed) {
      part.content_type = std::move(*parsed);
    } else {
      part.content_type = in_digest ? digest_default_content_type() : default_content_type();
    }
    if (transfer_encoding) {
      ValueCursor c(*transfer_encoding);
      c.skip_cfws();
      std::string_view mechanism = c.token();
      if (!mechanism.empty()) part.transfer_encoding = ascii_lowercase(mechanism);
    }
    if (disposition) {
      ContentType d = parse_content_disposition(*disposition);
      if (!d.type.empty()) part.disposition = std::move(d);
    }
  }

  enum class Delimiter { none, open, close };

  // RFC 2046 §5.1.1:
  //   dash-boundary  = "--" boundary
  //   delimiter      = CRLF dash-boundary
  //   close-delimiter = delimiter "--"
  //   body-part lines: dash-boundary transport-padding CRLF, transport-padding = *LWSP-char
  // Anything after a close delimiter's "--" is tolerated (it is epilogue).
  Delimiter classify(std::size_t begin, std::size_t content_end, std::string_view boundary) const {
    std::string_view line = message_.substr(begin, content_end - begin);
    if (line.size() < boundary.size() + 2 || line[0] != '-' || line[1] != '-') {
      return Delimiter::none;
    }
    if (line.compare(2, boundary.size(), boundary) != 0) return Delimiter::none;
    std::string_view rest = line.substr(boundary.size() + 2);
    if (rest.starts_with("--")) return Delimiter::close;
    for (char c : rest) {
      if (!is_wsp(c) && c != '\r') return Delimiter::none;
    }
    return Delimiter::open;
  }

  void parse_multipart(Part& part, std::string_view boundary, std::size_t depth, bool digest) {
    std::string_view body = message_.substr(0, part.body_end);
    std::optional<std::size_t> child_begin;  // set while inside a body part
    std::size_t pos = part.body_begin;
    while (pos < body.size()) {
      Line line = line_at(body, pos);
      Delimiter kind = classify(line.begin, line.content_end, boundary);
      if (kind != Delimiter::none) {
        if (child_begin) {
          // The CRLF before the delimiter line belongs to the delimiter.
          std::size_t child_end = pos;
          if (child_end > *child_begin && body[child_end - 1] == '\n') --child_end;
          if (child_end > *child_begin && body[child_end - 1] == '\r') --child_end;
          if (!add_child(part, *child_begin, child_end, depth, digest)) return;
        }
        child_begin.reset();
        if (kind == Delimiter::close) return;  // the epilogue is ignored
        child_begin = line.next;
      }
      pos = line.next;
    }
    // No close delimiter: the last part runs to the end of the multipart's range.
    if (child_begin) add_child(part, *child_begin, part.body_end, depth, digest);
  }

  // False once parts_max is reached: the multipart keeps the children it has.
  bool add_child(Part& parent, std::size_t begin, std::size_t end, std::size_t depth, bool digest) {
    if (parts_ >= limits_.parts_max) return false;
    ++parts_;
    Part& child = parent.children.emplace_back();
    parse_entity(child, begin, end, depth + 1, digest);
    return true;
  }

  std::string_view message_;
  StructureLimits limits_;
  std::size_t parts_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Address lists (RFC 5322 §3.4, with §4.4 obsolete forms):
//   address-list = address *("," address)
//   address      = mailbox / group
//   mailbox      = name-addr / addr-spec
//   name-addr    = [display-name] angle-addr
//   angle-addr   = [CFWS] "<" [obs-route] addr-spec ">" [CFWS]
//   obs-route    = obs-domain-list ":"        ; "@a,@b:"
//   group        = display-name ":" [group-list] ";" [CFWS]
//   addr-spec    = local-part "@" domain
// The value is first cut into tokens (atoms, quoted strings, domain literals, comments and
// specials), then each address is read from the tokens up to the next top-level ',' or ';'.
// Every token is visited a constant number of times, so the work is linear.

enum class TokenKind : std::uint8_t { atom, quoted, literal, comment, special };

struct AddressToken {
  TokenKind kind = TokenKind::atom;
  bool space_before = false;  // whitespace or a comment separates it from the token before
  std::string text;           // quoted strings and comments unescaped, without delimiters

  bool is(char special) const {
    return kind == TokenKind::special && text.size() == 1 && text[0] == special;
  }
};

bool ends_atom(char c) {
  static constexpr std::string_view kStops = "()<>[:;@,.\"";
  return is_space(c) || is_control(c) || kStops.find(c) != npos;
}

std::vector<AddressToken> tokenize_address_list(std::string_view s) {
  std::vector<AddressToken> out;
  bool space = false;
  std::size_t i = 0;
  auto push = [&](TokenKind kind, std::string text) {
    out.push_back({kind, space, std::move(text)});
    space = kind == TokenKind::comment;
  };
  while (i < s.size()) {
    char c = s[i];
    if (is_space(c) || is_control(c)) {
      space = true;
      ++i;
    } else if (c == '(') {
      std::string text;
      std::size_t depth = 1;
      ++i;
      while (i < s.size()) {
        char d = s[i++];
        if (d == '\\' && i < s.size()) {
          text += s[i++];
          continue;
        }
        if (d == '(') ++depth;
        if (d == ')' && --depth == 0) break;
        text += d;
      }
      push(TokenKind::comment, std::move(text));
    } else if (c == '"') {
      std::string text;
      ++i;
      while (i < s.size()) {
        char d = s[i++];
        if (d == '"') break;
        if (d == '\\' && i < s.size()) d = s[i++];
        text += d;
      }
      push(TokenKind::quoted, std::move(text));
    } else if (c == '[') {
      // A domain literal if a ']' comes before anything that cannot be inside one; else the
      // '[' is junk. The scan stops at the next '[', so no octet is scanned twice this way.
      std::size_t j = i + 1;
      while (j < s.size() && std::string_view("[]<>,;\"").find(s[j]) == npos) ++j;
      if (j < s.size() && s[j] == ']') {
        push(TokenKind::literal, std::string(s.substr(i, j + 1 - i)));
        i = j + 1;
      } else {
        push(TokenKind::atom, "[");
        ++i;
      }
    } else if (std::string_view("<>:;@,.").find(c) != npos) {
      push(TokenKind::special, std::string(1, c));
      ++i;
    } else {
      std::size_t j = i;
      while (j < s.size() && !ends_atom(s[j])) ++j;
      if (j == i) j = i + 1;  // a stray ')' or ']'
      push(TokenKind::atom, std::string(s.substr(i, j - i)));
      i = j;
    }
  }
  return out;
}

using Tokens = std::vector<AddressToken>;

// A display name or group name: words joined by one space where the original had whitespace.
std::string join_phrase(const Tokens& t, std::size_t begin, std::size_t end) {
  std::string out;
  for (std::size_t i = begin; i < end; ++i) {
    if (t[i].kind == TokenKind::comment) continue;
    if (t[i].space_before && !out.empty()) out += ' ';
    out += t[i].text;
  }
  return out;
}

// A local part or domain: tokens joined without the CFWS the obsolete syntax allows around
// dots; other whitespace (never valid there) is kept as one space.
std::string join_addr(const Tokens& t, std::size_t begin, std::size_t end) {
  std::string out;
  bool previous_dot = false;
  for (std::size_t i = begin; i < end; ++i) {
    if (t[i].kind == TokenKind::comment) continue;
    bool dot = t[i].is('.') || t[i].is('@');
    if (t[i].space_before && !out.empty() && !dot && !previous_dot) out += ' ';
    out += t[i].text;
    previous_dot = dot;
  }
  return out;
}

std::size_t find_special(const Tokens& t, std::size_t begin, std::size_t end, char special) {
  for (std::size_t i = begin; i < end; ++i) {
    if (t[i].is(special)) return i;
  }
  return end;
}

// The content of the last comment in [begin, end), as a display name of last resort
// ("ann@example.com (Ann Example)").
std::string last_comment(const Tokens& t, std::size_t begin, std::size_t end) {
  for (std::size_t i = end; i > begin; --i) {
    if (t[i - 1].kind == TokenKind::comment) return std::string(trim(t[i - 1].text));
  }
  return {};
}

// An addr-spec in [begin, end) without angle brackets. Returns where trailing junk starts
// (words after the domain that are not joined to it by dots), or end.
std::size_t read_addr_spec(const Tokens& t, std::size_t begin, std::size_t end, Address& a) {
  std::size_t at = find_special(t, begin, end, '@');
  if (at == end) {
    a.mailbox = join_phrase(t, begin, end);
    return end;
  }
  a.mailbox = join_addr(t, begin, at);
  std::size_t stop = at + 1;
  bool previous_dot = true;
  for (; stop < end; ++stop) {
    const AddressToken& token = t[stop];
    if (token.kind == TokenKind::comment) continue;
    bool dot = token.is('.') || token.is('@');
    if (token.kind == TokenKind::special && !dot) break;
    if (token.space_before && !dot && !previous_dot) break;
    previous_dot = dot;
  }
  a.host = join_addr(t, at + 1, stop);
  return stop;
}

// Words left over after an addr-spec ("a@b.example Ann"), as a display name of last resort.
std::string join_words(const Tokens& t, std::size_t begin, std::size_t end) {
  std::string out;
  for (std::size_t i = begin; i < end; ++i) {
    if (t[i].kind == TokenKind::comment || t[i].kind == TokenKind::special) continue;
    if (!out.empty()) out += ' ';
    out += t[i].text;
  }
  return out;
}

bool has_content(const Tokens& t, std::size_t begin, std::size_t end) {
  for (std::size_t i = begin; i < end; ++i) {
    if (t[i].kind != TokenKind::comment) return true;
  }
  return false;
}

// One mailbox from the tokens [begin, end), which hold no top-level ',' or ';'.
void read_mailbox(const Tokens& t, std::size_t begin, std::size_t end, std::vector<Address>& out) {
  if (!has_content(t, begin, end)) return;
  Address a;
  std::size_t open = find_special(t, begin, end, '<');
  if (open < end) {
    a.name = join_phrase(t, begin, open);
    std::size_t close = find_special(t, open + 1, end, '>');
    std::size_t addr_begin = open + 1;
    std::size_t first = addr_begin;
    while (first < close && t[first].kind == TokenKind::comment) ++first;
    if (first < close && t[first].is('@')) {
      std::size_t colon = find_special(t, first, close, ':');
      if (colon < close) {
        std::string route = join_addr(t, first, colon);
        route.erase(std::remove(route.begin(), route.end(), ' '), route.end());
        a.route = std::move(route);
        addr_begin = colon + 1;
      }
    }
    std::size_t at = find_special(t, addr_begin, close, '@');
    a.mailbox = join_addr(t, addr_begin, at);
    if (at < close) a.host = join_addr(t, at + 1, close);
  } else {
    std::size_t junk = read_addr_spec(t, begin, end, a);
    if (junk < end) a.name = join_words(t, junk, end);
  }
  if (a.name.empty()) a.name = last_comment(t, begin, end);
  out.push_back(std::move(a));
}

// ---------------------------------------------------------------------------------------------
// Decoding: base64, quoted-printable, RFC 2047 encoded-words and their charsets.

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// RFC 2045 §6.8: characters outside the alphabet are ignored; '=' ends the data.
void append_base64_decoded(std::string& out, std::string_view text) {
  std::uint32_t bits = 0;
  int bit_count = 0;
  for (char c : text) {
    if (c == '=') break;
    int v = base64_value(c);
    if (v < 0) continue;
    bits = (bits << 6) | static_cast<std::uint32_t>(v);
    bit_count += 6;
    if (bit_count >= 8) {
      bit_count -= 8;
      out += static_cast<char>((bits >> bit_count) & 0xff);
    }
  }
}

// RFC 2045 §6.7: "=XX" is an octet (either case accepted), "=" at the end of a line is a soft
// line break (also with whitespace between the two, which transports add), whitespace at the
// end of a line was added in transit and is dropped, and any other '=' is kept as it is.
std::string decode_quoted_printable(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  std::size_t i = 0;
  // The length of a line break at j, or 0 (the end of the text counts as one, of length 0).
  auto line_break_at = [&](std::size_t j) -> std::optional<std::size_t> {
    if (j == s.size()) return 0;
    if (s[j] == '\n') return 1;
    if (s[j] == '\r' && j + 1 < s.size() && s[j + 1] == '\n') return 2;
    return std::nullopt;
  };
  while (i < s.size()) {
    char c = s[i];
    if (c == '=') {
      std::size_t j = i + 1;
      while (j < s.size() && is_wsp(s[j])) ++j;
      if (auto n = line_break_at(j)) {
        i = j + *n;
        continue;
      }
      if (i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
        out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
        i += 3;
        continue;
      }
      out += '=';
      ++i;
    } else if (is_wsp(c)) {
      std::size_t j = i;
      while (j < s.size() && is_wsp(s[j])) ++j;
      if (!line_break_at(j)) out.append(s.substr(i, j - i));
      i = j;
    } else {
      out += c;
      ++i;
    }
  }
  return out;
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

// windows-1252 0x80-0x9F (the WHATWG Encoding table; the five unassigned octets map to the
// C1 controls of the same value, as there).
constexpr std::array<std::uint16_t, 32> kWindows1252 = {
    0x20ac, 0x0081, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160,
    0x2039, 0x0152, 0x008d, 0x017d, 0x008f, 0x0090, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022,
    0x2013, 0x2014, 0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0x009d, 0x017e, 0x0178};

enum class Charset { octets, latin1, windows1252 };

Charset charset_of(std::string_view name) {
  // RFC 2231 §5: a language may follow the charset after '*'.
  name = name.substr(0, name.find('*'));
  static constexpr std::string_view kLatin1[] = {"iso-8859-1", "iso8859-1", "iso_8859-1",
                                                 "latin1",     "latin-1",   "l1",
                                                 "iso-ir-100", "cp819",     "ibm819"};
  static constexpr std::string_view kWindows[] = {"windows-1252", "cp1252", "x-cp1252"};
  for (std::string_view n : kLatin1) {
    if (iequals(name, n)) return Charset::latin1;
  }
  for (std::string_view n : kWindows) {
    if (iequals(name, n)) return Charset::windows1252;
  }
  return Charset::octets;  // utf-8, us-ascii and charsets we do not convert
}

void append_converted(std::string& out, std::string_view bytes, Charset charset) {
  if (charset == Charset::octets) {
    out.append(bytes);
    return;
  }
  for (char c : bytes) {
    unsigned char u = static_cast<unsigned char>(c);
    if (charset == Charset::windows1252 && u >= 0x80 && u <= 0x9f) {
      append_utf8(out, kWindows1252[u - 0x80]);
    } else {
      append_utf8(out, u);
    }
  }
}

// RFC 2047 §2:
//   encoded-word = "=?" charset "?" encoding "?" encoded-text "?="
//   charset = token, encoding = token        ; token excludes SPACE, CTLs and especials
//   especials = "(" / ")" / "<" / ">" / "@" / "," / ";" / ":" / <"> / "/" / "[" / "]" /
//               "?" / "." / "="
//   encoded-text = 1*<any printable ASCII except "?" and SPACE>
// Tolerant: the text may be empty and may contain '?', and words need not be separated from
// surrounding text by whitespace.
struct EncodedWord {
  std::string_view charset;
  char encoding = 'q';
  std::string_view text;
  std::size_t end = 0;  // just past the "?="
};

bool is_charset_char(char c) {
  static constexpr std::string_view kEspecials = "()<>@,;:\"/[]?.=";
  return !is_control(c) && c != ' ' && kEspecials.find(c) == npos &&
         static_cast<unsigned char>(c) < 0x80;
}

// Reads the encoded-word at `start` (which holds "=?"). `no_close_before` remembers how far an
// earlier search for "?=" found none, so no octet is searched twice and text full of "=?"
// stays linear.
std::optional<EncodedWord> read_encoded_word(std::string_view s, std::size_t start,
                                             std::size_t& no_close_before) {
  constexpr std::size_t kCharsetBytesMax = 64;
  std::size_t p = start + 2;
  std::size_t charset_begin = p;
  while (p < s.size() && p - charset_begin < kCharsetBytesMax &&
         (is_charset_char(s[p]) || s[p] == '*')) {
    ++p;
  }
  if (p == charset_begin || p >= s.size() || s[p] != '?') return std::nullopt;
  EncodedWord word;
  word.charset = s.substr(charset_begin, p - charset_begin);
  ++p;
  if (p + 1 >= s.size() || s[p + 1] != '?') return std::nullopt;
  word.encoding = ascii_lower(s[p]);
  if (word.encoding != 'q' && word.encoding != 'b') return std::nullopt;
  p += 2;
  std::size_t text_begin = p;
  if (text_begin < no_close_before) return std::nullopt;
  for (; p < s.size(); ++p) {
    if (is_space(s[p])) break;
    if (s[p] == '?' && p + 1 < s.size() && s[p + 1] == '=') {
      word.text = s.substr(text_begin, p - text_begin);
      word.end = p + 2;
      return word;
    }
  }
  no_close_before = p;
  return std::nullopt;
}

void append_decoded_word(std::string& out, const EncodedWord& word) {
  std::string bytes;
  if (word.encoding == 'b') {
    append_base64_decoded(bytes, word.text);
  } else {
    // RFC 2047 §4.2: "_" is a space; "=XX" an octet; other characters stand for themselves.
    std::string_view t = word.text;
    for (std::size_t i = 0; i < t.size(); ++i) {
      if (t[i] == '_') {
        bytes += ' ';
      } else if (t[i] == '=' && i + 2 < t.size() && hex_value(t[i + 1]) >= 0 &&
                 hex_value(t[i + 2]) >= 0) {
        bytes += static_cast<char>(hex_value(t[i + 1]) * 16 + hex_value(t[i + 2]));
        i += 2;
      } else {
        bytes += t[i];
      }
    }
  }
  append_converted(out, bytes, charset_of(word.charset));
}

}  // namespace

const std::string* ContentType::param(std::string_view name) const {
  for (const auto& [key, value] : params) {
    if (iequals(key, name)) return &value;
  }
  return nullptr;
}

std::vector<HeaderField> parse_header_fields(std::string_view header_block) {
  std::vector<HeaderField> fields;
  for_each_field(header_block, [&](const RawField& f) {
    fields.push_back({f.name, unfold(f.raw), f.begin, f.end});
    return true;
  });
  return fields;
}

std::optional<std::string> header_value(std::string_view header_block, std::string_view name) {
  std::optional<std::string> value;
  for_each_field(header_block, [&](const RawField& f) {
    if (!iequals(f.name, name)) return true;
    value = unfold(f.raw);
    return false;
  });
  return value;
}

ContentType parse_content_type(std::string_view value) {
  std::optional<ContentType> parsed = try_parse_content_type(value);
  return parsed ? std::move(*parsed) : default_content_type();
}

// RFC 2183 §2:
//   disposition      = "Content-Disposition" ":" disposition-type *(";" disposition-parm)
//   disposition-type = "inline" / "attachment" / extension-token
ContentType parse_content_disposition(std::string_view value) {
  ContentType out;
  out.subtype.clear();
  out.type.clear();
  ValueCursor c(value);
  c.skip_cfws();
  std::size_t start = c.pos();
  std::string_view type = c.token();
  c.skip_cfws();
  if (!c.at_end() && c.peek() == '=') {
    c.seek(start);  // "filename=x" with no disposition type
  } else {
    out.type = ascii_lowercase(type);
  }
  out.params = parse_params(c);
  return out;
}

Part parse_structure(std::string_view message, StructureLimits limits) {
  return StructureParser(message, limits).parse();
}

// RFC 3501 §6.4.5: "Every message has at least one part number. Non-[MIME-IMB] messages, and
// non-multipart [MIME-IMB] messages with no encapsulated message, only have a part 1. ...
// A part of type MESSAGE/RFC822 also has nested part numbers, referring to parts of the
// MESSAGE part's body."
const Part* find_part(const Part& root, std::span<const std::uint32_t> numbers) {
  const Part* part = &root;
  bool is_message = true;  // `part` is a whole message (root or encapsulated), not a body part
  for (std::size_t i = 0; i < numbers.size(); ++i) {
    std::uint32_t n = numbers[i];
    if (n == 0) return nullptr;
    if (part->is_multipart()) {
      if (n > part->children.size()) return nullptr;
      part = &part->children[n - 1];
    } else if (!is_message || n != 1) {
      return nullptr;  // a non-multipart message's only part is 1, its body
    }
    if (i + 1 == numbers.size()) break;
    if (part->message) {
      part = part->message.get();
      is_message = true;
    } else if (part->is_multipart()) {
      is_message = false;
    } else {
      return nullptr;
    }
  }
  return part;
}

std::vector<Address> parse_address_list(std::string_view value) {
  Tokens t = tokenize_address_list(value);
  std::vector<Address> out;
  bool in_group = false;
  bool group_marked = false;  // the group has a start marker, so it gets an end marker
  std::size_t p = 0;
  while (p < t.size()) {
    if (t[p].is(',') || t[p].is('>')) {
      ++p;
      continue;
    }
    if (t[p].is(';')) {
      if (in_group && group_marked) out.push_back({.group_end = true});
      in_group = false;
      ++p;
      continue;
    }
    // The extent of one address: up to a top-level ',' or any ';'. Inside angle brackets a
    // ',' only separates route domains ("<@a,@b:u@h>"); after that, a missing '>' ends the
    // address at the ','. A ':' before any '<' or '@' starts a group.
    std::size_t q = p;
    bool in_angle = false, route = false, seen_addr = false;
    bool group_start = false;
    for (; q < t.size(); ++q) {
      const AddressToken& token = t[q];
      if (token.kind != TokenKind::special) continue;
      char c = token.text[0];
      if (c == ';') break;
      if (c == ',' && (!in_angle || !route)) break;
      if (c == '<' && !in_angle) {
        in_angle = true;
        seen_addr = true;
        std::size_t next = q + 1;
        while (next < t.size() && t[next].kind == TokenKind::comment) ++next;
        route = next < t.size() && t[next].is('@');
      } else if (c == '>') {
        in_angle = false;
        route = false;
      } else if (c == '@') {
        seen_addr = true;
      } else if (c == ':') {
        if (in_angle) {
          route = false;
        } else if (!in_group && !seen_addr) {
          group_start = true;
          break;
        }
      }
    }
    if (group_start) {
      // A group without a name cannot be told from an empty mailbox in the list, so its
      // members are listed without markers.
      std::string name = join_phrase(t, p, q);
      group_marked = !name.empty();
      if (group_marked) out.push_back({.group = std::move(name)});
      in_group = true;
      p = q + 1;
      continue;
    }
    read_mailbox(t, p, q, out);
    p = q;
  }
  if (in_group && group_marked) out.push_back({.group_end = true});
  return out;
}

std::string decode_words(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;                 // next input octet to copy
  std::size_t last_word_end = npos;  // input offset just past the last decoded word
  std::size_t no_close_before = 0;
  while (i < text.size()) {
    std::size_t start = text.find("=?", i);
    if (start == npos) break;
    std::optional<EncodedWord> word = read_encoded_word(text, start, no_close_before);
    if (!word) {
      out.append(text.substr(i, start + 2 - i));
      i = start + 2;
      continue;
    }
    // RFC 2047 §6.2: whitespace between adjacent encoded-words is not displayed.
    std::string_view between = text.substr(i, start - i);
    bool adjacent = last_word_end == i && std::all_of(between.begin(), between.end(), is_space);
    if (!adjacent) out.append(between);
    append_decoded_word(out, *word);
    i = word->end;
    last_word_end = i;
  }
  if (i < text.size()) out.append(text.substr(i));
  return out;
}

std::string decode_transfer(std::string_view body, std::string_view encoding) {
  encoding = trim(encoding);
  if (iequals(encoding, "base64")) {
    std::string out;
    out.reserve(body.size() / 4 * 3 + 3);
    append_base64_decoded(out, body);
    return out;
  }
  if (iequals(encoding, "quoted-printable")) return decode_quoted_printable(body);
  return std::string(body);
}

}  // namespace mta::mime
