// parse_bounce. The MIME tree comes from mime::parse_structure; this file decides what kind of
// message it is (ARF, DSN, prose bounce, auto-reply, in that order), reads the report fields or
// recognises the prose, and classifies each recipient with Rules. Everything is bounded: the
// message by bytes_max, the prose by kProseBytesMax, recipients by recipients_max, and every
// scan is linear over those.
#include "mailbox/bounce.h"

#include <algorithm>
#include <array>
#include <utility>

#include "base/ascii.h"
#include "base/assert.h"
#include "base/concat.h"
#include "proto/mime/header.h"
#include "proto/mime/structure.h"
#include "proto/mime/verp.h"

namespace mta::mailbox {
namespace {

constexpr std::size_t kProseBytesMax = 64 * 1024;  // of the human-readable part
constexpr std::size_t kPartsVisitedMax = 256;
constexpr std::size_t kSubjectBytesMax = 512;

// ---------------------------------------------------------------------------------------------
// Small text helpers.

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// At most `bytes_max` bytes of `text`, not ending inside a UTF-8 sequence.
std::string_view cap_utf8(std::string_view text, std::size_t bytes_max) {
  if (text.size() <= bytes_max) return text;
  std::size_t end = bytes_max;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xc0) == 0x80) --end;
  return text.substr(0, end);
}

// "rfc822; ann@example.com" -> "ann@example.com"; "dns; mx.example.com" -> "mx.example.com".
// RFC 3464 §2.1.2: address-type ";" generic-address (likewise MTA-name-type, diagnostic-type).
std::string_view strip_type(std::string_view value) {
  value = trim(value);
  std::size_t semicolon = value.find(';');
  if (semicolon != std::string_view::npos && semicolon <= 16) {
    std::string_view type = trim(value.substr(0, semicolon));
    bool is_type = !type.empty();
    for (char c : type) is_type = is_type && (is_alnum(c) || c == '-');
    if (is_type) value = trim(value.substr(semicolon + 1));
  }
  return value;
}

std::string_view strip_angles(std::string_view value) {
  value = trim(value);
  if (value.size() >= 2 && value.front() == '<' && value.back() == '>') {
    value = trim(value.substr(1, value.size() - 2));
  }
  return value;
}

std::string_view first_word(std::string_view value) {
  value = trim(value);
  std::size_t end = 0;
  while (end < value.size() && !is_space(value[end]) && value[end] != '(') ++end;
  return value.substr(0, end);
}

// Runs of blanks as one space: what folding (RFC 5322 §2.2.3) leaves of a long reply.
std::string collapse_blanks(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    bool blank = c == ' ' || c == '\t';
    if (blank && !out.empty() && out.back() == ' ') continue;
    out += blank ? ' ' : c;
  }
  return out;
}

// Text with CRLF and bare CR turned into LF.
std::string to_lf(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r') {
      out += '\n';
      if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
    } else {
      out += text[i];
    }
  }
  return out;
}

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    std::size_t lf = text.find('\n');
    lines.push_back(text.substr(0, lf));
    if (lf == std::string_view::npos) break;
    text.remove_prefix(lf + 1);
  }
  return lines;
}

bool contains(std::string_view lower_text, std::string_view needle) {
  return lower_text.find(needle) != std::string_view::npos;
}

template <std::size_t N>
bool contains_any(std::string_view lower_text, const std::array<std::string_view, N>& needles) {
  for (std::string_view needle : needles) {
    if (contains(lower_text, needle)) return true;
  }
  return false;
}

std::size_t indent_of(std::string_view line) {
  std::size_t n = 0;
  while (n < line.size() && (line[n] == ' ' || line[n] == '\t')) n += line[n] == '\t' ? 8 : 1;
  return n;
}

// ---------------------------------------------------------------------------------------------
// Addresses and codes in free text.

bool is_local_char(char c) {
  return is_alnum(c) || std::string_view(".!#$%&'*+/=?^_`{|}~-").find(c) != std::string_view::npos;
}
bool is_domain_char(char c) { return is_alnum(c) || c == '.' || c == '-'; }

struct FoundAddress {
  std::string address;
  std::size_t begin = 0;
  std::size_t end = 0;
};

// The first thing at or after `from` that looks like local@domain.tld.
std::optional<FoundAddress> find_address(std::string_view text, std::size_t from = 0) {
  for (std::size_t at = text.find('@', from); at != std::string_view::npos;
       at = text.find('@', at + 1)) {
    std::size_t begin = at;
    while (begin > from && is_local_char(text[begin - 1]) && at - begin < 64) --begin;
    std::size_t end = at + 1;
    while (end < text.size() && is_domain_char(text[end]) && end - at < 254) ++end;
    while (end > at + 1 && (text[end - 1] == '.' || text[end - 1] == '-')) --end;
    while (begin < at && text[begin] == '.') ++begin;
    std::string_view domain = text.substr(at + 1, end - at - 1);
    if (begin == at || domain.find('.') == std::string_view::npos || domain.front() == '.') {
      continue;
    }
    return FoundAddress{std::string(text.substr(begin, end - begin)), begin, end};
  }
  return std::nullopt;
}

// The first RFC 3463 code of class 4 or 5 in `text` that stands alone (not inside an IP
// address or a version number): "550 5.1.1 <x>", "(#5.1.1)", "#550 5.1.10 RESOLVER...".
std::string find_enhanced_code(std::string_view text) {
  text = text.substr(0, Rules::text_bytes_max * 2);
  for (std::size_t i = 0; i + 4 < text.size(); ++i) {
    if (text[i] != '4' && text[i] != '5') continue;
    if (i > 0 && (is_digit(text[i - 1]) || text[i - 1] == '.')) continue;
    if (text[i + 1] != '.') continue;
    std::size_t j = i + 2;
    std::size_t digits = 0;
    while (j < text.size() && is_digit(text[j]) && digits < 4) ++j, ++digits;
    if (digits == 0 || digits > 3 || j >= text.size() || text[j] != '.') continue;
    ++j;
    digits = 0;
    while (j < text.size() && is_digit(text[j]) && digits < 4) ++j, ++digits;
    if (digits == 0 || digits > 3) continue;
    if (j < text.size() && is_digit(text[j])) continue;
    if (j + 1 < text.size() && text[j] == '.' && is_digit(text[j + 1])) continue;
    return std::string(text.substr(i, j - i));
  }
  return {};
}

