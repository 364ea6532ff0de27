// parse_bounce: reads one message that arrived at the bounce domain and says what it is, an
// RFC 3464 DSN, a non-standard bounce (Exim, qmail, old Postfix, Exchange, Yahoo, Gmail text),
// an RFC 5965 ARF complaint or an automatic reply, and for each recipient it names why
// delivery failed, classified by Rules (bounce_rules.h). The VERP return path the message was
// sent to maps it back to our message and recipient. Pure and bounded (BounceLimits); storing
// the message and suppressing addresses is the caller's job.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/strong_id.h"
#include "mailbox/bounce_rules.h"
#include "proto/mime/verp.h"

namespace mta::mailbox {

enum class BounceKind : std::uint8_t {
  not_bounce,    // nothing we recognise: a human reply, a read receipt, garbage
  dsn,           // multipart/report with message/delivery-status (or global-delivery-status)
  non_standard,  // a bounce in prose, recognised by pattern or by its sender and subject
  complaint,     // multipart/report; report-type=feedback-report (ARF, RFC 5965)
  auto_reply,    // out of office, vacation and other automatic replies (RFC 3834)
};
std::string_view to_string(BounceKind kind);

// RFC 3464 §2.3.3 Action values.
enum class Action : std::uint8_t { failed, delayed, delivered, relayed, expanded };
std::string_view to_string(Action action);

// Where the message came from, as the SMTP intake saw it.
struct BounceContext {
  std::string verp_prefix = "bounce";            // as in injection's verp_prefix
  std::string bounce_domain;                     // as in injection's verp_domain
  std::vector<std::string> envelope_recipients;  // RCPT TO paths (the VERP addresses)
  std::string envelope_sender;                   // MAIL FROM; empty for the null path <>
  // Whether a VERP address's tag proves that Outpost made it (queue::BounceKeys); unset: none
  // does. The first address that verifies wins over any that does not.
  std::function<bool(const mime::VerpAddress&)> verp_valid;
  // The message an X-Outpost-Ref value names, when its tag verifies; unset: none does.
  std::function<std::optional<MessageId>(std::string_view value)> reference_valid;
};

struct BounceLimits {
  std::size_t bytes_max = 256 * 1024;       // of the message examined; the rest is ignored
  std::size_t recipients_max = 100;         // recipients reported; more set recipients_truncated
  std::size_t diagnostic_bytes_max = 1024;  // kept per recipient (Rules read at most 2 KiB)
};

// One recipient the report is about. For DSNs, one per per-recipient group; for complaints and
// auto-replies, the complaining or replying recipient (Action delivered: the message arrived).
struct BounceRecipient {
  std::string address;             // Final-Recipient, or as the bounce names it, or from VERP
  std::string original_recipient;  // Original-Recipient, when given
  Action action = Action::failed;
  std::string status;      // RFC 3463 "5.1.1", or empty when the bounce gives no code
  std::string diagnostic;  // Diagnostic-Code without "smtp;", or the bounce's reason text
  std::string remote_mta;  // Remote-MTA without "dns;", or the host a prose bounce names
  // From Rules for failed and delayed recipients (delayed is always soft); complaint (hard
  // unless Feedback-Type: not-spam) and auto_reply (soft) by kind; unknown/soft for delivered,
  // relayed and expanded.
  Category category = Category::unknown;
  bool hard = false;
  std::size_t rule_line = 0;  // the rule that decided, 0 if none (for logs)
};

// The feedback report of an ARF complaint (RFC 5965 §3.1, §3.2).
struct Complaint {
  std::string feedback_type;                  // "abuse", "fraud", "not-spam", ... lower-cased
  std::string user_agent;                     // the FBL's name and version
  std::string original_mail_from;             // often our VERP path
  std::vector<std::string> original_rcpt_to;  // often redacted or missing
  std::string arrival_date;                   // Arrival-Date (or Received-Date), as written
  std::string source_ip;                      // our sending IP, as the receiver saw it
  std::string reported_domain;
};

struct BounceReport {
  BounceKind kind = BounceKind::not_bounce;
  // From the first envelope recipient (then the header fields To, Delivered-To and
  // X-Original-To, then the ARF Original-Mail-From and the attached original's Return-Path)
  // that is one of our VERP addresses.
  std::optional<MessageId> message_id;
  std::string verp_recipient;
  bool verp_verified = false;  // message_id and verp_recipient come from a tag that verified
  // The message the X-Outpost-Ref field of the returned original (a DSN's or a complaint's
  // message/rfc822 or text/rfc822-headers part) names, when its tag verified.
  std::optional<MessageId> reference;
  // The Message-ID of the original message, from the attached message/rfc822 or
  // text/rfc822-headers part (or the copy quoted in a prose bounce; for an auto-reply, its
  // In-Reply-To), "<...>" as written.
  std::string original_message_id;
  std::string reporting_mta;  // Reporting-MTA without "dns;"
  std::string arrival_date;   // Arrival-Date, as written
  std::vector<BounceRecipient> recipients;
  std::optional<Complaint> complaint;
  bool recipients_truncated = false;  // more than recipients_max were given
  bool bytes_truncated = false;       // the message was longer than bytes_max
};

// Never fails: anything that is not a recognisable bounce is kind not_bounce, with
// message_id still set when the envelope names one of our VERP addresses.
BounceReport parse_bounce(std::string_view message, const BounceContext& context,
                          const Rules& rules, const BounceLimits& limits = {});

}  // namespace mta::mailbox
