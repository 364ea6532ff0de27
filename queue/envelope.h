// Envelope: what the queue keeps about one accepted message besides its body (sender,
// per-recipient delivery state, retry bookkeeping), and its versioned binary record codec.
// The codec is pure; Stores call it. Scheduling policy lives elsewhere and only reads these.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "base/strong_id.h"

namespace mta::queue {

// suppressed: on the suppression list when its turn came (a hard bounce or a complaint
// earlier), so never attempted; final, like bounced, but without a DSN.
enum class RecipientState : std::uint8_t {
  pending = 0,
  delivered = 1,
  deferred = 2,
  bounced = 3,
  suppressed = 4,
};

// How a recipient's last reply starts when it bounced because its time in the queue ran out
// ([queue] max_age): delivery writes it, operators' views read such a recipient as "expired".
inline constexpr std::string_view expired_reply = "4.4.7 delivery time expired";

// How a message is scheduled against others of its tenant's and other tenants': transactional
// parts (receipts, password resets) go before bulk ones (newsletters) waiting for the same
// connections. Untagged mail is transactional unless its tenant's configuration says otherwise.
enum class TrafficClass : std::uint8_t {
  transactional = 0,
  bulk = 1,
};
std::string_view to_string(TrafficClass traffic_class);
// "transactional" or "bulk" (any case).
std::optional<TrafficClass> parse_traffic_class(std::string_view text);

struct Recipient {
  std::string address;
  RecipientState state = RecipientState::pending;
  std::uint32_t attempts = 0;
  std::string last_reply;  // e.g. "451 4.3.0 try later"

  friend bool operator==(const Recipient&, const Recipient&) = default;
};

// One part of a message: the recipients of one destination. Every part of a message shares
// the message's id and its one body record; (id, part) names the part in the store.
struct Envelope {
  MessageId id;
  std::uint32_t part = 0;
  // Where this part goes, e.g. "example.com" or "relay:127.0.0.1:2500". Opaque to the queue;
  // at most destination_bytes_max bytes.
  std::string destination;
  std::string mail_from;  // "" = null sender (a bounce)
  std::vector<Recipient> recipients;
  Clock::WallTime received_at{};
  Clock::WallTime next_attempt_at{};
  Clock::WallTime expires_at{};  // received_at + max age: the scheduler bounces after it
  std::uint32_t attempts = 0;
  std::uint64_t body_bytes = 0;
  // Who sent it and how it is scheduled (X-Outpost-Tenant, -Campaign, -Class, -Pool at intake,
  // or the HTTP API's fields): "" = none. Opaque to the queue; at most tag_bytes_max bytes.
  std::string tenant;
  std::string campaign;
  TrafficClass traffic_class = TrafficClass::transactional;
  std::string pool;  // the source pool its connections go out from; "" = the tenant's or default

  friend bool operator==(const Envelope&, const Envelope&) = default;
};

// Bounds the decoder enforces, so a damaged length field can never make it allocate gigabytes.
// They are far above what injection accepts (RFC 5321 4.5.3.1: a path is at most 256 octets),
// so they only ever reject corruption or a caller that skipped validation.
inline constexpr std::size_t address_bytes_max = 4096;     // mail_from and each recipient
inline constexpr std::size_t destination_bytes_max = 255;  // a domain name, or a relay tag
inline constexpr std::size_t reply_bytes_max = 64 * 1024;  // last_reply (multi-line replies)
inline constexpr std::size_t recipients_per_envelope_max = 100'000;
inline constexpr std::size_t tag_bytes_max = 64;  // tenant, campaign and pool (injection: 64)
// A tenant, campaign or pool name: 1 to tag_bytes_max bytes of letters, digits, '.', '_' and
// '-' (safe in logs, metric labels and the schedule index). Checked at intake and in the
// configuration.
bool valid_tag(std::string_view value);

// The record format version encode_envelope writes. Decoding an unknown version fails, so a
// newer format must bump this and keep decoding the older one. Version 1 (before parts)
// still decodes, as part 0 with no destination and no expiry.
inline constexpr std::uint8_t envelope_record_version = 3;

// Checks the bounds above; record_too_large names the field. Store::put and update_envelope
// call it before encoding, so oversized input is an error value, never an assert.
Result<void> validate_envelope(const Envelope& envelope);

// Binary record (version 3), all integers little-endian and fixed-width:
//   u8  version (= 3)
//   u64 id
//   u32 part
//   str destination       (str = u32 length, then that many bytes)
//   i64 received_at       nanoseconds since the Unix epoch
//   i64 next_attempt_at   nanoseconds since the Unix epoch
//   i64 expires_at        nanoseconds since the Unix epoch
//   u32 attempts
//   u64 body_bytes
//   str mail_from
//   u32 recipient count, then per recipient:
//       u8 state, u32 attempts, str address, str last_reply
//   str tenant, str campaign, u8 traffic_class (0 transactional, 1 bulk), str pool
// Version 2 ended after the recipients (the tags came last, so version 2 records are a prefix
// of version 3 ones); version 1 also lacked part, destination and expires_at. Precondition:
// validate_envelope(envelope) succeeded (asserted).
std::string encode_envelope(const Envelope& envelope);

// Inverse of encode_envelope; also reads version 1 and 2 records (which re-encode as version 3,
// so only version 3 is canonical). Any truncation, unknown version, out-of-range state, length or
// count beyond the bounds, or trailing byte gives Errc::corrupt_record; never asserts on input.
Result<Envelope> decode_envelope(std::string_view bytes);

}  // namespace mta::queue