// The class digit of the first SMTP reply code ("550 ", "421-") standing alone in `text`.
char find_reply_class(std::string_view text) {
  text = text.substr(0, Rules::text_bytes_max * 2);
  for (std::size_t i = 0; i + 3 < text.size(); ++i) {
    if (text[i] != '4' && text[i] != '5') continue;
    if (i > 0 && (is_alnum(text[i - 1]) || text[i - 1] == '.')) continue;
    if (!is_digit(text[i + 1]) || !is_digit(text[i + 2])) continue;
    char next = text[i + 3];
    if (next == ' ' || next == '-') return text[i];
  }
  return 0;
}

// The status a reason text implies: its enhanced code, else "<reply class>.0.0", else "".
std::string status_from_text(std::string_view text) {
  std::string code = find_enhanced_code(text);
  if (!code.empty()) return code;
  char reply_class = find_reply_class(text);
  if (reply_class != 0) return concat({std::string_view(&reply_class, 1), ".0.0"});
  return {};
}

// The host named in a prose reason: "host mx.example.com[192.0.2.1] said:", "host
// mx.example.com [192.0.2.1]:", "192.0.2.1 does not like recipient." (qmail).
std::string find_remote_host(std::string_view reason) {
  std::string lower = ascii_lowercase(reason);
  auto token_at = [&](std::size_t at) -> std::string {
    std::size_t end = at;
    while (end < reason.size() && (is_domain_char(reason[end]) || reason[end] == ':')) ++end;
    std::string_view token = reason.substr(at, end - at);
    while (!token.empty() && (token.back() == ':' || token.back() == '.')) token.remove_suffix(1);
    if (token.find('.') == std::string_view::npos) return {};
    return std::string(token);
  };
  for (std::string_view marker : {"host ", "connected to "}) {
    for (std::size_t at = lower.find(marker); at != std::string::npos;
         at = lower.find(marker, at + 1)) {
      if (at > 0 && is_alnum(lower[at - 1])) continue;
      std::string host = token_at(at + marker.size());
      if (!host.empty()) return host;
    }
  }
  std::size_t like = lower.find(" does not like recipient");
  if (like != std::string::npos) {
    std::size_t begin = like;
    while (begin > 0 && (is_domain_char(reason[begin - 1]) || reason[begin - 1] == ':')) --begin;
    return token_at(begin);
  }
  return {};
}

