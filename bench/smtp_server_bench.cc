// Benchmarks of the SMTP server core without I/O: parsing MAIL/RCPT command lines, and one
// pipelined transaction (MAIL, RCPT, DATA, 4 KiB body, decision) through a ServerSession.
#include <benchmark/benchmark.h>

#include <string>
#include <string_view>

#include "proto/smtp/command.h"
#include "proto/smtp/server_session.h"

namespace {

void BM_ParseCommand(benchmark::State& state) {
  const std::string_view lines[] = {
      "MAIL FROM:<bounce-12345@bounces.sender.example> SIZE=4096 BODY=8BITMIME",
      "RCPT TO:<first.last+tag@recipient.example>",
  };
  std::size_t i = 0;
  for (auto _ : state) {
    mta::Result<mta::smtp::Command> command = mta::smtp::parse_command(lines[i++ & 1]);
    benchmark::DoNotOptimize(command);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_ParseCommand);

void BM_ServerSessionMessage(benchmark::State& state) {
  std::string transaction =
      "MAIL FROM:<bounce-12345@bounces.sender.example> SIZE=4096\r\n"
      "RCPT TO:<first.last@recipient.example>\r\nDATA\r\n";
  std::string body = "Subject: benchmark\r\n\r\n";
  while (body.size() < 4096) {
    body += std::string(76, 'b') + "\r\n";
  }
  transaction += body + ".\r\n";

  mta::smtp::ServerSession session(mta::smtp::ServerOptions{});
  session.on_bytes("EHLO client.example\r\n");
  session.on_sent(session.bytes_to_send().size());
  for (auto _ : state) {
    session.on_bytes(transaction);
    std::optional<mta::smtp::ServerEvent> event = session.next_event();
    benchmark::DoNotOptimize(event);
    session.complete_message("250 2.0.0 Ok: queued as 0000000000000001");
    session.on_sent(session.bytes_to_send().size());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * transaction.size()));
}
BENCHMARK(BM_ServerSessionMessage);

}  // namespace

BENCHMARK_MAIN();
