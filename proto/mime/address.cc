// parse_mailbox and format_mailbox: the RFC 5322 §3.4 mailbox subset the HTTP API accepts.
// Strict on purpose: a message composed from what parses here must be read the same way by
// every MTA and client downstream, so ambiguous legacy forms are refused rather than guessed.
#include "proto/mime/address.h"

#include "base/concat.h"
#include "proto/mime/encoding.h"
#include "proto/mime/errc.h"

namespace mta::mime {
namespace {

bool is_wsp(char c) { return c == ' ' || c == '\t'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_non_ascii(char c) { return static_cast<unsigned char>(c) >= 0x80; }

// RFC 5322 §3.2.3:
//   atext = ALPHA / DIGIT / "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "/" /
//           "=" / "?" / "^" / "_" / "`" / "{" / "|" / "}" / "~"
bool is_atext(char c) {
  if (is_alpha(c) || is_digit(c)) return true;
  static constexpr std::string_view kSpecials = "!#$%&'*+-/=?^_`{|}~";
  return kSpecials.find(c) != std::string_view::npos;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_wsp(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_wsp(s.back())) s.remove_suffix(1);
  return s;
}

Unexpected<Error> bad(std::string detail) {
  return unexpected(Errc::bad_address, std::move(detail));
}

// RFC 5322 §3.2.3: dot-atom-text = 1*atext *("." 1*atext)
bool is_dot_atom(std::string_view s) {
  if (s.empty() || s.front() == '.' || s.back() == '.') return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '.') {
      if (s[i - 1] == '.') return false;
    } else if (!is_atext(s[i])) {
      return false;
    }
  }
  return true;
}

// RFC 5321 §4.1.2 (the form a domain must take to be routable):
//   Domain = sub-domain *("." sub-domain)
//   sub-domain = Let-dig [Ldh-str]     ; Ldh-str = *( ALPHA / DIGIT / "-" ) Let-dig
// RFC 5322 §3.4.1: domain-literal = "[" *dtext "]", dtext = %d33-90 / %d94-126
Result<void> check_domain(std::string_view domain) {
  if (domain.empty()) return bad("empty domain");
  if (domain.front() == '[') {
    if (domain.size() < 3 || domain.back() != ']') return bad("malformed domain literal");
    for (char c : domain.substr(1, domain.size() - 2)) {
      unsigned char u = static_cast<unsigned char>(c);
      if (!((u >= 33 && u <= 90) || (u >= 94 && u <= 126))) {
        return bad("bad character in domain literal");
      }
    }
    return {};
  }
  if (domain.size() > kDomainBytesMax) return bad("domain too long");
  std::size_t label_start = 0;
  while (true) {
    std::size_t dot = domain.find('.', label_start);
    std::string_view label = domain.substr(label_start, dot - label_start);
    if (label.empty()) return bad("empty label in domain");
    if (label.size() > 63) return bad("domain label longer than 63 octets");
    if (label.front() == '-' || label.back() == '-')
      return bad("domain label starts or ends with '-'");
    for (char c : label) {
      if (!is_alpha(c) && !is_digit(c) && c != '-') {
        return bad(concat({"bad character in domain: '", std::string_view(&c, 1), "'"}));
      }
    }
    if (dot == std::string_view::npos) return {};
    label_start = dot + 1;
  }
}

// RFC 5322 §3.4.1: addr-spec = local-part "@" domain, here with local-part = dot-atom.
Result<void> check_addr_spec(std::string_view s) {
  if (s.empty()) return bad("empty address");
  for (char c : s) {
    if (is_non_ascii(c)) return bad("non-ASCII address (SMTPUTF8) is not supported");
    if (is_wsp(c)) return bad("whitespace in address");
    if (c == '"') return bad("quoted local part is not supported");
    if (c == '<' || c == '>') return bad("unbalanced '<' or '>'");
  }
  std::size_t at = s.rfind('@');
  if (at == std::string_view::npos) return bad("missing '@'");
  std::string_view local = s.substr(0, at);
  std::string_view domain = s.substr(at + 1);
  if (local.empty()) return bad("empty local part");
  if (local.size() > kLocalPartBytesMax) return bad("local part longer than 64 octets");
  if (!is_dot_atom(local)) return bad("bad local part");
  if (s.size() > kAddressBytesMax) return bad("address longer than 254 octets");
  return check_domain(domain);
}

bool is_phrase_octet(char c) { return is_atext(c) || is_wsp(c) || c == '.' || is_non_ascii(c); }

bool is_control(char c) {
  unsigned char u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7f;
}

// RFC 5322 §3.2.4:
//   quoted-string = [CFWS] DQUOTE *([FWS] qcontent) [FWS] DQUOTE [CFWS]
//   qcontent = qtext / quoted-pair       ; qtext = %d33 / %d35-91 / %d93-126 (+ UTF-8, RFC 6532)
//   quoted-pair = "\" (VCHAR / WSP)
// `s` starts at the opening DQUOTE. On success `end` is just past the closing one.
Result<std::string> parse_quoted_string(std::string_view s, std::size_t& end) {
  std::string out;
  for (std::size_t i = 1; i < s.size(); ++i) {
    char c = s[i];
    if (c == '"') {
      end = i + 1;
      return out;
    }
    if (c == '\\') {
      if (i + 1 == s.size()) break;
      c = s[++i];
    }
    if (is_control(c) && c != '\t') return bad("control character in display name");
    out += c;
  }
  return bad("unterminated quoted display name");
}

// Text that can be written as a phrase of atoms: words of atext separated by single spaces.
bool is_atom_phrase(std::string_view s) {
  if (s.empty() || s.front() == ' ' || s.back() == ' ') return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == ' ') {
      if (s[i - 1] == ' ') return false;
    } else if (!is_atext(s[i])) {
      return false;
    }
  }
  return true;
}