std::string join_lines(const std::vector<std::string_view>& lines) {
  std::string out;
  for (std::string_view line : lines) {
    std::string_view t = trim(line);
    if (t.empty()) continue;
    if (!out.empty()) out += ' ';
    out.append(t);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The MIME tree.

std::string_view header_of(std::string_view message, const mime::Part& part) {
  return message.substr(part.header_begin, part.header_end - part.header_begin);
}

std::string body_of(std::string_view message, const mime::Part& part) {
  std::string_view raw = message.substr(part.body_begin, part.body_end - part.body_begin);
  return mime::decode_transfer(raw, part.transfer_encoding);
}

bool has_type(const mime::Part& part, std::string_view type, std::string_view subtype) {
  return part.content_type.type == type && part.content_type.subtype == subtype;
}

// Parts in document order, not descending into encapsulated messages (their parts belong to
// the original, not to the report), at most kPartsVisitedMax.
void collect_parts(const mime::Part& root, std::vector<const mime::Part*>& out) {
  std::vector<const mime::Part*> stack = {&root};
  while (!stack.empty() && out.size() < kPartsVisitedMax) {
    const mime::Part* part = stack.back();
    stack.pop_back();
    out.push_back(part);
    for (auto child = part->children.rbegin(); child != part->children.rend(); ++child) {
      stack.push_back(&*child);
    }
  }
}

const mime::Part* first_of(const std::vector<const mime::Part*>& parts, std::string_view type,
                           std::string_view subtype) {
  for (const mime::Part* part : parts) {
    if (has_type(*part, type, subtype)) return part;
  }
  return nullptr;
}

// The header block of the original message attached to a report, or "" if none is.
std::string original_headers(std::string_view message,
                             const std::vector<const mime::Part*>& parts) {
  for (const mime::Part* part : parts) {
    const mime::ContentType& type = part->content_type;
    bool encapsulated =
        type.type == "message" &&
        (type.subtype == "rfc822" || type.subtype == "global" || type.subtype == "rfc822-headers");
    bool headers_only = (type.type == "text" && type.subtype == "rfc822-headers") ||
                        (type.type == "message" && type.subtype == "global-headers");
    if (part == parts.front() || (!encapsulated && !headers_only)) continue;
    bool plain = part->transfer_encoding == "7bit" || part->transfer_encoding == "8bit" ||
                 part->transfer_encoding == "binary";
    if (plain && part->message) return std::string(header_of(message, *part->message));
    std::string body = body_of(message, *part);
    return std::string(mime::header_block(body));
  }
  return {};
}

std::string field(std::string_view header_block, std::string_view name) {
  return mime::header_value(header_block, name).value_or(std::string());
}

std::string message_id_of(std::string_view header_block) {
  std::string id = field(header_block, "Message-ID");
  return std::string(cap_utf8(trim(id), mime::kLineBytesMax));
}

// ---------------------------------------------------------------------------------------------
// The report being built.

class Builder {
 public:
  Builder(std::string_view message, const BounceContext& context, const Rules& rules,
          const BounceLimits& limits)
      : message_(message), context_(context), rules_(rules), limits_(limits) {}

  BounceReport run();

 private:
  bool add_recipient(BounceRecipient recipient);
  void classify(BounceRecipient& recipient, std::string_view fallback_text) const;
  void try_verp(std::string_view address);
  void read_reference(std::string_view original_header);
  bool is_ours(std::string_view address) const;

  void read_complaint(const mime::Part& report);
  void read_dsn(const mime::Part& status_part);
  bool read_prose();
  bool read_angle_paragraphs(const std::vector<std::string_view>& lines);
  bool read_indented_block(const std::vector<std::string_view>& lines, std::size_t start);
  bool read_exchange(const std::vector<std::string_view>& lines);
  bool read_gmail(std::string_view prose, std::string_view lower);
  bool read_generic(const std::vector<std::string_view>& lines);
  bool is_auto_reply() const;
  bool looks_like_bounce() const;
  void add_verp_recipient(Action action, std::string_view reason_text);
  void finish_prose_recipients();

  std::string_view message_;
  const BounceContext& context_;
  const Rules& rules_;
  const BounceLimits& limits_;

  BounceReport report_;
  mime::Part root_;
  std::vector<const mime::Part*> parts_;
  std::string_view root_header_;
  std::string subject_;  // decoded, lower-cased
  std::string prose_;    // the human-readable text before any quoted original, LF endings
  std::string quoted_;   // what follows the quoted-original marker
  bool delayed_prose_ = false;
  bool signature_ = false;  // the prose is a known bounce format, even if no recipient was read
};

bool Builder::add_recipient(BounceRecipient recipient) {
  if (report_.recipients.size() >= limits_.recipients_max) {
    report_.recipients_truncated = true;
    return false;
  }
  recipient.diagnostic = std::string(cap_utf8(recipient.diagnostic, limits_.diagnostic_bytes_max));
  report_.recipients.push_back(std::move(recipient));
  return true;
}

// Rules decide failed and delayed recipients from the status and the diagnostic; when the
// diagnostic matches no rule, the bounce's explanation gets a chance.
void Builder::classify(BounceRecipient& recipient, std::string_view fallback_text) const {
  if (recipient.action != Action::failed && recipient.action != Action::delayed) {
    recipient.category = Category::unknown;
    recipient.hard = false;
    return;
  }
  Verdict verdict = rules_.classify(recipient.status, recipient.diagnostic);
  if (verdict.rule_line == 0 && !fallback_text.empty()) {
    verdict = rules_.classify(recipient.status, fallback_text);
  }
  recipient.category = verdict.category;
  recipient.hard = verdict.hard && recipient.action == Action::failed;
  recipient.rule_line = verdict.rule_line;
}

// The first VERP address whose tag verifies, else the first one at all (it still helps to
// classify, but proves nothing: anyone can write one).
void Builder::try_verp(std::string_view address) {
  if (report_.verp_verified || context_.bounce_domain.empty()) return;
  std::string_view bare = strip_angles(strip_type(address));
  std::optional<mime::VerpAddress> verp =
      mime::verp_decode(context_.verp_prefix, bare, context_.bounce_domain);
  if (!verp) return;
  const bool verified = context_.verp_valid && context_.verp_valid(*verp);
  if (report_.message_id && !verified) return;
  report_.message_id = verp->id;
  report_.verp_recipient = std::move(verp->recipient);
  report_.verp_verified = verified;
}

// Our own reference field in the header the report returns (the injector puts it in every
// message it queues).
void Builder::read_reference(std::string_view original_header) {
  if (report_.reference || !context_.reference_valid) return;
  std::optional<std::string> value = mime::header_value(original_header, "X-Outpost-Ref");
  if (value) report_.reference = context_.reference_valid(*value);
}

// An address of our own: in the bounce domain, or the envelope sender.
bool Builder::is_ours(std::string_view address) const {
  std::size_t at = address.rfind('@');
  if (at != std::string_view::npos && !context_.bounce_domain.empty() &&
      iequals(address.substr(at + 1), context_.bounce_domain)) {
    return true;
  }
  return !context_.envelope_sender.empty() &&
         iequals(address, strip_angles(context_.envelope_sender));
}

// RFC 5965 §3.1: multipart/report; report-type=feedback-report, with a human-readable part,
// a message/feedback-report part of header-like fields, and the original message (or its
// header) as message/rfc822 or text/rfc822-headers.
void Builder::read_complaint(const mime::Part& report) {
  report_.kind = BounceKind::complaint;
  std::string body = to_lf(body_of(message_, report));
  Complaint complaint;
  for (const mime::HeaderField& f : mime::parse_header_fields(body)) {
    std::string value(trim(f.value));
    if (iequals(f.name, "Feedback-Type")) {
      complaint.feedback_type = ascii_lowercase(first_word(value));
    } else if (iequals(f.name, "User-Agent")) {
      complaint.user_agent = value;
    } else if (iequals(f.name, "Original-Mail-From")) {
      complaint.original_mail_from = std::string(strip_angles(value));
    } else if (iequals(f.name, "Original-Rcpt-To")) {
      if (complaint.original_rcpt_to.size() < limits_.recipients_max) {
        complaint.original_rcpt_to.emplace_back(strip_angles(value));
      }
    } else if (iequals(f.name, "Arrival-Date") || iequals(f.name, "Received-Date")) {
      if (complaint.arrival_date.empty()) complaint.arrival_date = value;
    } else if (iequals(f.name, "Source-IP")) {
      complaint.source_ip = value;
    } else if (iequals(f.name, "Reported-Domain")) {
      complaint.reported_domain = value;
    } else if (iequals(f.name, "Reporting-MTA")) {
      report_.reporting_mta = std::string(strip_type(value));
    }
  }
  report_.arrival_date = complaint.arrival_date;
  try_verp(complaint.original_mail_from);
  std::string original = original_headers(message_, parts_);
  report_.original_message_id = message_id_of(original);
  try_verp(field(original, "Return-Path"));
  read_reference(original);

  const bool hard = complaint.feedback_type != "not-spam";
  auto complain = [&](std::string address) {
    BounceRecipient r;
    r.address = std::move(address);
    r.action = Action::delivered;
    r.diagnostic = concat({"feedback-type: ", complaint.feedback_type});
    r.category = Category::complaint;
    r.hard = hard;
    return add_recipient(std::move(r));
  };
  for (const std::string& rcpt : complaint.original_rcpt_to) {
    if (!rcpt.empty() && !complain(rcpt)) break;
  }
  if (report_.recipients.empty() && !report_.verp_recipient.empty()) {
    complain(report_.verp_recipient);
  }
  if (report_.recipients.empty()) {
    std::vector<mime::Address> to = mime::parse_address_list(field(original, "To"));
    if (to.size() == 1 && !to[0].host.empty()) complain(concat({to[0].mailbox, "@", to[0].host}));
  }
  report_.complaint = std::move(complaint);
}

// RFC 3464 §2.1: the body of message/delivery-status is per-message fields, then one block of
// per-recipient fields per recipient, separated by blank lines:
//   delivery-status-content = per-message-fields 1*( CRLF per-recipient-fields )
// RFC 6533 message/global-delivery-status has the same shape in UTF-8.
void Builder::read_dsn(const mime::Part& status_part) {
  report_.kind = BounceKind::dsn;
  const std::string body = to_lf(body_of(message_, status_part));
  std::string_view rest = body;
  std::vector<std::string_view> groups;
  while (!rest.empty()) {
    // Skip blank lines, then take lines up to the next blank one.
    while (!rest.empty()) {
      std::size_t lf = rest.find('\n');
      if (!trim(rest.substr(0, lf)).empty()) break;
      rest.remove_prefix(lf == std::string_view::npos ? rest.size() : lf + 1);
    }
    std::size_t end = 0;
    while (end < rest.size()) {
      std::size_t lf = rest.find('\n', end);
      std::size_t line_end = lf == std::string_view::npos ? rest.size() : lf;
      if (trim(rest.substr(end, line_end - end)).empty()) break;
      end = lf == std::string_view::npos ? rest.size() : lf + 1;
    }
    if (end == 0) break;
    groups.push_back(rest.substr(0, end));
    rest.remove_prefix(end);
    if (groups.size() > limits_.recipients_max + 1) {
      report_.recipients_truncated = true;
      break;
    }
  }

  std::string original = original_headers(message_, parts_);
  report_.original_message_id = message_id_of(original);
  try_verp(field(original, "Return-Path"));
  read_reference(original);

  for (std::string_view group : groups) {
    std::vector<mime::HeaderField> fields = mime::parse_header_fields(group);
    BounceRecipient r;
    bool is_recipient = false;
    std::string action;
    for (const mime::HeaderField& f : fields) {
      std::string_view value = trim(f.value);
      if (iequals(f.name, "Reporting-MTA")) {
        if (report_.reporting_mta.empty()) report_.reporting_mta = strip_type(value);
      } else if (iequals(f.name, "Arrival-Date")) {
        if (report_.arrival_date.empty()) report_.arrival_date = value;
      } else if (iequals(f.name, "Final-Recipient")) {
        r.address = strip_angles(strip_type(value));
        is_recipient = true;
      } else if (iequals(f.name, "Original-Recipient")) {
        r.original_recipient = strip_angles(strip_type(value));
        is_recipient = true;
      } else if (iequals(f.name, "Action")) {
        action = ascii_lowercase(first_word(value));
      } else if (iequals(f.name, "Status")) {
        r.status = first_word(value);
      } else if (iequals(f.name, "Diagnostic-Code")) {
        r.diagnostic = collapse_blanks(strip_type(value));
      } else if (iequals(f.name, "Remote-MTA")) {
        // "dns; gmail-smtp-in.l.google.com. (2a00:1450::1a, the server for ...)"
        std::string_view host = first_word(strip_type(value));
        while (!host.empty() && host.back() == '.') host.remove_suffix(1);
        r.remote_mta = host;
      }
    }
    if (!is_recipient) continue;
    if (r.address.empty()) r.address = r.original_recipient;
    std::optional<std::vector<int>> code = parse_status_code(r.status);
    std::string from_diagnostic = find_enhanced_code(r.diagnostic);
    if (!code) {
      r.status = status_from_text(r.diagnostic);
      code = parse_status_code(r.status);
    } else if ((*code)[1] == 0 && (*code)[2] == 0 && !from_diagnostic.empty() &&
               from_diagnostic[0] == r.status[0]) {
      r.status = from_diagnostic;  // "Status: 5.0.0" with "550 5.1.1 ..." says more
    }
    if (action == "delayed") {
      r.action = Action::delayed;
    } else if (action == "delivered") {
      r.action = Action::delivered;
    } else if (action == "relayed") {
      r.action = Action::relayed;
    } else if (action == "expanded") {
      r.action = Action::expanded;
    } else if (action == "failed") {
      r.action = Action::failed;
    } else {
      r.action = code && (*code)[0] == 4 ? Action::delayed : Action::failed;
    }
    classify(r, std::string_view(prose_).substr(0, Rules::text_bytes_max));
    if (!add_recipient(std::move(r))) break;
  }
  if (report_.recipients.empty()) {
    // A report with no usable recipient block: the prose, or at least VERP, says who.
    if (!read_prose()) add_verp_recipient(Action::failed, prose_);
    report_.kind = BounceKind::dsn;
  }
}

// qmail, old Postfix and Yahoo: a paragraph per recipient that opens with "<address>:".
//   <ann@example.com>:
//   192.0.2.1 does not like recipient.
//   Remote host said: 550 5.1.1 <ann@example.com>... User unknown
bool Builder::read_angle_paragraphs(const std::vector<std::string_view>& lines) {
  bool found = false;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    std::string_view line = trim(lines[i]);
    std::size_t close = line.find(">:");
    if (line.empty() || line.front() != '<' || close == std::string_view::npos) continue;
    std::string_view address = line.substr(1, close - 1);
    if (address.find('@') == std::string_view::npos || address.find(' ') != address.npos) continue;
    std::vector<std::string_view> reason = {line.substr(close + 2)};
    std::size_t j = i + 1;
    for (; j < lines.size(); ++j) {
      std::string_view next = trim(lines[j]);
      if (next.empty() || (next.front() == '<' && next.find(">:") != std::string_view::npos)) {
        break;
      }
      reason.push_back(lines[j]);
    }
    i = j - 1;
    BounceRecipient r;
    r.address = address;
    r.diagnostic = join_lines(reason);
    found = true;
    if (!add_recipient(std::move(r))) break;
  }
  return found;
}

// Exim and Exchange 2003: recipients indented a little, each followed by its reason indented
// more, from `start` to the first line that is not indented.
//     ann@example.com
//       host mx.example.com [192.0.2.1]
//       SMTP error from remote mail server after RCPT TO:<ann@example.com>:
//       550 5.1.1 <ann@example.com>: Recipient address rejected: User unknown
bool Builder::read_indented_block(const std::vector<std::string_view>& lines, std::size_t start) {
  bool found = false;
  std::optional<BounceRecipient> current;
  std::size_t current_indent = 0;
  std::vector<std::string_view> reason;
  auto flush = [&]() -> bool {
    if (!current) return true;
    current->diagnostic = join_lines(reason);
    reason.clear();
    found = true;
    bool added = add_recipient(std::move(*current));
    current.reset();
    return added;
  };
  for (std::size_t i = start; i < lines.size(); ++i) {
    std::string_view line = lines[i];
    std::string_view text = trim(line);
    if (text.empty()) continue;
    std::size_t indent = indent_of(line);
    if (indent == 0) {
      if (current || found) break;
      continue;
    }
    if (current && indent > current_indent) {
      reason.push_back(text);
      continue;
    }
    // A recipient line: the address is its first word ("ann@example.com", "<ann@x>",
    // "ann@example.com:", "ann@example.com on 3/1/2010 10:00 AM").
    std::string_view word = first_word(text);
    std::optional<FoundAddress> address = find_address(word);
    if (!address) {
      if (current) reason.push_back(text);
      continue;
    }
    if (!flush()) return found;
    current.emplace();
    current->address = address->address;
    current_indent = indent;
    std::string_view after = trim(text.substr(word.size()));
    if (!after.empty() && !after.starts_with("on ")) reason.push_back(after);
  }
  flush();
  return found;
}

// Exchange and Office 365 NDRs (text part):
//   Delivery has failed to these recipients or groups:
//   ann@example.com (ann@example.com)
//   The email address you entered couldn't be found. ...
//   Diagnostic information for administrators:
//   Generating server: EX01.example.com
//   ann@example.com
//   #550 5.1.1 RESOLVER.ADR.RecipNotFound; not found ##
// or "Remote Server returned '550 5.1.10 RESOLVER.ADR.RecipientNotFound; ...'".
bool Builder::read_exchange(const std::vector<std::string_view>& lines) {
  std::size_t failed_at = lines.size();
  std::size_t diagnostics_at = lines.size();
  for (std::size_t i = 0; i < lines.size(); ++i) {
    std::string l = ascii_lowercase(trim(lines[i]));
    if (failed_at == lines.size() &&
        (l.starts_with("delivery has failed to these recipients") ||
         l.starts_with("your message couldn't be delivered") ||
         l.starts_with("the following recipient(s) cannot be reached") ||
         l.starts_with("your message did not reach some or all") ||
         l.starts_with("did not reach the following recipient"))) {
      failed_at = i;
    }
    if (l.starts_with("diagnostic information for administrators")) {
      diagnostics_at = i;
      break;
    }
  }
  if (failed_at == lines.size() && diagnostics_at == lines.size()) return false;

  // The diagnostic section: address lines, each followed by the server's reply.
  bool found = false;
  for (std::size_t i = diagnostics_at + 1; i < lines.size(); ++i) {
    std::string_view text = trim(lines[i]);
    std::string l = ascii_lowercase(text);
    if (l.starts_with("generating server:")) {
      report_.reporting_mta = trim(text.substr(18));
      continue;
    }
    if (l.starts_with("original message headers")) break;
    std::optional<FoundAddress> address = find_address(text);
    if (!address || address->begin != 0 || text.find(' ') != std::string_view::npos) continue;
    BounceRecipient r;
    r.address = address->address;
    std::vector<std::string_view> reason;
    for (std::size_t j = i + 1; j < lines.size() && j <= i + 4; ++j) {
      std::string_view next = trim(lines[j]);
      if (next.empty()) {
        if (reason.empty()) continue;
        break;
      }
      std::optional<FoundAddress> other = find_address(next);
      if (other && other->begin == 0 && next.find(' ') == std::string_view::npos) break;
      std::string next_lower = ascii_lowercase(next);
      if (next_lower.starts_with("remote server returned")) {
        std::size_t quote = next.find('\'');
        std::size_t last = next.rfind('\'');
        if (quote != std::string_view::npos && last > quote) {
          next = next.substr(quote + 1, last - quote - 1);
        }
      }
      reason.push_back(next);
    }
    std::string joined = join_lines(reason);
    if (joined.starts_with("#")) joined.erase(0, 1);
    while (joined.ends_with("#") || joined.ends_with(" ")) joined.pop_back();
    r.diagnostic = std::move(joined);
    found = true;
    if (!add_recipient(std::move(r))) return true;
  }
  if (found) return true;

  // No diagnostic section: the addresses under the opening line, with the explanation after
  // each (Exchange 2003 indents them).
  if (failed_at < lines.size() && read_indented_block(lines, failed_at + 1)) return true;
  for (std::size_t i = failed_at + 1; i < lines.size() && i < diagnostics_at; ++i) {
    std::string_view text = trim(lines[i]);
    if (text.empty()) continue;
    std::optional<FoundAddress> address = find_address(text);
    if (!address || address->begin > 1) {
      if (found) break;
      continue;
    }
    BounceRecipient r;
    r.address = address->address;
    if (i + 1 < lines.size()) r.diagnostic = trim(lines[i + 1]);
    found = true;
    if (!add_recipient(std::move(r))) break;
    ++i;
  }
  return found;
}

// Gmail's prose bounces:
//   Address not found
//   Your message wasn't delivered to ann@example.com because the address couldn't be found,
//   or is unable to receive mail.
//   The response from the remote server was:
//   550 5.1.1 The email account that you tried to reach does not exist. ...
bool Builder::read_gmail(std::string_view prose, std::string_view lower) {
  static constexpr std::array<std::string_view, 5> kLeads = {
      "wasn't delivered to ", "problem delivering your message to ",
      "delivery to the following recipient failed permanently:",
      "delivery to the following recipient has been delayed:", "message wasn't delivered to "};
  std::size_t lead_end = std::string_view::npos;
  for (std::string_view lead : kLeads) {
    std::size_t at = lower.find(lead);
    if (at != std::string_view::npos) {
      lead_end = at + lead.size();
      break;
    }
  }
  if (lead_end == std::string_view::npos) return false;
  std::optional<FoundAddress> address = find_address(prose.substr(0, lead_end + 300), lead_end);
  if (!address) return false;
  BounceRecipient r;
  r.address = address->address;
  std::string reason;
  for (std::string_view marker :
       {"the response from the remote server was:", "the response was:",
        "technical details of permanent failure:", "technical details of temporary failure:"}) {
    std::size_t at = lower.find(marker);
    if (at == std::string_view::npos) continue;
    std::vector<std::string_view> lines = split_lines(prose.substr(at + marker.size()));
    std::vector<std::string_view> paragraph;
    for (std::string_view line : lines) {
      if (trim(line).empty()) {
        if (paragraph.empty()) continue;
        break;
      }
      paragraph.push_back(line);
    }
    reason = join_lines(paragraph);
    break;
  }
  if (reason.empty()) {
    // The sentence naming the address is all there is ("... because the address couldn't be
    // found").
    std::size_t end = prose.find('\n', address->end);
    std::size_t sentence_end = lower.find(". ", address->end);
    end = std::min(end == std::string_view::npos ? prose.size() : end,
                   sentence_end == std::string_view::npos ? prose.size() : sentence_end);
    reason = join_lines(split_lines(prose.substr(address->end, end - address->end + 1)));
  }
  r.diagnostic = std::move(reason);
  add_recipient(std::move(r));
  return true;
}

// Anything else from a mailer daemon: addresses on or just before lines holding an SMTP reply
// code; else the VERP recipient if the prose names it; else every foreign address named.
bool Builder::read_generic(const std::vector<std::string_view>& lines) {
  std::vector<BounceRecipient> found;
  std::string last_address;
  std::size_t last_address_line = 0;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    std::string_view line = lines[i];
    std::optional<FoundAddress> address;
    for (std::size_t from = 0; (address = find_address(line, from)); from = address->end) {
      if (!is_ours(address->address)) break;
    }
    if (address) {
      last_address = address->address;
      last_address_line = i;
    }
    std::string status = status_from_text(line);
    if (status.empty() || last_address.empty() || i > last_address_line + 3) continue;
    bool seen = false;
    for (const BounceRecipient& r : found) seen = seen || iequals(r.address, last_address);
    if (seen) continue;
    BounceRecipient r;
    r.address = last_address;
    r.diagnostic = trim(line);
    found.push_back(std::move(r));
  }
  if (found.empty()) {
    // No reply code: the addresses a few lines after "the following recipients", "could not
    // be delivered to" and the like (Exchange 5.5, Lotus, many ISPs).
    static constexpr std::array<std::string_view, 6> kLeads = {
        "following recipient",   "following address",   "could not be delivered to",
        "undeliverable address", "not be delivered to", "failed to deliver to"};
    std::size_t lead_line = lines.size();
    for (std::size_t i = 0; i < lines.size(); ++i) {
      std::string lower = ascii_lowercase(lines[i]);
      if (contains_any(lower, kLeads)) lead_line = i;
      if (i > lead_line + 4) lead_line = lines.size();
      if (lead_line == lines.size()) continue;
      std::optional<FoundAddress> address = find_address(lines[i]);
      if (!address || is_ours(address->address)) continue;
      bool seen = false;
      for (const BounceRecipient& r : found) seen = seen || iequals(r.address, address->address);
      if (seen) continue;
      BounceRecipient r;
      r.address = address->address;
      std::vector<std::string_view> reason;
      for (std::size_t j = i + 1; j < lines.size() && j <= i + 3 && !trim(lines[j]).empty(); ++j) {
        reason.push_back(lines[j]);
      }
      r.diagnostic = join_lines(reason);
      found.push_back(std::move(r));
    }
  }
  if (found.empty() && !report_.verp_recipient.empty()) return false;  // VERP decides
  bool any = false;
  for (BounceRecipient& r : found) {
    any = true;
    if (!add_recipient(std::move(r))) break;
  }
  return any;
}

