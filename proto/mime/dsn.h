// Delivery status notifications (RFC 3464) as multipart/report messages (RFC 6522): the
// bounce Outpost sends to the envelope sender on a 5xx reply or when retries expire. Pure:
// bytes out, no I/O and no clock reads (every time is an input). Queueing the result is the
// caller's job (delivery/).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "proto/mime/header.h"  // header_block, rfc5322_date: part of the DSN API

namespace mta::mime {

struct DsnRecipient {
  std::string final_recipient;     // address; "rfc822;" is added, surrounding <> are dropped
  std::string action = "failed";   // "failed" or "delayed" (asserted)
  std::string status;              // RFC 3463 "5.1.1"; empty or malformed: derived, see below
  std::string remote_mta;          // host name or address; omitted if empty
  std::string diagnostic;          // server reply, "550 5.1.1 <x@y>: ..."; "smtp;" is added
  Clock::WallTime last_attempt{};  // Last-Attempt-Date; omitted if zero
};

struct DsnInput {
  std::string reporting_mta;    // our host name, for Reporting-MTA and MAILER-DAEMON@
  std::string original_sender;  // To: of the DSN; never empty (nobody bounces to <>)
  // Our queue id (hex). Written as the extension field "X-Outpost-Queue-ID" in the
  // per-message block, not as Original-Envelope-Id: that field is reserved for the ENVID the
  // sender chose in MAIL FROM (RFC 3461 §4.4), and bounce processors correlate on it.
  std::string envelope_id;               // omitted if empty
  Clock::WallTime arrival{};             // Arrival-Date; omitted if zero
  Clock::WallTime now{};                 // Date: of the DSN
  std::string message_id;                // Message-ID of the DSN, "<...>" (added if missing)
  std::vector<DsnRecipient> recipients;  // at least one (asserted)
  std::string_view original_message;     // whole original; only header_block() is attached
};

// Status of one recipient as written in its Status field (RFC 3463 "class.subject.detail"):
// the caller's status if it is well formed; else the enhanced code at the start of the
// diagnostic ("550 5.1.1 ..." gives 5.1.1) if its class matches the reply code's first
// digit; else "<reply class>.0.0" for a 4xx/5xx reply; else 4.0.0 for "delayed" and 5.0.0
// for "failed". An expired 4xx keeps its 4.x.x status under Action: failed, as Postfix does.
std::string dsn_status(const DsnRecipient& recipient);

// The complete RFC 5322 message: From "Mail Delivery System" <MAILER-DAEMON@reporting_mta>,
// To, Subject ("Undelivered Mail Returned to Sender", or "Delayed Mail (still being
// retried)" when every action is delayed), Date (UTC), Message-ID, Auto-Submitted:
// auto-replied (RFC 3834), MIME-Version and a multipart/report; report-type=delivery-status
// body with three parts: text/plain explanation, message/delivery-status, and
// text/rfc822-headers holding the original's header block.
//
// Output guarantees, whatever the input bytes: CRLF line endings only, no line over 998
// octets (long fields are folded at whitespace, unbreakable runs are cut), 7-bit clean. Input
// octets outside printable US-ASCII are replaced by '?', except that tab is kept and CR/LF in
// a single-line value become a space (so a multi-line SMTP reply reads as one line); in the
// attached header block any line ending (CRLF, LF or bare CR) becomes CRLF. The boundary is
// chosen so that no line of any part starts with it.
std::string build_dsn(const DsnInput& input);

}  // namespace mta::mime
