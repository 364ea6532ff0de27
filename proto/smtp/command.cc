// SMTP command line parser (RFC 5321 §4.1.1 commands, §4.1.2 path grammar, RFC 1869/5321
// ESMTP parameters, RFC 6531 UTF-8 addresses). A recursive-descent reader over one line; it
// allocates only for the strings it returns.
#include "proto/smtp/command.h"

#include <array>
#include <charconv>
#include <cstring>

#include "base/ascii.h"
#include "base/envelope_address.h"
#include "proto/smtp/errc.h"

namespace mta::smtp {
namespace {

constexpr std::string_view kBadSender = "5.1.7 Bad sender address syntax";
constexpr std::string_view kBadRecipient = "5.1.3 Bad recipient address syntax";
constexpr std::string_view kBadParameter = "5.5.4 Syntax: bad ESMTP parameter";

bool is_alpha(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
bool is_utf8(unsigned char c) { return c >= 0x80; }  // RFC 6531 UTF8-non-ascii, not validated

char to_upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

bool istarts_with(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && iequals(text.substr(0, prefix.size()), prefix);
}

struct VerbName {
  std::string_view name;
  Verb verb;
};
constexpr std::array<VerbName, 14> kVerbs = {{
    {"HELO", Verb::helo},
    {"EHLO", Verb::ehlo},
    {"MAIL", Verb::mail},
    {"RCPT", Verb::rcpt},
    {"DATA", Verb::data},
    {"RSET", Verb::rset},
    {"NOOP", Verb::noop},
    {"QUIT", Verb::quit},
    {"VRFY", Verb::vrfy},
    {"HELP", Verb::help},
    {"STARTTLS", Verb::starttls},
    {"AUTH", Verb::auth},
    {"BDAT", Verb::bdat},
    {"EXPN", Verb::expn},
}};

// A read position in one line; every parse_* below advances it only on success.
class Cursor {
 public:
  explicit Cursor(std::string_view text) : text_(text) {}

  bool at_end() const { return pos_ == text_.size(); }
  unsigned char peek() const { return at_end() ? 0 : static_cast<unsigned char>(text_[pos_]); }
  bool eat(char c) {
    if (at_end() || text_[pos_] != c) {
      return false;
    }
    ++pos_;
    return true;
  }
  void advance() { ++pos_; }
  std::size_t pos() const { return pos_; }
  void reset(std::size_t pos) { pos_ = pos; }
  std::string_view slice(std::size_t from) const { return text_.substr(from, pos_ - from); }
  std::string_view rest() const { return text_.substr(pos_); }

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
};

// atext (RFC 5322 §3.2.3) = ALPHA / DIGIT / "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" /
//                           "-" / "/" / "=" / "?" / "^" / "_" / "`" / "{" / "|" / "}" / "~"
//                           (RFC 6531: / UTF8-non-ascii)
bool is_atext(unsigned char c) {
  return is_alpha(c) || is_digit(c) || is_utf8(c) ||
         (c != 0 && std::strchr("!#$%&'*+-/=?^_`{|}~", c) != nullptr);
}

// Atom = 1*atext ; Dot-string = Atom *("." Atom)
bool parse_dot_string(Cursor& in) {
  const std::size_t start = in.pos();
  for (;;) {
    if (!is_atext(in.peek())) {
      in.reset(start);
      return false;
    }
    while (is_atext(in.peek())) {
      in.advance();
    }
    if (in.peek() != '.') {
      return true;
    }
    in.advance();
  }
}

// Quoted-string = DQUOTE *QcontentSMTP DQUOTE
// QcontentSMTP = qtextSMTP / quoted-pairSMTP
// quoted-pairSMTP = %d92 %d32-126
// qtextSMTP = %d32-33 / %d35-91 / %d93-126 (RFC 6531: / UTF8-non-ascii)
bool parse_quoted_string(Cursor& in) {
  const std::size_t start = in.pos();
  if (!in.eat('"')) {
    return false;
  }
  for (;;) {
    const unsigned char c = in.peek();
    if (c == '"') {
      in.advance();
      return true;
    }
    if (c == '\\') {
      in.advance();
      const unsigned char quoted = in.peek();
      if (quoted < 32 || quoted > 126) {
        break;
      }
      in.advance();
    } else if ((c >= 32 && c <= 126) || is_utf8(c)) {
      in.advance();
    } else {
      break;  // control character or end of line
    }
  }
  in.reset(start);
  return false;
}

// sub-domain = Let-dig [Ldh-str] ; Let-dig = ALPHA / DIGIT ; Ldh-str = *( ALPHA / DIGIT / "-" )
// Let-dig (RFC 6531: U-labels, so UTF8-non-ascii counts as Let-dig)
bool parse_sub_domain(Cursor& in) {
  const auto let_dig = [](unsigned char c) { return is_alpha(c) || is_digit(c) || is_utf8(c); };
  if (!let_dig(in.peek())) {
    return false;
  }
  unsigned char last = 0;
  while (let_dig(in.peek()) || in.peek() == '-') {
    last = in.peek();
    in.advance();
  }
  return last != '-';
}

// Domain = sub-domain *("." sub-domain)
bool parse_domain(Cursor& in) {
  const std::size_t start = in.pos();
  for (;;) {
    if (!parse_sub_domain(in)) {
      in.reset(start);
      return false;
    }
    if (in.peek() != '.') {
      return true;
    }
    in.advance();
  }
}

// address-literal = "[" ( IPv4-address-literal / IPv6-address-literal /
//                         General-address-literal ) "]"
// Checked loosely as "[" 1*dcontent "]" with dcontent = %d33-90 / %d94-126: the literal is
// passed on, never routed on by this parser.
bool parse_address_literal(Cursor& in) {
  const std::size_t start = in.pos();
  if (!in.eat('[')) {
    return false;
  }
  std::size_t count = 0;
  while ((in.peek() >= 33 && in.peek() <= 90) || (in.peek() >= 94 && in.peek() <= 126)) {
    in.advance();
    ++count;
  }
  if (count > 0 && in.eat(']')) {
    return true;
  }
  in.reset(start);
  return false;
}

// Mailbox = Local-part "@" ( Domain / address-literal )
// Local-part = Dot-string / Quoted-string
bool parse_mailbox(Cursor& in) {
  const std::size_t start = in.pos();
  if (!parse_dot_string(in) && !parse_quoted_string(in)) {
    return false;
  }
  if (in.eat('@') && (parse_domain(in) || parse_address_literal(in))) {
    return true;
  }
  in.reset(start);
  return false;
}

// Path = "<" [ A-d-l ":" ] Mailbox ">"
// A-d-l = At-domain *( "," At-domain ) ; At-domain = "@" Domain
// Returns the Mailbox (source route dropped). allow_postmaster also takes "<Postmaster>".
bool parse_path(Cursor& in, bool allow_postmaster, std::string_view& mailbox) {
  const std::size_t start = in.pos();
  if (!in.eat('<')) {
    return false;
  }
  if (in.peek() == '@') {
    do {
      if (!in.eat('@') || !parse_domain(in)) {
        in.reset(start);
        return false;
      }
    } while (in.eat(','));
    if (!in.eat(':')) {
      in.reset(start);
      return false;
    }
  }
  const std::size_t mailbox_start = in.pos();
  if (parse_mailbox(in)) {
    mailbox = in.slice(mailbox_start);
    if (in.eat('>')) {
      return true;
    }
  } else if (allow_postmaster && istarts_with(in.rest(), "postmaster>")) {
    for (std::size_t i = 0; i < std::string_view("postmaster").size(); ++i) {
      in.advance();
    }
    mailbox = in.slice(mailbox_start);
    in.advance();  // '>'
    return true;
  }
  in.reset(start);
  return false;
}

// Mail-parameters = esmtp-param *(SP esmtp-param)   (likewise Rcpt-parameters)
// esmtp-param = esmtp-keyword ["=" esmtp-value]
// esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
// esmtp-value = 1*(%d33-60 / %d62-126)   (RFC 6531: / UTF8-non-ascii)
// Runs of spaces between parameters and trailing spaces are tolerated.
bool parse_parameters(Cursor& in, std::vector<std::pair<std::string, std::string>>& out) {
  for (;;) {
    while (in.eat(' ')) {
    }
    if (in.at_end()) {
      return true;
    }
    const std::size_t keyword_start = in.pos();
    if (!is_alpha(in.peek()) && !is_digit(in.peek())) {
      return false;
    }
    while (is_alpha(in.peek()) || is_digit(in.peek()) || in.peek() == '-') {
      in.advance();
    }
    std::string keyword(in.slice(keyword_start));
    for (char& c : keyword) {
      c = to_upper(c);
    }
    std::string value;
    if (in.eat('=')) {
      const std::size_t value_start = in.pos();
      const auto value_char = [](unsigned char c) {
        return (c >= 33 && c <= 60) || (c >= 62 && c <= 126) || is_utf8(c);
      };
      while (value_char(in.peek())) {
        in.advance();
      }
      if (in.pos() == value_start) {
        return false;
      }
      value = in.slice(value_start);
    }
    if (!in.at_end() && in.peek() != ' ') {
      return false;
    }
    out.emplace_back(std::move(keyword), std::move(value));
  }
}

// mail = "MAIL FROM:" Reverse-path [SP Mail-parameters] CRLF ; Reverse-path = Path / "<>"
// rcpt = "RCPT TO:" ( "<Postmaster@" Domain ">" / "<Postmaster>" / Forward-path )
//        [SP Rcpt-parameters] CRLF
Result<void> parse_path_and_parameters(Command& command) {
  const bool is_mail = command.verb == Verb::mail;
  const std::string_view prefix = is_mail ? "FROM:" : "TO:";
  const std::string_view bad_address = is_mail ? kBadSender : kBadRecipient;
  if (!istarts_with(command.argument, prefix)) {
    return unexpected(Errc::malformed_command, is_mail ? "5.5.4 Syntax: MAIL FROM:<address>"
                                                       : "5.5.4 Syntax: RCPT TO:<address>");
  }
  Cursor in(std::string_view(command.argument).substr(prefix.size()));
  while (in.eat(' ')) {  // Liberal: "MAIL FROM: <a@b>" (see command.h).
  }
  std::string_view mailbox;
  if (is_mail && in.rest().starts_with("<>")) {
    in.advance();
    in.advance();
  } else if (!parse_path(in, /*allow_postmaster=*/!is_mail, mailbox)) {
    // Say what is wrong with what stands between the brackets ("leading white space").
    const std::string_view rest = in.rest();
    const std::size_t close = rest.rfind('>');
    if (rest.starts_with("<") && close != std::string_view::npos && close > 1 && rest[1] != '@') {
      if (auto canonical = canonical_address(rest.substr(1, close - 1)); !canonical) {
        return unexpected(Errc::malformed_command,
                          std::string(bad_address) + ": " + canonical.error().detail);
      }
    }
    return unexpected(Errc::malformed_command, std::string(bad_address));
  }
  if (!in.at_end() && in.peek() != ' ') {
    return unexpected(Errc::malformed_command, std::string(bad_address));  // "<a@b>junk"
  }
  command.path = mailbox;
  if (!parse_parameters(in, command.parameters)) {
    return unexpected(Errc::malformed_command, std::string(kBadParameter));
  }
  return {};
}

bool blank(std::string_view text) { return text.find_first_not_of(' ') == std::string_view::npos; }

// bdat-cmd   ::= "BDAT" SP chunk-size [ SP end-marker ] CR LF   (RFC 3030 §2)
// chunk-size ::= 1*DIGIT
// end-marker ::= "LAST"
Result<void> parse_chunk(Command& command) {
  std::string_view rest = command.argument;
  while (rest.ends_with(' ')) rest.remove_suffix(1);
  const std::size_t space = rest.find(' ');
  const std::string_view size = rest.substr(0, space);
  const std::string_view marker =
      space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(size.data(), size.data() + size.size(), value);
  const bool size_ok = !size.empty() && is_digit(static_cast<unsigned char>(size[0])) &&
                       ec == std::errc() && end == size.data() + size.size();
  const bool marker_ok = space == std::string_view::npos || iequals(marker, "LAST");
  if (!size_ok || !marker_ok) {
    return unexpected(Errc::bad_chunk_size, "5.5.4 Syntax: BDAT chunk-size [LAST]");
  }
  command.chunk_bytes = value;
  command.last_chunk = space != std::string_view::npos;
  return {};
}

}  // namespace

std::string_view to_string(Verb verb) {
  for (const VerbName& entry : kVerbs) {
    if (entry.verb == verb) {
      return entry.name;
    }
  }
  return "UNKNOWN";
}

// command = verb [SP argument] ; verbs are case-insensitive (RFC 5321 §2.4).
Result<Command> parse_command(std::string_view line, std::size_t line_bytes_max) {
  if (line.size() + 2 > line_bytes_max) {
    return unexpected(Errc::command_too_long, "5.5.2 Error: line too long");
  }
  Command command;
  const std::size_t space = line.find(' ');
  const std::string_view verb = line.substr(0, space);
  if (space != std::string_view::npos) {
    command.argument = line.substr(space + 1);
  }
  for (const VerbName& entry : kVerbs) {
    if (iequals(verb, entry.name)) {
      command.verb = entry.verb;
      break;
    }
  }
  const auto syntax = [](std::string_view usage) {
    return unexpected(Errc::malformed_command, "5.5.4 Syntax: " + std::string(usage));
  };
  switch (command.verb) {
    case Verb::helo:
      if (blank(command.argument)) {
        return syntax("HELO hostname");
      }
      break;
    case Verb::ehlo:
      if (blank(command.argument)) {
        return syntax("EHLO hostname");
      }
      break;
    case Verb::vrfy:
      if (blank(command.argument)) {
        return syntax("VRFY address");
      }
      break;
    case Verb::data:
      if (!blank(command.argument)) {
        return syntax("DATA");
      }
      break;
    case Verb::rset:
      if (!blank(command.argument)) {
        return syntax("RSET");
      }
      break;
    case Verb::quit:
      if (!blank(command.argument)) {
        return syntax("QUIT");
      }
      break;
    case Verb::mail:
    case Verb::rcpt: {
      Result<void> parsed = parse_path_and_parameters(command);
      if (!parsed) {
        return unexpected(parsed.error());
      }
      break;
    }
    case Verb::bdat: {
      Result<void> parsed = parse_chunk(command);
      if (!parsed) {
        return unexpected(parsed.error());
      }
      break;
    }
    case Verb::noop:
    case Verb::help:
    case Verb::starttls:
    case Verb::auth:
    case Verb::expn:
    case Verb::unknown:
      break;
  }
  return command;
}

}  // namespace mta::smtp