bool Builder::is_auto_reply() const {
  std::string auto_submitted = ascii_lowercase(field(root_header_, "Auto-Submitted"));
  if (auto_submitted.starts_with("auto-replied") || auto_submitted.starts_with("auto-generated")) {
    return true;
  }
  for (std::string_view name : {"X-Autoreply", "X-Autorespond", "X-Autoresponder"}) {
    std::optional<std::string> value = mime::header_value(root_header_, name);
    if (value && !iequals(trim(*value), "no")) return true;
  }
  std::string precedence = ascii_lowercase(trim(field(root_header_, "Precedence")));
  if (precedence == "auto_reply" || precedence == "auto-reply") return true;
  static constexpr std::array<std::string_view, 22> kSubjects = {
      "out of office",
      "out of the office",
      "automatic reply",
      "auto reply",
      "auto-reply",
      "autoreply",
      "auto response",
      "auto-response",
      "autoresponse",
      "abwesenheitsnotiz",
      "automatische antwort",
      "abwesend",
      "r\xc3\xa9ponse automatique",
      "absence du bureau",
      "risposta automatica",
      "respuesta autom\xc3\xa1tica",
      "fuera de la oficina",
      "vacation",
      "autosvar",
      "automatisch antwoord",
      "afwezig",
      "away from the office",
  };
  return contains_any(subject_, kSubjects);
}

