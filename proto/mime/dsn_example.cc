// Prints the DSN for a fixed two-recipient bounce to stdout, byte for byte. ctest pipes it
// into testdata/check_dsn.py, which parses it with Python's email package (dsn_python_check).
// Also handy for eyeballing the format: ./dsn_example | less
#include <chrono>
#include <cstdio>
#include <string>

#include "proto/mime/dsn.h"

int main() {
  using namespace std::chrono;
  // 2026-11-23 10:37:45 UTC, a Monday.
  mta::Clock::WallTime now{sys_days{year{2026} / November / 23} + hours{10} + minutes{37} +
                           seconds{45}};
  std::string original =
      "Received: from client.example.org (client.example.org [192.0.2.7])\r\n"
      "\tby mx.outpost.example with ESMTPS id 00000000deadbeef\r\n"
      "From: Sender <sender@example.org>\r\n"
      "To: alice@example.net, bob@example.com\r\n"
      "Subject: Quarterly report\r\n"
      "Message-ID: <original-1234@example.org>\r\n"
      "Date: Mon, 23 Nov 2026 09:00:00 +0000\r\n"
      "\r\n"
      "This body must not be attached.\r\n";

  mta::mime::DsnInput input;
  input.reporting_mta = "mx.outpost.example";
  input.original_sender = "sender@example.org";
  input.envelope_id = "00000000deadbeef";
  input.arrival = now - hours{1};
  input.now = now;
  input.message_id = "<dsn-00000000deadbeef@mx.outpost.example>";
  input.original_message = original;

  mta::mime::DsnRecipient alice;
  alice.final_recipient = "alice@example.net";
  alice.remote_mta = "mx1.example.net";
  alice.diagnostic = "550 5.1.1 <alice@example.net>: Recipient address rejected: User unknown";
  alice.last_attempt = now - minutes{5};
  input.recipients.push_back(alice);

  // No enhanced code in the reply, so the status is derived from its class; the reply is long
  // enough to be folded and carries a non-ASCII octet that must be replaced.
  mta::mime::DsnRecipient bob;
  bob.final_recipient = "<bob@example.com>";
  bob.remote_mta = "mx.example.com";
  bob.diagnostic =
      "554 Transaction failed: message rejected by policy \xc3\xa9 see "
      "https://postmaster.example.com/policies/outbound-reputation-and-content";
  for (int i = 0; i < 8; ++i) bob.diagnostic += " more explanation text from the remote server";
  bob.last_attempt = now - minutes{4};
  input.recipients.push_back(bob);

  std::string dsn = mta::mime::build_dsn(input);
  std::fwrite(dsn.data(), 1, dsn.size(), stdout);
  return std::fflush(stdout) == 0 ? 0 : 1;
}
