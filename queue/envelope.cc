// Envelope record codec: a version byte, little-endian fixed-width integers and u32
// length-prefixed strings. The decoder treats its input as hostile (a damaged disk is one).
#include "queue/envelope.h"

#include <cctype>
#include <chrono>
#include <string>
#include <utility>

#include "base/ascii.h"
#include "base/assert.h"
#include "queue/errc.h"

namespace mta::queue {
namespace {

using Nanoseconds = std::chrono::nanoseconds;

// Smallest encoding of one recipient: state + attempts + two empty strings.
constexpr std::size_t recipient_bytes_min = 1 + 4 + 4 + 4;

std::int64_t to_wire(Clock::WallTime t) {
  return std::chrono::duration_cast<Nanoseconds>(t.time_since_epoch()).count();
}

Clock::WallTime from_wire(std::int64_t ns) {
  return Clock::WallTime(std::chrono::duration_cast<Clock::WallTime::duration>(Nanoseconds(ns)));
}

class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}

  void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void u32(std::uint32_t v) { little_endian(v, 4); }
  void u64(std::uint64_t v) { little_endian(v, 8); }
  void i64(std::int64_t v) { u64(static_cast<std::uint64_t>(v)); }
  void str(std::string_view s) {
    u32(static_cast<std::uint32_t>(s.size()));
    out_.append(s);
  }

 private:
  void little_endian(std::uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) {
      out_.push_back(static_cast<char>(v & 0xffU));
      v >>= 8U;
    }
  }

  std::string& out_;
};

// Reads from a byte string; every read checks the remaining length first, and the first
// failure latches (ok() turns false and later reads return zeros).
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}

  bool ok() const { return ok_; }
  std::size_t remaining() const { return in_.size() - pos_; }

  std::uint8_t u8() { return static_cast<std::uint8_t>(little_endian(1)); }
  std::uint32_t u32() { return static_cast<std::uint32_t>(little_endian(4)); }
  std::uint64_t u64() { return little_endian(8); }
  std::int64_t i64() { return static_cast<std::int64_t>(u64()); }
  std::string str(std::size_t bytes_max) {
    const std::uint32_t size = u32();
    if (!ok_ || size > bytes_max || size > remaining()) {
      ok_ = false;
      return {};
    }
    std::string out(in_.substr(pos_, size));
    pos_ += size;
    return out;
  }

 private:
  std::uint64_t little_endian(std::size_t bytes) {
    if (!ok_ || remaining() < bytes) {
      ok_ = false;
      return 0;
    }
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < bytes; ++i) {
      v |= static_cast<std::uint64_t>(static_cast<unsigned char>(in_[pos_ + i])) << (8U * i);
    }
    pos_ += bytes;
    return v;
  }

  std::string_view in_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

Unexpected<Error> corrupt(std::string detail) {
  return unexpected(Errc::corrupt_record, std::move(detail));
}

}  // namespace

std::optional<TrafficClass> parse_traffic_class(std::string_view text) {
  if (iequals(text, "transactional")) return TrafficClass::transactional;
  if (iequals(text, "bulk")) return TrafficClass::bulk;
  return std::nullopt;
}

bool valid_tag(std::string_view value) {
  if (value.empty() || value.size() > tag_bytes_max) return false;
  for (char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    if (std::isalnum(byte) == 0 && c != '.' && c != '_' && c != '-') return false;
  }
  return true;
}

std::string_view to_string(TrafficClass traffic_class) {
  return traffic_class == TrafficClass::bulk ? "bulk" : "transactional";
}

Result<void> validate_envelope(const Envelope& envelope) {
  for (const std::string* tag : {&envelope.tenant, &envelope.campaign, &envelope.pool}) {
    if (tag->size() > tag_bytes_max) {
      return unexpected(Errc::record_too_large,
                        "tenant, campaign or pool of " + to_hex(envelope.id));
    }
  }
  if (envelope.destination.size() > destination_bytes_max) {
    return unexpected(Errc::record_too_large, "destination of " + to_hex(envelope.id));
  }
  if (envelope.mail_from.size() > address_bytes_max) {
    return unexpected(Errc::record_too_large, "mail_from of " + to_hex(envelope.id));
  }
  if (envelope.recipients.size() > recipients_per_envelope_max) {
    return unexpected(Errc::record_too_large, "recipient count of " + to_hex(envelope.id));
  }
  for (const Recipient& recipient : envelope.recipients) {
    if (recipient.address.size() > address_bytes_max) {
      return unexpected(Errc::record_too_large, "recipient address of " + to_hex(envelope.id));
    }
    if (recipient.last_reply.size() > reply_bytes_max) {
      return unexpected(Errc::record_too_large, "last_reply of " + to_hex(envelope.id));
    }
  }
  return {};
}