bool Builder::looks_like_bounce() const {
  if (mime::header_value(root_header_, "X-Failed-Recipients")) return true;
  for (const mime::Address& from : mime::parse_address_list(field(root_header_, "From"))) {
    std::string local = ascii_lowercase(from.mailbox);
    if (local == "mailer-daemon" || local == "postmaster" || local == "mail-daemon" ||
        local == "mailerdaemon") {
      return true;
    }
  }
  static constexpr std::array<std::string_view, 22> kSubjects = {
      "undeliver",
      "undelivered",
      "delivery status notification",
      "returned mail",
      "returned to sender",
      "failure notice",
      "delivery failure",
      "delivery failed",
      "mail delivery failed",
      "not delivered",
      "nondeliverable",
      "non-deliverable",
      "could not be delivered",
      "delivery problem",
      "unzustellbar",
      "nicht zustellbar",
      "delivery has failed",
      "delivery notification",
      "address not found",
      "delivery incomplete",
      "delayed mail",
      "warning: could not send",
  };
  return contains_any(subject_, kSubjects);
}

void Builder::add_verp_recipient(Action action, std::string_view reason_text) {
  if (report_.verp_recipient.empty()) return;
  BounceRecipient r;
  r.address = report_.verp_recipient;
  r.action = action;
  std::string_view capped = cap_utf8(trim(reason_text), Rules::text_bytes_max);
  r.status = status_from_text(capped);
  std::string flat = to_lf(capped);
  std::replace(flat.begin(), flat.end(), '\n', ' ');
  r.diagnostic = collapse_blanks(flat);
  Verdict verdict = rules_.classify(r.status, capped);
  r.category = verdict.category;
  r.hard = verdict.hard && action == Action::failed;
  r.rule_line = verdict.rule_line;
  add_recipient(std::move(r));
}

