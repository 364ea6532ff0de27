// Big-endian key encoding for the spool's column families.
#include "queue/keys.h"

#include <chrono>
#include <limits>
#include <string>

#include "queue/errc.h"

namespace mta::queue {
namespace {

template <std::size_t N>
void put_be(std::array<char, N>& out, std::size_t at, std::uint64_t v, std::size_t bytes) {
  for (std::size_t i = 0; i < bytes; ++i) {
    out[at + bytes - 1 - i] = static_cast<char>(v & 0xffU);
    v >>= 8U;
  }
}

std::uint64_t get_be(std::string_view in, std::size_t at, std::size_t bytes) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < bytes; ++i) {
    v = (v << 8U) | static_cast<unsigned char>(in[at + i]);
  }
  return v;
}

Unexpected<Error> bad_length(const char* what, std::size_t size) {
  return unexpected(Errc::corrupt_record,
                    std::string(what) + " key of " + std::to_string(size) + " bytes");
}

}  // namespace

std::uint64_t due_ms(Clock::WallTime due) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(due.time_since_epoch());
  return ms.count() < 0 ? 0 : static_cast<std::uint64_t>(ms.count());
}

Clock::WallTime from_due_ms(std::uint64_t ms) {
  return Clock::WallTime(std::chrono::duration_cast<Clock::WallTime::duration>(
      std::chrono::milliseconds(static_cast<std::int64_t>(ms))));
}

BodyKey body_key(MessageId id) {
  BodyKey out{};
  put_be(out, 0, id.value(), 8);
  return out;
}

EnvelopeKey envelope_key(PartKey key) {
  EnvelopeKey out{};
  put_be(out, 0, key.message.value(), 8);
  put_be(out, 8, key.part, 4);
  return out;
}

ScheduleKey schedule_key(Clock::WallTime due, PartKey key) {
  ScheduleKey out{};
  put_be(out, 0, due_ms(due), 8);
  put_be(out, 8, key.message.value(), 8);
  put_be(out, 16, key.part, 4);
  return out;
}

Result<MessageId> parse_body_key(std::string_view bytes) {
  if (bytes.size() != 8) return bad_length("body", bytes.size());
  return MessageId(get_be(bytes, 0, 8));
}

Result<PartKey> parse_envelope_key(std::string_view bytes) {
  if (bytes.size() != 12) return bad_length("envelope", bytes.size());
  return PartKey{MessageId(get_be(bytes, 0, 8)), static_cast<std::uint32_t>(get_be(bytes, 8, 4))};
}

Result<ParsedScheduleKey> parse_schedule_key(std::string_view bytes) {
  if (bytes.size() != 20) return bad_length("schedule", bytes.size());
  const std::uint64_t ms = get_be(bytes, 0, 8);
  // WallTime counts nanoseconds in an int64: anything later than that was never written.
  constexpr std::uint64_t ms_max = std::numeric_limits<std::int64_t>::max() / 1'000'000;
  if (ms > ms_max) {
    return unexpected(Errc::corrupt_record, "schedule key due " + std::to_string(ms) + " ms");
  }
  return ParsedScheduleKey{
      from_due_ms(ms),
      PartKey{MessageId(get_be(bytes, 8, 8)), static_cast<std::uint32_t>(get_be(bytes, 16, 4))}};
}

std::string schedule_value(const Envelope& envelope) {
  std::string value = envelope.destination;
  if (envelope.tenant.empty() && envelope.pool.empty() &&
      envelope.traffic_class == TrafficClass::transactional) {
    return value;
  }
  value += '\0';
  value += envelope.tenant;
  value += '\0';
  value += envelope.traffic_class == TrafficClass::bulk ? 'b' : 't';
  value += '\0';
  value += envelope.pool;
  return value;
}

Result<void> parse_schedule_value(std::string_view bytes, ScheduledItem& item) {
  const auto cut = bytes.find('\0');
  item.destination = std::string(bytes.substr(0, cut));
  item.tenant.clear();
  item.pool.clear();
  item.traffic_class = TrafficClass::transactional;
  if (cut == std::string_view::npos) return {};
  std::string_view rest = bytes.substr(cut + 1);
  const auto second = rest.find('\0');
  if (second == std::string_view::npos || rest.size() < second + 3 || rest[second + 2] != '\0' ||
      (rest[second + 1] != 't' && rest[second + 1] != 'b')) {
    return unexpected(Errc::corrupt_record, "schedule value of " + to_hex(item.key.message));
  }
  item.tenant = std::string(rest.substr(0, second));
  item.traffic_class = rest[second + 1] == 'b' ? TrafficClass::bulk : TrafficClass::transactional;
  item.pool = std::string(rest.substr(second + 3));
  if (item.tenant.size() > tag_bytes_max || item.pool.size() > tag_bytes_max ||
      item.pool.find('\0') != std::string::npos) {
    return unexpected(Errc::corrupt_record, "schedule value of " + to_hex(item.key.message));
  }
  return {};
}

}  // namespace mta::queue
