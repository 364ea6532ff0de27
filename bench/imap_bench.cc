// IMAP server core costs over MemoryBackend, the byte path without sockets: a logged-in,
// selected session answering FETCH BODYSTRUCTURE+ENVELOPE of a DSN, FETCH FLAGS of 1,000
// messages, and SEARCH HEADER over 1,000 (which reads and parses every message).
#include <benchmark/benchmark.h>

#include <string>
#include <variant>

#include "proto/imap/memory_backend.h"
#include "proto/imap/session.h"

namespace {

using mta::imap::MemoryBackend;
using mta::imap::Session;

constexpr std::string_view kDsn =
    "From: MAILER-DAEMON@mx.example.net\r\n"
    "To: bounce+0000019a2b3c4d5e+ann=example.com@bounces.outpost.example\r\n"
    "Subject: Undelivered Mail Returned to Sender\r\n"
    "Date: Tue, 01 Dec 2026 09:14:05 +0000\r\n"
    "Message-ID: <dsn.1@mx.example.net>\r\n"
    "X-Outpost-Bounce-Category: invalid_recipient\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/report; report-type=delivery-status; boundary=\"r\"\r\n"
    "\r\n"
    "--r\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "Your message to ann@example.com could not be delivered.\r\n"
    "--r\r\n"
    "Content-Type: message/delivery-status\r\n"
    "\r\n"
    "Reporting-MTA: dns; mx.example.net\r\n"
    "\r\n"
    "Final-Recipient: rfc822; ann@example.com\r\n"
    "Action: failed\r\n"
    "Status: 5.1.1\r\n"
    "Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n"
    "--r\r\n"
    "Content-Type: text/rfc822-headers\r\n"
    "\r\n"
    "From: news@shop.example\r\n"
    "To: ann@example.com\r\n"
    "Subject: This week\r\n"
    "--r--\r\n";

// A session logged in (the decision given at once) with INBOX selected.
struct Selected {
  explicit Selected(std::size_t messages) : session(options(), backend) {
    for (std::size_t i = 0; i < messages; ++i) {
      (void)backend.append("INBOX", {}, 1'700'000'000, kDsn);
    }
    run("a LOGIN u p\r\n");
    run("b SELECT INBOX\r\n");
  }
  static mta::imap::SessionOptions options() {
    mta::imap::SessionOptions o;
    o.plaintext_login = true;
    return o;
  }
  // Sends `command` and takes every byte of the answer; returns how many there were.
  std::size_t run(std::string_view command) {
    session.on_bytes(command);
    std::size_t bytes = 0;
    for (;;) {
      while (auto event = session.next_event()) {
        if (std::holds_alternative<mta::imap::AuthRequested>(*event)) session.complete_auth(true);
      }
      const std::string_view out = session.bytes_to_send();
      if (out.empty()) break;
      bytes += out.size();
      session.on_sent(out.size());
    }
    return bytes;
  }

  MemoryBackend backend;
  Session session;
};

void BM_FetchStructureOfADsn(benchmark::State& state) {
  Selected s(1);
  if (s.run("c FETCH 1 (ENVELOPE BODYSTRUCTURE)\r\n") < 300) state.SkipWithError("no answer");
  for (auto _ : state) benchmark::DoNotOptimize(s.run("c FETCH 1 (ENVELOPE BODYSTRUCTURE)\r\n"));
}
BENCHMARK(BM_FetchStructureOfADsn);

void BM_FetchFlagsOf1000(benchmark::State& state) {
  Selected s(1000);
  if (s.run("c FETCH 1:* (UID FLAGS)\r\n") < 20'000) state.SkipWithError("no answer");
  for (auto _ : state) benchmark::DoNotOptimize(s.run("c FETCH 1:* (UID FLAGS)\r\n"));
}
BENCHMARK(BM_FetchFlagsOf1000);

void BM_SearchHeaderOver1000(benchmark::State& state) {
  Selected s(1000);
  if (s.run("c SEARCH HEADER X-Outpost-Bounce-Category invalid_recipient\r\n") < 3'000) {
    state.SkipWithError("no answer");
  }
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        s.run("c SEARCH HEADER X-Outpost-Bounce-Category invalid_recipient\r\n"));
  }
}
BENCHMARK(BM_SearchHeaderOver1000);

}  // namespace

BENCHMARK_MAIN();