// Status, action, remote host and classification of recipients a prose reader found.
void Builder::finish_prose_recipients() {
  std::string_view fallback = std::string_view(prose_).substr(0, Rules::text_bytes_max);
  for (BounceRecipient& r : report_.recipients) {
    if (r.status.empty()) r.status = status_from_text(r.diagnostic);
    if (r.remote_mta.empty()) r.remote_mta = find_remote_host(r.diagnostic);
    r.action = delayed_prose_ ? Action::delayed : Action::failed;
    classify(r, fallback);
  }
}

// The prose readers, most specific first. True when some recipient was found.
bool Builder::read_prose() {
  const std::string lower = ascii_lowercase(prose_);
  const std::vector<std::string_view> lines = split_lines(prose_);
  static constexpr std::array<std::string_view, 11> kDelayed = {
      "this is a warning only",
      "will be retried",
      "will retry",
      "still trying",
      "has not yet been delivered",
      "delivery incomplete",
      "temporary problem delivering",
      "delivery has been delayed",
      "has been delayed",
      "not yet been delivered",
      "warning message only",
  };
  delayed_prose_ = contains_any(lower, kDelayed);

  if (contains(lower, "this is the qmail-send program at ") ||
      contains(lower, "this is the postfix program at host ") ||
      contains(lower, "this is the mail system at host ")) {
    std::size_t at = lower.find(" at ");
    std::string_view host = first_word(std::string_view(prose_).substr(at + 4));
    if (host == "host") host = first_word(std::string_view(prose_).substr(at + 9));
    while (!host.empty() && host.back() == '.') host.remove_suffix(1);
    report_.reporting_mta = host;
    signature_ = true;
  }
  bool found = false;
  if (contains(lower, "could not be delivered to one or more of its recipients") ||
      contains(lower, "created automatically by mail delivery software") ||
      contains(lower, "has not yet been delivered to one or more of its recipients")) {
    std::size_t start = 0;
    for (std::size_t i = 0; i < lines.size(); ++i) {
      std::string l = ascii_lowercase(lines[i]);
      if (contains(l, "failed:") || contains(l, "delayed:") || contains(l, "address(es)")) {
        start = i + 1;
        break;
      }
    }
    signature_ = true;
    found = read_indented_block(lines, start);
  }
  if (!found) found = read_exchange(lines);
  if (!found) found = read_angle_paragraphs(lines);
  if (!found) found = read_gmail(prose_, lower);
  if (!found) {
    std::optional<std::string> failed = mime::header_value(root_header_, "X-Failed-Recipients");
    if (failed) {
      for (const mime::Address& a : mime::parse_address_list(*failed)) {
        if (a.host.empty()) continue;
        BounceRecipient r;
        r.address = concat({a.mailbox, "@", a.host});
        found = true;
        if (!add_recipient(std::move(r))) break;
      }
    }
  }
  if (!found && looks_like_bounce()) found = read_generic(lines);
  if (found) finish_prose_recipients();
  return found;
}

