// Blaster against Sink in one process, on loopback (port 0): counts agree end to end, the
// sink's reply mix shows in the blaster's reply codes, added latency shows in its
// percentiles, a target that refuses connections ends the blast instead of hanging it, and
// over STARTTLS or implicit TLS every connection is a TLS session and reconnects resume. A
// sink with CHUNKING counts what arrives by BDAT apart from DATA. The sink's live line and
// its summary count the same things.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "loadgen/blaster.h"
#include "loadgen/sink.h"
#include "tls/test_certs.h"

namespace mta::loadgen {
namespace {

using namespace std::chrono_literals;

std::unique_ptr<Sink> start_sink(const std::string& mix, Clock::Duration latency = {},
                                 void (*adjust)(SinkOptions&) = nullptr) {
  SinkOptions options;
  options.listen = engine::SocketAddress::parse("127.0.0.1:0").value();
  options.shards = 2;
  options.mix = ReplyMix::parse(mix).value();
  options.latency = latency;
  options.seed = 7;
  if (adjust != nullptr) adjust(options);
  auto sink = Sink::start(std::move(options));
  EXPECT_TRUE(sink.has_value()) << sink.error().message();
  return std::move(sink).value();
}

BlastOptions blast_options(const Sink& sink, std::uint64_t count) {
  BlastOptions options;
  options.target = sink.address();
  options.shards = 2;
  options.connections = 8;
  options.message_count = count;
  options.size = SizeDistribution(2048);
  options.reply_timeout = 10s;
  return options;
}

BlastReport blast(BlastOptions options) {
  auto blaster = Blaster::start(std::move(options));
  EXPECT_TRUE(blaster.has_value()) << blaster.error().message();
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (!(*blaster)->done() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_TRUE((*blaster)->done()) << "blast did not finish in 30 s";
  return (*blaster)->stop();
}

TEST(Loadgen, EveryAcknowledgedMessageArrivesOnce) {
  auto sink = start_sink("");
  BlastOptions options = blast_options(*sink, 500);
  options.recipients_per_message = 3;
  options.domains = {"a.test", "b.test", "c.test", "d.test", "e.test"};
  options.messages_per_connection = 20;
  options.size = SizeDistribution::parse("1k-8k").value();
  const BlastReport sent = blast(options);
  const SinkReport got = sink->stop();

  EXPECT_EQ(sent.totals.begun, 500u);
  EXPECT_EQ(sent.totals.acknowledged, 500u);
  EXPECT_EQ(sent.totals.failed, 0u);
  EXPECT_EQ(sent.message_codes.at(250), 500u);
  EXPECT_EQ(sent.recipient_codes.at(250), 1500u);
  EXPECT_EQ(sent.latency.count(), 500u);
  EXPECT_GE(sent.connections_opened, 25u);  // 20 messages per connection, then a new one
  EXPECT_EQ(got.totals.messages, 500u);
  EXPECT_EQ(got.distinct_message_ids, 500u);
  EXPECT_EQ(got.messages_without_id, 0u);
  EXPECT_EQ(got.messages_dkim_signed, 0u);
  EXPECT_EQ(got.totals.bytes, sent.bytes_acknowledged);
  ASSERT_EQ(got.recipients_per_domain.size(), 5u);
  for (const auto& [domain, count] : got.recipients_per_domain) {
    EXPECT_EQ(count, 300u) << domain;
  }
  EXPECT_EQ(got.connections_total, sent.connections_opened);
  EXPECT_GE(got.connections_max, 2u);
  EXPECT_LE(got.connections_max, 16u);  // a new connection may open before the old one is reaped
  std::uint64_t per_connection_sum = 0;
  for (const auto& [messages, connections] : got.messages_per_connection) {
    EXPECT_LE(messages, 20u);
    per_connection_sum += messages * connections;
  }
  EXPECT_EQ(per_connection_sum, 500u);
}

TEST(Loadgen, ReplyMixShowsInReplyCodes) {
  auto sink = start_sink("rcpt4xx=20,data5xx=10,disconnect=5");
  const BlastReport sent = blast(blast_options(*sink, 2000));
  const SinkReport got = sink->stop();

  const auto code = [&](int c) {
    auto found = sent.message_codes.find(c);
    return found == sent.message_codes.end() ? std::uint64_t{0} : found->second;
  };
  // Every reply the sink chose is one the blaster counted, and nothing was lost silently.
  EXPECT_EQ(code(450), got.recipients_refused_temporary);
  EXPECT_EQ(code(554), got.rejected_permanent);
  EXPECT_EQ(code(421), got.disconnects);
  EXPECT_EQ(sent.totals.failed, got.disconnects);
  EXPECT_EQ(sent.totals.acknowledged, got.totals.messages);
  EXPECT_EQ(sent.totals.acknowledged + sent.totals.rejected + sent.totals.failed, 2000u);
  // The shares are near the mix: 20% at RCPT, then 10% and 5% of the rest.
  EXPECT_NEAR(100.0 * static_cast<double>(code(450)) / 2000, 20, 3);
  EXPECT_NEAR(100.0 * static_cast<double>(code(554)) / 1600, 10, 3);
  EXPECT_NEAR(100.0 * static_cast<double>(code(421)) / 1600, 5, 2);
  EXPECT_EQ(got.distinct_message_ids, got.totals.messages);
}

// bench sink's live line said "rejected 0" while its summary said thousands were refused at
// RCPT: both now come from the same totals, counted as they happen, in the same words.
TEST(Loadgen, LiveLineAndSummaryCountTheSameThings) {
  auto sink = start_sink("rcpt4xx=10,rcpt5xx=10,data4xx=5,data5xx=5");
  BlastOptions options = blast_options(*sink, 1000);
  options.recipients_per_message = 2;
  (void)blast(options);
  const SinkTotals live = sink->totals();  // what the live line reads, before the stop
  const SinkReport got = sink->stop();
  const std::uint64_t refused = got.recipients_refused_temporary + got.recipients_refused_permanent;
  const std::uint64_t rejected = got.rejected_temporary + got.rejected_permanent + got.disconnects;
  ASSERT_GT(refused, 0u);
  ASSERT_GT(rejected, 0u);
  EXPECT_EQ(live.recipients_refused, refused);
  EXPECT_EQ(live.rejected, rejected);
  EXPECT_EQ(got.totals.recipients_refused, refused);
  const std::string line = progress_line(SecondSample{.second = 3}, live);
  const std::string summary = format_text(got);
  for (const std::string& words : {std::to_string(got.totals.messages) + " accepted",
                                   std::to_string(rejected) + " rejected after DATA",
                                   std::to_string(refused) + " refused at RCPT"}) {
    EXPECT_NE(line.find(words), std::string::npos) << words << " not in: " << line;
    EXPECT_NE(summary.find(words), std::string::npos) << words << " not in: " << summary;
  }
}

TEST(Loadgen, AddedLatencyShowsInPercentiles) {
  auto sink = start_sink("", 20ms);
  BlastOptions options = blast_options(*sink, 100);
  options.pipelining = false;
  const BlastReport sent = blast(options);
  (void)sink->stop();
  EXPECT_EQ(sent.totals.acknowledged, 100u);
  EXPECT_GE(sent.latency.percentile(0.5), 20ms);
  EXPECT_GE(sent.latency.min(), 20ms);
  EXPECT_LT(sent.latency.percentile(0.5), 2s);
}

TEST(Loadgen, RefusedTargetEndsTheBlast) {
  // A port that was free a moment ago: nothing listens there.
  std::uint16_t port = 0;
  {
    auto sink = start_sink("");
    port = sink->address().port();
    (void)sink->stop();
  }
  BlastOptions options;
  options.target = engine::SocketAddress::parse("127.0.0.1:" + std::to_string(port)).value();
  options.connections = 2;
  options.message_count = 10;
  options.connect_attempts_max = 2;
  const BlastReport sent = blast(options);
  EXPECT_EQ(sent.totals.acknowledged, 0u);
  EXPECT_EQ(sent.connect_failures, 4u);
  EXPECT_EQ(sent.totals.begun, 0u);
}

// TLS both ways: how each side speaks, and what the counts must show.
struct TlsCase {
  std::string name;
  void (*sink)(SinkOptions&);
  BlastTls blast;
  bool want_tls;  // every connection is a TLS session
};

TEST(Loadgen, TlsSessionsAreCountedAndResumed) {
  const TlsCase cases[] = {
      {"starttls, self-signed", [](SinkOptions& o) { o.starttls = true; }, BlastTls::starttls,
       true},
      {"starttls, given certificate",
       [](SinkOptions& o) {
         o.starttls = true;
         o.cert_file = tls::testing::pki().cert_file;
         o.key_file = tls::testing::pki().key_file;
       },
       BlastTls::starttls, true},
      {"implicit TLS", [](SinkOptions& o) { o.implicit_tls = true; }, BlastTls::implicit, true},
      // The blaster asks for STARTTLS but the sink does not offer it: plaintext, no failure.
      {"starttls not offered", [](SinkOptions&) {}, BlastTls::starttls, false},
      // The sink offers STARTTLS but the blaster does not take it.
      {"offered, not taken", [](SinkOptions& o) { o.starttls = true; }, BlastTls::none, false},
  };
  for (const TlsCase& c : cases) {
    SCOPED_TRACE(c.name);
    auto sink = start_sink("", {}, c.sink);
    BlastOptions options = blast_options(*sink, 240);
    options.connections = 4;
    options.messages_per_connection = 20;  // reconnects, which resume
    options.tls = c.blast;
    const BlastReport sent = blast(options);
    const SinkReport got = sink->stop();

    EXPECT_EQ(sent.totals.acknowledged, 240u);
    EXPECT_EQ(sent.totals.failed, 0u);
    EXPECT_EQ(got.totals.messages, 240u);
    EXPECT_EQ(got.distinct_message_ids, 240u);
    EXPECT_EQ(got.totals.bytes, sent.bytes_acknowledged);
    EXPECT_GE(sent.connections_opened, 12u);
    EXPECT_EQ(sent.connect_failures, 0u);
    EXPECT_EQ(sent.tls_failures, 0u);
    EXPECT_EQ(got.tls_failures, 0u);
    const std::uint64_t want_sessions = c.want_tls ? sent.connections_opened : 0;
    EXPECT_EQ(sent.tls_sessions, want_sessions);
    EXPECT_EQ(got.tls_sessions, want_sessions);
    EXPECT_EQ(got.connections_total, sent.connections_opened);
    // Both ends agree on which handshakes were abbreviated; with 4 slots on 2 shards, each
    // slot's later connections find its shard's cached session.
    EXPECT_EQ(got.tls_resumed, sent.tls_resumed);
    if (c.want_tls) {
      EXPECT_GE(sent.tls_resumed, sent.connections_opened - options.connections);
      EXPECT_LT(sent.tls_resumed, sent.connections_opened);
    } else {
      EXPECT_EQ(sent.tls_resumed, 0u);
    }
  }
}

TEST(Loadgen, ImplicitTlsIntoPlaintextFailsAndEnds) {
  auto sink = start_sink("");
  BlastOptions options = blast_options(*sink, 10);
  options.connections = 2;
  options.connect_attempts_max = 2;
  options.tls = BlastTls::implicit;
  const BlastReport sent = blast(options);
  (void)sink->stop();
  EXPECT_EQ(sent.totals.acknowledged, 0u);
  EXPECT_EQ(sent.tls_sessions, 0u);
  EXPECT_EQ(sent.tls_failures, 4u);
  EXPECT_EQ(sent.connect_failures, 4u);
}

TEST(Loadgen, OptionsAreChecked) {
  BlastOptions options;
  options.target = engine::SocketAddress::parse("127.0.0.1:9").value();
  EXPECT_FALSE(Blaster::start(options).has_value());  // neither count nor duration
  options.message_count = 1;
  options.domains.clear();
  EXPECT_FALSE(Blaster::start(options).has_value());
  SinkOptions sink;
  sink.listen = engine::SocketAddress::parse("127.0.0.1:0").value();
  sink.starttls = true;
  sink.cert_file = "/nonexistent/cert.pem";  // without its key
  EXPECT_FALSE(Sink::start(sink).has_value());
  sink.key_file = "/nonexistent/key.pem";
  EXPECT_FALSE(Sink::start(sink).has_value());
}

// Sends `client` on one blocking loopback connection and returns everything the server said
// until it closed (or 10 s passed).
std::string converse(const engine::SocketAddress& address, std::string_view client) {
  const int fd = ::socket(address.sockaddr_ptr()->sa_family, SOCK_STREAM, 0);
  EXPECT_GE(fd, 0);
  const timeval timeout{.tv_sec = 10, .tv_usec = 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  EXPECT_EQ(::connect(fd, address.sockaddr_ptr(), sizeof(sockaddr_storage)), 0);
  EXPECT_EQ(::write(fd, client.data(), client.size()), static_cast<ssize_t>(client.size()));
  std::string got;
  char buffer[4096];
  ssize_t n = 0;
  while ((n = ::read(fd, buffer, sizeof buffer)) > 0)
    got.append(buffer, static_cast<std::size_t>(n));
  ::close(fd);
  return got;
}

TEST(Loadgen, ChunkingSinkCountsBdatApartFromData) {
  auto sink = start_sink("", {}, [](SinkOptions& o) {
    o.chunking = true;
    o.shards = 1;
  });
  // The blaster speaks DATA even when CHUNKING is offered.
  const BlastReport sent = blast(blast_options(*sink, 20));
  EXPECT_EQ(sent.totals.acknowledged, 20u);
  const std::string body = "Subject: chunked\r\nMessage-ID: <1@bdat.test>\r\n\r\nhello\r\n";
  const std::string replies = converse(
      sink->address(), "EHLO t\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<c@d.test>\r\nBDAT 10\r\n" +
                           body.substr(0, 10) + "BDAT " + std::to_string(body.size() - 10) +
                           " LAST\r\n" + body.substr(10) + "QUIT\r\n");
  EXPECT_NE(replies.find("250 CHUNKING\r\n"), std::string::npos) << replies;
  EXPECT_NE(replies.find("250 2.0.0 10 octets received\r\n250 2.0.0 Ok: queued as"),
            std::string::npos)
      << replies;
  EXPECT_TRUE(replies.ends_with("221 2.0.0 Bye\r\n")) << replies;
  const SinkReport got = sink->stop();
  EXPECT_EQ(got.totals.messages, 21u);
  EXPECT_EQ(got.messages_bdat, 1u);
  EXPECT_EQ(got.distinct_message_ids, 21u);
  EXPECT_EQ(got.totals.bytes, sent.bytes_acknowledged + body.size());
}

}  // namespace
}  // namespace mta::loadgen
