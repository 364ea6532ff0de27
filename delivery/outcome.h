// What delivery reports about each recipient an attempt settled (delivered, deferred, bounced,
// suppressed): where it went, how, and what the server said. app/ turns each one into a line of
// the JSON delivery log and into per-destination metrics; delivery itself knows neither.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "queue/envelope.h"
#include "tls/session.h"

namespace mta::delivery {

// The connection an outcome came over; absent when there was none (no route, expiry,
// suppression, an operator's bounce, a connection that failed before its session was up).
struct Hop {
  std::string_view mx_host;        // the MX host name (empty for a relay given by address)
  std::string_view address;        // "192.0.2.1:25"
  std::string_view source;         // the local address sent from; empty: the kernel's choice
  const tls::Info* tls = nullptr;  // nullptr: plaintext
};

struct RecipientOutcome {
  const queue::Envelope& envelope;
  const queue::Recipient& recipient;  // its state and last_reply are the outcome
  const Hop* hop = nullptr;
  Clock::WallTime at{};
};

using OutcomeFn = std::function<void(const RecipientOutcome&)>;

// A reply as last_reply holds it, "250 2.0.0 Ok" or "4.4.1 connect to ... failed" (our own
// failures carry only an enhanced code): code 0 when there is none, enhanced empty likewise.
struct SplitReply {
  int code = 0;
  std::string_view enhanced;
  std::string_view text;
};
SplitReply split_reply(std::string_view reply);

// One JSON object and '\n': time, event, message_id, part, sender, recipient, destination,
// mx_host, address, tls {version, cipher, verified, resumed} or null, code, enhanced_code,
// reply, attempt, queue_seconds.
std::string delivery_log_line(const RecipientOutcome& outcome);

}  // namespace mta::delivery
