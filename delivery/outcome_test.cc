// The delivery log's line: reply splitting, and a line parsed back as JSON.
#include "delivery/outcome.h"

#include <gtest/gtest.h>

#include "proto/http/json.h"

namespace mta::delivery {
namespace {

TEST(SplitReply, CodeEnhancedAndText) {
  const SplitReply reply = split_reply("250 2.0.0 Ok: queued as 1234");
  EXPECT_EQ(reply.code, 250);
  EXPECT_EQ(reply.enhanced, "2.0.0");
  EXPECT_EQ(reply.text, "Ok: queued as 1234");
}

TEST(SplitReply, OwnFailuresCarryOnlyAnEnhancedCode) {
  const SplitReply reply = split_reply("4.4.1 connect to 127.0.0.1:25 failed: refused");
  EXPECT_EQ(reply.code, 0);
  EXPECT_EQ(reply.enhanced, "4.4.1");
  EXPECT_EQ(reply.text, "connect to 127.0.0.1:25 failed: refused");
}

TEST(SplitReply, NoEnhancedCode) {
  const SplitReply reply = split_reply("451 try again later");
  EXPECT_EQ(reply.code, 451);
  EXPECT_EQ(reply.enhanced, "");
  EXPECT_EQ(reply.text, "try again later");
  EXPECT_EQ(split_reply("550").code, 550);
  EXPECT_EQ(split_reply("550").text, "");
  // Not codes: four digits, a version number, a bare dotted word.
  EXPECT_EQ(split_reply("2500 x").code, 0);
  EXPECT_EQ(split_reply("550 1.2.3 x").enhanced, "");
  EXPECT_EQ(split_reply("550 5.1234.1 x").enhanced, "");
  EXPECT_EQ(split_reply("550 5..1 x").enhanced, "");
  EXPECT_EQ(split_reply("").text, "");
}

queue::Envelope envelope() {
  queue::Envelope e;
  e.id = MessageId(0x1234);
  e.part = 2;
  e.destination = "example.net";
  e.tenant = "acme";
  e.mail_from = "bounce+x@example.com";
  e.received_at = Clock::WallTime(std::chrono::seconds(1'800'000'000));
  e.recipients.push_back({.address = "a\"b@example.net",
                          .state = queue::RecipientState::deferred,
                          .attempts = 3,
                          .last_reply = "451 4.7.1 Greylisted, \"come back\""});
  return e;
}

TEST(DeliveryLogLine, ParsesBackWithEveryField) {
  const queue::Envelope e = envelope();
  const tls::Info info{.protocol = "TLSv1.3",
                       .cipher = "TLS_AES_128_GCM_SHA256",
                       .verified = false,
                       .verify_result = "self signed certificate",
                       .resumed = true,
                       .peer_name = "mx"};
  const Hop hop{.mx_host = "mx.example.net", .address = "127.0.0.1:25", .tls = &info};
  const std::string line =
      delivery_log_line({.envelope = e,
                         .recipient = e.recipients[0],
                         .hop = &hop,
                         .at = e.received_at + std::chrono::milliseconds(61'234)});
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  auto json = http::parse_json(line.substr(0, line.size() - 1));
  ASSERT_TRUE(json.has_value()) << line;
  EXPECT_EQ(json->find("time")->as_string(), "2027-01-15T08:01:01.234Z");
  EXPECT_EQ(json->find("event")->as_string(), "deferred");
  EXPECT_EQ(json->find("message_id")->as_string(), to_hex(MessageId(0x1234)));
  EXPECT_EQ(json->find("part")->as_int64(), 2);
  EXPECT_EQ(json->find("sender")->as_string(), "bounce+x@example.com");
  EXPECT_EQ(json->find("recipient")->as_string(), "a\"b@example.net");
  EXPECT_EQ(json->find("destination")->as_string(), "example.net");
  EXPECT_EQ(json->find("tenant")->as_string(), "acme");
  EXPECT_EQ(json->find("campaign")->type(), http::JsonType::null);
  EXPECT_EQ(json->find("mx_host")->as_string(), "mx.example.net");
  EXPECT_EQ(json->find("address")->as_string(), "127.0.0.1:25");
  const http::JsonValue* tls = json->find("tls");
  ASSERT_NE(tls, nullptr);
  EXPECT_EQ(tls->find("version")->as_string(), "TLSv1.3");
  EXPECT_EQ(tls->find("cipher")->as_string(), "TLS_AES_128_GCM_SHA256");
  EXPECT_FALSE(tls->find("verified")->as_bool());
  EXPECT_TRUE(tls->find("resumed")->as_bool());
  EXPECT_EQ(json->find("code")->as_int64(), 451);
  EXPECT_EQ(json->find("enhanced_code")->as_string(), "4.7.1");
  EXPECT_EQ(json->find("reply")->as_string(), "Greylisted, \"come back\"");
  EXPECT_EQ(json->find("attempt")->as_int64(), 3);
  EXPECT_DOUBLE_EQ(json->find("queue_seconds")->as_double(), 61.234);
}

TEST(DeliveryLogLine, WithoutAConnectionTheHopFieldsAreNull) {
  queue::Envelope e = envelope();
  e.recipients[0].state = queue::RecipientState::bounced;
  e.recipients[0].last_reply = "4.4.7 delivery time expired";
  const std::string line =
      delivery_log_line({.envelope = e, .recipient = e.recipients[0], .at = e.received_at});
  auto json = http::parse_json(line);
  ASSERT_TRUE(json.has_value()) << line;
  EXPECT_EQ(json->find("event")->as_string(), "bounced");
  EXPECT_EQ(json->find("mx_host")->type(), http::JsonType::null);
  EXPECT_EQ(json->find("address")->type(), http::JsonType::null);
  EXPECT_EQ(json->find("tls")->type(), http::JsonType::null);
  EXPECT_EQ(json->find("code")->type(), http::JsonType::null);
  EXPECT_EQ(json->find("enhanced_code")->as_string(), "4.4.7");
}

}  // namespace
}  // namespace mta::delivery
