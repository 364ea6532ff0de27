// Benchmarks for the SMTP client core (proto/smtp): reply parsing and one whole pipelined
// transaction through ClientSession, with canned server replies and no I/O.
#include <benchmark/benchmark.h>

#include <string>

#include "proto/smtp/client_session.h"
#include "proto/smtp/reply.h"

namespace {

const std::string kEhloReply =
    "250-mx.example.com Hello client.example.net [192.0.2.1]\r\n250-PIPELINING\r\n"
    "250-SIZE 52428800\r\n250-ETRN\r\n250-STARTTLS\r\n250-AUTH PLAIN LOGIN\r\n"
    "250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n";

void BM_ReplyParseEhlo(benchmark::State& state) {
  mta::smtp::ReplyParser parser;
  for (auto _ : state) {
    if (!parser.feed(kEhloReply)) state.SkipWithError("parse failed");
    auto reply = parser.next();
    benchmark::DoNotOptimize(reply);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(kEhloReply.size()));
}
BENCHMARK(BM_ReplyParseEhlo);

void BM_ReplyParseSingleLine(benchmark::State& state) {
  const std::string line = "250 2.0.0 Ok\r\n";
  mta::smtp::ReplyParser parser;
  for (auto _ : state) {
    if (!parser.feed(line)) state.SkipWithError("parse failed");
    auto reply = parser.next();
    benchmark::DoNotOptimize(reply);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(line.size()));
}
BENCHMARK(BM_ReplyParseSingleLine);

// One pipelined transaction per iteration on a long-lived session: begin_transaction of a
// 4 KiB message, the canned replies (MAIL, RCPT x n, 354, final 250 and the RSET of the next
// round), draining bytes and events. Reports ns per message.
void BM_ClientPipelinedMessage(benchmark::State& state) {
  const auto recipient_count = static_cast<std::size_t>(state.range(0));
  mta::smtp::Envelope envelope{"bounce+1234@example.net", {}};
  for (std::size_t i = 0; i < recipient_count; ++i) {
    envelope.recipients.push_back("user" + std::to_string(i) + "@example.com");
  }
  std::string message = "From: a@example.net\r\nTo: b@example.com\r\nSubject: bench\r\n\r\n";
  while (message.size() < 4096) {
    message += "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod.\r\n";
  }
  std::string envelope_replies = "250 2.1.0 Ok\r\n";
  for (std::size_t i = 0; i < recipient_count; ++i) envelope_replies += "250 2.1.5 Ok\r\n";
  envelope_replies += "354 End data with <CR><LF>.<CR><LF>\r\n";
  const std::string final_reply = "250 2.0.0 Ok: queued as 4F2A1B\r\n";
  const std::string rset_reply = "250 2.0.0 Ok\r\n";

  mta::smtp::ClientSession session(mta::smtp::ClientOptions{});
  auto drain = [&] {
    while (auto event = session.next_event()) benchmark::DoNotOptimize(event);
    std::string_view out = session.bytes_to_send();
    benchmark::DoNotOptimize(out.data());
    session.on_sent(out.size());
  };
  (void)session.on_bytes("220 mx.example.com ESMTP\r\n");
  (void)session.on_bytes(kEhloReply);
  drain();
  bool first = true;
  for (auto _ : state) {
    if (!session.begin_transaction(envelope, message)) state.SkipWithError("not ready");
    drain();
    if (!first && !session.on_bytes(rset_reply)) state.SkipWithError("rset failed");
    first = false;
    if (!session.on_bytes(envelope_replies)) state.SkipWithError("envelope failed");
    drain();
    if (!session.on_bytes(final_reply)) state.SkipWithError("final failed");
    drain();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ClientPipelinedMessage)->Arg(1)->Arg(10);

}  // namespace

BENCHMARK_MAIN();
