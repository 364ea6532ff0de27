// libFuzzer target for ClientSession: after a scripted greeting and EHLO, a transaction is
// begun and the fuzz input is fed as the server's bytes, in chunks that the input chooses.
// The session must never crash or assert, whatever the server says; it may only fail.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/assert.h"
#include "proto/smtp/client_session.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  // The first byte picks the setup, so the corpus covers both pipelined and lock-step paths,
  // and with bit 1 a STARTTLS whose 220 is followed by fuzz bytes before TLS starts.
  bool pipelining = size > 0 && (data[0] & 1) != 0;
  bool starttls = size > 0 && (data[0] & 2) != 0;
  if (size > 0) input.remove_prefix(1);

  mta::smtp::ClientOptions options;
  options.reply_limits = {256, 16};
  options.starttls = starttls;
  mta::smtp::ClientSession session(options);
  auto drain = [&] {
    while (session.next_event()) {
    }
    session.on_sent(session.bytes_to_send().size());
  };
  MTA_ASSERT(session.on_bytes("220 fuzz ESMTP\r\n").has_value());
  if (starttls) {
    MTA_ASSERT(session.on_bytes("250-fuzz\r\n250 STARTTLS\r\n").has_value());
    MTA_ASSERT(session.on_bytes("220 go\r\n").has_value());
    const std::string_view before_tls = input.substr(0, input.size() / 2);
    MTA_ASSERT(session.on_bytes(before_tls).has_value());  // dropped, whatever it is
    MTA_ASSERT(session.discarded_bytes() == before_tls.size());
    input.remove_prefix(before_tls.size());
    drain();
    session.tls_started();
  }
  MTA_ASSERT(session
                 .on_bytes(pipelining ? "250-fuzz\r\n250-PIPELINING\r\n250 SIZE 100\r\n"
                                      : "250-fuzz\r\n250 8BITMIME\r\n")
                 .has_value());
  drain();
  MTA_ASSERT(session.ready_for_transaction());
  MTA_ASSERT(session.begin_transaction({"a@x", {"b@y", "c@z", "d@w"}}, "Subject: t\n\n.body\n")
                 .has_value());
  drain();

  std::size_t chunk = 1;
  while (!input.empty() && !session.failed()) {
    std::size_t n = std::min(chunk, input.size());
    (void)session.on_bytes(input.substr(0, n));
    input.remove_prefix(n);
    drain();
    chunk = chunk % 7 + 1;
    // Exercise further transactions and QUIT whenever the script lets us; otherwise a
    // transaction must be refused, whatever state the server's bytes left the session in.
    if (session.ready_for_transaction()) {
      if (input.size() % 3 == 0) {
        session.quit();
      } else {
        MTA_ASSERT(session.begin_transaction({"", {"e@v"}}, "x").has_value());
      }
      drain();
    } else {
      MTA_ASSERT(!session.begin_transaction({"", {"e@v"}}, "x").has_value());
    }
  }
  return 0;
}
