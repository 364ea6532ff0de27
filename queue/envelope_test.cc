// Tests of the envelope record codec: round trips over a table of edge cases, and a decoder
// that rejects every truncation, trailing byte, bad version, bad state and oversized field.
#include "queue/envelope.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include "queue/errc.h"

namespace mta::queue {
namespace {

using namespace std::chrono_literals;
using namespace std::string_literals;

Clock::WallTime at(std::chrono::nanoseconds since_epoch) {
  return Clock::WallTime(std::chrono::duration_cast<Clock::WallTime::duration>(since_epoch));
}

Envelope sample_envelope(std::size_t recipient_count) {
  Envelope e;
  e.id = MessageId(0x0123456789abcdefULL);
  e.part = 2;
  e.destination = "example.com";
  e.mail_from = "bounces+x=y@outpost.example";
  e.received_at = at(1'700'000'000'123'456'789ns);
  e.next_attempt_at = at(1'700'000'600'000'000'000ns);
  e.expires_at = at(1'700'259'200'123'456'789ns);
  e.attempts = 3;
  e.body_bytes = 4096;
  for (std::size_t i = 0; i < recipient_count; ++i) {
    e.recipients.push_back(
        Recipient{std::string("user").append(std::to_string(i)).append("@example.com"),
                  static_cast<RecipientState>(i % 4), static_cast<std::uint32_t>(i),
                  i % 2 ? "451 4.3.0 later" : ""});
  }
  return e;
}

struct RoundTripCase {
  std::string name;
  Envelope envelope;
};

std::vector<RoundTripCase> round_trip_cases() {
  std::vector<RoundTripCase> cases;
  cases.push_back({"default", Envelope{}});
  {
    Envelope e = sample_envelope(1);
    e.destination = "relay:127.0.0.1:2500";
    cases.push_back({"relay_destination", e});
  }
  {
    Envelope e = sample_envelope(1);
    e.mail_from = "";  // null sender
    cases.push_back({"null_sender_one_recipient", e});
  }
  cases.push_back({"zero_recipients", sample_envelope(0)});
  cases.push_back({"ten_recipients", sample_envelope(10)});
  cases.push_back({"thousand_recipients", sample_envelope(1000)});
  for (RecipientState state : {RecipientState::pending, RecipientState::delivered,
                               RecipientState::deferred, RecipientState::bounced}) {
    Envelope e = sample_envelope(1);
    e.recipients[0].state = state;
    cases.push_back({"state_" + std::to_string(static_cast<int>(state)), e});
  }
  {
    Envelope e = sample_envelope(2);
    e.mail_from = std::string(address_bytes_max, 's');
    e.destination = std::string(destination_bytes_max, 'd');
    e.recipients[0].address = std::string(address_bytes_max, 'a');
    e.recipients[1].last_reply = std::string(reply_bytes_max, 'r');
    cases.push_back({"longest_strings", e});
  }
  {
    Envelope e = sample_envelope(1);
    e.id = MessageId(~std::uint64_t{0});
    e.attempts = ~std::uint32_t{0};
    e.part = ~std::uint32_t{0};
    e.expires_at = at(std::chrono::nanoseconds(INT64_MIN));
    e.body_bytes = ~std::uint64_t{0};
    e.recipients[0].attempts = ~std::uint32_t{0};
    e.received_at = at(std::chrono::nanoseconds(INT64_MAX));
    e.next_attempt_at = at(std::chrono::nanoseconds(INT64_MIN));
    cases.push_back({"extreme_integers", e});
  }
  {
    Envelope e = sample_envelope(1);
    e.tenant = "acme";
    e.campaign = "black-friday.2026";
    e.traffic_class = TrafficClass::bulk;
    e.pool = "shared";
    cases.push_back({"tagged_bulk", e});
  }
  {
    Envelope e = sample_envelope(0);
    e.tenant = std::string(tag_bytes_max, 't');
    e.campaign = std::string(tag_bytes_max, 'c');
    e.pool = std::string(tag_bytes_max, 'p');
    cases.push_back({"longest_tags", e});
  }
  {
    Envelope e = sample_envelope(1);
    e.recipients[0].last_reply = "250 ok\0\r\n\xff binary"s;  // NUL, CR LF and a high byte
    cases.push_back({"binary_bytes_in_strings", e});
  }
  return cases;
}

TEST(EnvelopeCodec, RoundTripsEveryCase) {
  for (const RoundTripCase& c : round_trip_cases()) {
    SCOPED_TRACE(c.name);
    ASSERT_TRUE(validate_envelope(c.envelope).has_value());
    const std::string bytes = encode_envelope(c.envelope);
    ASSERT_FALSE(bytes.empty());
    EXPECT_EQ(static_cast<std::uint8_t>(bytes[0]), envelope_record_version);
    Result<Envelope> got = decode_envelope(bytes);
    ASSERT_TRUE(got.has_value()) << got.error().message();
    EXPECT_EQ(*got, c.envelope);
    EXPECT_EQ(encode_envelope(*got), bytes);
  }
}

TEST(EnvelopeCodec, LayoutIsLittleEndianFixedWidth) {
  Envelope e;
  e.id = MessageId(0x0102030405060708ULL);
  e.part = 0x11121314;
  e.attempts = 0x0a0b0c0d;
  const std::string bytes = encode_envelope(e);
  // version, id, part, destination, received_at, next_attempt_at, expires_at, attempts,
  // body_bytes, mail_from, count, tenant, campaign, class, pool.
  ASSERT_EQ(bytes.size(), 1U + 8 + 4 + 4 + 8 + 8 + 8 + 4 + 8 + 4 + 4 + 4 + 4 + 1 + 4);
  EXPECT_EQ(bytes[0], 3);
  EXPECT_EQ(bytes.substr(1, 8), std::string("\x08\x07\x06\x05\x04\x03\x02\x01", 8));
  EXPECT_EQ(bytes.substr(9, 4), std::string("\x14\x13\x12\x11", 4));
  EXPECT_EQ(bytes.substr(41, 4), std::string("\x0d\x0c\x0b\x0a", 4));
}

TEST(EnvelopeCodec, RejectsEveryTruncation) {
  for (const std::size_t recipients : {0U, 1U, 3U}) {
    const std::string bytes = encode_envelope(sample_envelope(recipients));
    for (std::size_t size = 0; size < bytes.size(); ++size) {
      SCOPED_TRACE("recipients " + std::to_string(recipients) + " size " + std::to_string(size));
      Result<Envelope> got = decode_envelope(std::string_view(bytes).substr(0, size));
      ASSERT_FALSE(got.has_value());
      EXPECT_EQ(got.error().code, Errc::corrupt_record);
    }
  }
}

TEST(EnvelopeCodec, RejectsTrailingBytes) {
  const std::string bytes = encode_envelope(sample_envelope(2));
  for (const std::string& tail : {std::string(1, '\0'), std::string("x"), std::string(100, 'z')}) {
    Result<Envelope> got = decode_envelope(bytes + tail);
    ASSERT_FALSE(got.has_value());
    EXPECT_EQ(got.error().code, Errc::corrupt_record);
  }
}

// Offsets in an encoding of sample_envelope(1) with its destination and mail_from cleared.
constexpr std::size_t destination_length_at = 1 + 8 + 4;
constexpr std::size_t mail_from_length_at = destination_length_at + 4 + 8 + 8 + 8 + 4 + 8;
constexpr std::size_t count_at = mail_from_length_at + 4;
constexpr std::size_t state_at = count_at + 4;
constexpr std::size_t address_length_at = state_at + 1 + 4;

void put_u32(std::string& bytes, std::size_t at, std::uint32_t v) {
  for (std::size_t i = 0; i < 4; ++i) bytes[at + i] = static_cast<char>((v >> (8 * i)) & 0xffU);
}

TEST(EnvelopeCodec, RejectsDamagedFields) {
  Envelope base = sample_envelope(1);
  base.mail_from = "";
  base.destination = "";
  const std::string good = encode_envelope(base);
  ASSERT_TRUE(decode_envelope(good).has_value());

  struct Case {
    std::string name;
    std::function<void(std::string&)> damage;
  };
  const std::vector<Case> cases = {
      {"version_0", [](std::string& b) { b[0] = 0; }},
      {"version_4", [](std::string& b) { b[0] = 4; }},
      {"class_2", [](std::string& b) { b[b.size() - 5] = 2; }},
      {"tenant_length_over_bound",
       [](std::string& b) { put_u32(b, b.size() - 4 - 1 - 4 - 4, 65); }},
      {"version_255", [](std::string& b) { b[0] = static_cast<char>(0xff); }},
      {"destination_length_past_end",
       [](std::string& b) { put_u32(b, destination_length_at, 200); }},
      {"destination_length_over_bound",
       [](std::string& b) { put_u32(b, destination_length_at, 256); }},
      {"state_5", [](std::string& b) { b[state_at] = 5; }},
      {"state_255", [](std::string& b) { b[state_at] = static_cast<char>(0xff); }},
      {"count_too_big_for_bytes", [](std::string& b) { put_u32(b, count_at, 2); }},
      {"count_huge", [](std::string& b) { put_u32(b, count_at, 0xffffffffU); }},
      {"mail_from_length_past_end", [](std::string& b) { put_u32(b, mail_from_length_at, 1000); }},
      {"mail_from_length_huge",
       [](std::string& b) { put_u32(b, mail_from_length_at, 0xffffffffU); }},
      {"address_length_past_end", [](std::string& b) { put_u32(b, address_length_at, 10'000); }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    std::string bytes = good;
    c.damage(bytes);
    Result<Envelope> got = decode_envelope(bytes);
    ASSERT_FALSE(got.has_value());
    EXPECT_EQ(got.error().code, Errc::corrupt_record);
  }
}

TEST(EnvelopeCodec, RejectsStringsOverTheBoundEvenIfPresent) {
  // A well-formed record whose mail_from is one byte over the bound: built by hand, since
  // encode_envelope refuses to write it.
  Envelope base;
  std::string bytes = encode_envelope(base);
  const std::string long_sender(address_bytes_max + 1, 's');
  put_u32(bytes, mail_from_length_at, static_cast<std::uint32_t>(long_sender.size()));
  bytes.insert(mail_from_length_at + 4, long_sender);
  Result<Envelope> got = decode_envelope(bytes);
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code, Errc::corrupt_record);
}

TEST(EnvelopeCodec, ValidateRejectsOversizedFields) {
  struct Case {
    std::string name;
    std::function<void(Envelope&)> grow;
  };
  const std::vector<Case> cases = {
      {"mail_from", [](Envelope& e) { e.mail_from.assign(address_bytes_max + 1, 'x'); }},
      {"destination", [](Envelope& e) { e.destination.assign(destination_bytes_max + 1, 'x'); }},
      {"address", [](Envelope& e) { e.recipients[0].address.assign(address_bytes_max + 1, 'x'); }},
      {"last_reply",
       [](Envelope& e) { e.recipients[0].last_reply.assign(reply_bytes_max + 1, 'x'); }},
      {"recipients", [](Envelope& e) { e.recipients.resize(recipients_per_envelope_max + 1); }},
      {"tenant", [](Envelope& e) { e.tenant.assign(tag_bytes_max + 1, 'x'); }},
      {"campaign", [](Envelope& e) { e.campaign.assign(tag_bytes_max + 1, 'x'); }},
      {"pool", [](Envelope& e) { e.pool.assign(tag_bytes_max + 1, 'x'); }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Envelope e = sample_envelope(1);
    c.grow(e);
    Result<void> got = validate_envelope(e);
    ASSERT_FALSE(got.has_value());
    EXPECT_EQ(got.error().code, Errc::record_too_large);
  }
}

// A version 1 record is a version 2 one (version 3 without its tags) without part, destination and
// expires_at; build one by cutting those out of an encoding, and it must decode as part 0 with
// neither.
TEST(EnvelopeCodec, DecodesVersion1AsPartZero) {
  for (const std::size_t recipients : {0U, 1U, 3U}) {
    SCOPED_TRACE(recipients);
    Envelope want = sample_envelope(recipients);
    want.part = 0;
    want.destination = "";
    want.expires_at = {};
    std::string bytes = encode_envelope(want);
    bytes.erase(bytes.size() - (4 + 4 + 1 + 4));  // the version 3 tags
    constexpr std::size_t expires_at = 1 + 8 + 4 + 4 + 8 + 8;
    bytes.erase(expires_at, 8);
    bytes.erase(1 + 8, 4 + 4);  // part, empty destination
    bytes[0] = 1;
    Result<Envelope> got = decode_envelope(bytes);
    ASSERT_TRUE(got.has_value()) << got.error().message();
    EXPECT_EQ(*got, want);
    // Truncations of a version 1 record are rejected too.
    for (std::size_t size = 0; size < bytes.size(); ++size) {
      EXPECT_FALSE(decode_envelope(std::string_view(bytes).substr(0, size)).has_value()) << size;
    }
  }
}

// A version 2 record is a version 3 one without the tags at its end: it decodes as untagged
// transactional mail, and truncations of it are rejected.
TEST(EnvelopeCodec, DecodesVersion2AsUntagged) {
  for (const std::size_t recipients : {0U, 1U, 3U}) {
    SCOPED_TRACE(recipients);
    const Envelope want = sample_envelope(recipients);
    std::string bytes = encode_envelope(want);
    bytes.erase(bytes.size() - (4 + 4 + 1 + 4));  // empty tenant, campaign, class, empty pool
    bytes[0] = 2;
    Result<Envelope> got = decode_envelope(bytes);
    ASSERT_TRUE(got.has_value()) << got.error().message();
    EXPECT_EQ(*got, want);
    EXPECT_EQ(got->traffic_class, TrafficClass::transactional);
    for (std::size_t size = 0; size < bytes.size(); ++size) {
      EXPECT_FALSE(decode_envelope(std::string_view(bytes).substr(0, size)).has_value()) << size;
    }
  }
}

// The committed fuzz seeds double as format-stability fixtures: valid_* must still decode
// (a format change that breaks old spools fails here), broken_* must be rejected. valid_v1_*
// are frozen version 1 records and valid_v2_* version 2 ones: they decode, and re-encode as
// version 3 to the same envelope.
TEST(EnvelopeCodec, SeedCorpusDecodesAsNamed) {
  const std::filesystem::path dir =
      std::filesystem::path(OUTPOST_QUEUE_TESTDATA) / "record_decoder";
  int valid = 0;
  int valid_v1 = 0;
  int valid_v2 = 0;
  int broken = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::string name = entry.path().filename().string();
    SCOPED_TRACE(name);
    Result<Envelope> got = decode_envelope(bytes);
    if (name.starts_with("valid_")) {
      ++valid;
      ASSERT_TRUE(got.has_value()) << got.error().message();
      if (name.starts_with("valid_v1_")) {
        ++valid_v1;
        EXPECT_EQ(bytes[0], 1);
        EXPECT_EQ(got->part, 0U);
        EXPECT_EQ(decode_envelope(encode_envelope(*got)).value_or(Envelope{}), *got);
      } else if (name.starts_with("valid_v2_")) {
        ++valid_v2;
        EXPECT_EQ(bytes[0], 2);
        EXPECT_TRUE(got->tenant.empty());
        EXPECT_EQ(decode_envelope(encode_envelope(*got)).value_or(Envelope{}), *got);
      } else {
        EXPECT_EQ(encode_envelope(*got), bytes);
      }
    } else if (name.starts_with("broken_")) {
      ++broken;
      EXPECT_FALSE(got.has_value());
    }
  }
  EXPECT_GE(valid - valid_v1 - valid_v2, 3);
  EXPECT_GE(valid_v1, 3);
  EXPECT_GE(valid_v2, 3);
  EXPECT_GE(broken, 3);
}

}  // namespace
}  // namespace mta::queue
