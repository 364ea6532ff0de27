// build_dsn: renders an RFC 3464 delivery status notification inside an RFC 6522
// multipart/report. All untrusted text (addresses, server replies, the original header block)
// passes through one sanitizer and one folder, which is what makes the 7-bit, CRLF-only and
// 998-octet guarantees of dsn.h hold for any input.
#include "proto/mime/dsn.h"

#include <cstdint>
#include <initializer_list>
#include <set>

#include "base/assert.h"
#include "base/concat.h"

namespace mta::mime {
namespace {

constexpr std::string_view kBoundaryPrefix = "outpost-dsn-";
constexpr std::size_t kBoundaryHexDigits = 16;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Printable US-ASCII and tab pass; CR and LF become one space per line break (a multi-line
// reply reads as one line); every other octet, including all of 0x80..0xFF, becomes '?'.
std::string sanitize_value(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '\r' || c == '\n') {
      if (c == '\r' && i + 1 < in.size() && in[i + 1] == '\n') ++i;
      out += ' ';
    } else if (c == '\t' || (c >= 0x20 && c < 0x7f)) {
      out += c;
    } else {
      out += '?';
    }
  }
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// An addr-spec as DSN fields want it: no surrounding whitespace or angle brackets.
std::string sanitize_address(std::string_view in) {
  std::string_view s = trim(in);
  if (s.size() >= 2 && s.front() == '<' && s.back() == '>') s = trim(s.substr(1, s.size() - 2));
  return sanitize_value(s);
}

// RFC 3463 §2:
//   status-code = class "." subject "." detail
//   class       = "2" / "4" / "5"
//   subject     = 1*3digit
//   detail      = 1*3digit
bool is_enhanced_code(std::string_view s) {
  if (s.size() < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.') return false;
  s.remove_prefix(2);
  for (int part = 0; part < 2; ++part) {
    std::size_t digits = 0;
    while (digits < s.size() && is_digit(s[digits])) ++digits;
    if (digits < 1 || digits > 3) return false;
    s.remove_prefix(digits);
    if (part == 0) {
      if (s.empty() || s.front() != '.') return false;
      s.remove_prefix(1);
    }
  }
  return s.empty();
}

bool is_delayed(const DsnRecipient& r) { return r.action == "delayed"; }

void append_field(std::string& out, std::string_view name, std::string_view value) {
  std::string line;
  line.reserve(name.size() + 2 + value.size());
  line.append(name).append(": ").append(value);
  append_folded(out, line);
}

// A physical line of text we write ourselves (already short and ASCII), CRLF-terminated.
void append_line(std::string& out, std::string_view line) {
  out.append(line);
  out += "\r\n";
}

std::string notification_part(const DsnInput& input, bool all_delayed) {
  std::string out;
  append_line(out, "Content-Description: Notification");
  append_line(out, "Content-Type: text/plain; charset=us-ascii");
  append_line(out, "");
  append_folded(
      out, concat({"This is the mail system at host ", sanitize_value(input.reporting_mta), "."}));
  append_line(out, "");
  if (all_delayed) {
    append_line(out, "Your message has not been delivered yet to the recipients listed below.");
    append_line(out, "Delivery is still being retried; you do not need to send it again.");
  } else {
    append_line(out, "Your message could not be delivered to one or more recipients.");
    append_line(out, "The reasons are listed below; the header of your message is attached.");
  }
  if (!input.envelope_id.empty()) {
    append_line(out, "");
    append_folded(out, concat({"Queue ID: ", sanitize_value(input.envelope_id)}));
  }
  append_line(out, "");
  for (const DsnRecipient& r : input.recipients) {
    std::string line = "<";
    line.append(sanitize_address(r.final_recipient)).append(">: ").append(r.action);
    line.append(" (").append(dsn_status(r)).append("): ");
    if (!r.remote_mta.empty()) {
      line.append("host ").append(sanitize_value(r.remote_mta)).append(" said: ");
    }
    line.append(r.diagnostic.empty() ? std::string("no further details")
                                     : sanitize_value(r.diagnostic));
    append_folded(out, line, 76);
  }
  return out;
}

// RFC 3464 §2.1: per-message-fields, then one blank-line-separated block per recipient.
std::string delivery_status_part(const DsnInput& input) {
  std::string out;
  append_line(out, "Content-Description: Delivery report");
  append_line(out, "Content-Type: message/delivery-status");
  append_line(out, "");
  append_field(out, "Reporting-MTA", concat({"dns; ", sanitize_value(input.reporting_mta)}));
  if (!input.envelope_id.empty()) {
    append_field(out, "X-Outpost-Queue-ID", sanitize_value(input.envelope_id));
  }
  if (input.arrival != Clock::WallTime{}) {
    append_field(out, "Arrival-Date", rfc5322_date(input.arrival));
  }
  for (const DsnRecipient& r : input.recipients) {
    append_line(out, "");
    append_field(out, "Final-Recipient", concat({"rfc822; ", sanitize_address(r.final_recipient)}));
    append_field(out, "Action", r.action);
    append_field(out, "Status", dsn_status(r));
    if (!r.remote_mta.empty())
      append_field(out, "Remote-MTA", concat({"dns; ", sanitize_value(r.remote_mta)}));
    if (!r.diagnostic.empty()) {
      append_field(out, "Diagnostic-Code", concat({"smtp; ", sanitize_value(trim(r.diagnostic))}));
    }
    if (r.last_attempt != Clock::WallTime{}) {
      append_field(out, "Last-Attempt-Date", rfc5322_date(r.last_attempt));
    }
  }
  return out;
}

// The original header block, 7-bit and CRLF-only. Every line ending becomes CRLF (a bare CR
// too: MIME parsers treat it as one), other octets are sanitized, and lines are cut to fit.
std::string headers_part(std::string_view original) {
  std::string out;
  append_line(out, "Content-Description: Undelivered Message Headers");
  append_line(out, "Content-Type: text/rfc822-headers");
  append_line(out, "");
  std::string_view block = header_block(original);
  while (!block.empty()) {
    std::size_t end = block.find_first_of("\r\n");
    std::string_view line = block.substr(0, end);
    std::string clean = sanitize_value(line);
    if (clean.empty()) {
      append_line(out, "");
    } else {
      append_folded(out, clean, kLineBytesMax);
    }
    if (end == std::string_view::npos) break;
    std::size_t ending = block.compare(end, 2, "\r\n") == 0 ? 2 : 1;
    block.remove_prefix(end + ending);
  }
  return out;
}

std::uint64_t fnv1a(std::uint64_t hash, std::string_view bytes) {
  for (char c : bytes) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

std::string hex16(std::uint64_t value) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(kBoundaryHexDigits, '0');
  for (std::size_t i = kBoundaryHexDigits; i-- > 0; value >>= 4) out[i] = kDigits[value & 0xf];
  return out;
}

// RFC 2046 §5.1.1: the boundary must not appear as the prefix of any line of any part.
// Candidates are kBoundaryPrefix plus 16 hex digits, so a line can block at most one of them;
// trying one more candidate than there are blocked ones is guaranteed to succeed.
std::string choose_boundary(std::uint64_t seed, const std::vector<const std::string*>& parts) {
  std::set<std::string_view> blocked;
  for (const std::string* part : parts) {
    std::string_view rest = *part;
    while (!rest.empty()) {
      std::size_t lf = rest.find('\n');
      std::string_view line = rest.substr(0, lf);
      if (line.size() >= 2 + kBoundaryPrefix.size() + kBoundaryHexDigits &&
          line.substr(0, 2) == "--" && line.substr(2, kBoundaryPrefix.size()) == kBoundaryPrefix) {
        blocked.insert(line.substr(2 + kBoundaryPrefix.size(), kBoundaryHexDigits));
      }
      if (lf == std::string_view::npos) break;
      rest.remove_prefix(lf + 1);
    }
  }
  for (std::uint64_t i = 0;; ++i) {
    MTA_ASSERT(i <= blocked.size());  // Holds by the counting argument above.
    std::string hex = hex16(seed + i);
    if (!blocked.contains(hex)) return concat({kBoundaryPrefix, hex});
  }
}

}  // namespace

std::string dsn_status(const DsnRecipient& recipient) {
  std::string_view given = trim(recipient.status);
  if (is_enhanced_code(given)) return std::string(given);
  // RFC 5321 §4.2: Reply-line = Reply-code [ SP / "-" textstring ] CRLF; RFC 2034 §4 puts the
  // enhanced code first in the text, and its class must agree with the reply code.
  std::string_view d = trim(recipient.diagnostic);
  char reply_class = 0;
  if (d.size() >= 3 && d[0] >= '2' && d[0] <= '5' && is_digit(d[1]) && is_digit(d[2]) &&
      (d.size() == 3 || d[3] == ' ' || d[3] == '-')) {
    reply_class = d[0];
    d.remove_prefix(std::min<std::size_t>(4, d.size()));
  }
  std::string_view token = d.substr(0, d.find_first_of(" \t\r\n"));
  if (is_enhanced_code(token) && token[0] != '2' && (reply_class == 0 || token[0] == reply_class)) {
    return std::string(token);
  }
  if (reply_class == '4' || reply_class == '5')
    return concat({std::string_view(&reply_class, 1), ".0.0"});
  return is_delayed(recipient) ? "4.0.0" : "5.0.0";
}

std::string build_dsn(const DsnInput& input) {
  MTA_ASSERT(!input.recipients.empty());
  MTA_ASSERT(!input.original_sender.empty());
  MTA_ASSERT(!input.reporting_mta.empty());
  bool all_delayed = true;
  for (const DsnRecipient& r : input.recipients) {
    MTA_ASSERT(r.action == "failed" || r.action == "delayed");
    all_delayed = all_delayed && is_delayed(r);
  }

  std::string notification = notification_part(input, all_delayed);
  std::string status = delivery_status_part(input);
  std::string headers = headers_part(input.original_message);
  // Deterministic (tests compare output), distinct per DSN in practice.
  std::uint64_t seed = fnv1a(0xcbf29ce484222325ULL, input.message_id);
  seed = fnv1a(seed, input.envelope_id);
  seed = fnv1a(seed, rfc5322_date(input.now));
  std::string boundary = choose_boundary(seed, {&notification, &status, &headers});

  std::string message_id = sanitize_value(trim(input.message_id));
  if (!message_id.empty() && message_id.front() != '<') message_id = concat({"<", message_id, ">"});

  std::string out;
  out.reserve(notification.size() + status.size() + headers.size() + 1024);
  append_field(out, "From",
               concat({"\"Mail Delivery System\" <MAILER-DAEMON@",
                       sanitize_value(input.reporting_mta), ">"}));
  append_field(out, "To", concat({"<", sanitize_address(input.original_sender), ">"}));
  append_field(
      out, "Subject",
      all_delayed ? "Delayed Mail (still being retried)" : "Undelivered Mail Returned to Sender");
  append_field(out, "Date", rfc5322_date(input.now));
  if (!message_id.empty()) append_field(out, "Message-ID", message_id);
  // RFC 3834 §5: an automatic response, so vacation responders and the like stay quiet.
  append_field(out, "Auto-Submitted", "auto-replied");
  append_field(out, "MIME-Version", "1.0");
  append_field(
      out, "Content-Type",
      concat({"multipart/report; report-type=delivery-status; boundary=\"", boundary, "\""}));
  append_line(out, "");
  append_line(out, "This is a MIME-encapsulated message.");
  // Each part ends in CRLF; the CRLF before "--boundary" belongs to the delimiter
  // (RFC 2046 §5.1.1), so the parts keep their final line endings.
  for (const std::string* part : {&notification, &status, &headers}) {
    append_line(out, "");
    append_line(out, concat({"--", boundary}));
    out += *part;
  }
  append_line(out, "");
  append_line(out, concat({"--", boundary, "--"}));
  return out;
}

}  // namespace mta::mime
