// What the submission server adds to a message before it is signed and stored: the Received
// trace field (RFC 5321 §4.4, with the RFC 3848 protocol keywords), and Message-ID and Date
// when the client sent none (RFC 5322 §3.6: a message needs both; clients often leave them to
// the MSA). Pure: the caller gives the facts and the time.
#pragma once

#include <string>
#include <string_view>

#include "base/clock.h"
#include "base/strong_id.h"

namespace mta::injection {

struct TraceFacts {
  std::string_view client_name;  // HELO/EHLO argument as sent
  std::string_view client_ip;    // the peer's address, without the port
  bool extended = true;          // EHLO (ESMTP) rather than HELO (SMTP)
  bool tls = false;              // ESMTPS
  bool authenticated = false;    // ESMTPA
  std::string_view tls_details;  // e.g. "TLSv1.3 TLS_AES_256_GCM_SHA384", or empty
  std::string_view protocol;     // the "with" keyword when not SMTP's (e.g. "HTTP"); else derived
  std::string_view hostname;     // ours
  MessageId id;
  Clock::WallTime when;
};

// RFC 5322 date-time in UTC: "Mon, 23 Nov 2026 18:21:06 +0000".
std::string rfc5322_date(Clock::WallTime when);

// Prepends the Received field, then Message-ID and Date if the header section has none.
// `message` has CRLF line ends (as DataReader leaves them).
void add_trace_fields(std::string& message, const TraceFacts& facts);

}  // namespace mta::injection