std::string encode_envelope(const Envelope& envelope) {
  MTA_ASSERT(validate_envelope(envelope).has_value());
  std::size_t size = 1 + 8 + 4 + 4 + envelope.destination.size() + 8 + 8 + 8 + 4 + 8 + 4 +
                     envelope.mail_from.size() + 4 + 4 + envelope.tenant.size() + 4 +
                     envelope.campaign.size() + 1 + 4 + envelope.pool.size();
  for (const Recipient& recipient : envelope.recipients) {
    size += recipient_bytes_min + recipient.address.size() + recipient.last_reply.size();
  }
  std::string out;
  out.reserve(size);
  Writer w(out);
  w.u8(envelope_record_version);
  w.u64(envelope.id.value());
  w.u32(envelope.part);
  w.str(envelope.destination);
  w.i64(to_wire(envelope.received_at));
  w.i64(to_wire(envelope.next_attempt_at));
  w.i64(to_wire(envelope.expires_at));
  w.u32(envelope.attempts);
  w.u64(envelope.body_bytes);
  w.str(envelope.mail_from);
  w.u32(static_cast<std::uint32_t>(envelope.recipients.size()));
  for (const Recipient& recipient : envelope.recipients) {
    w.u8(static_cast<std::uint8_t>(recipient.state));
    w.u32(recipient.attempts);
    w.str(recipient.address);
    w.str(recipient.last_reply);
  }
  w.str(envelope.tenant);
  w.str(envelope.campaign);
  w.u8(static_cast<std::uint8_t>(envelope.traffic_class));
  w.str(envelope.pool);
  MTA_ASSERT(out.size() == size);
  return out;
}

Result<Envelope> decode_envelope(std::string_view bytes) {
  Reader r(bytes);
  const std::uint8_t version = r.u8();
  if (!r.ok()) return corrupt("empty record");
  if (version != envelope_record_version && version != 2 && version != 1) {
    return corrupt("unknown record version " + std::to_string(version));
  }
  const bool has_parts = version >= 2;
  Envelope envelope;
  envelope.id = MessageId(r.u64());
  if (has_parts) {
    envelope.part = r.u32();
    envelope.destination = r.str(destination_bytes_max);
  }
  envelope.received_at = from_wire(r.i64());
  envelope.next_attempt_at = from_wire(r.i64());
  if (has_parts) envelope.expires_at = from_wire(r.i64());
  envelope.attempts = r.u32();
  envelope.body_bytes = r.u64();
  envelope.mail_from = r.str(address_bytes_max);
  const std::uint32_t count = r.u32();
  if (!r.ok()) return corrupt("truncated or oversized header");
  // Check the count against what the remaining bytes could hold before reserving memory.
  if (count > recipients_per_envelope_max || count > r.remaining() / recipient_bytes_min) {
    return corrupt("recipient count " + std::to_string(count) + " exceeds record");
  }
  envelope.recipients.reserve(count);
  for (std::uint32_t i = 0; i < count; ++i) {
    Recipient recipient;
    const std::uint8_t state = r.u8();
    if (state > static_cast<std::uint8_t>(RecipientState::suppressed)) {
      return corrupt("recipient state " + std::to_string(state));
    }
    recipient.state = static_cast<RecipientState>(state);
    recipient.attempts = r.u32();
    recipient.address = r.str(address_bytes_max);
    recipient.last_reply = r.str(reply_bytes_max);
    if (!r.ok()) return corrupt("truncated or oversized recipient " + std::to_string(i));
    envelope.recipients.push_back(std::move(recipient));
  }
  if (version >= 3) {
    envelope.tenant = r.str(tag_bytes_max);
    envelope.campaign = r.str(tag_bytes_max);
    const std::uint8_t traffic_class = r.u8();
    envelope.pool = r.str(tag_bytes_max);
    if (!r.ok()) return corrupt("truncated or oversized tags");
    if (traffic_class > static_cast<std::uint8_t>(TrafficClass::bulk)) {
      return corrupt("traffic class " + std::to_string(traffic_class));
    }
    envelope.traffic_class = static_cast<TrafficClass>(traffic_class);
  }
  if (r.remaining() != 0) {
    return corrupt(std::to_string(r.remaining()) + " trailing bytes");
  }
  return envelope;
}

}  // namespace mta::queue
