// summarize_message over hand-built DNS messages: answer TTL minimum (CNAME chain included), the
// RFC 2308 negative TTL from the SOA, compression pointers, RFC 2181 TTL overflow, and every
// truncation of a valid message.
#include "dns/wire.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dns/errc.h"

namespace mta::dns {
namespace {

using namespace std::chrono_literals;

// Builds a message: header, one question, then records. Names are written uncompressed
// unless given as a pointer with ptr().
class Message {
 public:
  Message(std::uint8_t rcode, std::uint16_t answers, std::uint16_t authority) {
    u16(0x1234);
    u16(0x8180 | rcode);
    u16(1);
    u16(answers);
    u16(authority);
    u16(0);
    name("example.test");  // offset 12
    u16(15);
    u16(1);
  }
  Message& name(const std::string& dotted) {
    std::size_t start = 0;
    while (start < dotted.size()) {
      const std::size_t dot = dotted.find('.', start);
      const std::size_t end = dot == std::string::npos ? dotted.size() : dot;
      bytes_ += static_cast<char>(end - start);
      bytes_ += dotted.substr(start, end - start);
      start = end + 1;
    }
    bytes_ += '\0';
    return *this;
  }
  Message& ptr(std::uint16_t offset) { return u16(0xc000 | offset); }
  Message& u16(std::uint32_t v) {
    bytes_ += static_cast<char>((v >> 8) & 0xff);
    bytes_ += static_cast<char>(v & 0xff);
    return *this;
  }
  Message& u32(std::uint32_t v) { return u16(v >> 16).u16(v & 0xffff); }
  // A record whose owner is the question name (pointer to offset 12).
  Message& rr(std::uint16_t type, std::uint32_t ttl, const std::string& rdata) {
    ptr(12).u16(type).u16(1).u32(ttl).u16(static_cast<std::uint32_t>(rdata.size()));
    bytes_ += rdata;
    return *this;
  }
  const std::string& bytes() const { return bytes_; }