BounceReport Builder::run() {
  report_.bytes_truncated = message_.size() > limits_.bytes_max;
  message_ = message_.substr(0, limits_.bytes_max);
  root_ = mime::parse_structure(message_);
  collect_parts(root_, parts_);
  root_header_ = header_of(message_, root_);
  subject_ = ascii_lowercase(
      cap_utf8(mime::decode_words(field(root_header_, "Subject")), kSubjectBytesMax));

  for (const std::string& rcpt : context_.envelope_recipients) try_verp(rcpt);
  for (std::string_view name : {"To", "Delivered-To", "X-Original-To"}) {
    for (const mime::Address& a : mime::parse_address_list(field(root_header_, name))) {
      if (!a.host.empty()) try_verp(concat({a.mailbox, "@", a.host}));
    }
  }

  // The human-readable text: the first text/plain part outside the attached original, else
  // the first text/html one with its tags dropped.
  const mime::Part* text = first_of(parts_, "text", "plain");
  const mime::Part* html = text ? nullptr : first_of(parts_, "text", "html");
  if (text || html) {
    std::string body = to_lf(body_of(message_, text ? *text : *html));
    if (html) {
      std::string plain;
      bool in_tag = false;
      for (char c : body) {
        if (c == '<') {
          in_tag = true;
          plain += '\n';
        } else if (c == '>') {
          in_tag = false;
        } else if (!in_tag) {
          plain += c;
        }
      }
      body = std::move(plain);
    }
    body.resize(cap_utf8(body, kProseBytesMax).size());
    // Cut at the copy of the original, so its header fields are not taken for recipients.
    const std::string lower = ascii_lowercase(body);
    std::size_t cut = body.size();
    for (std::string_view marker :
         {"this is a copy of the message", "below this line is a copy of the message",
          "original message headers", "----- original message -----",
          "the header of the original message", "------ this is a copy of your message",
          "----- message header follows -----", "original message follows"}) {
      cut = std::min(cut, lower.find(marker));
    }
    if (cut < body.size()) {
      std::size_t line_start = body.rfind('\n', cut);
      cut = line_start == std::string::npos ? 0 : line_start;
      quoted_ = body.substr(cut);
    }
    prose_ = body.substr(0, cut);
  }

  const mime::Part* feedback = first_of(parts_, "message", "feedback-report");
  const mime::Part* status = first_of(parts_, "message", "delivery-status");
  if (!status) status = first_of(parts_, "message", "global-delivery-status");
  if (feedback) {
    read_complaint(*feedback);
  } else if (status) {
    read_dsn(*status);
  } else if (read_prose()) {
    report_.kind = BounceKind::non_standard;
  } else if (signature_) {
    // A known bounce format whose recipient lines we could not read ("an undisclosed
    // address"): VERP names the recipient, or none is reported.
    report_.kind = BounceKind::non_standard;
    add_verp_recipient(delayed_prose_ ? Action::delayed : Action::failed, prose_);
  } else if (is_auto_reply()) {
    report_.kind = BounceKind::auto_reply;
    BounceRecipient r;
    r.address = report_.verp_recipient;
    if (r.address.empty()) {
      for (const mime::Address& a : mime::parse_address_list(field(root_header_, "From"))) {
        if (!a.host.empty()) {
          r.address = concat({a.mailbox, "@", a.host});
          break;
        }
      }
    }
    r.action = Action::delivered;
    r.diagnostic = mime::decode_words(field(root_header_, "Subject"));
    r.category = Category::auto_reply;
    r.hard = false;
    if (!r.address.empty()) add_recipient(std::move(r));
    // RFC 3834 §3.1.5: a response names the message it answers in In-Reply-To.
    report_.original_message_id = cap_utf8(trim(field(root_header_, "In-Reply-To")), 998);
  } else if (looks_like_bounce()) {
    // From a mailer daemon, or titled like a bounce, but in no format we know: VERP names
    // the recipient (or none is reported), the text decides the category.
    report_.kind = BounceKind::non_standard;
    add_verp_recipient(Action::failed, prose_.empty() ? std::string_view(subject_) : prose_);
  }

  if (report_.original_message_id.empty()) {
    std::string original = original_headers(message_, parts_);
    report_.original_message_id = message_id_of(original);
    if (report_.original_message_id.empty() && !quoted_.empty()) {
      // A prose bounce quoting the original inline: its header block starts after the marker.
      std::string_view quoted = quoted_;
      std::size_t first_line = quoted.find('\n', 1);
      if (first_line != std::string_view::npos) quoted.remove_prefix(first_line + 1);
      while (!quoted.empty() && (quoted.front() == '\n' || quoted.front() == ' ')) {
        quoted.remove_prefix(1);
      }
      report_.original_message_id = message_id_of(mime::header_block(quoted));
    }
  }
  return std::move(report_);
}

}  // namespace

std::string_view to_string(BounceKind kind) {
  switch (kind) {
    case BounceKind::not_bounce:
      return "not_bounce";
    case BounceKind::dsn:
      return "dsn";
    case BounceKind::non_standard:
      return "non_standard";
    case BounceKind::complaint:
      return "complaint";
    case BounceKind::auto_reply:
      return "auto_reply";
  }
  MTA_ASSERT(false);
  return {};
}

std::string_view to_string(Action action) {
  switch (action) {
    case Action::failed:
      return "failed";
    case Action::delayed:
      return "delayed";
    case Action::delivered:
      return "delivered";
    case Action::relayed:
      return "relayed";
    case Action::expanded:
      return "expanded";
  }
  MTA_ASSERT(false);
  return {};
}

BounceReport parse_bounce(std::string_view message, const BounceContext& context,
                          const Rules& rules, const BounceLimits& limits) {
  return Builder(message, context, rules, limits).run();
}

}  // namespace mta::mailbox
