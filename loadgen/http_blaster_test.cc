// HttpBlaster against StubApi (loadgen/stub_api_for_test.h) on loopback: 202 with one id per
// recipient, a 429 now and then, or Connection: close. Checks that every message index is
// sent exactly once, the counts on both sides agree, pushback and reconnects are counted, and
// a target that refuses connections ends the blast.
#include "loadgen/http_blaster.h"

#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <thread>

#include "engine/listener.h"
#include "loadgen/stub_api_for_test.h"
#include "proto/http/json.h"

namespace mta::loadgen {
namespace {

using namespace std::chrono_literals;

HttpBlastOptions blast_options(const StubApi& stub, std::uint64_t count, std::size_t batch) {
  HttpBlastOptions options;
  options.target = stub.address();
  options.host = stub.address().to_string();
  options.api_key = "k3y";
  options.shards = 2;
  options.connections = 4;
  options.batch = batch;
  options.message_count = count;
  options.size = SizeDistribution(1024);
  options.domains = {"a.test", "b.test"};
  options.reply_timeout = 10s;
  return options;
}

HttpBlastReport blast(HttpBlastOptions options) {
  auto blaster = HttpBlaster::start(std::move(options));
  EXPECT_TRUE(blaster.has_value()) << blaster.error().message();
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (!(*blaster)->done() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(2ms);
  }
  EXPECT_TRUE((*blaster)->done()) << "blast did not finish in 20 s";
  return (*blaster)->stop();
}

// Every index 0..count-1 once, as the stub saw it.
std::multiset<std::string> indexes(std::uint64_t count) {
  std::multiset<std::string> out;
  for (std::uint64_t i = 0; i < count; ++i) out.insert(std::to_string(i));
  return out;
}

TEST(HttpBlaster, EveryMessageOnceInBatches) {
  StubApi stub({});
  const HttpBlastReport sent = blast(blast_options(stub, 1000, 7));
  const StubSeen& seen = stub.stop();

  const std::uint64_t requests = (1000 + 6) / 7;  // the last request carries 6
  EXPECT_EQ(sent.totals.begun, 1000u);
  EXPECT_EQ(sent.totals.acknowledged, 1000u);
  EXPECT_EQ(sent.totals.rejected, 0u);
  EXPECT_EQ(sent.totals.failed, 0u);
  EXPECT_EQ(sent.totals.requests, requests);
  EXPECT_EQ(sent.requests_acknowledged, requests);
  EXPECT_EQ(sent.ids_returned, 1000u);
  EXPECT_EQ(sent.status_codes, (std::map<int, std::uint64_t>{{202, requests}}));
  EXPECT_EQ(sent.latency.count(), requests);
  EXPECT_EQ(sent.connections_opened, 4u);  // keep-alive: no reconnects
  EXPECT_EQ(sent.connection_failures, 0u);
  EXPECT_GT(sent.acknowledged_per_second(), 0);
  EXPECT_EQ(seen.bad_requests, 0u);
  EXPECT_EQ(seen.requests, requests);
  EXPECT_EQ(seen.connections, 4u);
  EXPECT_EQ(seen.substitutions_n, indexes(1000));
}

TEST(HttpBlaster, PushbackIsCountedAsRejected) {
  StubApi stub({.reject_every = 3});
  const HttpBlastReport sent = blast(blast_options(stub, 300, 10));
  const StubSeen& seen = stub.stop();

  EXPECT_EQ(seen.requests, 30u);
  EXPECT_EQ(sent.status_codes.at(202), 20u);
  EXPECT_EQ(sent.status_codes.at(429), 10u);
  EXPECT_EQ(sent.totals.acknowledged, 200u);
  EXPECT_EQ(sent.totals.rejected, 100u);
  EXPECT_EQ(sent.totals.acknowledged + sent.totals.rejected, sent.totals.begun);
  EXPECT_EQ(sent.ids_returned, 200u);
  EXPECT_EQ(seen.substitutions_n.size(), 200u);  // ids only for the accepted ones
}

TEST(HttpBlaster, ReconnectsWhenTheServerCloses) {
  StubApi stub({.close_each = true});
  const HttpBlastReport sent = blast(blast_options(stub, 50, 5));
  const StubSeen& seen = stub.stop();

  EXPECT_EQ(sent.totals.acknowledged, 50u);
  EXPECT_EQ(sent.server_closes, 10u);
  EXPECT_GE(sent.connections_opened, 10u);
  EXPECT_EQ(seen.connections, sent.connections_opened);
  EXPECT_EQ(seen.substitutions_n, indexes(50));
}

TEST(HttpBlaster, RefusedTargetEndsTheBlast) {
  // A port that was just bound and closed: nothing listens there.
  const int fd =
      engine::open_listen_socket(engine::SocketAddress::parse("127.0.0.1:0").value()).value();
  const engine::SocketAddress closed = engine::local_address(fd).value();
  ::close(fd);
  HttpBlastOptions options;
  options.target = closed;
  options.host = closed.to_string();
  options.connections = 2;
  options.message_count = 10;
  options.connect_attempts_max = 2;
  const HttpBlastReport sent = blast(options);
  EXPECT_EQ(sent.totals.acknowledged, 0u);
  EXPECT_EQ(sent.totals.begun, 0u);
  EXPECT_EQ(sent.connect_failures, 4u);  // 2 slots x 2 attempts
}

TEST(HttpBlaster, StartRefusesBadOptions) {
  struct Case {
    std::string name;
    void (*adjust)(HttpBlastOptions&);
  };
  const std::vector<Case> table = {
      {"batch 0", [](HttpBlastOptions& o) { o.batch = 0; }},
      {"batch over 10000", [](HttpBlastOptions& o) { o.batch = 10'001; }},
      {"no count or duration", [](HttpBlastOptions& o) { o.message_count = 0; }},
      {"no connections", [](HttpBlastOptions& o) { o.connections = 0; }},
      {"CRLF in the key", [](HttpBlastOptions& o) { o.api_key = "a\r\nX-Evil: 1"; }},
      {"relative path", [](HttpBlastOptions& o) { o.path = "v1/messages"; }},
  };
  for (const auto& c : table) {
    HttpBlastOptions options;
    options.target = engine::SocketAddress::parse("127.0.0.1:9").value();
    options.message_count = 1;
    c.adjust(options);
    EXPECT_FALSE(HttpBlaster::start(std::move(options)).has_value()) << c.name;
  }
}

TEST(HttpBlaster, BulkBodyIsTheApisBulkShape) {
  HttpBlastOptions options;
  options.domains = {"a.test", "b.test", "c.test"};
  const std::string body = bulk_request_body(options, "t1", 40, 3, 2000);
  auto json = http::parse_json(body);
  ASSERT_TRUE(json.has_value()) << json.error().message();
  for (const char* field : {"from", "subject", "text", "headers", "recipients"}) {
    EXPECT_NE(json->find(field), nullptr) << field;
  }
  EXPECT_EQ(json->find("to"), nullptr);  // bulk: no to/cc/bcc
  EXPECT_EQ(json->find("subject")->as_string(), "blast t1 {{n}}");
  const std::string& text = json->find("text")->as_string();
  EXPECT_EQ(text.size(), 2000u);
  EXPECT_NE(text.find("{{n}}"), std::string::npos);
  EXPECT_EQ(json->find("headers")->find("X-Blast-Tag")->as_string(), "t1");
  const auto& recipients = json->find("recipients")->as_array();
  ASSERT_EQ(recipients.size(), 3u);
  const std::vector<std::pair<std::string, std::string>> want = {
      {"r40@b.test", "40"}, {"r41@c.test", "41"}, {"r42@a.test", "42"}};
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(recipients[i].find("to")->as_string(), want[i].first);
    EXPECT_EQ(recipients[i].find("substitutions")->find("n")->as_string(), want[i].second);
  }
}

}  // namespace
}  // namespace mta::loadgen