 private:
  std::string bytes_;
};

std::string mx_rdata(std::uint16_t preference, const std::string& host) {
  std::string rdata;
  rdata += static_cast<char>(preference >> 8);
  rdata += static_cast<char>(preference & 0xff);
  for (std::size_t start = 0; start < host.size();) {
    const std::size_t dot = std::min(host.find('.', start), host.size());
    rdata += static_cast<char>(dot - start);
    rdata += host.substr(start, dot - start);
    start = dot + 1;
  }
  rdata += '\0';
  return rdata;
}

std::string soa_rdata(std::uint32_t minimum) {
  std::string rdata = "\x02ns\xc0\x0c";  // MNAME: ns + pointer to the question
  rdata += std::string(
      "\x05"
      "admin\xc0\x0c",
      8);                                                                   // RNAME
  for (int i = 0; i < 4; ++i) rdata += std::string("\x00\x00\x0e\x10", 4);  // serial..expire
  rdata += static_cast<char>(minimum >> 24);
  rdata += static_cast<char>((minimum >> 16) & 0xff);
  rdata += static_cast<char>((minimum >> 8) & 0xff);
  rdata += static_cast<char>(minimum & 0xff);
  return rdata;
}

TEST(ParseTtls, Table) {
  struct Case {
    const char* name;
    std::string message;
    std::uint8_t want_rcode;
    std::optional<std::chrono::seconds> want_answer;
    std::optional<std::chrono::seconds> want_negative;
  };
  const std::vector<Case> cases = {
      {"two mx, smallest ttl",
       Message(0, 2, 0)
           .rr(15, 300, mx_rdata(10, "mx1.example.test"))
           .rr(15, 120, mx_rdata(20, "mx2.example.test"))
           .bytes(),
       0, 120s, std::nullopt},
      {"cname chain bounds the ttl",
       Message(0, 2, 0)
           .rr(5, 30, std::string("\x03mx1\xc0\x0c", 6))
           .rr(15, 300, mx_rdata(10, "mx.example.test"))
           .bytes(),
       0, 30s, std::nullopt},
      {"nxdomain with soa: min(soa ttl, minimum)",
       Message(3, 0, 1).rr(6, 3600, soa_rdata(60)).bytes(), 3, std::nullopt, 60s},
      {"nodata with soa whose own ttl is smaller",
       Message(0, 0, 1).rr(6, 20, soa_rdata(600)).bytes(), 0, std::nullopt, 20s},
      {"nxdomain without soa", Message(3, 0, 0).bytes(), 3, std::nullopt, std::nullopt},
      {"ttl with the top bit set reads as zero",
       Message(0, 1, 0).rr(15, 0x80000000u, mx_rdata(0, "mx.example.test")).bytes(), 0, 0s,
       std::nullopt},
      {"authority ns then soa",
       Message(0, 0, 2)
           .rr(2, 100, std::string("\x02ns\xc0\x0c", 5))
           .rr(6, 900, soa_rdata(300))
           .bytes(),
       0, std::nullopt, 300s},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const auto got = summarize_message(c.message);
    ASSERT_TRUE(got.has_value()) << got.error().message();
    EXPECT_EQ(got->rcode, c.want_rcode);
    EXPECT_EQ(got->answer_ttl, c.want_answer);
    EXPECT_EQ(got->negative_ttl, c.want_negative);
    EXPECT_EQ(got->question, "example.test");
    EXPECT_EQ(got->question_type, 15);
  }
}

TEST(SummarizeMessage, CnameChainEndAndRecordsOfTheAskedType) {
  // example.test CNAME a.example.test; a.example.test CNAME b.test (uncompressed RDATA).
  Message chain(0, 2, 0);
  chain.rr(5, 300,
           std::string("\x01"
                       "a\xc0\x0c",
                       4));
  chain.ptr(static_cast<std::uint16_t>(chain.bytes().size() - 4)).u16(5).u16(1).u32(60).u16(8);
  chain.name("b.test");
  const auto got = summarize_message(chain.bytes());
  ASSERT_TRUE(got.has_value()) << got.error().message();
  EXPECT_EQ(got->cname_target, "b.test");
  EXPECT_EQ(got->answers_of_question_type, 0u);
  EXPECT_EQ(got->answer_ttl, 60s);

  const auto plain =
      summarize_message(Message(0, 1, 0).rr(15, 300, mx_rdata(10, "mx.example.test")).bytes());
  ASSERT_TRUE(plain.has_value());
  EXPECT_EQ(plain->cname_target, "");
  EXPECT_EQ(plain->answers_of_question_type, 1u);

  // A CNAME pointing at itself ends the chain instead of looping.
  const auto self = summarize_message(Message(0, 1, 0).rr(5, 300, "\xc0\x0c").bytes());
  ASSERT_TRUE(self.has_value());
  EXPECT_EQ(self->cname_target, "");
}

TEST(SummarizeMessage, CompressionPointerLoopIsAnError) {
  std::string looping = Message(0, 0, 0).bytes().substr(0, 12);
  looping += "\xc0\x0c";  // the question name points at itself
  looping += std::string("\x00\x0f\x00\x01", 4);
  EXPECT_FALSE(summarize_message(looping).has_value());
}

TEST(ParseTtls, EveryTruncationIsAnErrorNotACrash) {
  const std::string full = Message(0, 2, 1)
                               .rr(5, 30, std::string("\x03mx1\xc0\x0c", 6))
                               .rr(15, 300, mx_rdata(10, "mx.example.test"))
                               .rr(6, 900, soa_rdata(300))
                               .bytes();
  ASSERT_TRUE(summarize_message(full).has_value());
  for (std::size_t n = 0; n < full.size(); ++n) {
    const auto got = summarize_message(std::string_view(full).substr(0, n));
    ASSERT_FALSE(got.has_value()) << "prefix of " << n << " bytes";
    EXPECT_EQ(got.error().code, make_error_code(Errc::malformed_message));
  }
}

TEST(ParseTtls, RejectsReservedLabelTypesAndOverlongNames) {
  std::string reserved = Message(0, 0, 0).bytes();
  reserved[12] = static_cast<char>(0x40);  // 01xxxxxx label type
  EXPECT_FALSE(summarize_message(reserved).has_value());
  // A name of 200 one-octet labels: over the 255-octet limit.
  std::string header = Message(0, 0, 0).bytes().substr(0, 12);
  for (int i = 0; i < 200; ++i) header += std::string("\x01x", 2);
  header += std::string("\x00\x00\x0f\x00\x01", 5);
  EXPECT_FALSE(summarize_message(header).has_value());
}

}  // namespace
}  // namespace mta::dns