bool needs_encoded_words(std::string_view s) {
  for (char c : s) {
    if (is_non_ascii(c) || (is_control(c) && c != '\t')) return true;
  }
  return s.find("=?") != std::string_view::npos;
}

}  // namespace

// RFC 5322 §3.4:
//   mailbox    = name-addr / addr-spec
//   name-addr  = [display-name] angle-addr
//   angle-addr = [CFWS] "<" addr-spec ">" [CFWS]
//   display-name = phrase
Result<Mailbox> parse_mailbox(std::string_view text) {
  if (text.size() > kMailboxBytesMax) return bad("mailbox longer than 998 octets");
  std::string_view s = trim(text);
  if (s.empty()) return bad("empty mailbox");
  Mailbox mailbox;
  if (s.find_first_of("<>\"") == std::string_view::npos) {
    if (auto ok = check_addr_spec(s); !ok) return unexpected(ok.error());
    mailbox.address = std::string(s);
    return mailbox;
  }
  std::size_t open = 0;
  if (s.front() == '"') {
    std::size_t end = 0;
    auto name = parse_quoted_string(s, end);
    if (!name) return unexpected(name.error());
    mailbox.display_name = std::move(*name);
    open = end;
    while (open < s.size() && is_wsp(s[open])) ++open;
    if (open == s.size() || s[open] != '<') return bad("expected '<' after quoted display name");
  } else {
    open = s.find('<');
    if (open == std::string_view::npos) return bad("missing '<'");
    std::string_view name = trim(s.substr(0, open));
    for (char c : name) {
      if (!is_phrase_octet(c)) {
        if (c == '"') return bad("quote inside unquoted display name");
        return bad(
            concat({"character '", std::string_view(&c, 1), "' in display name needs quoting"}));
      }
    }
    mailbox.display_name = std::string(name);
  }
  if (!is_utf8(mailbox.display_name)) {
    return unexpected(Errc::invalid_utf8, "display name is not valid UTF-8");
  }
  std::size_t close = s.find('>', open);
  if (close == std::string_view::npos) return bad("missing '>'");
  if (close + 1 != s.size()) return bad("text after '>'");
  std::string_view addr = s.substr(open + 1, close - open - 1);
  if (auto ok = check_addr_spec(addr); !ok) return unexpected(ok.error());
  mailbox.address = std::string(addr);
  return mailbox;
}

std::string format_mailbox(const Mailbox& mailbox) {
  if (mailbox.display_name.empty()) return mailbox.address;
  std::string out;
  const std::string& name = mailbox.display_name;
  if (needs_encoded_words(name)) {
    out = encode_words(name);
  } else if (is_atom_phrase(name)) {
    out = name;
  } else {
    out.reserve(name.size() + 4);
    out += '"';
    for (char c : name) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out.append(" <").append(mailbox.address).append(">");
  return out;
}

}  // namespace mta::mime
